"""The README followed literally: every command of its tour, in order, as written.

The commands come from the README's bash blocks under "A short tour", "Ablations, comparisons
and reading failures" and "Models you serve yourself". They run in a fresh directory (the
project's ``configs/`` and ``examples/`` beside them), in order, so later commands read the run
directories earlier ones wrote. What stands in for what a newcomer has:

- the quickstart's local model (slow on CI) is answered by the ``scripted`` backend: the
  commands that run ``quickstart.yaml`` or ``sweep_rounds.yaml`` get its two ``--set``s added;
- servers at ``http://127.0.0.1:PORT/v1`` are loopback servers this test starts (every such
  URL is replaced by one), and a command that starts a server in the background (``&``) is
  left to tests/test_local_server.py;
- a command over more than 4 items runs on 4 (``--limit 4`` added; the last one wins);
- commands that need a provider key run with no key set and must stop with exit 2 naming
  ``OPENAI_API_KEY`` (the pre-flight), having run no item.

Every other command must exit 0.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, JudgeScript
from helpers import ROOT

SECTIONS = (
    "## A short tour",
    "### Ablations, comparisons and reading failures",
    "### Models you serve yourself",
)
DATA = Path(__file__).resolve().parent / "data"
LOCAL_CONFIGS = ("configs/quickstart.yaml", "configs/sweep_rounds.yaml")
SERVER_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/v1")


def section_commands(readme: str) -> list[str]:
    """The commands of the bash blocks of SECTIONS (continuations joined, comments dropped)."""
    commands: list[str] = []
    for heading in SECTIONS:
        start = readme.index(heading)
        following = [readme.find(h, start + len(heading)) for h in ("\n## ", "\n### ")]
        end = min([i for i in following if i != -1], default=len(readme))
        for block in re.findall(r"```bash\n(.*?)```", readme[start:end], flags=re.S):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                commands.append(line.split("  #", 1)[0].split(" # ", 1)[0].strip())
    return commands


def needs_key(command: str) -> bool:
    """A provider command: the paper config or the official judge, with no server of its own."""
    provider = "paper_single_pass.yaml" in command or "judge.name=mmrefine_official" in command
    return provider and "api_base=" not in command


def scripted(command: str) -> list[str]:
    """The ``--set``s that answer a local-model command with the scripted backend."""
    if not any(config in command for config in LOCAL_CONFIGS) or "model.backend=" in command:
        return []
    multi = "multi_round" in command or "sweep_rounds" in command
    script = DATA / ("script_multi_round.yaml" if multi else "script_single_pass.yaml")
    return ["--set", "model.backend=scripted", "--set", f"model.options.script={script}"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("configs", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def test_every_tour_command_runs_as_written(workdir: Path) -> None:
    commands = section_commands((ROOT / "README.md").read_text())
    assert commands[0] == "mmrefine data info" and len(commands) >= 20, commands
    exe = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"COLUMNS": "200", "PATH": f"{exe}{os.pathsep}{env.get('PATH', '')}"}
    servers: dict[str, FakeOpenAI] = {}
    ran = []
    try:
        # the quickstart's run, as the first command wrote it (scripted model)
        first = ["mmrefine", "run", "configs/quickstart.yaml", *scripted("configs/quickstart.yaml")]
        done = subprocess.run(first, cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=300, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
        assert "what the numbers mean:" in done.stdout
        for command in commands:
            if command.endswith("&"):
                continue  # a background server: tests/test_local_server.py runs that route
            for port in SERVER_URL.findall(command):
                if port not in servers:
                    servers[port] = FakeOpenAI(JudgeScript()).__enter__()  # refiner and judge
                command = command.replace(f"http://127.0.0.1:{port}/v1", servers[port].base_url)
            argv = [*shlex.split(command), *scripted(command)]
            if "--limit" in argv and int(argv[argv.index("--limit") + 1]) > 4:
                argv += ["--limit", "4"]  # a smaller slice of the same command (the last wins)
            assert shutil.which(argv[0], path=env["PATH"]), argv[0]
            done = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True,
                                  timeout=600, check=False)  # fmt: skip
            ran.append(command)
            if needs_key(command):
                assert done.returncode == 2, (command, done.stdout[-2000:], done.stderr)
                assert "OPENAI_API_KEY" in done.stderr and "no item was run" in done.stderr, (
                    command, done.stderr)  # fmt: skip
            else:
                assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
            assert "Traceback" not in done.stderr, (command, done.stderr)
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)
    assert any(needs_key(c) for c in ran) and servers, ran
    assert (workdir / "report.html").is_file() and any((workdir / "plots").iterdir())

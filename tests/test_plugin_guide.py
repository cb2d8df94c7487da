"""docs/plugins.md and its examples: each example runs end to end.

Each example is given once with ``--plugin`` at ``mmrefine run`` (the scripted backend and the
offline judge stand in where the example is not itself the backend or the judge); ``trace``
and ``report`` then read the run *without* ``--plugin``: the run remembers its modules. The
guide's Python blocks are either verbatim excerpts of an example (checked, so they never
drift) or complete snippets, run in order as written. That the examples and snippets import
only names ``mmrefine_agent`` exports is checked in tests/test_public_names.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import ROOT, SCRIPT

EXAMPLES = ROOT / "examples"
GUIDE = ROOT / "docs" / "plugins.md"
SCRIPTED = ["--set", "model.backend=scripted", "--set", f"model.options.script={SCRIPT}"]
KINDS = ("A model backend", "A dataset", "A judge", "A strategy", "An observer", "Tools")


def code_blocks(markdown: str, language: str) -> list[str]:
    """The fenced blocks of one language, in order."""
    return re.findall(rf"```{language}\n(.*?)```", markdown, flags=re.S)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a command: no MMREFINE_PLUGINS, the venv's scripts on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "MMREFINE_PLUGINS"}
    exe = str(Path(sys.executable).parent)
    return {**env, "COLUMNS": "200", "PATH": f"{exe}{os.pathsep}{env.get('PATH', '')}", **extra}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mmrefine", *args], cwd=cwd, env=cli_env(), capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory laid out like the checkout (configs/, examples/), so runs land in tmp."""
    for name in ("configs", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def test_the_guide_covers_every_kind_and_links_its_examples() -> None:
    guide = GUIDE.read_text()
    for kind in KINDS:
        assert f"\n## {kind}\n" in guide, kind
    for example in ("echo_backend", "jsonl_dataset", "strict_judge", "plan_first",
                    "parallel_review", "progress_observer", "divisors_tool"):  # fmt: skip
        assert f"(../examples/{example}.py)" in guide, example
    assert "mmrefine_register_tools" in guide
    readme = (ROOT / "README.md").read_text()
    assert "(docs/plugins.md)" in readme
    for block in code_blocks(guide, "toml"):
        entry_points = tomllib.loads(block)["project"]["entry-points"]
        assert "mmrefine_agent" in entry_points


# example -> what makes a run use it (the rest scripted, offline judge) and a check of the run
EXAMPLE_RUNS: dict[str, list[str]] = {
    "echo_backend": ["--set", "model.backend=echo", "--set", "model.name=echo"],
    "jsonl_dataset": ["--set", "data.name=jsonl_steps",
                      "--set", "data.path=examples/data/shapes.jsonl", *SCRIPTED],
    "strict_judge": ["--set", "judge.name=strict", *SCRIPTED],
    "plan_first": ["--set", "strategy.name=plan_first", *SCRIPTED],
    "parallel_review": ["--set", "strategy.name=parallel_review", *SCRIPTED],
    "progress_observer": SCRIPTED,
}  # fmt: skip


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.mark.parametrize("example", sorted(EXAMPLE_RUNS))
def test_each_example_runs_and_its_run_is_read_without_naming_it(
    workdir: Path, example: str
) -> None:
    out = workdir / "runs" / example
    plugin = f"examples/{example}.py"
    done = cli("run", "configs/quickstart.yaml", "--plugin", plugin, "--limit", "2",
               "--out", str(out), "--quiet", *EXAMPLE_RUNS[example], cwd=workdir)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    fingerprint = json.loads((out / "fingerprint.json").read_text())
    assert [m["spec"] for m in fingerprint["modules"]] == [f"examples/{example}.py"]
    results = lines(out / "results.jsonl")
    steps = lines(out / "steps.jsonl")
    assert len(results) == 2 and all(r["status"] == "ok" for r in results), results
    if example == "echo_backend":
        assert all("echo backend" in s["raw_answer"] for s in steps if s["node"] == "detect")
    elif example == "jsonl_dataset":
        assert all(r["key"].startswith("jsonl_steps:") for r in results)
        image_keys = {r["key"] for r in results if r["modality"] == "image"}
        assert image_keys, results  # the image beside the file was read and sent
        sent = [m for s in steps if s["item_key"] in image_keys for c in s["calls"]
                for m in c["messages"]]  # fmt: skip
        assert any(m["images"] for m in sent)
    elif example == "strict_judge":
        assert {r["judgment"]["judge"] for r in results} == {"strict"}
        assert {j["call"] for j in lines(out / "judgments.jsonl")} == {"strict"}
    elif example == "plan_first":
        assert [s["node"] for s in steps if s["item_key"] == results[0]["key"]][:2] == [
            "plan", "detect"]  # fmt: skip
    elif example == "parallel_review":
        first = [s["node"] for s in steps if s["item_key"] == results[0]["key"]]
        assert sorted(first[:2]) == ["figure_reviewer", "steps_reviewer"]
        assert first[2:4] == ["merge", "detect"]
    else:
        assert "[1] " in done.stderr and "[2] " in done.stderr and "RefScore" in done.stderr

    key = results[0]["key"]
    for command in (["trace", str(out), key], ["report", str(out)]):
        read = cli(*command, cwd=workdir)  # no --plugin: the run's own modules are loaded
        assert read.returncode == 0, (command, read.stdout[-2000:], read.stderr[-2000:])
        assert "Traceback" not in read.stderr and "unknown" not in read.stderr, read.stderr
        assert key in read.stdout or command[0] == "report"


def test_the_tool_example_runs_when_a_scripted_model_calls_it(workdir: Path) -> None:
    """The tool example offered by the test strategy's tool loop; trace reads the run alone."""
    import yaml
    from fake_openai import official_answer

    calls = [{"id": "c1", "name": "divisors", "arguments": {"n": 12}},
             {"id": "c2", "name": "divisors", "arguments": {"n": 0}}]  # fmt: skip
    script = workdir / "script.yaml"
    turns = [{"tool_calls": calls}, official_answer(False, "8", step=2)]
    script.write_text(yaml.safe_dump({"nodes": {"detect": {"turns": turns}}}))
    out = workdir / "runs" / "divisors"
    done = cli("run", "configs/quickstart.yaml", "--plugin", "examples/divisors_tool.py",
               "--plugin", str(ROOT / "tests" / "tool_loop_strategy.py"), "--limit", "1",
               "--out", str(out), "--quiet", "--set", "strategy.name=tool_loop",
               "--set", "strategy.tools=[divisors]", "--set", "model.backend=scripted",
               "--set", f"model.options.script={script}", cwd=workdir)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (detect,) = [s for s in lines(out / "steps.jsonl") if s["node"] == "detect"]
    assert detect["calls"][0]["params"]["tools"] == ["divisors"]
    runs = {r["call_id"]: r for r in detect["tool_runs"]}
    assert runs["c1"]["result"] == "1, 2, 3, 4, 6, 12" and not runs["c1"]["error"]
    assert runs["c2"]["error"] and "nonzero" in runs["c2"]["result"]  # the model reads why
    (result,) = lines(out / "results.jsonl")
    shown = cli("trace", str(out), result["key"], "--full", cwd=workdir)
    assert shown.returncode == 0 and "1, 2, 3, 4, 6, 12" in shown.stdout, shown.stderr


def test_a_bad_record_of_the_jsonl_example_fails_only_its_item(workdir: Path) -> None:
    data = workdir / "shapes.jsonl"
    good = (EXAMPLES / "data" / "shapes.jsonl").read_text().splitlines()
    bad = json.loads(good[2]) | {"id": "broken", "first_wrong_step": 7}
    data.write_text("\n".join([*good[2:], json.dumps(bad)]) + "\n")
    out = workdir / "runs" / "bad"
    done = cli("run", "configs/quickstart.yaml", "--plugin", "examples/jsonl_dataset.py",
               "--set", "data.name=jsonl_steps", "--set", f"data.path={data}", "--out", str(out),
               "--set", "data.balanced=false", "--quiet", *SCRIPTED, cwd=workdir)  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr  # finished, one item failed
    results = {r["key"]: r for r in lines(out / "results.jsonl")}
    assert results["jsonl_steps:broken"]["status"] == "data_error"
    assert "first_wrong_step" in results["jsonl_steps:broken"]["error"]
    assert sum(r["status"] == "ok" for r in results.values()) == 2
    assert "Traceback" not in done.stderr


def test_a_missing_data_path_is_one_clear_error(workdir: Path) -> None:
    done = cli("run", "configs/quickstart.yaml", "--plugin", "examples/jsonl_dataset.py",
               "--set", "data.name=jsonl_steps", "--out", str(workdir / "runs" / "x"),
               *SCRIPTED, cwd=workdir)  # fmt: skip
    assert done.returncode == 2 and "data.path" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


RUNNER = """
import sys, traceback
for path in sys.argv[1:]:
    print("== block", path, flush=True)
    source = open(path).read()
    try:
        exec(compile(source, path, "exec"), {"__name__": "__main__"})
    except BaseException:
        traceback.print_exc()
        sys.exit(f"block {path} failed")
"""


def run_blocks(blocks: list[str], workdir: Path, prefix: str) -> subprocess.CompletedProcess[str]:
    """Run code blocks in order, each as a fresh ``__main__`` script, in one Python process."""
    paths = []
    for number, block in enumerate(blocks):
        path = workdir / f"{prefix}_{number}.py"
        path.write_text(block)
        paths.append(str(path))
    return subprocess.run([sys.executable, "-c", RUNNER, *paths], cwd=workdir, env=cli_env(),
                          capture_output=True, text=True, timeout=900, check=False)  # fmt: skip


def test_the_guide_snippets_run_as_written(workdir: Path) -> None:
    examples = [p.read_text() for p in EXAMPLES.glob("*.py")]
    blocks = code_blocks(GUIDE.read_text(), "python")
    excerpts = [b for b in blocks if any(b in source for source in examples)]
    snippets = [b for b in blocks if b not in excerpts]
    assert len(excerpts) >= 5 and len(snippets) >= 6, (len(excerpts), len(snippets))
    done = run_blocks(snippets, workdir, "guide_block")
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert done.stdout.count("== block") == len(snippets)
    assert "Timeout is disabled" not in done.stdout + done.stderr  # math-verify's notice

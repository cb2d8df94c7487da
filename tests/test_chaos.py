"""Chaos: odd replies, crafted data, broken caches and escapes, driven through the public paths.

Every case ends in a clear message or a failed item; nothing finished is lost, nothing secret
is written, and a resume works.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, official_answer
from helpers import mmrefine, scripted_run
from test_litellm_loopback import run, via

ODD = ["surrogate", "parts", "badusage", "nochoices", "badutf8"]


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.mark.parametrize("backend", ["litellm", "openai_compat"])
def test_odd_replies_fail_only_their_item_and_resume_works(tmp_path: Path, backend: str) -> None:
    with FakeOpenAI(lambda body: official_answer(True)) as server:
        server.faults = list(ODD)
        outcome = run(via(server, backend, "run.concurrency=1", "run.retries=0"),
                      tmp_path / "r", limit=6)  # fmt: skip
        results = {r["key"]: r for r in lines(tmp_path / "r" / "results.jsonl")}
        assert len(results) == 6  # every item recorded: ok or a failed item, no crash
        assert outcome.n_done >= 6 - len(ODD)
        assert all(r["status"] in ("ok", "backend_error") for r in results.values())
        again = run(via(server, backend, "run.concurrency=1", "run.retries=0"),
                    tmp_path / "r", limit=6)  # fmt: skip
    assert again.n_done == 6 and again.complete
    text = (tmp_path / "r" / "steps.jsonl").read_text(encoding="utf-8")
    assert "\\ud800" not in text  # the lone surrogate never reached a file


def test_a_provider_error_echoing_the_key_is_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-leak0123456789abcdef"
    monkeypatch.setenv("MY_KEY", secret)
    with FakeOpenAI(lambda body: official_answer(True)) as server:
        server.faults = ["echoauth"] * 4
        run(via(server, "openai_compat", "model.api_key_env=MY_KEY", "run.retries=0"),
            tmp_path / "r", limit=2)  # fmt: skip
    for path in (tmp_path / "r").iterdir():
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path.name


def test_a_decompression_bomb_is_a_data_error(data_dir: Path, tmp_path: Path) -> None:
    from PIL import Image
    from test_dataset import _write_rows

    from mmrefine_agent.data.mmrefine import read_rows

    rows = [dict(r) for r in read_rows(data_dir / "MMRefine_test.parquet") if r["image"]][:3]
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG")
    rows[2]["image"] = {"bytes": buffer.getvalue(), "path": "bomb.png"}
    parquet = _write_rows(tmp_path / "bomb.parquet", rows)
    result = scripted_run(tmp_path / "r", "--set", f"data.parquet={parquet}", limit=3)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    bad = [r for r in lines(tmp_path / "r" / "results.jsonl") if r["status"] == "data_error"]
    assert len(bad) == 1 and bad[0]["field"] == "image" and "decompression bomb" in bad[0]["error"]


def test_duplicate_keys_never_hide_the_kept_item(data_dir: Path, tmp_path: Path) -> None:
    from test_dataset import _write_rows

    from mmrefine_agent.data.mmrefine import read_rows

    rows = [dict(r) for r in read_rows(data_dir / "MMRefine_test.parquet")][:4]
    parquet = _write_rows(tmp_path / "dup.parquet", [*rows, rows[1]])
    out = tmp_path / "r"
    for _ in range(3):  # 4 -> 4 -> 4 scored, on every resume
        result = scripted_run(out, "--set", f"data.parquet={parquet}", limit=10)
        assert result.returncode == 1, result.stderr
        scores = json.loads((out / "scores.json").read_text())
        assert scores["n_judged"] == 4
        assert len(json.loads((out / "submission.json").read_text())) == 4


def test_a_filter_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    result = scripted_run(tmp_path / "r", "--set", "data.filter.modality=imag")
    assert result.returncode == 2
    assert "data.filter.modality" in result.stderr and "image" in result.stderr


def test_a_broken_cache_warns_and_the_run_goes_on(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "calls.sqlite3").write_bytes(b"this is not a database" * 100)
    first = scripted_run(tmp_path / "a", "--set", f"run.cache_dir={corrupt}", limit=2)
    assert first.returncode == 0, first.stderr
    assert "moved to" in first.stderr and list(corrupt.glob("calls.sqlite3.corrupt-*"))
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be")
    second = scripted_run(tmp_path / "b", "--set", f"run.cache_dir={blocked}", limit=2)
    assert second.returncode == 0, second.stderr
    assert "running without it" in second.stderr


def test_bad_paths_and_files_are_one_line_errors(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    out_is_file = scripted_run(a_file, limit=1)
    assert out_is_file.returncode == 2 and "is a file" in out_is_file.stderr
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    bad_config = mmrefine("run", str(latin))
    assert bad_config.returncode == 2 and "Traceback" not in bad_config.stderr


def test_a_sweep_cell_cannot_leave_the_sweep_directory(tmp_path: Path) -> None:
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "name: s\nmodel: {backend: scripted, options: {script: "
        + str(Path(__file__).parent / "data" / "script_single_pass.yaml")
        + "}}\njudge: {name: offline}\ndata: {limit: 1}\n"
        "grid:\n  model.params.x/../../escaped: [1]\n"
    )
    out = tmp_path / "deep" / "sweep"
    result = mmrefine("sweep", str(config), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "deep" / "escaped").exists()
    assert all(p.parent == out for p in out.iterdir())


def test_model_text_cannot_break_the_report_or_the_terminal(tmp_path: Path) -> None:
    nasty = "<!--<script>alert(1)</script> \x1b]52;c;ZXZpbA==\x07\x1b[2J Correctness: Correct"
    script = tmp_path / "nasty.yaml"
    script.write_text(json.dumps({"default": nasty}))
    out = tmp_path / "r"
    result = scripted_run(out, "--set", f"model.options.script={script}", limit=2)
    assert result.returncode == 0, result.stderr
    key = lines(out / "results.jsonl")[0]["key"]
    trace = mmrefine("trace", str(out), key)
    assert trace.returncode == 0 and "\x1b" not in trace.stdout and "alert(1)" in trace.stdout
    html = tmp_path / "r.html"
    assert mmrefine("report", str(out), "--html", str(html)).returncode == 0
    page = html.read_text()
    data = page[page.index('id="data">') :]
    data = data[: data.index("</script>")]
    assert "<!--" not in data and "<script" not in data


def test_a_mathtext_like_error_type_does_not_break_the_plots(tmp_path: Path) -> None:
    from mmrefine_agent.analysis.plots import plot_error_types
    from mmrefine_agent.records.models import ScoreBlock, Scores

    scores = Scores(by={"error_type": {r"$\undefinedcmd{x}$": ScoreBlock(n=1, counts={"RF": 1})}})
    assert plot_error_types(scores, tmp_path / "p.png") is not None


def test_a_full_disk_is_one_line_and_the_run_resumes_elsewhere(tmp_path: Path) -> None:
    import shutil
    import subprocess

    tiny = tmp_path / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(tiny)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        full = scripted_run(tiny / "run", limit=40)
        assert full.returncode == 2 and "No space left on device" in full.stderr
        assert "Traceback" not in full.stderr
        shutil.copytree(tiny / "run", tmp_path / "moved", ignore=shutil.ignore_patterns(".lock"))
    finally:
        subprocess.run(["umount", str(tiny)], check=False)
    resumed = scripted_run(tmp_path / "moved", limit=40)
    assert resumed.returncode == 0, resumed.stderr
    keys = [
        json.loads(x)["key"] for x in (tmp_path / "moved/results.jsonl").read_text().splitlines()
    ]
    assert len(set(keys)) == 40

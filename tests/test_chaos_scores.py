"""Chaos: scores that say exactly what they count, and requests only where the user says (issue 24).

A run directory from someone else cannot send the re-judging user's requests (or key)
anywhere; the budget is one for the run, across resumes, and passed by about one call at most;
judgments made with other judge settings are redone; completeness is over the run's configured
items; and a killed session's paid calls stay counted.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_openai import FakeOpenAI, JudgeScript, official_answer
from helpers import mmrefine, scripted_config
from test_reuse_rule import KILLER, killed_run, record_counts

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.rejudge import rejudge_run
from mmrefine_agent.engine.run import arun
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.plugins_manager import load_plugins


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def served(server: FakeOpenAI, limit: int, *extra: str) -> Any:
    """Refiner and official judge both on ``server`` (openai_compat: no litellm import)."""
    return build_config(
        {"name": "c"},
        [
            f"data.limit={limit}", "data.balanced=true", "strategy.name=single_pass",
            "model.backend=openai_compat", "model.name=refiner",
            f"model.api_base={server.base_url}", "judge.name=mmrefine_official",
            "judge.backend=openai_compat", "judge.model=judge",
            f"judge.api_base={server.base_url}", "run.backoff_s=0.01", *extra,
        ],
    )  # fmt: skip


def judge_requests(server: FakeOpenAI) -> int:
    return sum(1 for body in server.requests if body.get("model") == "judge")


# --- trust: a run directory is data -------------------------------------------------------


def test_a_received_run_cannot_send_the_users_key_to_its_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "received"
    assert asyncio.run(arun(scripted_config(limit=2), out)).complete
    monkeypatch.setenv("VICTIM_SECRET", "sk-victim0123456789abcdef")
    with FakeOpenAI(JudgeScript()) as evil:
        raw = yaml.safe_load((out / "config.yaml").read_text())
        stolen = {"extra_headers": {"X-Steal": "1"}, "temperature": 0}
        raw["judge"] |= {"name": "mmrefine_official", "backend": "openai_compat",
                         "api_base": evil.base_url, "api_key_env": "VICTIM_SECRET",
                         "params": stolen}  # fmt: skip
        (out / "config.yaml").write_text(yaml.safe_dump(raw))
        result = mmrefine("judge", str(out))
        assert result.returncode == 2 and "Traceback" not in result.stderr
        text = " ".join(result.stderr.split())
        for name in ("judge.api_base=", "judge.api_key_env=VICTIM_SECRET",
                     "judge.params.extra_headers", "--trust-run-config"):  # fmt: skip
            assert name in text, text
        assert "judge.params.temperature" not in text  # a sampling parameter routes nothing
        # restating only where requests go still leaves the key variable unconfirmed
        with pytest.raises(ConfigError, match="api_key_env"):
            asyncio.run(rejudge_run(out, load_plugins(),
                                    overrides=[f"judge.api_base={evil.base_url}"]))  # fmt: skip
        assert evil.requests == []  # nothing was sent anywhere
        # the user's own judge section (--config) is theirs: nothing to confirm
        mine = tmp_path / "mine.yaml"
        mine.write_text(yaml.safe_dump({"judge": {"name": "offline"}}))
        assert mmrefine("judge", str(out), "--config", str(mine)).returncode == 0
        # confirmed explicitly, the run's own settings are used
        confirmed = asyncio.run(rejudge_run(out, load_plugins(), trust_run_config=True))
        assert confirmed.n_items == 2 and evil.requests
        assert all(h.get("Authorization") == "Bearer sk-victim0123456789abcdef"
                   for h in evil.headers)  # fmt: skip


# --- the budget ---------------------------------------------------------------------------


def test_the_budget_is_passed_by_at_most_one_call_and_is_one_for_the_run(tmp_path: Path) -> None:
    cent = ["model.options.cost_per_million={input: 1000, output: 0}"]  # 10 tokens: $0.01
    with FakeOpenAI(lambda body: official_answer(True), latency_s=0.3) as server:
        config = served(server, 10, "judge.name=offline", "run.concurrency=8",
                        "run.max_cost_usd=0.03", "run.retries=0", *cent)  # fmt: skip
        first = asyncio.run(arun(config, tmp_path / "r"))
        spent = first.scores.usage.refine.cost_usd
        assert 0.03 <= spent <= 0.03 + 0.01 + 1e-9, spent  # not 8 calls in flight at once
        assert len(server.requests) <= 4
        statuses = {r["status"] for r in lines(tmp_path / "r" / "results.jsonl")}
        assert statuses == {"ok", "budget"}
        sent = len(server.requests)
        again = asyncio.run(arun(config, tmp_path / "r"))  # the resume: the budget is spent
        assert len(server.requests) == sent
        assert again.scores.usage.refine.cost_usd == pytest.approx(spent)
        assert again.scores.completeness.failed.get("budget")


# --- judgments made with other judge settings ---------------------------------------------


def test_changed_judge_settings_redo_the_judgments_they_label(tmp_path: Path) -> None:
    out = tmp_path / "r"
    with FakeOpenAI(JudgeScript()) as server:
        assert asyncio.run(arun(served(server, 4), out)).complete
        first = judge_requests(server)
        assert first > 0
        asyncio.run(arun(served(server, 4), out))  # same settings: nothing to redo
        assert judge_requests(server) == first
        changed = served(server, 4, "judge.params.temperature=0.5")
        outcome = asyncio.run(arun(changed, out))
        assert judge_requests(server) == 2 * first  # every judgment redone (cache missed)
        assert outcome.scores.judge_settings["params"] == {"temperature": 0.5}
        keys = {r["judgment"]["settings"] for r in lines(out / "results.jsonl")[-4:]}
        assert len(keys) == 1 and None not in keys
        # `judge` with another judge model redoes them too (its endpoint restated by the user)
        rejudged = asyncio.run(
            rejudge_run(out, load_plugins(), overrides=["judge.model=judge2",
                                                        f"judge.api_base={server.base_url}"])
        )  # fmt: skip
        assert rejudged.complete
        assert sum(1 for b in server.requests if b.get("model") == "judge2") == first
        # judgments written before 0.3 (no settings) count as made with the settings
        # scores.json names: judging again with those keeps them
        kept = [{**r, "judgment": {**r["judgment"], "settings": None}}
                for r in lines(out / "results.jsonl")]  # fmt: skip
        (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
        sent = len(server.requests)
        again = asyncio.run(
            rejudge_run(out, load_plugins(), overrides=["judge.model=judge2",
                                                        f"judge.api_base={server.base_url}"])
        )  # fmt: skip
        assert again.complete and len(server.requests) == sent


# --- completeness over the configured items -----------------------------------------------


def test_judging_an_interrupted_run_is_incomplete_and_counts_only_its_items(
    tmp_path: Path,
) -> None:
    out = tmp_path / "r"
    assert asyncio.run(arun(scripted_config(limit=6), out)).complete
    results = lines(out / "results.jsonl")
    foreign = {**results[0], "key": "9999_Foreign", "id": "9999"}
    kept = [*results[:3], foreign]  # an interrupted run, and a record of no configured item
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    outcome = asyncio.run(
        rejudge_run(out, load_plugins(), overrides=["judge.name=offline"], force=True)
    )
    done = outcome.scores.completeness
    assert not done.complete and done.n_expected == 6 and done.failed == {"missing": 3}
    assert outcome.scores.n_judged == 3 and outcome.n_items == 6 and outcome.n_done == 3
    assert "9999_Foreign" not in json.loads((out / "submission.json").read_text())
    assert json.loads((out / "scores.json").read_text())["completeness"]["complete"] is False


# --- kills at chosen moments --------------------------------------------------------------


def test_a_killed_sessions_paid_calls_stay_counted(tmp_path: Path) -> None:
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    reference = tmp_path / "reference"
    assert killed_run(reference, killer, "none", 1, "--set", f"run.cache_dir={tmp_path}/c1") == 0
    paid = json.loads((reference / "usage.json").read_text())["refine"]["calls"]
    out = tmp_path / "killed"
    cache = f"run.cache_dir={tmp_path}/c2"
    # killed at the first step (no usage.json yet), resumed, killed again, then finished
    assert killed_run(out, killer, "step", 1, "--set", cache) == -signal.SIGKILL
    assert (out / "usage-journal.jsonl").is_file() and not (out / "usage.json").is_file()
    assert killed_run(out, killer, "step", 3, "--set", cache) == -signal.SIGKILL
    assert killed_run(out, killer, "none", 1, "--set", cache) == 0
    usage = json.loads((out / "usage.json").read_text())
    assert usage["refine"]["calls"] == paid  # every call paid once, and counted once
    assert len(usage["sessions"]) >= 2 and not (out / "usage-journal.jsonl").exists()


def test_a_kill_between_judge_calls_and_the_result_never_doubles_them(tmp_path: Path) -> None:
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    reference = tmp_path / "reference"
    assert killed_run(reference, killer, "none", 1) == 0
    _, _, want = record_counts(reference)
    out = tmp_path / "killed"
    assert killed_run(out, killer, "judge", 1) == -signal.SIGKILL
    assert killed_run(out, killer, "none", 1) == 0
    results, _, calls = record_counts(out)
    assert calls == want and set(results.values()) == {"ok"}
    key = next(iter(results))
    trace = mmrefine("trace", str(out), key)
    assert trace.returncode == 0


def test_journal_lines_are_usage_marks_and_fold_into_the_sessions(tmp_path: Path) -> None:
    from mmrefine_agent.engine.client import UsageTotals
    from mmrefine_agent.engine.usage import RunUsage
    from mmrefine_agent.records.models import UsageMark
    from mmrefine_agent.records.rundir import read_records
    from mmrefine_agent.types import ModelResponse

    def paid(cost: float, hit: bool = False) -> ModelResponse:
        return ModelResponse(text="x", model="m", input_tokens=10, output_tokens=5,
                             cost_usd=cost, cache_hit=hit)  # fmt: skip

    usage = tmp_path / "usage.json"
    refine, judge = UsageTotals(), UsageTotals()
    first = RunUsage(usage, refine, judge)
    refine.add(paid(0.25))
    first.write()  # usage.json knows one call of this session ...
    refine.add(paid(0.5))
    judge.add(paid(0.125))
    judge.add(paid(9.0, hit=True))  # a cache hit is not paid: not journaled
    marks = read_records(tmp_path / "usage-journal.jsonl", UsageMark)  # the model reads them
    assert len(marks) == 3 and marks[-1].refine == refine.snapshot()
    assert marks[-1].judge.calls == 1 and marks[-1].judge.cost_usd == 0.125
    # ... the process is killed; the next session folds the journal in
    second = RunUsage(usage, UsageTotals(), UsageTotals())
    assert second.earlier_cost() == pytest.approx(0.875)
    assert [s.refine.calls for s in second.earlier] == [2]
    doc = second.finish()
    assert doc.refine.calls == 2 and doc.judge.calls == 1
    assert not (tmp_path / "usage-journal.jsonl").exists()
    assert RunUsage(usage, UsageTotals(), UsageTotals()).earlier_cost() == pytest.approx(0.875)

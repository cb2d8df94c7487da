"""A cached rerun replays whole items: the same records as running their graphs, and never stale.

Real parts: the scripted backend and offline judge built from the config, the call cache in a
per-test directory, the run files read back from disk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import scripted_config
from hypothesis import given, settings
from hypothesis import strategies as st

from mmrefine_agent.data.run_slice import load_run_items
from mmrefine_agent.engine.item_replay import item_digest, rememberable
from mmrefine_agent.engine.run import arun
from mmrefine_agent.plugins_manager import load_plugins
from mmrefine_agent.records.models import ItemResult, JudgmentRecord, RoundSummary
from mmrefine_agent.types import Item

VOLATILE = ("elapsed_s", "timestamp", "replayed", "latency_s")


def config(*extra: str, limit: int = 8):
    return scripted_config(*extra, limit=limit)


def run(out: Path, *extra: str, plugins=None, limit: int = 8):
    """Run (or resume) into ``out`` with the scripted backend and the offline judge."""
    return asyncio.run(arun(config(*extra, limit=limit), out, plugins=plugins or load_plugins()))


def lines(out: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (out / name).read_text().splitlines()]


def comparable(out: Path, name: str) -> list[str]:
    """A run file's records without what differs from session to session (sorted)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return sorted(json.dumps(strip(r), sort_keys=True) for r in lines(out, name))


def replayed(out: Path) -> int:
    return sum(1 for r in lines(out, "results.jsonl") if r.get("replayed"))


def test_cached_rerun_replays_items_and_writes_what_their_graphs_write(tmp_path: Path) -> None:
    first = run(tmp_path / "first")
    assert first.complete and replayed(tmp_path / "first") == 0
    again = run(tmp_path / "again")  # replayed
    graph = run(tmp_path / "graph", "run.replay=false")  # the graph, against the call cache
    assert again.complete and graph.complete
    assert replayed(tmp_path / "again") == 8 and replayed(tmp_path / "graph") == 0
    for name in ("results.jsonl", "steps.jsonl", "judgments.jsonl"):
        assert comparable(tmp_path / "again", name) == comparable(tmp_path / "graph", name), name
    for name in ("submission.json",):
        assert (tmp_path / "again" / name).read_text() == (tmp_path / "graph" / name).read_text()
    scores = [json.loads((tmp_path / d / "scores.json").read_text()) for d in ("again", "graph")]
    for score in scores:
        score.pop("usage", None)
        score.pop("elapsed_s", None)
    assert scores[0] == scores[1]
    # the accounting says what a cached rerun is: every call a cache hit, nothing spent
    usage = json.loads((tmp_path / "again" / "usage.json").read_text())
    assert usage["refine"]["calls"] == 0 and usage["refine"]["cache_hits"] == 8
    assert usage["refine"]["cost_usd"] == 0
    assert again.usage["refine"].cache_hits == graph.usage["refine"].cache_hits
    assert again.usage["judge"] == graph.usage["judge"]


def test_resuming_a_partial_run_replays_only_what_is_missing(tmp_path: Path) -> None:
    run(tmp_path / "fill")
    out = tmp_path / "partial"
    run(out)
    # as if killed after three items: the run directory keeps only their results
    kept = (out / "results.jsonl").read_text().splitlines()[:3]
    (out / "results.jsonl").write_text("\n".join(kept) + "\n")
    outcome = run(out)
    assert outcome.complete
    results = lines(out, "results.jsonl")
    assert results[:3] == [json.loads(line) for line in kept]  # nothing finished is dropped
    assert len(results) == 8 and len({r["key"] for r in results}) == 8
    assert all(r["replayed"] for r in results[3:])


def test_changed_settings_miss_and_run_the_graph(tmp_path: Path) -> None:
    run(tmp_path / "first")
    for n, change in enumerate(
        ("model.params.temperature=0.5", "strategy.max_rounds=2", "judge.per_round=true")
    ):
        out = tmp_path / f"changed-{n}"
        assert run(out, change).complete
        assert replayed(out) == 0, change


def test_a_changed_item_misses_alone(tmp_path: Path, data_dir: Path) -> None:
    changed = tmp_path / "data"
    changed.mkdir()
    shutil.copy(data_dir / "mmrefine_official_prompts.json", changed)
    table = pq.read_table(data_dir / "MMRefine_test.parquet")
    solutions = table["initial_solution"].to_pylist()
    solutions[0] = solutions[0] + "\n(edited)"
    index = table.schema.get_field_index("initial_solution")
    table = table.set_column(index, "initial_solution", pa.array(solutions))
    pq.write_table(table, changed / "MMRefine_test.parquet")
    run(tmp_path / "first")
    out = tmp_path / "edited"
    assert run(out, f"data.dir={changed}").complete
    _, loaded, _ = load_run_items(config(f"data.dir={changed}"))
    (edited,) = [i.key for i in loaded.items if i.initial_solution.endswith("(edited)")]
    results = {r["key"]: r for r in lines(out, "results.jsonl")}
    assert not results[edited]["replayed"]
    assert all(r["replayed"] for key, r in results.items() if key != edited)


def test_changed_plugin_code_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "mod" / "replay_probe_strategy.py"
    module.parent.mkdir()
    source = textwrap.dedent(
        '''
        """A strategy in a plugin module outside the project."""
        from mmrefine_agent.hookspecs import hookimpl
        from mmrefine_strategies.single_pass import SinglePass


        class Probe(SinglePass):
            """single_pass under another name."""

            name = "replay_probe"


        @hookimpl
        def mmrefine_register_strategies(register):
            """Register it."""
            register("replay_probe", Probe)
        '''
    )
    module.write_text(source)
    monkeypatch.syspath_prepend(str(module.parent))

    def plugins():
        return load_plugins(["replay_probe_strategy"])

    run(tmp_path / "first", "strategy.name=replay_probe", plugins=plugins())
    run(tmp_path / "same", "strategy.name=replay_probe", plugins=plugins())
    assert replayed(tmp_path / "same") == 8
    module.write_text(source + "\n# the strategy's code changed\n")
    run(tmp_path / "edited", "strategy.name=replay_probe", plugins=plugins())
    assert replayed(tmp_path / "edited") == 0


def test_cache_off_neither_remembers_nor_replays(tmp_path: Path) -> None:
    run(tmp_path / "first", "run.cache=false")
    run(tmp_path / "second")
    assert replayed(tmp_path / "second") == 0


def test_only_finished_and_validly_judged_outcomes_are_remembered() -> None:
    rounds = [RoundSummary(verdict="incorrect", final_answer="1")]
    ok = ItemResult(
        key="1_a", status="ok", rounds=rounds, judgment=JudgmentRecord(judge="j", scenario="RS")
    )
    assert rememberable(ok, judged=True)
    assert rememberable(ok.model_copy(update={"judgment": None}), judged=False)
    assert not rememberable(ok.model_copy(update={"judgment": None}), judged=True)
    bad_judgment = JudgmentRecord(judge="j", scenario="judge_error", error="unparsable")
    assert not rememberable(ok.model_copy(update={"judgment": bad_judgment}), judged=True)
    assert not rememberable(ok.model_copy(update={"status": "backend_error"}), judged=True)
    assert not rememberable(ok.model_copy(update={"rounds": []}), judged=False)


def test_an_unreadable_remembered_outcome_runs_the_graph(
    tmp_path: Path, isolated_cache: Path
) -> None:
    import sqlite3

    run(tmp_path / "first")
    (database,) = isolated_cache.rglob("calls.sqlite3")
    with sqlite3.connect(database) as db:
        db.execute("UPDATE items SET outcome = '{\"torn'")
    outcome = run(tmp_path / "second")
    assert outcome.complete and replayed(tmp_path / "second") == 0
    run(tmp_path / "graph", "run.replay=false")
    assert comparable(tmp_path / "second", "results.jsonl") == comparable(
        tmp_path / "graph", "results.jsonl"
    )
    run(tmp_path / "third")  # the graph run above remembered a readable outcome again
    assert replayed(tmp_path / "third") == 8


def test_finishing_from_the_session_records_equals_reading_the_files(tmp_path: Path) -> None:
    from mmrefine_agent.engine.finish import finish_run
    from mmrefine_agent.records.models import UsageDoc
    from mmrefine_agent.records.rundir import RunDir, read_document

    out = tmp_path / "run"
    outcome = run(out)  # a new run directory: finished from what the session kept
    cfg = config()
    _, loaded, _ = load_run_items(cfg)
    items = {i.key: i for i in loaded.items}
    usage = read_document(out / "usage.json", UsageDoc)
    assert usage is not None
    from_files = finish_run(RunDir(out), cfg, items, list(items), usage)
    assert from_files.model_dump(exclude={"usage"}) == outcome.scores.model_dump(exclude={"usage"})


def test_trace_says_an_item_was_replayed(tmp_path: Path) -> None:
    from helpers import mmrefine

    run(tmp_path / "first")
    run(tmp_path / "again", limit=8)
    key = lines(tmp_path / "again", "results.jsonl")[0]["key"]
    shown = mmrefine("trace", str(tmp_path / "again"), key)
    assert shown.returncode == 0, shown.stderr
    assert "replayed" in shown.stdout and "from the item cache" in shown.stdout
    first = mmrefine("trace", str(tmp_path / "first"), key)
    assert "from the item cache" not in first.stdout


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(st.text(max_size=30), min_size=1, max_size=3),
    tokens=st.integers(min_value=0, max_value=10**6),
    scenario=st.sampled_from(["VS", "FD", "RF", "ED", "EC", "RS"]),
)
def test_a_remembered_outcome_reads_back_as_stored(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], tokens: int, scenario: str
) -> None:
    from mmrefine_agent.engine.cache import CallCache
    from mmrefine_agent.engine.item_replay import ItemReplay
    from mmrefine_agent.events import ItemFinished, JudgeCalled, RunInfo, StepFinished
    from mmrefine_agent.records.models import (
        CallRecord,
        CallUsage,
        JudgeCallRecord,
        MessageSummary,
        StepEvent,
    )
    from mmrefine_agent.types import Item

    item = Item(key="7_src", id="7", question=texts[0], options=(), image=None, answer="1",
                initial_solution="Step 1: x", label="incorrect", reference_feedback="step 1",
                error_type="e", source="src")  # fmt: skip
    cache = CallCache(tmp_path_factory.mktemp("cache"))
    replay = ItemReplay(cache, "tag", judged=True)
    replay.key(item)
    sink = replay.watch([item.key])
    info = RunInfo(run_dir=tmp_path_factory.mktemp("run"), config=config())
    steps = [
        StepEvent(
            item_key=item.key,
            round=1,
            node=f"n{i}",
            strategy="s",
            timestamp=10.0 + i,
            calls=[
                CallRecord(
                    messages=[MessageSummary(role="user", text=t)],
                    answer=t,
                    usage=CallUsage(input_tokens=tokens, cost_usd=0.5),
                )
            ],
            parsed={"text": t},
        )
        for i, t in enumerate(texts)
    ]
    call = JudgeCallRecord(item_key=item.key, judge="j", call="eval", reply=texts[-1],
                           usage=CallUsage(output_tokens=tokens, latency_s=1.0))  # fmt: skip
    result = ItemResult(key=item.key, status="ok", rounds=[RoundSummary(response=texts[-1])],
                        judgment=JudgmentRecord(judge="j", scenario=scenario))  # fmt: skip
    for step in steps:
        sink(StepFinished(run=info, step=step))
    sink(JudgeCalled(run=info, call=call))
    sink(ItemFinished(run=info, result=result))
    replay.close()
    again = ItemReplay(CallCache(cache.directory), "tag", judged=True)
    (outcome,) = again.lookup([item]).values()
    assert [s.calls[0].answer for s in outcome.steps] == texts
    assert all(c.usage.cache_hit and c.usage.cost_usd == 0 for s in outcome.steps for c in s.calls)
    assert outcome.judge_calls[0].reply == texts[-1] and outcome.judge_calls[0].usage.cache_hit
    assert outcome.result.judgment == result.judgment and outcome.result.rounds == result.rounds
    assert outcome.result.usage.cache_hits == len(texts) and outcome.result.usage.calls == 0
    again.close()


TEXT = st.text(max_size=6)
ITEM_FIELDS = {
    "question": TEXT,
    "answer": TEXT,
    "options": st.lists(TEXT, max_size=3).map(tuple),
    "reference_feedback": st.none() | TEXT,
    "error_type": st.none() | TEXT,
    "steps": st.lists(TEXT, max_size=3).map(tuple),
    "first_wrong_step": st.none() | st.integers(-3, 3),
    "category": st.none() | TEXT,
    "meta": st.dictionaries(TEXT, st.none() | st.integers() | TEXT, max_size=2),
}


@settings(max_examples=200, deadline=None)
@given(a=st.fixed_dictionaries(ITEM_FIELDS), b=st.fixed_dictionaries(ITEM_FIELDS))
def test_items_digest_alike_exactly_when_their_fields_are_alike(a: dict, b: dict) -> None:
    """The length-prefixed digest never lets two different items collide (or one drift)."""
    base = Item(
        key="1_x", id="1", question="", options=(), image=None, answer="",
        initial_solution="Step 1: x", label="incorrect", reference_feedback=None,
        error_type=None, source="s",
    )  # fmt: skip
    first, second = dataclasses.replace(base, **a), dataclasses.replace(base, **b)
    same = a == b  # meta is left out of Item equality, not of the digest
    assert (item_digest(first) == item_digest(second)) == same
    assert item_digest(first) == item_digest(dataclasses.replace(base, **a))

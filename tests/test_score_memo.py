"""Scores remembered by content: the same scores.json, never a stale one.

Real parts: the scripted backend and offline judge of real runs, the call cache in a per-test
directory, scores.json and results.jsonl read back from disk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from pathlib import Path

import pytest
from helpers import scripted_config

from mmrefine_agent.analysis.metrics import compute_scores
from mmrefine_agent.data.run_slice import load_run_items
from mmrefine_agent.engine import finish, score_memo
from mmrefine_agent.engine.run import arun
from mmrefine_agent.engine.score_memo import score_key
from mmrefine_agent.engine.services import open_cache
from mmrefine_agent.plugins_manager import load_plugins
from mmrefine_agent.records.models import ItemResult
from mmrefine_agent.records.rundir import RunDir


def config(*extra: str):
    return scripted_config(*extra)


def run(out: Path, *extra: str):
    return asyncio.run(arun(config(*extra), out, plugins=load_plugins()))


def scores(out: Path) -> dict:
    data = json.loads((out / "scores.json").read_text())
    for volatile in ("usage", "usage_by_node"):
        data.pop(volatile)
    return data


def never(*args: object, **kwargs: object) -> None:
    raise AssertionError("scored again")


def test_a_rerun_with_the_same_records_is_not_scored_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(tmp_path / "first").complete
    monkeypatch.setattr(finish, "compute_scores", never)
    monkeypatch.setattr(finish, "step_and_scores_remembered", never)
    again = run(tmp_path / "again")  # replayed: the same records, so the same scoring
    assert again.complete
    assert scores(tmp_path / "again") == scores(tmp_path / "first")
    graphs = run(tmp_path / "graphs", "run.replay=false")  # graphs rerun, same records
    assert graphs.complete and scores(tmp_path / "graphs") == scores(tmp_path / "first")


def test_without_the_cache_every_run_is_scored(tmp_path: Path) -> None:
    assert run(tmp_path / "first", "run.cache=false").complete
    calls: list[int] = []
    real = finish.compute_scores

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(finish, "compute_scores", counted)
        assert run(tmp_path / "again", "run.cache=false").complete
    assert calls == [1]


def test_the_key_holds_what_scores_read_and_nothing_else(tmp_path: Path) -> None:
    assert run(tmp_path / "run").complete
    loaded = RunDir(tmp_path / "run")
    results = loaded.results()
    _, data, _ = load_run_items(config(), load_plugins())
    items = {i.key: i for i in data.items}
    base = score_key(results, items, 0)
    assert base is not None and base == score_key(list(results), dict(items), 0)
    volatile = [r.model_copy(update={"replayed": True, "elapsed_s": 9.0}) for r in results]
    assert score_key(volatile, items, 0) == base
    assert score_key(results, items, 1) != base  # the seed
    first = results[0]
    assert first.judgment is not None
    flipped = first.judgment.model_copy(
        update={"scenario": "RS" if first.judgment.scenario != "RS" else "RF"}
    )
    changed = [first.model_copy(update={"judgment": flipped}), *results[1:]]
    assert score_key(changed, items, 0) != base  # a judgment
    key = next(iter(items))
    other = dict(items) | {key: dataclasses.replace(items[key], answer="x")}
    assert score_key(results, other, 0) != base  # an item


def test_an_unreadable_entry_is_scored_again_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(tmp_path / "first").complete
    cache = open_cache(config(), quiet=True)
    assert cache is not None
    keys = [row[0] for row in cache._db.execute("SELECT key FROM scored").fetchall()]
    assert len(keys) == 1
    cache.remember_scored(keys[0], '{"kind": "scored", "scores": 7}')
    assert score_memo.remembered(cache, keys[0]) is None
    assert run(tmp_path / "again").complete
    assert scores(tmp_path / "again") == scores(tmp_path / "first")
    assert score_memo.remembered(cache, keys[0]) is not None
    cache.close()


def test_scores_use_the_run_seed(tmp_path: Path) -> None:
    assert run(tmp_path / "seeded", "run.seed=3", "run.cache=false").complete
    results: list[ItemResult] = RunDir(tmp_path / "seeded").results()
    written = json.loads((tmp_path / "seeded" / "scores.json").read_text())
    expected = compute_scores(results, seed=3).overall.model_dump(mode="json")
    assert written["overall"]["ci95"] == expected["ci95"]


def test_scoring_does_not_depend_on_the_order_of_the_records(tmp_path: Path) -> None:
    """What makes the key's key order sound: shuffled records score the same."""
    assert run(tmp_path / "run", "data.limit=24").complete
    results = RunDir(tmp_path / "run").results()
    _, data, _ = load_run_items(config("data.limit=24"), load_plugins())
    items = {i.key: i for i in data.items}
    cfg = config("data.limit=24", "run.cache=false")
    first = finish.score_records(results, items, cfg).model_dump_json()
    for seed in range(3):
        shuffled = list(results)
        random.Random(seed).shuffle(shuffled)
        assert score_key(shuffled, items, 0) == score_key(results, items, 0)
        assert finish.score_records(shuffled, items, cfg).model_dump_json() == first

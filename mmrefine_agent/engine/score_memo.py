"""Scores remembered by content: a run whose records are an earlier run's is not scored again.

The scores of a run (scenario rates with bootstrap intervals, step metrics, round correction)
are a pure function of its results, its items, ``run.seed`` and the code that scores them.
The key hashes all of them: every result as written (in key order: no score depends on the
order items finished in), without the three fields no score reads and a replayed rerun
changes (``replayed``, ``elapsed_s``, ``usage``); every item's digest
(engine/item_replay.py); the seed; every source file of the project and the numpy and
math-verify versions. A hit gives back exactly what scoring computed (a typed record in the
call cache, ``run.cache``), so a cached rerun neither imports numpy nor runs math-verify;
anything else is scored as before and remembered. What finishing adds around these (usage,
parse health, completeness, judge settings) is computed every time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from mmrefine_agent.engine.cache import CallCache
from mmrefine_agent.engine.item_replay import item_digest, package_roots, tree_digest
from mmrefine_agent.records.base import Record
from mmrefine_agent.records.models import ItemResult, Scores
from mmrefine_agent.records.step_scores import RoundCorrection, StepScores
from mmrefine_agent.types import Item
from mmrefine_agent.versions import distribution_version

FORMAT = 1
UNSCORED_FIELDS = {"replayed", "elapsed_s", "usage"}
"""Fields of a result that no score reads (and that a replayed rerun changes)."""


class ScoredRun(Record):
    """What scoring a run's records computed (before finishing adds usage and the rest)."""

    kind: Literal["scored"] = "scored"
    scores: Scores
    step_metrics: StepScores
    round_correction: RoundCorrection | None = None


def score_key(
    results: Sequence[ItemResult],
    items: Mapping[str, Item],
    seed: int,
    digests: Mapping[str, str] | None = None,
) -> str | None:
    """The content address of scoring these records (None: a record JSON cannot hold).

    ``digests``: ``item_digest`` of items already computed this session, by item key.
    """
    digest = hashlib.sha256()
    versions = [distribution_version("numpy"), distribution_version("math-verify")]
    code = [FORMAT, tree_digest(package_roots()), *versions]
    digest.update(json.dumps([*code, seed]).encode("utf-8"))
    try:  # by key: scores do not depend on the order items finished in
        lines = sorted(
            (r.key, r.model_dump_json(exclude=UNSCORED_FIELDS).encode("utf-8")) for r in results
        )
    except PydanticSerializationError:
        return None
    for _, line in lines:
        digest.update(line + b"\n")
    known = digests or {}
    for key in sorted(items):
        item = known.get(key) or item_digest(items[key])
        digest.update(f"{key}\0{item}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def remembered(cache: CallCache | None, key: str | None) -> ScoredRun | None:
    """The scoring remembered under ``key`` (None: unknown, unreadable or no cache)."""
    if cache is None or key is None:
        return None
    blob = cache.scored(key)
    if blob is None:
        return None
    try:
        return ScoredRun.model_validate_json(blob)
    except (ValidationError, ValueError):
        return None  # written by another version: scored again (and replaced)


def remember(cache: CallCache | None, key: str | None, scored: ScoredRun) -> None:
    """Remember what scoring computed (nothing without a cache, or when JSON cannot hold it)."""
    if cache is None or key is None:
        return
    try:
        blob = scored.model_dump_json()
    except PydanticSerializationError:
        return
    cache.remember_scored(key, blob)

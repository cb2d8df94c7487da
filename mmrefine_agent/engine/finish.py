"""Finishing a session: scores.json (with completeness and parse health) and submission.json."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmrefine_agent.analysis.metrics import compute_scores
from mmrefine_agent.analysis.round_metrics import step_and_round_scores
from mmrefine_agent.config import RunConfig
from mmrefine_agent.engine.answer_memo import RememberedEquivalence
from mmrefine_agent.engine.cache import CallCache
from mmrefine_agent.engine.results import submission_entry
from mmrefine_agent.engine.services import open_cache
from mmrefine_agent.engine.usage import by_node
from mmrefine_agent.judging.answers import answers_match
from mmrefine_agent.records import rundir
from mmrefine_agent.records.models import (
    Completeness,
    ItemResult,
    ParseHealth,
    Scores,
    StepEvent,
    UsageDoc,
)
from mmrefine_agent.records.rundir import RunDir
from mmrefine_agent.records.step_scores import RoundCorrection, StepScores
from mmrefine_agent.types import Item


def parse_health(steps: Sequence[StepEvent]) -> dict[str, ParseHealth]:
    """Per node: how many steps had parse problems, their share, and the reasons."""
    out: dict[str, ParseHealth] = {}
    for step in steps:
        health = out.setdefault(step.node, ParseHealth())
        health.steps += 1
        if step.parse_errors:
            health.with_problems += 1
            for reason in step.parse_errors:
                health.reasons[reason] = health.reasons.get(reason, 0) + 1
    for health in out.values():
        health.share = round(health.with_problems / health.steps, 4) if health.steps else None
        health.reasons = dict(sorted(health.reasons.items(), key=lambda kv: -kv[1]))
    return out


def completeness(
    results: Sequence[ItemResult], expected: Sequence[str], judged: bool, run_dir: Path
) -> Completeness:
    """Whether every expected item finished (and was judged, when a judge is configured)."""
    latest = {r.key: r for r in results}
    failed: Counter[str] = Counter()
    not_judged = judge_errors = 0
    for key in expected:
        record = latest.get(key)
        if record is None:
            failed["missing"] += 1
        elif record.status == "judge_error":
            judge_errors += 1
        elif record.status != "ok":
            failed[record.status] += 1
        elif judged and record.judgment is None:
            not_judged += 1
    complete = bool(expected) and not failed and not not_judged and not judge_errors
    resume = None
    if not complete and expected:
        resume = f"run the same command again (same --out {run_dir}) to redo what is missing"
    return Completeness(
        complete=complete,
        n_expected=len(expected),
        failed=dict(failed),
        not_judged=not_judged,
        judge_errors=judge_errors,
        resume=resume,
    )


def step_and_scores_remembered(
    results: Sequence[ItemResult],
    items: dict[str, Item],
    config: RunConfig,
    cache: CallCache | None = None,
) -> tuple[StepScores, RoundCorrection | None]:
    """Step and round metrics, with answer equivalences remembered in the call cache."""
    equivalent = RememberedEquivalence(cache)

    def matcher(prediction: str | None, gold: str, options: Sequence[str]) -> bool:
        return answers_match(prediction, gold, options, equivalent=equivalent)

    try:
        return step_and_round_scores(results, items, seed=config.run.seed, matcher=matcher)
    finally:
        equivalent.save()


@dataclass(slots=True)
class ScoredRun:
    """Everything scoring computes from a run's records."""

    scores: Scores
    step_metrics: StepScores
    round_correction: RoundCorrection | None


def score_records(
    results: Sequence[ItemResult], items: dict[str, Item], config: RunConfig
) -> ScoredRun:
    """Scenario scores (judged records), step metrics and round correction of a run.

    Always computed from the records; only answer equivalences are looked up, by content,
    in the call cache (engine/answer_memo.py).
    """
    judged = any(r.judgment is not None for r in results)
    if judged:
        scores = compute_scores(results, seed=config.run.seed)
    else:
        scores = Scores(
            n_items=len(results),
            n_failed_items=sum(1 for r in results if not r.refined),
            note=f"not judged (judge.name: {config.judge.name})"
            if config.judge.name in ("none", "")
            else "no item has a judgment yet",
        )
    cache = open_cache(config, quiet=True)
    try:
        step_metrics, correction = step_and_scores_remembered(results, items, config, cache)
    finally:
        if cache is not None:
            cache.close()
    return ScoredRun(scores=scores, step_metrics=step_metrics, round_correction=correction)


def finish_run(
    run: RunDir,
    config: RunConfig,
    items: dict[str, Item],
    expected: Sequence[str],
    usage: UsageDoc,
    *,
    records: tuple[list[ItemResult], list[StepEvent]] | None = None,
) -> Scores:
    """Write scores.json and submission.json from the run's records; returns the scores.

    ``records`` are the run's results (latest per key, in file order) and steps when the
    caller holds exactly what the files hold (a session that wrote them); else they are read.
    Only records of ``expected`` keys (the run's configured items) are scored.
    """
    results, steps = records if records is not None else (run.results(), run.steps())
    wanted = set(expected)  # a record whose key is not one of the run's items is not counted
    if any(r.key not in wanted for r in results):
        results = [r for r in results if r.key in wanted]
        steps = [s for s in steps if s.item_key in wanted]
    judged = config.judge.name not in ("none", "")
    scored = score_records(results, items, config)
    scores = scored.scores
    scores.judge_settings = {
        "name": config.judge.name,
        "model": config.judge.model,
        "backend": config.judge.backend,
        "api_base": config.judge.api_base,
        "endpoints": [e.model_dump(mode="json") for e in config.judge.endpoints],
        "params": dict(config.judge.params),
        "options": dict(config.judge.options),
        "per_round": config.judge.per_round,
    }
    scores.uses_gold = any(r.uses_gold for r in results if r.refined)
    if config.judge.name == "mmrefine_official" and config.data.name != "mmrefine":
        scores.extension = (
            f"the official MMRefine judge protocol on {config.data.name} (its reference reasons "
            "as reference feedback): an extension, not an MMRefine score"
        )
    scores.usage = usage
    scores.usage_by_node = by_node(steps)
    scores.parse_health = parse_health(steps)
    scores.completeness = completeness(results, expected, judged, run.path)
    scores.step_metrics, scores.round_correction = scored.step_metrics, scored.round_correction
    rundir.write_json_atomic(run.file(rundir.SCORES), scores)
    submission = {}
    for record in results:
        if record.refined and record.key in items:
            response = record.final.response if record.final is not None else ""
            entry = submission_entry(items[record.key], response, record.judgment)
            submission[record.key] = entry.model_dump(mode="json", exclude_none=True) | {
                "reference_feedback": entry.reference_feedback,
                "error_type": entry.error_type,
            }
    rundir.write_json_atomic(run.file(rundir.SUBMISSION), submission)
    return scores

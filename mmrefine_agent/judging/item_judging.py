"""Judging one item's result: its final output and (optionally) every round.

A judge plugin that raises is contained here: the round gets a ``judge_error`` judgment
naming the exception, and the item is recorded as such (re-judged on the next run).
"""

from __future__ import annotations

from mmrefine_agent.judging.base import Judge, Judgment, settings_key
from mmrefine_agent.judging.scenarios import JUDGE_ERROR
from mmrefine_agent.records.models import ItemResult, JudgmentRecord, RoundJudgment, Scores
from mmrefine_agent.types import Item


def is_current(judgment: JudgmentRecord, judge_name: str, settings: str | None) -> bool:
    """A valid judgment by ``judge_name`` made with the judge settings keyed ``settings``.

    A judgment that does not say its settings (written before 0.3) counts as current; see
    :func:`presume_settings` for how a run gives such judgments the settings that scored them.
    """
    return (
        judgment.judge == judge_name
        and judgment.scenario != JUDGE_ERROR
        and (settings is None or judgment.settings in (None, settings))
    )


def presume_settings(record: ItemResult, settings: str | None) -> None:
    """Give judgments that do not say their settings the key ``settings`` (in memory)."""
    if settings is None:
        return
    for entry in (record.judgment, *record.round_judgments):
        if entry is not None and entry.settings is None:
            entry.settings = settings


def presumed_key(previous: Scores | None, judge: Judge) -> str | None:
    """The settings key presumed for judgments that do not say theirs (written before 0.3).

    That of the judge settings the run's scores.json names (None: unknown, another judge's).
    """
    if previous is None or previous.judge_settings.get("name") != judge.name:
        return None
    return settings_key(dict(previous.judge_settings), judge.needs_model)


def needs_judging(
    record: ItemResult,
    judge_name: str,
    per_round: bool,
    *,
    force: bool,
    settings: str | None = None,
) -> bool:
    """Whether a refined record lacks a valid judgment by ``judge_name`` with ``settings``.

    ``settings`` is the judge's :attr:`~mmrefine_agent.judging.base.Judge.settings_key`: a
    judgment made with another model, endpoint, parameters or options is redone.
    """
    if not record.refined:
        return False
    if force:
        return True
    judgment = record.judgment
    if judgment is None or not is_current(judgment, judge_name, settings):
        return True
    if per_round:
        judged = {e.round for e in record.round_judgments if is_current(e, judge_name, settings)}
        return any(r.round not in judged for r in record.rounds)
    return False


async def judge_round(
    judge: Judge, item: Item, record: ItemResult, number: int, generation: int
) -> RoundJudgment:
    """One round's judgment; an exception in the judge becomes a judge_error judgment."""
    summary = next((r for r in record.rounds if r.round == number), None)
    response = summary.response if summary is not None else ""
    parsed = summary.model_dump() if summary is not None else {}
    try:
        judgment = await judge.judge(item, response, number, parsed, generation=generation)
    except Exception as exc:  # plugin code: contained in this item
        judgment = Judgment(
            judge.name,
            JUDGE_ERROR,
            judge.is_proxy,
            {},
            f"judge {judge.name} raised {type(exc).__name__}: {exc}",
            0,
        )
    entry = judgment.to_record(number, generation)
    entry.settings = judge.settings_key
    return entry


async def judge_record(
    judge: Judge, item: Item, record: ItemResult, *, per_round: bool, force: bool = False
) -> None:
    """Fill ``judgment`` and ``round_judgments`` of a refined record in place.

    The record's status becomes ``judge_error`` while its final judgment is one, else ``ok``.
    """
    if not record.rounds:
        return
    key = judge.settings_key
    earlier = {} if force else {
        e.round: e
        for e in record.round_judgments
        if e.judge == judge.name and e.settings in (None, key)
    }  # fmt: skip
    chosen = record.rounds if per_round else record.rounds[-1:]
    entries: list[RoundJudgment] = []
    for summary in chosen:
        previous = earlier.get(summary.round)
        if previous is not None and is_current(previous, judge.name, key):
            entries.append(previous)
            continue
        retry = previous is not None and previous.scenario == JUDGE_ERROR
        generation = previous.generation + 1 if retry and previous is not None else 0
        entries.append(await judge_round(judge, item, record, summary.round, generation))
    record.round_judgments = entries
    final = entries[-1]
    record.judgment = JudgmentRecord.model_validate(final.model_dump(exclude={"round"}))
    failed = final.scenario == JUDGE_ERROR
    record.status = "judge_error" if failed else "ok"
    record.error = final.error if failed else None
    record.failure = None
    if failed:
        from mmrefine_agent.records.models import Failure

        record.failure = Failure(kind="judge_error", node="judge", message=final.error or "")

"""Judging one item's result: its final output and (optionally) every round.

A judge plugin that raises is contained here: the round gets a ``judge_error`` judgment
naming the exception, and the item is recorded as such (re-judged on the next run).
"""

from __future__ import annotations

from mmrefine_agent.judging.base import Judge, Judgment
from mmrefine_agent.judging.scenarios import JUDGE_ERROR
from mmrefine_agent.records.models import ItemResult, JudgmentRecord, RoundJudgment
from mmrefine_agent.types import Item


def needs_judging(record: ItemResult, judge_name: str, per_round: bool, *, force: bool) -> bool:
    """Whether a refined record still lacks a valid judgment from ``judge_name``."""
    if not record.refined:
        return False
    if force:
        return True
    judgment = record.judgment
    if judgment is None or judgment.judge != judge_name or judgment.scenario == JUDGE_ERROR:
        return True
    if per_round:
        judged = {e.round for e in record.round_judgments if e.scenario != JUDGE_ERROR}
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
    return judgment.to_record(number, generation)


async def judge_record(
    judge: Judge, item: Item, record: ItemResult, *, per_round: bool, force: bool = False
) -> None:
    """Fill ``judgment`` and ``round_judgments`` of a refined record in place.

    The record's status becomes ``judge_error`` while its final judgment is one, else ``ok``.
    """
    if not record.rounds:
        return
    earlier = {} if force else {e.round: e for e in record.round_judgments if e.judge == judge.name}
    chosen = record.rounds if per_round else record.rounds[-1:]
    entries: list[RoundJudgment] = []
    for summary in chosen:
        previous = earlier.get(summary.round)
        if previous is not None and previous.scenario != JUDGE_ERROR:
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

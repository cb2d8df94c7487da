"""Judge result records: final output and (optionally) every round, with a ledger."""

from __future__ import annotations

from typing import Any

from mmrefine_agent.judging.base import Judge
from mmrefine_agent.judging.scenarios import JUDGE_ERROR
from mmrefine_agent.types import Item


def needs_judging(record: dict[str, Any], judge_name: str, per_round: bool, *, force: bool) -> bool:
    """Whether an ok record still lacks a valid judgment from ``judge_name``."""
    if record.get("status") != "ok":
        return False
    if force:
        return True
    judgment = record.get("judgment") or {}
    if judgment.get("judge") != judge_name or judgment.get("scenario") in (None, JUDGE_ERROR):
        return True
    if per_round:
        judged = {
            e.get("round")
            for e in record.get("round_judgments") or []
            if e.get("scenario") not in (None, JUDGE_ERROR)
        }
        return any(r.get("round") not in judged for r in record.get("rounds") or [])
    return False


async def judge_record(
    judge: Judge, item: Item, record: dict[str, Any], *, per_round: bool
) -> None:
    """Fill ``judgment`` and ``round_judgments`` of an ok record in place."""
    rounds = record.get("rounds") or []
    if not rounds:
        return
    earlier = {
        e.get("round"): e
        for e in record.get("round_judgments") or []
        if e.get("judge") == judge.name
    }
    previous = {r: e for r, e in earlier.items() if e.get("scenario") not in (None, JUDGE_ERROR)}
    chosen = rounds if per_round else rounds[-1:]
    entries: list[dict[str, Any]] = []
    for round_record in chosen:
        number = int(round_record.get("round") or 1)
        if number in previous:
            entries.append(previous[number])
            continue
        failed = earlier.get(number, {})
        retry = failed.get("scenario") == JUDGE_ERROR
        generation = int(failed.get("generation", 0)) + 1 if retry else 0
        judgment = await judge.judge(
            item, round_record.get("response") or "", number, round_record, generation=generation
        )
        entries.append({"round": number, **judgment.as_dict(), "generation": generation})
    record["round_judgments"] = entries
    final = dict(entries[-1])
    final.pop("round", None)
    record["judgment"] = final

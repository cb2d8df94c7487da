"""Building result records (``results.jsonl``) and official submission entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES
from mmrefine_agent.records.models import (
    Failure,
    FailureKind,
    FinalOutput,
    ItemResult,
    JudgmentRecord,
    RoundSummary,
    SubmissionEntry,
    UsageBlock,
)
from mmrefine_agent.types import Item


def item_fields(item: Item) -> dict[str, Any]:
    """The item's identifying and breakdown fields (the head of every result record)."""
    return {
        "key": item.key,
        "id": item.id,
        "source": item.source,
        "label": item.label,
        "error_type": item.error_type,
        "modality": item.modality,
        "dataset": item.dataset,
        "category": item.category,
    }


def round_summary(record: dict[str, Any]) -> RoundSummary:
    """What a round concluded (a graph ``RoundRecord``) as stored in results.jsonl."""
    return RoundSummary.model_validate(
        {
            "round": record.get("round") or 1,
            "reviewed_solution": record.get("reviewed_solution"),
            "verdict": record.get("verdict"),
            "error_step": record.get("error_step"),
            "error_explanation": record.get("error_explanation"),
            "corrected_solution": record.get("corrected_solution"),
            "final_answer": record.get("final_answer"),
            "verified": record.get("verified"),
            "parse_errors": list(record.get("parse_errors") or []),
            "response": record.get("response") or "",
        }
    )


def ok_result(
    item: Item,
    rounds: Sequence[dict[str, Any]],
    *,
    strategy: str,
    model: str,
    usage: UsageBlock,
    elapsed_s: float,
    image_not_seen: bool,
    uses_gold: bool = False,
) -> ItemResult:
    """A finished (not yet judged) item."""
    summaries = [round_summary(r) for r in rounds]
    last = summaries[-1] if summaries else RoundSummary()
    return ItemResult(
        **item_fields(item),
        status="ok",
        strategy=strategy,
        uses_gold=uses_gold,
        model=model,
        n_rounds=len(summaries),
        final=FinalOutput(
            verdict=last.verdict,
            error_step=last.error_step,
            final_answer=last.final_answer,
            response=last.response,
        ),
        rounds=summaries,
        image_not_seen=image_not_seen,
        usage=usage,
        elapsed_s=round(elapsed_s, 4),
    )


def failed_result(
    head: dict[str, Any],
    kind: FailureKind,
    message: str,
    *,
    strategy: str,
    model: str,
    node: str | None = None,
    exception: str | None = None,
    usage: UsageBlock | None = None,
) -> ItemResult:
    """An item that failed; it is redone (or re-judged) on the next run."""
    return ItemResult(
        **head,
        status=kind,
        error=message,
        failure=Failure(kind=kind, node=node, exception=exception, message=message),
        strategy=strategy,
        model=model,
        usage=usage or UsageBlock(),
    )


def submission_entry(
    item: Item, prediction: str, judgment: JudgmentRecord | None
) -> SubmissionEntry:
    """One entry of the official submission file (what the official evaluator reads)."""
    entry = SubmissionEntry(
        id=item.id,
        solution_source=item.source,
        question=item.question,
        answer=item.answer,
        initial_solution=item.initial_solution,
        solution_label=item.label,
        reference_feedback=item.reference_feedback,
        error_type=item.error_type,
        prediction=prediction,
    )
    if judgment is not None and judgment.scenario in OFFICIAL_NAMES:
        entry.judge = OFFICIAL_NAMES[judgment.scenario]
        entry.result = {
            k: v
            for k, v in judgment.fields.items()
            if k in ("error_detection", "error_correction", "solution_correctness")
        }
    return entry

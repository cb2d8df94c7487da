"""Result records (one line per item in ``results.jsonl``) and the official submission format."""

from __future__ import annotations

from typing import Any

from mmrefine_agent.graph.state import RoundRecord
from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES
from mmrefine_agent.types import Item

RESULT_VERSION = 1


def item_fields(item: Item) -> dict[str, Any]:
    """The item's identifying and breakdown fields."""
    return {
        "key": item.key,
        "id": item.id,
        "source": item.source,
        "label": item.label,
        "error_type": item.error_type,
        "modality": item.modality,
    }


def round_summary(record: RoundRecord) -> dict[str, Any]:
    """What a round concluded, as stored in results.jsonl."""
    return {
        "round": record.get("round"),
        "verdict": record.get("verdict"),
        "error_step": record.get("error_step"),
        "error_explanation": record.get("error_explanation"),
        "corrected_solution": record.get("corrected_solution"),
        "final_answer": record.get("final_answer"),
        "verified": record.get("verified"),
        "parse_errors": record.get("parse_errors", []),
        "response": record.get("response", ""),
    }


def ok_result(
    item: Item,
    rounds: list[RoundRecord],
    *,
    strategy: str,
    model: str,
    usage: dict[str, Any],
    elapsed_s: float,
    image_not_seen: bool,
) -> dict[str, Any]:
    """A finished (not yet judged) item."""
    summaries = [round_summary(r) for r in rounds]
    last = summaries[-1] if summaries else {}
    return {
        "version": RESULT_VERSION,
        **item_fields(item),
        "status": "ok",
        "error": None,
        "strategy": strategy,
        "model": model,
        "n_rounds": len(summaries),
        "final": {k: last.get(k) for k in ("verdict", "error_step", "final_answer", "response")},
        "rounds": summaries,
        "judgment": None,
        "round_judgments": [],
        "image_not_seen": image_not_seen,
        "usage": usage,
        "elapsed_s": round(elapsed_s, 4),
    }


def error_result(
    item_like: dict[str, Any],
    status: str,
    error: str,
    *,
    strategy: str,
    model: str,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An item that failed (model error, data error, budget); it is redone on the next run."""
    return {
        "version": RESULT_VERSION,
        **item_like,
        "status": status,
        "error": error,
        "strategy": strategy,
        "model": model,
        "n_rounds": 0,
        "final": None,
        "rounds": [],
        "judgment": None,
        "round_judgments": [],
        "usage": usage or {},
    }


def submission_entry(
    item: Item, prediction: str, judgment: dict[str, Any] | None
) -> dict[str, Any]:
    """One entry of the official submission file (what the official evaluator reads)."""
    entry: dict[str, Any] = {
        "id": item.id,
        "solution_source": item.source,
        "question": item.question,
        "answer": item.answer,
        "initial_solution": item.initial_solution,
        "solution_label": item.label,
        "reference_feedback": item.reference_feedback,
        "error_type": item.error_type,
        "prediction": prediction,
    }
    if judgment and judgment.get("scenario") in OFFICIAL_NAMES:
        entry["judge"] = OFFICIAL_NAMES[judgment["scenario"]]
        entry["result"] = {
            k: v
            for k, v in (judgment.get("fields") or {}).items()
            if k in ("error_detection", "error_correction", "solution_correctness")
        }
    return entry

"""Tokens, calls and cost: per item (from its own steps) and per run across resumed sessions.

``usage.json`` holds the run's totals over every session that worked on it (a resumed run
adds up), plus one entry per session. It is rewritten (atomically, a few hundred bytes) each
time an item finishes, so a killed process loses only the accounting of items in flight.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mmrefine_agent.engine.client import UsageTotals
from mmrefine_agent.records.rundir import write_json_atomic
from mmrefine_agent.records.steps import StepRecord

PURPOSES = ("refine", "judge")
FIELDS = ("calls", "cache_hits", "failures", "retries", "input_tokens", "output_tokens")


def sum_calls(usages: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Calls, cache hits, tokens and cost of a set of calls (their ``usage`` dicts).

    A cache hit counts its tokens (the answer used them) but no call and no cost.
    """
    out: dict[str, Any] = {
        "calls": 0,
        "cache_hits": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
    }
    for usage in usages:
        if usage.get("cache_hit"):
            out["cache_hits"] += 1
        else:
            out["calls"] += 1
            out["cost_usd"] += float(usage.get("cost_usd") or 0.0)
        out["input_tokens"] += int(usage.get("input_tokens") or 0)
        out["output_tokens"] += int(usage.get("output_tokens") or 0)
    out["cost_usd"] = round(out["cost_usd"], 6)
    return out


def item_usage(steps: Iterable[StepRecord]) -> dict[str, Any]:
    """Calls, cache hits, tokens and cost of one item's own steps."""
    return sum_calls(call.usage for step in steps for call in step.calls)


def add_usage(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Field-wise sum of two usage blocks."""
    total: dict[str, Any] = {name: int(a.get(name, 0)) + int(b.get(name, 0)) for name in FIELDS}
    total["cost_usd"] = round(float(a.get("cost_usd", 0.0)) + float(b.get("cost_usd", 0.0)), 6)
    return total


def by_node(steps: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Steps, calls, cache hits, tokens and cost per graph node, from ``steps.jsonl`` records."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        grouped.setdefault(str(step.get("node")), []).append(step)
    return {
        node: {
            "steps": len(group),
            **sum_calls(
                call.get("usage") or {} for step in group for call in step.get("calls") or []
            ),
        }
        for node, group in grouped.items()
    }


def combined(usage: dict[str, Any]) -> dict[str, Any]:
    """Calls, cache hits, tokens and cost summed over refinement and judging."""
    parts = [usage.get("refine") or {}, usage.get("judge") or {}]
    return {
        "calls": sum(p.get("calls", 0) for p in parts),
        "cache_hits": sum(p.get("cache_hits", 0) for p in parts),
        "tokens": sum(p.get("input_tokens", 0) + p.get("output_tokens", 0) for p in parts),
        "cost_usd": round(sum(p.get("cost_usd", 0.0) for p in parts), 6),
    }


class RunUsage:
    """The usage ledger of one run directory (this session plus earlier ones)."""

    def __init__(self, path: Path, refine: UsageTotals, judge: UsageTotals) -> None:
        self.path = path
        self.totals = {"refine": refine, "judge": judge}
        self.started = time.perf_counter()
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.earlier: list[dict[str, Any]] = previous_sessions(path)

    def session(self) -> dict[str, Any]:
        """The usage of the current process so far."""
        return {
            "started_at": self.started_at,
            "elapsed_s": round(time.perf_counter() - self.started, 3),
            **{purpose: totals.as_dict() for purpose, totals in self.totals.items()},
        }

    def document(self) -> dict[str, Any]:
        """What ``usage.json`` holds: run totals, this session's elapsed time, all sessions."""
        sessions = [*self.earlier, self.session()]
        doc: dict[str, Any] = {"version": 1}
        for purpose in PURPOSES:
            total: dict[str, Any] = {}
            for entry in sessions:
                total = add_usage(total, entry.get(purpose) or {})
            doc[purpose] = total
        doc["elapsed_s"] = sessions[-1]["elapsed_s"]
        doc["sessions"] = sessions
        return doc

    def write(self) -> dict[str, Any]:
        """Rewrite ``usage.json``; returns what was written."""
        doc = self.document()
        write_json_atomic(self.path, doc)
        return doc


def previous_sessions(path: Path) -> list[dict[str, Any]]:
    """The sessions recorded in an existing ``usage.json`` (an older file counts as one)."""
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    sessions = data.get("sessions")
    if isinstance(sessions, list):
        return [s for s in sessions if isinstance(s, dict)]
    if "refine" in data or "judge" in data:
        return [{"refine": data.get("refine") or {}, "judge": data.get("judge") or {}}]
    return []

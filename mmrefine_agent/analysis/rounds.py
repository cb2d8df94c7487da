"""Per-round trajectories of multi-round runs: transitions, per-round scores, settling rounds.

Needs per-round judgments (``judge.per_round: true``). An item that stopped early keeps its
last judged scenario in later rounds (it is "settled"), exactly as ``metrics.round_scenario``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from mmrefine_agent.analysis.metrics import final_scenario, max_judged_round, round_scenario
from mmrefine_agent.judging.scenarios import JUDGE_ERROR, SCENARIOS
from mmrefine_agent.records.models import ItemResult, Scores

# Transitions worth naming when they appear (from, to) -> what they mean.
NAMED_TRANSITIONS: dict[tuple[str, str], str] = {
    ("VS", "FD"): "a verified-correct solution damaged by more refinement",
    ("FD", "VS"): "a false alarm withdrawn",
    ("RF", "RS"): "a missed error found and fixed later",
    ("RF", "ED"): "a missed error found later",
    ("ED", "RS"): "a found error fixed later",
    ("EC", "RS"): "a correction completed later",
    ("RS", "EC"): "a fixed solution broken again",
    ("RS", "ED"): "a fixed solution broken again",
}


def judged_items(results: Sequence[ItemResult]) -> list[ItemResult]:
    """Refined items with per-round judgments."""
    return [r for r in results if r.refined and r.round_judgments]


def transition_matrices(results: Sequence[ItemResult]) -> dict[str, dict[str, dict[str, int]]]:
    """Scenario transition counts between consecutive rounds, keyed ``"1->2"`` etc."""
    items = judged_items(results)
    last = max_judged_round(items)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for number in range(1, last):
        matrix = {s: dict.fromkeys(SCENARIOS, 0) for s in SCENARIOS}
        for record in items:
            before, after = round_scenario(record, number), round_scenario(record, number + 1)
            if before in matrix and after in matrix[before]:
                matrix[before][after] += 1
        out[f"{number}->{number + 1}"] = matrix
    return out


def notable_transitions(matrices: dict[str, dict[str, dict[str, int]]]) -> list[dict[str, Any]]:
    """Every off-diagonal transition that happened, with a name when it has one."""
    rows = []
    for step, matrix in matrices.items():
        for before, row in matrix.items():
            for after, count in row.items():
                if count and before != after:
                    rows.append(
                        {
                            "rounds": step,
                            "from": before,
                            "to": after,
                            "count": count,
                            "meaning": NAMED_TRANSITIONS.get((before, after), ""),
                        }
                    )
    return rows


def settled_round(record: ItemResult) -> int | None:
    """The first round from which the item's judged scenario never changed again."""
    entries = sorted(record.round_judgments, key=lambda e: e.round)
    if not entries:
        return None
    final = entries[-1].scenario
    settled = entries[-1].round
    for entry in reversed(entries):
        if entry.scenario != final:
            break
        settled = entry.round
    return settled


def settling(results: Sequence[ItemResult]) -> dict[str, Any]:
    """How many items settled at each round, and how many rounds the strategy ran."""
    items = judged_items(results)
    settled = Counter(settled_round(r) for r in items)
    ran = Counter(r.n_rounds for r in items)
    by_final: dict[str, Counter[int]] = {}
    for record in items:
        scenario = final_scenario(record) or JUDGE_ERROR
        number = settled_round(record)
        if number is not None:
            by_final.setdefault(scenario, Counter())[number] += 1
    return {
        "settled_at": {str(k): v for k, v in sorted(settled.items()) if k is not None},
        "rounds_run": {str(k): v for k, v in sorted(ran.items())},
        "settled_at_by_final": {
            s: {str(k): v for k, v in sorted(c.items())} for s, c in sorted(by_final.items())
        },
    }


def round_analysis(results: Sequence[ItemResult], scores: Scores) -> dict[str, Any]:
    """Everything per round: RefScore/mRecall per round, transitions, settling."""
    per_round = {
        number: {
            "RefScore": block.rates.get("RefScore"),
            "mRecall": block.rates.get("mRecall"),
            "n": block.n,
        }
        for number, block in (scores.by.get("round") or {}).items()
    }
    matrices = transition_matrices(results)
    return {
        "per_round": per_round,
        "transitions": matrices,
        "notable": notable_transitions(matrices),
        **settling(results),
    }

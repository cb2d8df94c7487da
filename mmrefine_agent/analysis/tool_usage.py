"""What the tools did in a run: calls, failures, items, and scenario rates with and without.

For each tool name found in the tool runs of ``steps.jsonl``: how often it ran, how often it
failed, which items ran it, and, per error type, the official scenario counts and rates of
the judged items that ran it against those that did not. "Did ``calculator`` fix Calculation
errors?" is the ``Calculation Error`` split of ``calculator``: RS with the tool against RS
without it (a comparison of items, not a controlled experiment: the model chose when to call).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from mmrefine_agent.analysis.metrics import final_scenario, score_block
from mmrefine_agent.records.models import ItemResult, StepEvent
from mmrefine_agent.records.tool_report import ToolReport, ToolSplit, ToolUsage

ALL = "all"
NO_ERROR_TYPE = "-"


def tool_report(results: Sequence[ItemResult], steps: Iterable[StepEvent]) -> ToolReport:
    """The ``--by tool`` report of a run from its results and steps."""
    calls: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    users: dict[str, set[str]] = {}
    known = {r.key for r in results}
    for step in steps:
        if step.item_key not in known:
            continue
        for run in step.tool_runs:
            calls[run.name] += 1
            failures[run.name] += int(run.error)
            users.setdefault(run.name, set()).add(step.item_key)
    judged = [r for r in results if r.refined and final_scenario(r) is not None]
    report = ToolReport(
        n_items=len(results),
        n_judged=len(judged),
        items_with_tools=sum(1 for r in judged if any(r.key in keys for keys in users.values())),
    )
    for name in sorted(calls):
        keys = users.get(name, set())
        report.tools.append(
            ToolUsage(
                name=name,
                calls=calls[name],
                failures=failures[name],
                items=sorted(keys),
                splits=splits(judged, keys),
            )
        )
    return report


def splits(judged: Sequence[ItemResult], users: set[str]) -> list[ToolSplit]:
    """``all`` and each error type: the judged items that ran the tool against the rest."""
    groups: dict[str, list[ItemResult]] = {ALL: list(judged)}
    for record in judged:
        groups.setdefault(record.error_type or NO_ERROR_TYPE, []).append(record)
    order = [ALL, *sorted(k for k in groups if k != ALL)]
    out = []
    for key in order:
        group = groups[key]
        used = [r for r in group if r.key in users]
        unused = [r for r in group if r.key not in users]
        out.append(
            ToolSplit(
                error_type=key,
                with_tool=score_block(used, final_scenario, resamples=0, seed=0),
                without_tool=score_block(unused, final_scenario, resamples=0, seed=0),
            )
        )
    return out

"""Rich renderings of scores, run summaries, plugins and data counts."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES

RATE_COLUMNS = ("RS", "EC", "ED", "RF", "VS", "FD", "RefScore", "mRecall", "RS/ED")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}"


def _ci(ci: dict[str, Any] | None, metric: str) -> str:
    interval = (ci or {}).get(metric)
    return "" if not interval else f" [{_fmt(interval[0])}, {_fmt(interval[1])}]"


def scores_table(scores: dict[str, Any], title: str | None = None) -> Table:
    """Overall rates with 95% intervals for RefScore and mRecall."""
    proxy = " (PROXY: offline judge)" if scores.get("is_proxy") else ""
    table = Table(title=title or f"MMRefine scores - judge {scores.get('judge')}{proxy}")
    table.add_column("metric")
    table.add_column("value (%)", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("count", justify="right")
    overall = scores.get("overall") or {}
    rates, counts, ci = overall.get("rates", {}), overall.get("counts", {}), overall.get("ci95")
    for code in ("RS", "EC", "ED", "RF", "VS", "FD"):
        table.add_row(
            f"{code}  {OFFICIAL_NAMES[code]}",
            _fmt(rates.get(code)),
            _ci(ci, code).strip(),
            str(counts.get(code, 0)),
        )
    table.add_row(
        "[bold]RefScore[/] (RS - FD)", _fmt(rates.get("RefScore")), _ci(ci, "RefScore").strip(), ""
    )
    table.add_row(
        "[bold]mRecall[/] ((ED + VS) / 2)",
        _fmt(rates.get("mRecall")),
        _ci(ci, "mRecall").strip(),
        "",
    )
    table.add_row("RS/ED", _fmt(rates.get("RS/ED")), "", "")
    table.add_row("EC/ED", _fmt(rates.get("EC/ED")), "", "")
    table.caption = (
        f"items {scores.get('n_items')}, judged {scores.get('n_judged')}, "
        f"judge errors {scores.get('judge_errors')}, failed items {scores.get('n_failed_items')}"
        + (
            f", images not seen {scores['not_seen_images']}"
            if scores.get("not_seen_images")
            else ""
        )
    )
    return table


def breakdown_table(scores: dict[str, Any], by: str) -> Table:
    """One row per group of a breakdown (error type, source, modality, round)."""
    groups = (scores.get("by") or {}).get(by) or {}
    table = Table(title=f"by {by}")
    table.add_column(by)
    table.add_column("n", justify="right")
    for column in RATE_COLUMNS:
        table.add_column(column, justify="right")
    table.add_column("judge err", justify="right")
    for name, block in groups.items():
        rates = block.get("rates", {})
        table.add_row(
            name,
            str(block.get("n", 0)),
            *(_fmt(rates.get(c)) for c in RATE_COLUMNS),
            str(block.get("counts", {}).get("judge_error", 0)),
        )
    return table


def usage_table(usage: dict[str, Any], title: str = "usage") -> Table:
    """Calls, cache hits, tokens and cost for refinement and judging."""
    table = Table(title=title)
    for column in (
        "",
        "calls",
        "cache hits",
        "retries",
        "failures",
        "in tokens",
        "out tokens",
        "cost $",
    ):
        table.add_column(column, justify="right" if column else "left")
    for name in ("refine", "judge"):
        u = usage.get(name) or {}
        calls, hits, *rest = usage_cells(u)
        table.add_row(name, calls, hits, str(u.get("retries", 0)), str(u.get("failures", 0)), *rest)
    return table


def usage_cells(block: dict[str, Any]) -> list[str]:
    """calls, cache hits, input tokens, output tokens and cost of a usage block, as text."""
    return [
        str(block.get("calls", 0)),
        str(block.get("cache_hits", 0)),
        str(block.get("input_tokens", 0)),
        str(block.get("output_tokens", 0)),
        f"{block.get('cost_usd', 0.0):.4f}",
    ]


def print_counts(console: Console, title: str, counts: dict[str, dict[str, int]]) -> None:
    """One table per counted attribute."""
    for attribute, values in counts.items():
        table = Table(title=f"{title}: by {attribute}")
        table.add_column(attribute)
        table.add_column("items", justify="right")
        for name, count in values.items():
            table.add_row(name, str(count))
        console.print(table)


def node_usage_table(per_node: dict[str, dict[str, Any]]) -> Table:
    """Refinement calls, cache hits, tokens and cost per graph node."""
    table = Table(title="refinement usage per node")
    for column in ("node", "steps", "calls", "cache hits", "in tokens", "out tokens", "cost $"):
        table.add_column(column, justify="left" if column == "node" else "right")
    for node, block in per_node.items():
        table.add_row(node, str(block.get("steps", 0)), *usage_cells(block))
    return table

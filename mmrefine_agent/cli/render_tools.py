"""``report --by tool``: one table per tool, items with and without it, per error type."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mmrefine_agent.cli.safe_text import cell, inline
from mmrefine_agent.records.tool_report import ToolReport, ToolUsage

TOOL_COLUMNS = ("RF", "ED", "EC", "RS", "VS", "FD", "RefScore")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _row_name(error_type: str) -> str:
    """An error type as a row name (``-``, no error type: the correct initial solutions)."""
    return "correct solutions" if error_type == "-" else error_type


def tool_table(usage: ToolUsage) -> Table:
    """Rows: each error type (``all`` first), the items that ran the tool, then the rest."""
    failed = f", {usage.failures} failed" if usage.failures else ""
    table = Table(
        title=(
            f"tool {inline(usage.name)}: {usage.calls} call(s){failed}, "
            f"{len(usage.items)} item(s) ran it; rates in %"
        ),
        box=box.SIMPLE_HEAD,  # twelve columns fit 80: no rules between them
        pad_edge=False,
        collapse_padding=True,
    )
    # names are folded onto more lines, never cut: the longest word of each sets its width
    words = [w for split in usage.splits for w in _row_name(split.error_type).split()]
    table.add_column("error type", overflow="fold", min_width=min(24, max(map(len, words))))
    table.add_column("items", min_width=7)
    table.add_column("n", justify="right")
    for column in TOOL_COLUMNS:
        table.add_column(column, justify="right")
    table.add_column("judge errors", justify="right", overflow="fold", max_width=6)
    for split in usage.splits:
        for label, block in (("with", split.with_tool), ("without", split.without_tool)):
            table.add_row(
                cell(_row_name(split.error_type)) if label == "with" else Text(""),
                label,
                str(block.n),
                *(_fmt(block.rates.get(c)) for c in TOOL_COLUMNS),
                str(block.counts.get("judge_error", 0)),
            )
        table.add_section()
    return table


def print_tool_report(console: Console, report: ToolReport) -> None:
    """The per-tool tables, or one line saying that no tool ran."""
    if not report.tools:
        console.print("by tool: no tool calls were run in this run", highlight=False)
        return
    console.print(
        f"by tool: {report.items_with_tools} of {report.n_judged} judged item(s) ran a tool "
        "(rates in %; with/without compares items: the model chose when to call)",
        highlight=False,
        markup=False,
    )
    for usage in report.tools:
        console.print(tool_table(usage))

"""``report --by tool``: what each tool did in a run, and how items that used it fared.

The document :class:`ToolReport` is what ``mmrefine report RUN --by tool --json`` prints
(under ``by_tool``); the table is the same figures. Tool names are the names the model
called (an unknown name the model made up is a tool here too, with every call failed): they
are data, printed through the terminal-safe cells.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mmrefine_agent.records.base import Part, Record
from mmrefine_agent.records.documents import ScoreBlock


class ToolSplit(Part):
    """The judged items of one error type, split by whether they ran the tool."""

    error_type: str
    """An error type, ``-`` for items whose initial solution is correct, ``all`` for every item."""
    with_tool: ScoreBlock = Field(default_factory=ScoreBlock)
    """Counts and official rates of the items that ran the tool at least once."""
    without_tool: ScoreBlock = Field(default_factory=ScoreBlock)
    """Counts and official rates of the items that never ran it."""


class ToolUsage(Part):
    """One tool: its runs, its failures, the items that ran it, and the split per error type."""

    name: str
    calls: int = 0
    """Runs of the tool recorded in ``steps.jsonl`` (calls a bound left unrun are not runs)."""
    failures: int = 0
    """Runs that failed (the tool raised or refused, timed out, bad arguments, unknown tool)."""
    items: list[str] = Field(default_factory=list)
    """Keys of the items that ran the tool at least once, sorted."""
    splits: list[ToolSplit] = Field(default_factory=list)
    """``all`` first, then one per error type (judged items only)."""


class ToolReport(Record):
    """Every tool a run's models called, with the scenario rates of items with and without it."""

    kind: Literal["tool_report"] = "tool_report"
    n_items: int = 0
    n_judged: int = 0
    items_with_tools: int = 0
    """Judged items that ran at least one tool."""
    tools: list[ToolUsage] = Field(default_factory=list)
    note: str = (
        "rates are fractions over judged items (judge_error items counted, not in the rates); "
        "with/without compares items, not a controlled experiment: the model chose when to call"
    )

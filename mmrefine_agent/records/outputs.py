"""What ``--json`` prints: typed, versioned output models for scripts.

``mmrefine plugins --json`` prints a :class:`PluginListing`, ``mmrefine compare --json`` a
:class:`Comparison` and ``mmrefine report --json`` the run's ``scores.json``
(:class:`~mmrefine_agent.records.documents.Scores`), with ``--by tool`` also a
:class:`~mmrefine_agent.records.tool_report.ToolReport` under ``by_tool``. Rates are
fractions (0..1; RefScore and differences -1..1), as in ``scores.json``; the tables print
them in percent.
"""

from __future__ import annotations

from pydantic import Field

from mmrefine_agent.records.base import Part, Record


class PluginEntry(Part):
    """One component a plugin registered (or one observer hook it implements)."""

    kind: str
    """backend, strategy, judge, dataset, tool or observer."""
    name: str
    """The name a config uses (``model.backend``, ``strategy.name``, ...); for an observer,
    the hook it implements."""
    plugin: str
    """The plugin (entry-point name or module) that registered it."""
    origin: str
    """Where the plugin comes from: ``distribution version`` or ``module NAME``."""
    description: str = ""
    options: list[str] = Field(default_factory=list)
    """The options it declares (``strategy.options``, ``model.options``)."""
    uses_gold: bool = False
    """A strategy that reads the gold answer or label (not paper-comparable)."""
    tools: list[str] = Field(default_factory=list)
    """A strategy's default tools."""


class PluginListing(Record):
    """``mmrefine plugins --json``: every component loaded, and the hooks a plugin may use."""

    plugins: list[PluginEntry] = Field(default_factory=list)
    hooks: list[str] = Field(default_factory=list)


class RunUsageRow(Part):
    """A run's usage over all its sessions, refinement and judging together."""

    calls: int = 0
    cache_hits: int = 0
    tokens: int = 0
    cost_usd: float = 0.0


class ComparedRun(Part):
    """One run of a comparison: its headline rates, intervals, usage and error-type rates."""

    label: str
    path: str
    judge: str | list[str] | None = None
    is_proxy: bool = False
    uses_gold: bool = False
    n_judged: int = 0
    rates: dict[str, float | None] = Field(default_factory=dict)
    ci95: dict[str, list[float] | None] = Field(default_factory=dict)
    usage: RunUsageRow = Field(default_factory=RunUsageRow)
    by_error_type: dict[str, dict[str, float | None]] = Field(default_factory=dict)


class PairedMetric(Part):
    """A metric in run A and run B on shared items, B - A, and 95% intervals (paired)."""

    a: float | None = None
    b: float | None = None
    diff: float | None = None
    ci95: list[float] | None = None
    """The interval of B - A (bootstrap over problems resampling both runs together)."""
    a_ci95: list[float] | None = None
    b_ci95: list[float] | None = None


class ScenarioDifference(Part):
    """A scenario rate (or RefScore, mRecall) in A and B on shared items, and B - A."""

    a: float | None = None
    b: float | None = None
    diff: float | None = None
    ci95: list[float] | None = None
    """The interval of B - A (bootstrap over problems resampling both runs together)."""
    p_le_0: float | None = None
    """The share of resamples where B - A <= 0."""


class PairedStepMetrics(Part):
    """Detection, localisation and correction of A and B on the items both refined."""

    n_shared: int
    reference: str = ""
    """What the reference step is: a step dataset's labelled first wrong step, or (MMRefine)
    the step the reference feedback names."""
    groups: dict[str, list[str]] = Field(default_factory=dict)
    """detection, localisation, correction -> their metric names."""
    metrics: dict[str, PairedMetric] = Field(default_factory=dict)


class PairedRounds(Part):
    """Answer correction across rounds (SCoRe style) of A and B on shared gold-answer items."""

    n_shared: int
    rounds: dict[str, int] = Field(default_factory=dict)
    metrics: dict[str, PairedMetric] = Field(default_factory=dict)


class ChangedItem(Part):
    """An item whose judged scenario differs between A and B."""

    key: str
    from_: str = Field(alias="from")
    to: str


class PairedRuns(Part):
    """B against the baseline A: scenario differences, transitions and step metrics."""

    a: str
    b: str
    n_shared: int
    only_in_a: int = 0
    only_in_b: int = 0
    differences: dict[str, ScenarioDifference] = Field(default_factory=dict)
    """The scenario rates, RefScore and mRecall: A, B, B - A and its interval."""
    transitions: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Scenario in A -> scenario in B -> items."""
    n_changed: int = 0
    changed: list[ChangedItem] = Field(default_factory=list)
    step_metrics: PairedStepMetrics | None = None
    round_correction: PairedRounds | None = None


class Comparison(Record):
    """``mmrefine compare --json``: the runs, each paired with the baseline, and warnings."""

    baseline: str | None = None
    runs: list[ComparedRun] = Field(default_factory=list)
    apart: list[ComparedRun] = Field(default_factory=list)
    """Runs whose strategy used the gold answer (not compared unless ``include_gold``)."""
    include_gold: bool = False
    paired: list[PairedRuns] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

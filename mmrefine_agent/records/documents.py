"""Run-level documents: usage.json, scores.json, fingerprint.json, submission and sweep."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue

from mmrefine_agent.records.base import Part, Record, intervals_in_percent, rates_in_percent
from mmrefine_agent.records.outcomes import UsageBlock
from mmrefine_agent.records.step_scores import RoundCorrection, StepScores


class DirMarker(Record):
    """``mmrefine.json``: the mark of a directory mmrefine made (written before any other file)."""

    kind: Literal["run", "sweep"] = "run"
    made_by: str = ""
    created_at: str = ""


class UsageSession(Part):
    """One session's usage (a process that worked on the run)."""

    id: str | None = None
    """The session's id (its lines in ``usage-journal.jsonl``); None before 0.3."""
    started_at: str = ""
    elapsed_s: float = 0.0
    kind: Literal["run", "judge"] = "run"
    refine: UsageBlock = Field(default_factory=UsageBlock)
    judge: UsageBlock = Field(default_factory=UsageBlock)


class UsageMark(Record):
    """A line of ``usage-journal.jsonl``: a session's usage so far, after one paid call.

    Appended as each paid call returns, so a session killed before it rewrote usage.json
    still has what it paid counted (the next session folds the journal into usage.json).
    """

    session: str
    started_at: str = ""
    kind: Literal["run", "judge"] = "run"
    refine: UsageBlock = Field(default_factory=UsageBlock)
    judge: UsageBlock = Field(default_factory=UsageBlock)


class UsageDoc(Record):
    """``usage.json``: run totals over every session, and the sessions."""

    refine: UsageBlock = Field(default_factory=UsageBlock)
    judge: UsageBlock = Field(default_factory=UsageBlock)
    elapsed_s: float = 0.0
    sessions: list[UsageSession] = Field(default_factory=list)

    def combined(self) -> UsageBlock:
        """Refinement plus judging."""
        return self.refine.plus(self.judge)


class ScoreBlock(Part):
    """Counts, official rates and 95% bootstrap intervals for a set of items.

    ``rates`` and ``ci95`` are **fractions** (0..1; RefScore -1..1), as ``scores.json`` and the
    official evaluator have them; every printed table shows percent, which
    :attr:`rates_percent` and :attr:`ci95_percent` give.
    """

    n: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    rates: dict[str, float | None] = Field(default_factory=dict)
    """Fractions: ``rates["RefScore"] == 0.125`` is printed as 12.5."""
    ci95: dict[str, list[float] | None] = Field(default_factory=dict)
    """95% bootstrap intervals over problems, as fractions."""

    @property
    def rates_percent(self) -> dict[str, float | None]:
        """The rates in percent, the unit of every printed table (RefScore: -100..100)."""
        return rates_in_percent(self.rates)

    @property
    def ci95_percent(self) -> dict[str, list[float] | None]:
        """The 95% intervals in percent."""
        return intervals_in_percent(self.ci95)


class NodeUsage(UsageBlock):
    """Usage of one graph node over the run."""

    steps: int = 0


class ParseHealth(Part):
    """How often a node's answers did not parse, and why."""

    steps: int = 0
    with_problems: int = 0
    share: float | None = None
    reasons: dict[str, int] = Field(default_factory=dict)


class Completeness(Part):
    """Whether every item of the configured slice finished and was judged."""

    complete: bool = True
    n_expected: int = 0
    failed: dict[str, int] = Field(default_factory=dict)
    not_judged: int = 0
    judge_errors: int = 0
    resume: str | None = None


class Scores(Record):
    """``scores.json``: overall and per-breakdown scores, usage, parse health, completeness."""

    judge: str | list[str] | None = None
    judge_settings: dict[str, JsonValue] = Field(default_factory=dict)
    is_proxy: bool = False
    uses_gold: bool = False
    """Some item was refined by a strategy that reads the gold answer or label: the scores
    are not comparable with the paper's (``report`` marks it; ``compare`` and sweep summaries
    keep such runs apart unless ``--include-gold``)."""
    extension: str = ""
    """Set when the official MMRefine judge protocol scored another dataset (an extension of
    the benchmark, not an MMRefine score)."""
    n_items: int = 0
    n_judged: int = 0
    n_failed_items: int = 0
    judge_errors: int = 0
    not_seen_images: int = 0
    note: str = ""
    overall: ScoreBlock | None = None
    by: dict[str, dict[str, ScoreBlock]] = Field(default_factory=dict)
    usage: UsageDoc | None = None
    usage_by_node: dict[str, NodeUsage] = Field(default_factory=dict)
    parse_health: dict[str, ParseHealth] = Field(default_factory=dict)
    completeness: Completeness = Field(default_factory=Completeness)
    step_metrics: StepScores | None = None
    round_correction: RoundCorrection | None = None

    @property
    def judged(self) -> bool:
        """Whether any item was judged (the rates exist)."""
        return self.overall is not None and self.n_judged > 0


class PluginFingerprint(Part):
    """A plugin module a run used: its distribution version and a hash of its source."""

    role: str
    name: str
    module: str
    distribution: str | None = None
    source_sha256: str | None = None


class PluginModule(Part):
    """A plugin module loaded by name or path (``--plugin``, ``MMREFINE_PLUGINS``).

    Not an entry point: every later command on the run loads it again, and checks it.
    """

    spec: str
    """As it was given: a module name, or a ``.py`` file's path."""
    module: str
    path: str | None = None
    """The module's source file, resolved (None for a module without one)."""
    source_sha256: str | None = None


class Fingerprint(Record):
    """``fingerprint.json``: what a resumed run must share with the run it continues."""

    config: dict[str, JsonValue] = Field(default_factory=dict)
    data: dict[str, str] = Field(default_factory=dict)
    plugins: list[PluginFingerprint] = Field(default_factory=list)
    modules: list[PluginModule] = Field(default_factory=list)
    """The plugin modules the run loaded besides the entry points (recorded since 0.3)."""


class SubmissionEntry(Part):
    """One entry of the official submission format (``submission.json``, not versioned)."""

    model_config = ConfigDict(extra="allow")

    id: str
    solution_source: str
    question: str = ""
    answer: str = ""
    initial_solution: str = ""
    solution_label: str = ""
    reference_feedback: str | None = None
    error_type: str | None = None
    prediction: str = ""
    judge: str | None = None
    result: dict[str, Any] | None = None


class CellSummary(Part):
    """One sweep cell's headline figures (a row of ``sweep.json``)."""

    cell: str
    values: dict[str, JsonValue] = Field(default_factory=dict)
    run_dir: str = ""
    status: str = ""
    error: str | None = None
    uses_gold: bool = False
    n_judged: int = 0
    rates: dict[str, float | None] = Field(default_factory=dict)
    ci95: dict[str, list[float] | None] = Field(default_factory=dict)
    calls: int = 0
    cache_hits: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    refine_tokens: int = 0
    """Tokens of the refinement calls (cache hits included: the strategy's own cost)."""
    refine_cost_usd: float = 0.0
    baseline: str | None = None
    """The cell this one is measured against (same values, the first strategy of the grid)."""
    gain: float | None = None
    """RefScore of this cell minus the baseline's (a share; x100 for points)."""
    tokens_per_point: float | None = None
    """Extra refinement tokens over the baseline per RefScore point gained (gain > 0 only)."""
    cost_per_point: float | None = None
    """Extra refinement USD over the baseline per RefScore point gained (gain > 0 only)."""


class SweepDoc(Record):
    """``sweep.json``: the grid and one row per cell run so far."""

    name: str = ""
    grid: dict[str, JsonValue] = Field(default_factory=dict)
    cells: list[CellSummary] = Field(default_factory=list)

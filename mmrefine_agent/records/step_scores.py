"""The step-level and per-round scores in ``scores.json`` (``step_metrics``, ``round_correction``).

Computed for every dataset by :mod:`mmrefine_agent.analysis.step_metrics` and
:mod:`mmrefine_agent.analysis.round_metrics`; blocks have the shape of the scenario blocks:
counts, rates (shares in 0..1, None when undefined) and 95% bootstrap intervals.
"""

from __future__ import annotations

from pydantic import Field

from mmrefine_agent.records.base import Part


class StepScoreBlock(Part):
    """Detection, localisation and correction figures for a set of items."""

    n: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    rates: dict[str, float | None] = Field(default_factory=dict)
    ci95: dict[str, list[float] | None] = Field(default_factory=dict)


class StepScores(Part):
    """Step metrics of a run: overall and per category (error class, task, subject)."""

    dataset: str | list[str] = ""
    note: str = ""
    overall: StepScoreBlock = Field(default_factory=StepScoreBlock)
    by_category: dict[str, StepScoreBlock] = Field(default_factory=dict)


class RoundCorrection(Part):
    """Answer accuracy after round 1 and after the last round, and what changed between them."""

    n: int = 0
    rounds: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    rates: dict[str, float | None] = Field(default_factory=dict)
    ci95: dict[str, list[float] | None] = Field(default_factory=dict)
    accuracy_by_round: dict[str, float | None] = Field(default_factory=dict)
    note: str = ""

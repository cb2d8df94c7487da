"""The step-level and per-round scores in ``scores.json`` (``step_metrics``, ``round_correction``).

Computed for every dataset by :mod:`mmrefine_agent.analysis.step_metrics` and
:mod:`mmrefine_agent.analysis.round_metrics`; blocks have the shape of the scenario blocks:
counts, rates (shares in 0..1, None when undefined) and 95% bootstrap intervals.
"""

from __future__ import annotations

from pydantic import Field

from mmrefine_agent.records.base import Part, intervals_in_percent, rates_in_percent


class StepScoreBlock(Part):
    """Detection, localisation and correction figures for a set of items.

    ``rates`` and ``ci95`` are fractions; :attr:`rates_percent` and :attr:`ci95_percent` are
    the same in percent, as the tables print them.
    """

    n: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    rates: dict[str, float | None] = Field(default_factory=dict)
    ci95: dict[str, list[float] | None] = Field(default_factory=dict)

    @property
    def rates_percent(self) -> dict[str, float | None]:
        """The rates in percent, the unit of every printed table."""
        return rates_in_percent(self.rates)

    @property
    def ci95_percent(self) -> dict[str, list[float] | None]:
        """The 95% intervals in percent."""
        return intervals_in_percent(self.ci95)


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

    @property
    def rates_percent(self) -> dict[str, float | None]:
        """The rates (fractions in ``rates``) in percent, the unit of every printed table."""
        return rates_in_percent(self.rates)

    @property
    def ci95_percent(self) -> dict[str, list[float] | None]:
        """The 95% intervals in percent."""
        return intervals_in_percent(self.ci95)

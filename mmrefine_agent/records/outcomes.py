"""What an item ends with: its rounds, judgments, usage, or why it failed (results.jsonl)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue

from mmrefine_agent.records.base import FailureKind, Part, Record, Status


class JudgmentRecord(Part):
    """A judge's decision on one response: a scenario code or ``judge_error``."""

    judge: str
    scenario: str
    is_proxy: bool = False
    fields: dict[str, JsonValue] = Field(default_factory=dict)
    error: str | None = None
    calls: int = 0
    generation: int = 0
    rule: str | None = None
    settings: str | None = None
    """The key of the judge settings that made it (model, endpoint, parameters, options);
    a judgment made with other settings is redone. None: written before 0.3."""


class RoundJudgment(JudgmentRecord):
    """The judgment of one round's response."""

    round: int = 1


class RoundSummary(Part):
    """What one round concluded, as stored in ``results.jsonl``."""

    round: int = 1
    reviewed_solution: str | None = None
    verdict: Literal["correct", "incorrect"] | None = None
    error_step: int | None = None
    error_explanation: str | None = None
    corrected_solution: str | None = None
    final_answer: str | None = None
    verified: bool | None = None
    parse_errors: list[str] = Field(default_factory=list)
    response: str = ""


class FinalOutput(Part):
    """The item's final output (the last round's fields)."""

    verdict: Literal["correct", "incorrect"] | None = None
    error_step: int | None = None
    final_answer: str | None = None
    response: str = ""


class Failure(Part):
    """Why an item failed: its kind, where, and the exception."""

    kind: FailureKind
    node: str | None = None
    exception: str | None = None
    message: str = ""


class UsageBlock(Part):
    """Calls, cache hits, failures, retries, tokens and cost."""

    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def plus(self, other: UsageBlock) -> UsageBlock:
        """Field-wise sum."""
        return UsageBlock(
            calls=self.calls + other.calls,
            cache_hits=self.cache_hits + other.cache_hits,
            failures=self.failures + other.failures,
            retries=self.retries + other.retries,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 6),
        )

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class ItemResult(Record):
    """One item's outcome (a line of ``results.jsonl``; the latest line per key wins)."""

    kind: Literal["result"] = "result"
    key: str
    id: str = ""
    source: str = ""
    label: Literal["correct", "incorrect"] | None = None
    error_type: str | None = None
    modality: Literal["text", "image"] | None = None
    dataset: str = "mmrefine"
    category: str | None = None
    status: Status
    error: str | None = None
    failure: Failure | None = None
    row: int | None = None
    field: str | None = None
    strategy: str = ""
    uses_gold: bool = False
    """The strategy read the gold answer or label while refining (``Strategy.uses_gold``)."""
    model: str = ""
    n_rounds: int = 0
    final: FinalOutput | None = None
    rounds: list[RoundSummary] = Field(default_factory=list)
    judgment: JudgmentRecord | None = None
    round_judgments: list[RoundJudgment] = Field(default_factory=list)
    image_not_seen: bool = False
    usage: UsageBlock = Field(default_factory=UsageBlock)
    elapsed_s: float = 0.0
    replayed: bool = False
    """Only in run directories written by 0.2, whose item replay could copy a remembered
    outcome without running the graph; 0.3 removed that replay and always writes False."""

    @property
    def refined(self) -> bool:
        """Whether refinement finished (the item may still lack a valid judgment)."""
        return self.status in ("ok", "judge_error") and bool(self.rounds)

    @property
    def scenario(self) -> str | None:
        """The judged scenario of the final output (None: not judged)."""
        return self.judgment.scenario if self.judgment is not None else None

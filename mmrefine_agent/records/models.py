"""Typed, versioned records: everything a run writes to disk and reads back.

Every record line (``steps.jsonl``, ``results.jsonl``, ``judgments.jsonl``) and every JSON
document (``usage.json``, ``scores.json``, ``fingerprint.json``) carries ``version``: the
schema's major version. Readers accept the versions in :data:`READABLE_VERSIONS` (version 1
is what mmrefine-agent 0.1 wrote) and refuse anything else with a message naming the file and
line. Fields added within a major version are optional, and unknown fields are ignored, so a
reader never breaks on a newer minor addition.

Only ``submission.json`` is not versioned: it is the official MMRefine submission format, which
the official evaluator reads as is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, computed_field

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

FailureKind = Literal["data_error", "strategy_error", "backend_error", "judge_error", "budget"]
FAILURE_KINDS: tuple[str, ...] = (
    "data_error",
    "strategy_error",
    "backend_error",
    "judge_error",
    "budget",
)
Status = Literal["ok", "data_error", "strategy_error", "backend_error", "judge_error", "budget"]


class Part(BaseModel):
    """Base of every record model: typed, with dict-style read access for v1 code."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    def __getitem__(self, name: str) -> Any:
        """Dict-style read access, so observers written against v1 dict records keep working."""
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        """Dict-style ``get`` (v1 compatibility)."""
        return getattr(self, name, default)


class Record(Part):
    """Base of every top-level record: a schema version; unknown (newer) fields are ignored."""

    version: int = SCHEMA_VERSION


# --- model calls -------------------------------------------------------------------------


class ImageSummary(Part):
    """An image as traces record it: its hash and size, never its bytes."""

    sha256: str
    bytes: int = 0
    mime: str = ""
    width: int = 0
    height: int = 0


class MessageSummary(Part):
    """One prompt message as sent: the full text, images as summaries."""

    role: str
    text: str
    images: list[ImageSummary] = Field(default_factory=list)


class CallUsage(Part):
    """The accounting of one model call."""

    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    cache_hit: bool = False
    finish_reason: str | None = None


class CallRecord(Part):
    """One model call made inside a step: what was sent, what came back, what it cost."""

    messages: list[MessageSummary] = Field(default_factory=list)
    answer: str = ""
    usage: CallUsage = Field(default_factory=CallUsage)
    error: str | None = None
    attempts: int = 1


# --- steps -------------------------------------------------------------------------------


class StepError(Part):
    """An exception raised inside a step (plugin code): type, message and traceback."""

    type: str
    message: str
    traceback: str = ""


class StepEvent(Record):
    """One graph step of one item (a line of ``steps.jsonl``).

    The derived fields of the design card (``raw_answer``, ``prompt``, ``model``, ``tokens``,
    ``cost_usd``, ``latency_s``, ``cache_hit``, ``parse_only``) are computed from ``calls`` and
    written with the record, so a reader of the raw file finds them; they are not stored twice.
    """

    kind: Literal["step"] = "step"
    item_key: str
    round: int
    node: str
    strategy: str
    timestamp: float = 0.0
    calls: list[CallRecord] = Field(default_factory=list)
    parsed: dict[str, JsonValue] = Field(default_factory=dict)
    parse_errors: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    elapsed_s: float = 0.0
    error: StepError | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def raw_answer(self) -> str | None:
        """The answer of the last call in this step (None for a parse-only step)."""
        return self.calls[-1].answer if self.calls else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def prompt(self) -> list[MessageSummary] | None:
        """The messages of the last call in this step."""
        return self.calls[-1].messages if self.calls else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def model(self) -> str | None:
        """The model that answered the last call."""
        return self.calls[-1].usage.model if self.calls else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tokens(self) -> dict[str, int]:
        """Input and output tokens over the step's calls."""
        return {
            "input": sum(c.usage.input_tokens for c in self.calls),
            "output": sum(c.usage.output_tokens for c in self.calls),
        }

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_usd(self) -> float:
        """Cost of the step's calls."""
        return sum(c.usage.cost_usd for c in self.calls)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def latency_s(self) -> float:
        """Model latency of the step's calls."""
        return round(sum(c.usage.latency_s for c in self.calls), 4)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cache_hit(self) -> bool:
        """Whether every call of the step came from the cache."""
        return bool(self.calls) and all(c.usage.cache_hit for c in self.calls)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def parse_only(self) -> bool:
        """A step that only parsed an earlier answer (no model call)."""
        return not self.calls


# --- judging -----------------------------------------------------------------------------


class JudgeCallRecord(Record):
    """One judge call or decision (a line of ``judgments.jsonl``)."""

    kind: Literal["call"] = "call"
    item_key: str
    round: int = 1
    judge: str
    call: str
    attempt: int = 1
    prompt: str | None = None
    reply: str | None = None
    parsed: JsonValue = None
    usage: CallUsage | None = None
    error: str | None = None


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


class RoundJudgment(JudgmentRecord):
    """The judgment of one round's response."""

    round: int = 1


# --- results -----------------------------------------------------------------------------


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
    model: str = ""
    n_rounds: int = 0
    final: FinalOutput | None = None
    rounds: list[RoundSummary] = Field(default_factory=list)
    judgment: JudgmentRecord | None = None
    round_judgments: list[RoundJudgment] = Field(default_factory=list)
    image_not_seen: bool = False
    usage: UsageBlock = Field(default_factory=UsageBlock)
    elapsed_s: float = 0.0

    @property
    def refined(self) -> bool:
        """Whether refinement finished (the item may still lack a valid judgment)."""
        return self.status in ("ok", "judge_error") and bool(self.rounds)

    @property
    def scenario(self) -> str | None:
        """The judged scenario of the final output (None: not judged)."""
        return self.judgment.scenario if self.judgment is not None else None


# --- run documents -----------------------------------------------------------------------


class UsageSession(Part):
    """One session's usage (a process that worked on the run)."""

    started_at: str = ""
    elapsed_s: float = 0.0
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
    """Counts, official rates and 95% bootstrap intervals for a set of items."""

    n: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    rates: dict[str, float | None] = Field(default_factory=dict)
    ci95: dict[str, list[float] | None] = Field(default_factory=dict)


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


class Fingerprint(Record):
    """``fingerprint.json``: what a resumed run must share with the run it continues."""

    config: dict[str, JsonValue] = Field(default_factory=dict)
    data: dict[str, str] = Field(default_factory=dict)
    plugins: list[PluginFingerprint] = Field(default_factory=list)


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


def dump_record(record: BaseModel) -> str:
    """One record as a JSON line (text safe to encode: lone surrogates are escaped)."""
    return record.model_dump_json(exclude_none=False)


class CellSummary(Part):
    """One sweep cell's headline figures (a row of ``sweep.json``)."""

    cell: str
    values: dict[str, JsonValue] = Field(default_factory=dict)
    run_dir: str = ""
    status: str = ""
    error: str | None = None
    n_judged: int = 0
    rates: dict[str, float | None] = Field(default_factory=dict)
    ci95: dict[str, list[float] | None] = Field(default_factory=dict)
    calls: int = 0
    cache_hits: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0


class SweepDoc(Record):
    """``sweep.json``: the grid and one row per cell run so far."""

    name: str = ""
    grid: dict[str, JsonValue] = Field(default_factory=dict)
    cells: list[CellSummary] = Field(default_factory=list)

"""What a trace records: model calls, graph steps and judge calls (steps/judgments.jsonl)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue, computed_field

from mmrefine_agent.records.base import Part, Record
from mmrefine_agent.records.tool_records import ToolCallRecord, ToolRunRecord
from mmrefine_agent.records.trace_parts import ImageSummary

__all__ = [
    "CallRecord",
    "CallUsage",
    "ImageSummary",
    "JudgeCallRecord",
    "MessageSummary",
    "StepError",
    "StepEvent",
    "ToolCallRecord",
    "ToolRunRecord",
]


class MessageSummary(Part):
    """One prompt message as sent: the full text, images as summaries, tool calls and ids."""

    role: str
    text: str
    images: list[ImageSummary] = Field(default_factory=list)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    """An assistant message's tool calls (sent back in a tool loop)."""
    tool_call_id: str | None = None
    """A tool message: the call it answers."""
    name: str | None = None
    """A tool message: the tool's name."""


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
    params: dict[str, JsonValue] = Field(default_factory=dict)
    """The call parameters sent (credentials masked); ``tools`` as the names offered (their
    schemas are the registered tools'), ``tool_choice`` as sent."""
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    """The tool calls the model answered with."""


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
    tool_runs: list[ToolRunRecord] = Field(default_factory=list)
    """The tool calls this step ran, in order (their results went back to the model)."""
    image_files: dict[str, bytes] = Field(default_factory=dict, exclude=True, repr=False)
    """Bytes of the images tool runs returned, by run-relative path, until the run files
    store them (then emptied; never written to ``steps.jsonl``: the file
    ``images/<sha256>.<ext>`` is, and observers read it there)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ended(self) -> float:
        """When the step ended (``timestamp`` is when it started): parallel branches overlap."""
        return round(self.timestamp + self.elapsed_s, 4)

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

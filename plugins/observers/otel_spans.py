"""The spans of one item, built from its records (no OpenTelemetry import here).

One trace per item: the item span is the root; under it one span per graph node (a
``StepEvent``), under each node one span per model call and one per tool call
(:meth:`ItemSpans.add_tool_call`), and one span per judge call or decision.
Attributes follow the OpenTelemetry GenAI semantic conventions (``gen_ai.system``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens``/``output_tokens``,
``gen_ai.response.finish_reasons``, ``gen_ai.tool.name``) plus ``mmrefine.item.key``,
``mmrefine.round`` and ``mmrefine.scenario``. Prompts and replies (``gen_ai.input.messages``,
``gen_ai.output.messages``, tool arguments and results, parsed fields) are attached only with
``capture_content``.

A step records its start, its duration and each call's latency, not each call's start: call
spans are laid end to end from the step's start. A judge record has no timestamp: its span
ends when the record was observed and lasts the call's latency.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mmrefine_agent import CallUsage, ItemResult, JudgeCallRecord, StepEvent, scrub_text

AttributeValue = str | bool | int | float | Sequence[str]
NS = 1_000_000_000


def to_ns(seconds: float) -> int:
    """Seconds since the epoch as integer nanoseconds."""
    return int(seconds * NS)


@dataclass(slots=True)
class SpanSpec:
    """A span to emit: name, times (ns), attributes, status and children."""

    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    kind: Literal["internal", "client"] = "internal"
    error: str | None = None
    children: list[SpanSpec] = field(default_factory=list)

    def walk(self) -> list[SpanSpec]:
        """The span and every span below it (parents first)."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """Who answers a kind of call: ``gen_ai.system`` and ``gen_ai.request.model``."""

    system: str
    model: str

    @classmethod
    def of(cls, backend: str, model: str) -> ModelRoute:
        """The provider litellm would call (``openai/gpt-4o`` -> openai), else the backend."""
        if backend == "litellm" and "/" in model:
            return cls(model.split("/", 1)[0], model)
        if backend == "openai_compat":
            return cls("openai", model)
        return cls(backend, model)


@dataclass(frozen=True, slots=True)
class SpanSettings:
    """What every span of a run shares: the model and judge routes, content capture."""

    refine: ModelRoute
    judge: ModelRoute
    capture_content: bool = False


def _messages(role_texts: Sequence[tuple[str, str]]) -> str:
    """GenAI-convention messages as JSON: ``[{role, parts: [{type: text, content}]}]``."""
    return json.dumps(
        [{"role": r, "parts": [{"type": "text", "content": t}]} for r, t in role_texts],
        ensure_ascii=False,
    )


def _usage_attributes(route: ModelRoute, usage: CallUsage) -> dict[str, AttributeValue]:
    """The GenAI attributes of one model call (cost only when there is one)."""
    out: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": route.system,
        "gen_ai.request.model": route.model,
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "mmrefine.cache_hit": usage.cache_hit,
    }
    if usage.model:
        out["gen_ai.response.model"] = usage.model
    if usage.finish_reason:
        out["gen_ai.response.finish_reasons"] = [usage.finish_reason]
    if usage.cost_usd:
        out["mmrefine.cost_usd"] = usage.cost_usd
    return out


def _short_error(kind: str, message: str) -> str:
    return scrub_text(f"{kind}: {message}")[:300]


class ItemSpans:
    """Collects one item's records while it runs; :meth:`build` makes its span tree."""

    def __init__(self, key: str, settings: SpanSettings) -> None:
        self.key = key
        self.settings = settings
        self.nodes: list[SpanSpec] = []
        self.judges: list[tuple[int, SpanSpec]] = []  # (round, span)
        self._node_rounds: list[int] = []

    def _base(self, round_number: int) -> dict[str, AttributeValue]:
        return {"mmrefine.item.key": self.key, "mmrefine.round": round_number}

    def add_step(self, step: StepEvent) -> None:
        """A node span with one child span per model call."""
        start = to_ns(step.timestamp)
        node = SpanSpec(
            name=step.node,
            start_ns=start,
            end_ns=start + to_ns(step.elapsed_s),
            attributes={**self._base(step.round), "mmrefine.node": step.node},
        )
        if step.parse_errors:
            node.attributes["mmrefine.parse_problems"] = len(step.parse_errors)
        if step.error is not None:
            node.error = _short_error(step.error.type, step.error.message)
        if self.settings.capture_content and step.parsed:
            node.attributes["mmrefine.parsed"] = json.dumps(step.parsed, ensure_ascii=False)
        cursor = start
        for call in step.calls:
            usage = call.usage
            end = cursor + to_ns(usage.latency_s)
            route = self.settings.refine
            span = SpanSpec(
                name=f"chat {route.model}",
                start_ns=cursor,
                end_ns=end,
                kind="client",
                attributes={
                    **self._base(step.round),
                    "mmrefine.node": step.node,
                    **_usage_attributes(route, usage),
                },
            )
            if call.attempts > 1:
                span.attributes["mmrefine.attempts"] = call.attempts
            if call.error:
                span.error = scrub_text(call.error)[:300]
            if self.settings.capture_content:
                span.attributes["gen_ai.input.messages"] = _messages(
                    [(m.role, m.text) for m in call.messages]
                )
                span.attributes["gen_ai.output.messages"] = _messages([("assistant", call.answer)])
            node.children.append(span)
            cursor = end
        node.end_ns = max(node.end_ns, cursor)
        self.nodes.append(node)
        self._node_rounds.append(step.round)
        for run in step.tool_runs:  # when it ran (older records: after the node's calls)
            begin = to_ns(run.timestamp) if run.timestamp else cursor
            end = begin + to_ns(run.elapsed_s)
            self.add_tool_call(
                name=run.name,
                call_id=run.call_id,
                round_number=step.round,
                node=step.node,
                start_ns=begin,
                end_ns=end,
                arguments=run.arguments,
                result=run.result,
                error=run.result if run.error else None,
            )
            cursor = cursor if run.timestamp else end

    def add_tool_call(
        self,
        *,
        name: str,
        call_id: str,
        round_number: int,
        node: str,
        start_ns: int,
        end_ns: int,
        arguments: Any = None,
        result: Any = None,
        error: str | None = None,
    ) -> SpanSpec:
        """A tool call span (``execute_tool NAME``) under the latest span of ``node``.

        Called for each of a step's tool runs (:meth:`add_step`); the span has
        ``gen_ai.tool.name`` and ``gen_ai.tool.call.id`` (arguments and result only with
        ``capture_content``).
        """
        span = SpanSpec(
            name=f"execute_tool {name}",
            start_ns=start_ns,
            end_ns=end_ns,
            attributes={
                **self._base(round_number),
                "mmrefine.node": node,
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "gen_ai.tool.call.id": call_id,
            },
            error=scrub_text(error)[:300] if error else None,
        )
        if self.settings.capture_content:
            span.attributes["gen_ai.tool.call.arguments"] = json.dumps(arguments, default=str)
            span.attributes["gen_ai.tool.call.result"] = json.dumps(result, default=str)
        parent = next((n for n in reversed(self.nodes) if n.name == node), None)
        if parent is not None:
            parent.children.append(span)
            parent.end_ns = max(parent.end_ns, end_ns)
        else:
            self.nodes.append(span)
            self._node_rounds.append(round_number)
        return span

    def add_judge_call(self, record: JudgeCallRecord, observed_ns: int) -> None:
        """A judge span: a model call (``chat MODEL``) or a decision without one."""
        usage = record.usage
        latency = to_ns(usage.latency_s) if usage is not None else 0
        span = SpanSpec(
            name=f"judge {record.call}",
            start_ns=observed_ns - latency,
            end_ns=observed_ns,
            attributes={
                **self._base(record.round),
                "mmrefine.judge.name": record.judge,
                "mmrefine.judge.call": record.call,
                "mmrefine.judge.attempt": record.attempt,
            },
        )
        if usage is not None:
            route = self.settings.judge
            span.kind = "client"
            span.name = f"chat {route.model}"
            span.attributes.update(_usage_attributes(route, usage))
        if isinstance(record.parsed, bool | int | float):  # a 0/1 verdict is not content
            span.attributes["mmrefine.judge.parsed"] = record.parsed
        if record.error:
            span.error = scrub_text(record.error)[:300]
        if self.settings.capture_content:
            if record.prompt is not None:
                span.attributes["gen_ai.input.messages"] = _messages([("user", record.prompt)])
            if record.reply is not None:
                span.attributes["gen_ai.output.messages"] = _messages([("assistant", record.reply)])
            if record.parsed is not None and "mmrefine.judge.parsed" not in span.attributes:
                span.attributes["mmrefine.judge.parsed"] = json.dumps(record.parsed)
        self.judges.append((record.round, span))

    def build(self, result: ItemResult | None, observed_ns: int) -> SpanSpec:
        """The item span with everything collected below it (``result`` None: unfinished)."""
        children = [*self.nodes, *(span for _, span in self.judges)]
        starts = [c.start_ns for c in children]
        ends = [c.end_ns for c in children]
        end = observed_ns
        start = min([*starts, end - to_ns(result.elapsed_s if result is not None else 0.0)])
        root = SpanSpec(name="mmrefine.item", start_ns=start, end_ns=max(end, *ends, start),
                        attributes={"mmrefine.item.key": self.key}, children=children)  # fmt: skip
        if result is None:
            root.error = "the session ended before this item finished"
            return root
        self._describe(root, result)
        return root

    def _describe(self, root: SpanSpec, result: ItemResult) -> None:
        scenarios = {entry.round: entry.scenario for entry in result.round_judgments}
        last_round = max([r.round for r in result.rounds] or [result.n_rounds or 1])
        if result.judgment is not None:
            scenarios.setdefault(last_round, result.judgment.scenario)
        attributes = root.attributes
        attributes.update(
            {
                "mmrefine.status": result.status,
                "mmrefine.strategy": result.strategy,
                "mmrefine.model": result.model,
                "mmrefine.n_rounds": result.n_rounds,
            }
        )
        optional = {
            "mmrefine.scenario": result.scenario,
            "mmrefine.label": result.label,
            "mmrefine.error_type": result.error_type,
            "mmrefine.modality": result.modality,
            "mmrefine.source": result.source or None,
            "mmrefine.failure_kind": result.failure.kind if result.failure else None,
        }
        attributes.update({k: v for k, v in optional.items() if v is not None})
        if scenarios:
            attributes["mmrefine.round_scenarios"] = [
                f"{number}:{scenarios[number]}" for number in sorted(scenarios)
            ]
        if result.status != "ok":
            root.error = _short_error(result.status, result.error or "")
        rounds = [*self._node_rounds, *(number for number, _ in self.judges)]
        for span, number in zip(root.children, rounds, strict=True):
            if number in scenarios:
                span.attributes["mmrefine.scenario"] = scenarios[number]

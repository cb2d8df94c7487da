"""The span builder of the ``otel`` observer, on records (no OpenTelemetry needed)."""

from __future__ import annotations

from mmrefine_agent.records.models import (
    CallRecord,
    CallUsage,
    ItemResult,
    JudgeCallRecord,
    JudgmentRecord,
    MessageSummary,
    RoundJudgment,
    RoundSummary,
    StepEvent,
)
from mmrefine_plugins.observers.otel_spans import ItemSpans, ModelRoute, SpanSettings, to_ns

SETTINGS = SpanSettings(
    refine=ModelRoute.of("litellm", "openai/gpt-4o"),
    judge=ModelRoute.of("litellm", "anthropic/claude"),
)


def step(node: str, round_number: int, start: float, *latencies: float) -> StepEvent:
    calls = [
        CallRecord(
            messages=[MessageSummary(role="user", text="the question")],
            answer="the answer",
            usage=CallUsage(
                model="gpt-4o-2024",
                input_tokens=10,
                output_tokens=5,
                latency_s=latency,
                finish_reason="stop",
            ),
        )
        for latency in latencies
    ]
    return StepEvent(item_key="k", round=round_number, node=node, strategy="multi_round",
                     timestamp=start, calls=calls, elapsed_s=sum(latencies) + 0.01)  # fmt: skip


def result() -> ItemResult:
    return ItemResult(
        key="k", status="ok", label="incorrect", n_rounds=2,
        rounds=[RoundSummary(round=1), RoundSummary(round=2)],
        judgment=JudgmentRecord(judge="offline", scenario="RS"),
        round_judgments=[RoundJudgment(judge="offline", scenario="ED", round=1),
                         RoundJudgment(judge="offline", scenario="RS", round=2)],
    )  # fmt: skip


def test_a_tree_per_item_with_round_scenarios_and_genai_attributes() -> None:
    spans = ItemSpans("k", SETTINGS)
    spans.add_step(step("detect", 1, 100.0, 0.5, 0.25))
    spans.add_step(step("detect", 2, 101.0, 0.5))
    spans.add_judge_call(
        JudgeCallRecord(item_key="k", round=2, judge="official", call="eval_incorrect",
                        prompt="judge prompt", reply="1", parsed=1,
                        usage=CallUsage(input_tokens=3, output_tokens=1, latency_s=0.2)),
        to_ns(103.0),
    )  # fmt: skip
    root = spans.build(result(), to_ns(104.0))
    assert root.name == "mmrefine.item" and root.start_ns == to_ns(100.0)
    assert root.attributes["mmrefine.round_scenarios"] == ["1:ED", "2:RS"]
    first, second, judge = root.children
    assert first.attributes["mmrefine.scenario"] == "ED"
    assert second.attributes["mmrefine.scenario"] == "RS"
    a, b = first.children  # laid end to end from the step's start
    assert (a.start_ns, a.end_ns, b.end_ns) == (to_ns(100.0), to_ns(100.5), to_ns(100.75))
    assert a.attributes["gen_ai.system"] == "openai"
    assert a.attributes["gen_ai.request.model"] == "openai/gpt-4o"
    assert a.attributes["gen_ai.response.model"] == "gpt-4o-2024"
    assert a.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert "gen_ai.input.messages" not in a.attributes
    assert judge.name == "chat anthropic/claude"
    assert judge.attributes["gen_ai.system"] == "anthropic"
    assert judge.attributes["mmrefine.judge.parsed"] == 1
    assert (judge.start_ns, judge.end_ns) == (to_ns(102.8), to_ns(103.0))
    assert "gen_ai.input.messages" not in judge.attributes


def test_a_tool_call_is_a_span_under_its_node_with_the_tool_name() -> None:
    spans = ItemSpans("k", SpanSettings(SETTINGS.refine, SETTINGS.judge, capture_content=True))
    spans.add_step(step("detect", 1, 100.0, 0.5))
    tool = spans.add_tool_call(
        name="calculator", call_id="call_1", round_number=1, node="detect",
        start_ns=to_ns(100.6), end_ns=to_ns(100.7), arguments={"expression": "2+2"}, result="4",
    )  # fmt: skip
    root = spans.build(result(), to_ns(104.0))
    (detect,) = root.children
    assert detect.children[-1] is tool and detect.end_ns >= tool.end_ns
    assert tool.name == "execute_tool calculator"
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "calculator"
    assert tool.attributes["gen_ai.tool.call.id"] == "call_1"
    assert tool.attributes["gen_ai.tool.call.arguments"] == '{"expression": "2+2"}'


def test_an_unfinished_item_is_an_error_span() -> None:
    spans = ItemSpans("k", SETTINGS)
    spans.add_step(step("detect", 1, 100.0, 0.5))
    root = spans.build(None, to_ns(101.0))
    assert root.error and root.children[0].name == "detect"

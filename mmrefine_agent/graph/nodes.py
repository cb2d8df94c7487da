"""The four fixed nodes. Each wraps the strategy's behaviour with tracing and bookkeeping."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.runtime import Runtime

from mmrefine_agent.errors import ModelCallError, NodeFailed
from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.graph.state import RefineState, RoundRecord
from mmrefine_agent.graph.strategy import NodeContext, NodeName, Strategy, compose_response
from mmrefine_agent.records.steps import StepRecord

NodeFn = Callable[[RefineState, Runtime[GraphContext]], Awaitable[dict[str, Any]]]

ROUND_FIELDS = (
    "verdict",
    "error_step",
    "error_explanation",
    "corrected_solution",
    "final_answer",
    "verified",
    "response",
)


def _round_start(state: RefineState, strategy: Strategy) -> dict[str, Any]:
    """The update that opens a new round: its number, the solution, cleared per-round fields.

    A strategy may hand values to the next round by putting ``carry_next`` in its scratch;
    the next round finds them as ``scratch['carry']``.
    """
    number = state.get("round", 0) + 1
    carried = (state.get("scratch") or {}).get("carry_next")
    update: dict[str, Any] = {"round": number, "scratch": {"carry": carried} if carried else {}}
    update.update({name: None for name in ROUND_FIELDS})
    if number > 1:
        update["solution"] = strategy.next_round_solution(state)
    return update


def _round_record(view: dict[str, Any], previous: list[RoundRecord]) -> RoundRecord:
    record: RoundRecord = {
        "round": view.get("round", 1),
        "reviewed_solution": view.get("solution", ""),
        "verdict": view.get("verdict"),
        "error_step": view.get("error_step"),
        "error_explanation": view.get("error_explanation"),
        "corrected_solution": view.get("corrected_solution"),
        "final_answer": view.get("final_answer"),
        "verified": view.get("verified"),
        "parse_errors": list(view.get("round_parse_errors", [])),
    }
    response = view.get("response")
    record["response"] = (
        response if isinstance(response, str) else compose_response(previous, record)
    )
    return record


def make_node(name: NodeName, strategy: Strategy) -> NodeFn:
    """Build the graph node ``name`` around ``strategy``'s method of the same name."""
    behaviour = getattr(strategy, name)

    async def node(state: RefineState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
        context = runtime.context
        opening = _round_start(state, strategy) if name == "detect" else {}
        view: dict[str, Any] = {**state, **opening}
        round_number = int(view.get("round", 1))
        step = StepRecord(
            item_key=context.item.key, round=round_number, node=name, strategy=strategy.name
        )
        ctx = NodeContext(
            context.item,
            name,
            round_number,
            context.client,
            context.prompts,
            step,
            strategy.options,
        )
        started = time.perf_counter()
        try:
            update = await behaviour(view, ctx)
        except ModelCallError:
            raise  # the engine maps model failures to backend_error / budget
        except Exception as exc:
            step.fail(exc)
            raise NodeFailed(name, exc) from exc
        finally:
            step.elapsed_s = round(time.perf_counter() - started, 4)
            context.emit_step(step)
        out: dict[str, Any] = {**opening, **update}
        if step.parse_errors:
            out["parse_errors"] = [f"{name}: {p}" for p in step.parse_errors]
        if name == "verify":
            view.update(update)
            all_errors = [*state.get("parse_errors", []), *out.get("parse_errors", [])]
            already = sum(len(r.get("parse_errors", [])) for r in state.get("rounds", []))
            view["round_parse_errors"] = all_errors[already:]
            record = _round_record(view, list(state.get("rounds", [])))
            out["response"] = record["response"]
            out["rounds"] = [record]
        return out

    node.__name__ = name
    return node

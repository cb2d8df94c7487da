"""Graph nodes: each strategy behaviour wrapped with tracing, and the framework's round nodes.

A strategy node records one step (its calls, parsed fields, parse problems, any exception,
when it started and how long it took). ``begin_round`` opens a round and ``end_round``
closes it; both are visible in the drawn graph.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, get_type_hints

from mmrefine_agent.errors import ModelCallError, NodeFailed, RouteError
from mmrefine_agent.graph.commands import checked_command, is_command
from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.graph.shape import BEGIN_ROUND, Behaviour
from mmrefine_agent.graph.state import RefineState, RoundRecord
from mmrefine_agent.graph.strategy import NodeContext, Strategy, compose_response
from mmrefine_agent.records.steps import StepRecord

if TYPE_CHECKING:  # LangGraph is imported when a graph is built, not with the engine
    from langgraph.runtime import Runtime

NodeFn = Callable[[RefineState, "Runtime[GraphContext]"], Awaitable[Any]]

STATE_FIELDS = frozenset(get_type_hints(RefineState))
FRAMEWORK_FIELDS = frozenset({"item_key", "round", "rounds", "carry"})
"""State fields only the framework sets (``begin_round``/``end_round``)."""

ROUND_FIELDS = (
    "verdict",
    "error_step",
    "error_explanation",
    "corrected_solution",
    "final_answer",
    "verified",
    "response",
)


def begin_round(
    strategy: Strategy, resets: dict[str, Any] | None = None
) -> Callable[[RefineState], Awaitable[dict[str, Any]]]:
    """The node that opens a round: its number, the solution it reviews, cleared fields.

    What the previous round put in ``carry_next`` is found in ``carry`` (typed by the
    strategy); the strategy's own state fields start empty (``resets``). A v1 strategy's
    ``scratch['carry_next']`` is found as ``scratch['carry']``. Like every framework node and
    router it is a coroutine function, so LangGraph runs it in the event loop (a plain
    function would cost a thread-pool hop per item).
    """
    cleared = {name: None for name in ROUND_FIELDS}
    cleared.update(resets or {})

    async def node(state: RefineState) -> dict[str, Any]:
        number = state.get("round", 0) + 1
        legacy = (state.get("scratch") or {}).get("carry_next")
        update: dict[str, Any] = {
            "round": number,
            "scratch": {"carry": legacy} if legacy else {},
            "carry": state.get("carry_next"),
            "carry_next": None,
        }
        update.update(cleared)
        if number > 1:
            try:
                update["solution"] = strategy.next_round_solution(state)
            except ModelCallError:
                raise
            except Exception as exc:  # plugin code
                raise NodeFailed(BEGIN_ROUND, exc) from exc
        return update

    node.__name__ = BEGIN_ROUND
    return node


async def end_round(state: RefineState) -> dict[str, Any]:
    """The node that closes a round: its record (with the judged response) joins ``rounds``.

    Reached twice in one round (parallel branches that did not join before it), the item
    fails saying so, instead of recording the round twice.
    """
    previous = list(state.get("rounds", []))
    number = state.get("round", 1)
    if previous and previous[-1].get("round") == number:
        raise RouteError(
            f"end_round was reached twice in round {number}: parallel branches must join "
            "before it (add_edge([a, b], target) waits for both)"
        )
    already = sum(len(r.get("parse_errors", [])) for r in previous)
    record: RoundRecord = {
        "round": number,
        "reviewed_solution": state.get("solution", ""),
        "verdict": state.get("verdict"),
        "error_step": state.get("error_step"),
        "error_explanation": state.get("error_explanation"),
        "corrected_solution": state.get("corrected_solution"),
        "final_answer": state.get("final_answer"),
        "verified": state.get("verified"),
        "parse_errors": list(state.get("parse_errors", []))[already:],
    }
    response = state.get("response")
    record["response"] = (
        response if isinstance(response, str) else compose_response(previous, record)
    )
    return {"response": record["response"], "rounds": [record]}


def make_node(
    name: str,
    behaviour: Behaviour,
    strategy: Strategy,
    *,
    fields: frozenset[str] = STATE_FIELDS,
    loop: tuple[str, ...] | None = None,
    destinations: tuple[str, ...] | None = None,
) -> NodeFn:
    """The graph node ``name``: runs ``behaviour`` and records the step.

    ``fields``: the state fields a node may set; ``loop``: the loop inside a round this node
    lies on (it may then run ``strategy.max_steps`` times per round); ``destinations``:
    where a ``Command`` it returns may go.
    """
    limit = strategy.max_steps

    async def node(state: Any, runtime: Runtime[GraphContext]) -> Any:  # Any: whole state
        context = runtime.context
        round_number = int(state.get("round", 1))
        if loop is not None:
            count_loop_step(context, name, round_number, loop, limit)
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
            uses_gold=strategy.uses_gold,
            toolbox=context.tools,
        )
        started = time.perf_counter()
        try:
            result = await behaviour(state, ctx)
            if type(result) is not dict and is_command(result):
                return checked_command(name, result, destinations, strategy, step, fields, state)
            out = checked_update(strategy, result, step, fields)
        except ModelCallError:
            raise  # the engine maps model failures to backend_error / budget
        except RouteError as exc:
            step.fail(exc)
            raise
        except Exception as exc:
            step.fail(exc)
            raise NodeFailed(name, exc) from exc
        finally:
            step.elapsed_s = round(time.perf_counter() - started, 4)
            context.emit_step(step)
        if step.parse_errors:
            out["parse_errors"] = [f"{name}: {p}" for p in step.parse_errors]
        return out

    node.__name__ = name.replace("/", "__")
    return node


def count_loop_step(
    context: GraphContext, name: str, round_number: int, loop: tuple[str, ...], limit: int
) -> None:
    """Count one run of a node on a loop; past ``limit`` runs in a round, fail naming it."""
    key = (round_number, name)
    count = context.loop_steps.get(key, 0) + 1
    context.loop_steps[key] = count
    if count > limit:
        raise RouteError(
            f"the loop {' -> '.join(loop)} did not end: {name!r} would run a "
            f"{count}th time in round {round_number} (strategy.max_steps is {limit})"
        )


def checked_update(
    strategy: Strategy, update: Any, step: StepRecord, fields: frozenset[str] = STATE_FIELDS
) -> dict[str, Any]:
    """A node's partial update, checked: state fields, ``carry_next`` of the declared type.

    Fields the framework keeps (the round number, the history) cannot be set by a node; a key
    that is not a state field would be dropped silently by LangGraph, so it is named in the
    step's notes (a typo shows in ``mmrefine trace``).
    """
    if update is None:
        return {}
    if not isinstance(update, dict):
        raise TypeError(
            f"a node returns a dict of state fields or a Command, not {type(update).__name__}"
        )
    owned = sorted(set(update) & FRAMEWORK_FIELDS)
    if owned:
        raise TypeError(f"{', '.join(owned)}: kept by the framework, not set by a node")
    for key in sorted(set(update) - fields):
        step.notes.append(f"ignored update {key!r}: not a state field")
    carry = update.get("carry_next")
    wanted = strategy.carry_type
    if carry is not None and wanted is not None and not isinstance(carry, wanted):
        raise TypeError(
            f"carry_next must be a {wanted.__name__} (the strategy's carry_type), "
            f"not {type(carry).__name__}"
        )
    return {key: value for key, value in update.items() if key in fields}

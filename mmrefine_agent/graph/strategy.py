"""The refinement-strategy interface and the context its nodes receive.

A strategy decides what each of the four fixed nodes does (which prompt, whether it calls the
model or only parses an earlier answer), the routing between them, and may add nodes, edges
and routes in :meth:`Strategy.shape`. The framework owns the round bookkeeping
(``begin_round``/``end_round``), ``max_rounds``, the tracing and the call path; a strategy's
nodes only return partial state updates.

The values a strategy reads (documented per strategy): ``self.options`` (``strategy.options``
in the config, keys listed in ``options_doc``), ``state['carry']`` (what the previous round
handed on, of type ``carry_type``) and ``state['scratch']`` (this round's private space).

What a node receives is a :class:`~mmrefine_agent.graph.node_context.NodeContext` (re-exported
here, with :class:`Gold`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from mmrefine_agent.errors import ConfigError
from mmrefine_agent.graph.node_context import Gold, NodeContext
from mmrefine_agent.graph.state import RefineState, RoundRecord
from mmrefine_agent.types import Item

if TYPE_CHECKING:
    from mmrefine_agent.config import StrategyConfig
    from mmrefine_agent.graph.shape import GraphShape

__all__ = [
    "NODES",
    "Gold",
    "NodeContext",
    "NodeName",
    "Strategy",
    "check_options",
    "compose_response",
    "declared_options",
]

NodeName = Literal["detect", "locate", "correct", "verify"]
NODES: tuple[NodeName, ...] = ("detect", "locate", "correct", "verify")
DEFAULT_MAX_STEPS = 25


class Strategy(ABC):
    """Base class for refinement strategies. One instance serves every item of a run."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_max_rounds: ClassVar[int] = 1
    options_doc: ClassVar[dict[str, str] | None] = None
    """The ``strategy.options`` this strategy reads: option name -> what it does (shown by
    ``mmrefine graph`` and ``mmrefine plugins``). Declared on a class (not inherited), an
    option it does not list is a config error naming it; undeclared (a v1 strategy), any
    option is accepted."""
    carry_type: ClassVar[type[Any] | None] = None
    """The type of the value a round hands to the next (``carry_next``, found in ``carry``);
    when declared, a node that hands on anything else fails naming both types."""
    uses_official_prompts: ClassVar[bool] = False
    """Whether the nodes read ``ctx.prompts`` (the official MMRefine prompts file): a run
    without the file is refused before it starts, naming the file and where it looked."""
    default_tools: ClassVar[tuple[str, ...]] = ()
    """The tools the strategy offers when the config does not say (``strategy.tools``
    replaces them); document them in the strategy's description."""
    state_type: ClassVar[type[Any]] = RefineState
    """The graph's state: :class:`RefineState` or a TypedDict extending it with the strategy's
    own typed fields (a reducer, ``Annotated[list[str], operator.add]``, joins what parallel
    branches return). ``begin_round`` starts these fields empty every round."""
    uses_gold: ClassVar[bool] = False
    """True when the strategy reads the gold answer or label while refining (as Reflexion's
    evaluator does), through :meth:`NodeContext.gold`. Runs record it (``uses_gold`` in
    ``results.jsonl`` and ``scores.json``); ``report`` marks them, and ``compare`` and sweep
    summaries keep them apart from paper-comparable runs unless ``--include-gold``."""

    def __init__(self, config: StrategyConfig) -> None:
        self.config = config
        self.options = dict(config.options)
        check_options(type(self), self.options)

    @property
    def max_rounds(self) -> int:
        """How many rounds this run may take."""
        return self.config.max_rounds

    @property
    def max_steps(self) -> int:
        """How often a node on a loop inside a round may run per round (``strategy.max_steps``)."""
        return int(getattr(self.config, "max_steps", DEFAULT_MAX_STEPS))

    @property
    def tool_names(self) -> tuple[str, ...]:
        """The tools this run lets the strategy offer: ``strategy.tools``, else its default."""
        configured = getattr(self.config, "tools", None)
        return tuple(configured) if configured is not None else tuple(self.default_tools)

    @abstractmethod
    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Decide whether ``state['solution']`` has an error; return a partial update."""

    @abstractmethod
    async def locate(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Find the first erroneous step; return ``error_step``/``error_explanation``."""

    @abstractmethod
    async def correct(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Rewrite the solution from the erroneous step; return ``corrected_solution`` etc."""

    @abstractmethod
    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Check the round's outcome; return ``verified`` and the round's ``response``."""

    def shape(self, graph: GraphShape) -> None:  # noqa: B027 - optional hook, no-op by default
        """Change the graph: add nodes, edges and routes (default: the standard shape).

        Called once when the graph is built, with the standard shape laid out::

            begin_round -> detect -(route_after_detect)-> locate -> correct -> verify
            verify -> end_round -(route_after_verify + max_rounds)-> begin_round | end

        For example, a planning turn before ``detect``::

            def shape(self, graph):
                graph.insert_before("detect", "plan", self.plan)

        A node's behaviour is ``async def node(self, state, ctx) -> dict`` like the four
        fixed ones, traced as a step of its own; it may return a LangGraph ``Command``
        (``graph.add_node(name, fn, destinations=[...])`` names where it may go). LangGraph's
        own primitives work inside the frame: a second ``add_edge`` out of a node starts a
        parallel branch, ``add_edge([a, b], c)`` waits for both, a router may return several
        names or ``Send`` objects, a compiled LangGraph graph is a node (its nodes traced as
        ``outer/inner``) and ``add_tool_node`` runs the last message's tool calls. Parallel
        branches join through the reducers of ``state_type``.

        The rules, checked when the graph is built (a
        :class:`~mmrefine_agent.errors.PluginError` names the bad edge or route and the
        allowed nodes): the four named nodes and ``begin_round``/``end_round`` stay; every
        node is reached from ``begin_round`` and leads to ``end_round``; only the framework's
        route after ``end_round`` ends the item or begins the next round (it enforces
        ``max_rounds``). A router returning a name it did not declare fails its item
        (``strategy_error``) naming the allowed ones; a node on a loop inside a round runs
        at most ``strategy.max_steps`` times per round.
        """

    def route_after_detect(self, state: RefineState) -> str:
        """Default: an error found goes to locate, otherwise straight to verify."""
        return "locate" if state.get("verdict") == "incorrect" else "verify"

    def route_after_verify(self, state: RefineState) -> str:
        """After a round: ``"detect"`` for another round, ``"end"`` to stop.

        Default: another round while verification fails. The framework stops at
        ``max_rounds`` whatever this returns (the one place the limit is enforced).
        """
        return "end" if state.get("verified") is True else "detect"

    def next_round_solution(self, state: RefineState) -> str:
        """The solution the next round reviews (default: the last correction, if any)."""
        return state.get("corrected_solution") or state.get("solution", "")

    def initial_state(self, item: Item) -> RefineState:
        """The state an item starts from."""
        return RefineState(
            item_key=item.key,
            round=0,
            solution=item.initial_solution,
            parse_errors=[],
            rounds=[],
            scratch={},
        )


def declared_options(strategy: type[Strategy]) -> dict[str, str] | None:
    """The options ``strategy`` itself declares, or None when it declares none.

    ``options_doc`` is not inherited: a subclass may read other options than its base.
    """
    declared = vars(strategy).get("options_doc")
    return dict(declared) if isinstance(declared, dict) else None


def check_options(strategy: type[Strategy], options: dict[str, Any]) -> None:
    """Refuse ``strategy.options`` keys that ``strategy`` does not declare in ``options_doc``."""
    known = declared_options(strategy)
    if known is None:
        return
    unknown = sorted(set(options) - set(known))
    if unknown:
        close = get_close_matches(unknown[0], list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"strategy.options.{unknown[0]}: {strategy.name or strategy.__name__} has no such "
            f"option{hint} (options: {', '.join(sorted(known)) or 'none'})"
        )


def compose_response(rounds: list[RoundRecord], current: RoundRecord) -> str:
    """An official-format text that summarises the refinement of the *initial* solution.

    The verdict is about the initial solution (Incorrect once any round corrected it); the
    review names the first error found; the corrected solution and answer are the latest.
    """
    history = [*rounds, current]
    first_error = next((r for r in history if r.get("verdict") == "incorrect"), None)
    latest_fix = next((r for r in reversed(history) if r.get("corrected_solution")), None)
    final_answer = current.get("final_answer") or (latest_fix or {}).get("final_answer") or ""
    lines = ["Review and Correction (if applicable):"]
    if first_error is None and all(r.get("verdict") is None for r in history):
        # the unparsed-verdict policy: no verdict is never read as "Correct"
        lines.append("No verdict could be read from the review.")
        lines += ["Overall Assessment:", "Correctness: (no verdict)"]
    elif first_error is None:
        lines.append("No error found in the solution.")
        lines += ["Overall Assessment:", "Correctness: Correct"]
    else:
        step = first_error.get("error_step")
        lines.append(
            f"Error found in step {step if step is not None else '?'}: "
            f"{first_error.get('error_explanation') or ''}".rstrip()
        )
        if latest_fix is not None:
            lines.append(f"Corrected solution from step {step if step is not None else '?'}:")
            lines.append(str(latest_fix.get("corrected_solution", "")).strip())
        lines += ["Overall Assessment:", "Correctness: Incorrect"]
    lines.append(f"Final Answer: {final_answer}")
    return "\n".join(lines)

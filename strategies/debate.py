"""``debate``: several agents review the solution over several rounds, each seeing the others.

After Du et al. 2023, *Improving Factuality and Reasoning in Language Models through
Multiagent Debate* (ICML 2024, arXiv:2305.14325). ``agents`` copies of the model (sampled at
``temperature``) each review the solution; in every later round each agent reads the other
agents' latest reviews and its own, and writes an updated review. After the last round
(``max_rounds`` is the number of debate rounds) one answer is taken: the majority verdict,
and among the agents holding it the majority final answer, as in the paper.

Nodes (one round = one debate round):

- ``agents`` (before ``detect``): each agent a parallel branch (a LangGraph ``Send`` per
  agent, traced as a step of its own), one call with the official refinement prompt (with
  the other agents' reviews from round 2 on); the reviews join in ``DebateState.reviews``;
- ``detect``: the agents' majority verdict (no call; votes in the step's parsed fields);
- ``locate``: the step most agents saying Incorrect name (no call);
- ``correct``: the correction of an agent in the majority (no call);
- ``verify``: the majority final answer (no call); confirmed when all agents agree. The
  judged response is the review of an agent in the majority (official format). The debate
  runs all its rounds unless ``stop_on_agreement``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from mmrefine_agent import (
    BEGIN_ROUND,
    GraphShape,
    NodeContext,
    ParsedRefinement,
    RefineState,
    RegisterStrategy,
    StrategyConfig,
    hookimpl,
    parse_refinement,
)

from .common import answer_key, bool_option, float_option, int_option, majority, numbered
from .single_pass import SinglePass, official_refinement_prompt

DEBATE_SUFFIX = """

Your review in the previous round:
{own}

Reviews by the other agents in the previous round:
{others}

Use the other agents' reasoning as additional advice: check where you disagree, decide who
is right, and write your updated review in the required format."""


@dataclass(frozen=True, slots=True)
class DebateCarry:
    """What a debate round hands on: every agent's latest review, in agent order."""

    reviews: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgentReview:
    """One agent's review in one debate round, and what was parsed from it."""

    agent: int
    text: str
    parsed: ParsedRefinement


class DebateState(RefineState, total=False):
    """The debate's own state fields (each round starts them empty)."""

    agent: int
    """Which agent a branch is (0-based; set by the ``Send`` that starts the branch)."""
    reviews: Annotated[list[AgentReview], operator.add]
    """Each agent's branch appends its review; read in agent order."""


class Debate(SinglePass):
    """``agents`` reviewers over ``max_rounds`` debate rounds, then one majority answer."""

    name: ClassVar[str] = "debate"
    description: ClassVar[str] = "multi-agent debate (Du et al. 2023): N agents over R rounds"
    default_max_rounds: ClassVar[int] = 2
    options_doc: ClassVar[dict[str, str] | None] = {
        "agents": "how many agents debate (default 3)",
        "temperature": "sampling temperature of every agent's call (default 0.7)",
        "stop_on_agreement": "end the debate early once all agents agree (default false)",
    }
    carry_type: ClassVar[type[Any] | None] = DebateCarry
    state_type: ClassVar[type[Any]] = DebateState

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.agents = int_option(self.options, "agents", 3, 1, 12)
        self.temperature = float_option(self.options, "temperature", 0.7, 0.0, 2.0)
        self.stop_on_agreement = bool_option(self.options, "stop_on_agreement", False)

    def shape(self, graph: GraphShape) -> None:
        """Each agent a parallel branch (a ``Send`` to ``agents``) on the way into ``detect``."""
        from langgraph.types import Send

        def to_agents(state: RefineState) -> list[Any]:
            return [Send("agents", {"agent": i}) for i in range(self.agents)]

        graph.add_node("agents", self.agent_review)
        graph.add_route(BEGIN_ROUND, to_agents, ["agents"])
        graph.add_edge("agents", "detect")

    async def agent_review(self, state: DebateState, ctx: NodeContext) -> dict[str, Any]:
        """One agent's call; from round 2 on, it sees its own and the others' reviews."""
        agent = int(state.get("agent", 0))
        prompt = official_refinement_prompt(ctx, state.get("solution", ""))
        carry = state.get("carry")
        earlier = carry.reviews if isinstance(carry, DebateCarry) else ()
        if len(earlier) == self.agents:
            others = [r for i, r in enumerate(earlier) if i != agent]
            prompt += DEBATE_SUFFIX.format(
                own=earlier[agent].strip(), others=numbered(others, "Agent") or "(none)"
            )
        review = await ctx.ask(
            prompt, params={"temperature": self.temperature}, sample=f"agent {agent + 1}"
        )
        parsed = parse_refinement(review)
        ctx.parsed(agent=agent + 1, verdict=parsed.verdict, final_answer=parsed.final_answer)
        return {"reviews": [AgentReview(agent, review, parsed)]}

    @staticmethod
    def _votes(state: RefineState) -> tuple[list[str], list[ParsedRefinement]]:
        found: list[AgentReview] = state.get("reviews", [])  # type: ignore[assignment]
        ordered = sorted(found, key=lambda review: review.agent)
        return [r.text for r in ordered], [r.parsed for r in ordered]

    def _chosen(self, state: RefineState) -> int | None:
        """The agent whose review stands for the debate: majority verdict, then answer."""
        _reviews, parsed = self._votes(state)
        verdict = majority(p.verdict for p in parsed)
        holders = [i for i, p in enumerate(parsed) if p.verdict == verdict]
        if not holders:
            return None
        answer = majority(answer_key(parsed[i].final_answer) for i in holders)
        return next(
            (i for i in holders if answer_key(parsed[i].final_answer) == answer), holders[0]
        )

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The majority verdict of the agents (no call)."""
        _reviews, parsed = self._votes(state)
        verdict = majority(p.verdict for p in parsed)
        if verdict is None:
            ctx.problem("no agent gave a 'Correctness:' verdict (never read as Correct)")
        ctx.parsed(verdict=verdict, votes=[p.verdict for p in parsed])
        return {"verdict": verdict}

    async def locate(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The step most agents that said Incorrect name first (no call)."""
        _reviews, parsed = self._votes(state)
        step = majority(p.error_step for p in parsed if p.verdict == "incorrect")
        named = next((p for p in parsed if p.verdict == "incorrect" and p.error_step == step), None)
        explanation = named.error_explanation if named is not None else None
        if step is None:
            ctx.problem("no agent named an erroneous step")
        ctx.parsed(error_step=step, error_explanation=explanation)
        return {"error_step": step, "error_explanation": explanation}

    async def correct(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The corrected solution of an agent in the majority (no call)."""
        _reviews, parsed = self._votes(state)
        chosen = self._chosen(state)
        corrected = parsed[chosen].corrected_solution if chosen is not None else None
        if corrected is None:
            ctx.problem("the majority agent wrote no corrected solution")
        ctx.parsed(agent=None if chosen is None else chosen + 1, corrected_solution=corrected)
        return {"corrected_solution": corrected}

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The debate's one answer (no call); confirmed when every agent agrees."""
        reviews, parsed = self._votes(state)
        chosen = self._chosen(state)
        final = parsed[chosen].final_answer if chosen is not None else None
        keys = {(p.verdict, answer_key(p.final_answer)) for p in parsed}
        agreed = len(keys) == 1 and bool(parsed)
        if final is None:
            ctx.problem("no 'Final Answer:' from the majority agent")
        ctx.parsed(final_answer=final, agreed=agreed, agent=None if chosen is None else chosen + 1)
        return {
            "final_answer": final,
            "verified": agreed,
            "response": reviews[chosen or 0] if reviews else None,
            "carry_next": DebateCarry(tuple(reviews)),
        }

    def route_after_verify(self, state: RefineState) -> str:
        """Every debate round runs (the framework stops at max_rounds), unless told otherwise."""
        if self.stop_on_agreement and state.get("verified") is True:
            return "end"
        return "detect"

    def next_round_solution(self, state: RefineState) -> str:
        """Every debate round reviews the same (initial) solution."""
        return state.get("solution", "")


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``debate``."""
    register("debate", Debate)

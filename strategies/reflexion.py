"""``reflexion``: try, let an evaluator with the gold answer score the try, reflect, retry.

After Shinn et al. 2023, *Reflexion: Language Agents with Verbal Reinforcement Learning*
(NeurIPS 2023, arXiv:2303.11366). An Actor reviews the solution (the official refinement
prompt); an Evaluator scores the attempt; after a failed attempt the model writes a
self-reflection (why it failed, what to do differently), kept in an episodic memory of the
last ``memory`` reflections that the next attempt reads. As in the paper's reasoning tasks,
the Evaluator is an exact check against the **gold** answer and label, so this strategy
declares ``uses_gold = True``: its runs are marked and kept apart from paper-comparable
summaries (the gold never appears in a prompt, but whether to retry depends on it).

Nodes (one round = one attempt):

- ``detect``: the Actor's call (official prompt + the reflections so far);
- ``locate``, ``correct``: parse the attempt (no call);
- ``verify``: the Evaluator (no call): success when the verdict matches the label and, for
  an incorrect solution with a gold answer, the final answer matches it;
- ``reflect`` (after ``verify``, only after a failed attempt with a round left): the
  self-reflection call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from mmrefine_agent import (
    END_ROUND,
    GraphShape,
    NodeContext,
    RefineState,
    RegisterStrategy,
    StrategyConfig,
    answers_match,
    hookimpl,
)

from .common import SYSTEM, int_option
from .single_pass import SinglePass, official_refinement_prompt, parsed_of

MEMORY_SUFFIX = """

You have reviewed this solution before, and those attempts failed. Your reflections on
them (most recent last):
{reflections}
Use them to avoid the same mistakes, and write your review in the required format."""

REFLECT_PROMPT = """Question: {question}

Proposed solution:
{solution}

Your review of it:
{attempt}

This review was checked and found to be wrong: its verdict on the solution, its first
wrong step or its corrected answer is not right. You are not told which. In a few sentences,
diagnose what most likely went wrong in your review, and write a concrete plan for a better
review next time. Do not write the review itself."""


@dataclass(frozen=True, slots=True)
class ReflexionMemory:
    """The episodic memory handed to the next attempt: the latest self-reflections."""

    reflections: tuple[str, ...] = ()


class Reflexion(SinglePass):
    """Actor, gold-answer Evaluator, self-reflection; retry until success or ``max_rounds``."""

    name: ClassVar[str] = "reflexion"
    description: ClassVar[str] = "Reflexion (Shinn et al. 2023): retry with self-reflections"
    default_max_rounds: ClassVar[int] = 3
    uses_gold: ClassVar[bool] = True
    options_doc: ClassVar[dict[str, str] | None] = {
        "memory": "how many of the latest reflections the next attempt reads (default 3)"
    }
    carry_type: ClassVar[type[Any] | None] = ReflexionMemory

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.memory = int_option(self.options, "memory", 3, 1, 20)

    def shape(self, graph: GraphShape) -> None:
        """A ``reflect`` node after ``verify`` (a failed attempt with a round left)."""
        graph.add_node("reflect", self.reflect)
        graph.add_route("verify", self.route_to_reflect, ["reflect", END_ROUND])
        graph.add_edge("reflect", END_ROUND)

    @staticmethod
    def _memory(state: RefineState) -> tuple[str, ...]:
        carry = state.get("carry")
        return carry.reflections if isinstance(carry, ReflexionMemory) else ()

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The Actor: the official prompt with the reflections so far."""
        prompt = official_refinement_prompt(ctx, state.get("solution", ""))
        memory = self._memory(state)
        if memory:
            listed = "\n".join(f"- {r.strip()}" for r in memory)
            prompt += MEMORY_SUFFIX.format(reflections=listed)
        update = self.parse_answer(await ctx.ask(prompt), ctx)
        update["carry_next"] = ReflexionMemory(memory)  # kept when the attempt succeeds
        return update

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The Evaluator (no call): the attempt against the gold label and answer."""
        update = await super().verify(state, ctx)
        gold = ctx.gold()
        verdict = parsed_of(state).verdict
        final = update.get("final_answer")
        right_verdict = verdict == gold.label
        checks_answer = gold.label == "incorrect" and bool(gold.answer.strip())
        right_answer = (
            answers_match(final, gold.answer, ctx.item.options) if checks_answer else None
        )
        success = right_verdict and right_answer is not False
        ctx.parsed(
            evaluator="gold label and answer" if checks_answer else "gold label",
            verdict_right=right_verdict,
            answer_right=right_answer,
            success=success,
        )
        return {**update, "verified": success}

    def route_to_reflect(self, state: RefineState) -> str:
        """Reflect after a failed attempt while a round is left."""
        failed = state.get("verified") is not True
        return "reflect" if failed and state.get("round", 1) < self.max_rounds else END_ROUND

    async def reflect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The self-reflection on the failed attempt, added to the memory."""
        reflection = await ctx.ask(
            REFLECT_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                attempt=state.get("scratch", {}).get("answer", ""),
            ),
            system=SYSTEM,
        )
        memory = (*self._memory(state), reflection.strip())[-self.memory :]
        ctx.parsed(reflection_chars=len(reflection), memory=len(memory))
        return {"carry_next": ReflexionMemory(memory)}

    def route_after_verify(self, state: RefineState) -> str:
        """Retry until the Evaluator reports success (the framework stops at max_rounds)."""
        return "end" if state.get("verified") is True else "detect"

    def next_round_solution(self, state: RefineState) -> str:
        """Every attempt reviews the same (initial) solution."""
        return state.get("solution", "")


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``reflexion``."""
    register("reflexion", Reflexion)

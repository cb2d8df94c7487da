"""A third-party strategy: the official prompt with a caution prefix."""

from typing import Any

from mmrefine_agent.hookspecs import hookimpl
from mmrefine_agent.strategies.single_pass import SinglePass, official_refinement_prompt


class Cautious(SinglePass):
    """Single pass, but asks the model to be careful first."""

    name = "cautious"
    description = "third-party test strategy"

    async def detect(self, state: Any, ctx: Any) -> dict[str, Any]:
        """Ask the official prompt behind a caution prefix."""
        prompt = "CAUTIOUS MODE. " + official_refinement_prompt(ctx, state["solution"])
        return self.parse_answer(await ctx.ask(prompt), ctx)


@hookimpl
def mmrefine_register_strategies(register: Any) -> None:
    """Register ``cautious``."""
    register("cautious", Cautious)

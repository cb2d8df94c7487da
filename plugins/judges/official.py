"""``mmrefine_official``: the official MMRefine judge protocol, any judge model via litellm.

Correct initial solution: one ``eval_correct`` call -> 1: VS, 0: FD.
Incorrect initial solution: one ``eval_incorrect`` call (with the reference feedback), then
three ``parsing`` calls, one per target, and the official cascade. A reply that is not a
clean 0/1 is re-asked up to ``judge.retries`` times, then the outcome is ``judge_error``
(never silently counted as a scenario). The judge never sees the image, as officially.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import (
    FD,
    JUDGE_ERROR,
    VS,
    CallTags,
    ChatMessage,
    DataError,
    Item,
    Judge,
    JudgeCallRecord,
    Judgment,
    ModelCallError,
    RegisterJudge,
    cascade,
    cascade_rule,
    hookimpl,
    parse_binary,
    scenario_rule,
)

FIELD_OF_TARGET = {
    "Error Detection": "error_detection",
    "Error Correction": "error_correction",
    "Effectiveness and Correctness of the Feedback": "solution_correctness",
}


class _JudgeFailed(Exception):
    pass


def _salt(generation: int, attempt: int) -> str:
    """Cache salt: the first ask of a first judgment reuses the cache; re-asks never do."""
    if generation == 0 and attempt == 1:
        return ""
    return f"g{generation}a{attempt}"


class OfficialJudge(Judge):
    """The official protocol with recorded, retried, validated judge calls."""

    needs_model: ClassVar[bool] = True
    uses_official_prompts: ClassVar[bool] = True
    description: ClassVar[str] = "official MMRefine judge protocol (judge model via litellm)"

    async def _ask(
        self,
        item: Item,
        round_number: int,
        call: str,
        prompt: str,
        binary: bool,
        generation: int = 0,
    ) -> tuple[str, int | None]:
        client = self.env.client
        if client is None:
            raise _JudgeFailed("no judge model client")
        attempts = 1 + (self.config.retries if binary else 0)
        reply = ""
        for attempt in range(1, attempts + 1):
            tags = CallTags(
                item_key=item.key, node=f"judge.{call}", round=round_number, purpose="judge"
            )
            entry = JudgeCallRecord(
                item_key=item.key,
                round=round_number,
                judge=self.name,
                call=call,
                attempt=attempt,
                prompt=prompt,
            )
            try:
                response, _ = await client.call(
                    (ChatMessage("user", prompt),),
                    tags,
                    cache_salt=_salt(generation, attempt),
                )
            except ModelCallError as exc:
                self.env.record(entry.model_copy(update={"error": str(exc)}))
                raise _JudgeFailed(f"{call}: {exc}") from exc
            reply = response.text
            value = parse_binary(reply) if binary else None
            self.env.record(
                entry.model_copy(
                    update={"reply": reply, "parsed": value, "usage": response.usage()}
                )
            )
            if not binary or value is not None:
                return reply, value
        raise _JudgeFailed(f"{call}: reply is not 0/1 after {attempts} attempt(s): {reply[:80]!r}")

    async def judge(
        self,
        item: Item,
        response: str,
        round_number: int,
        parsed: dict[str, Any],
        *,
        generation: int = 0,
    ) -> Judgment:
        """Run the official calls and cascade for one response."""
        prompts = self.env.prompts
        if prompts is None:
            raise DataError("the official judge needs mmrefine_official_prompts.json")
        fields: dict[str, Any] = {}
        calls = 0
        try:
            if item.label == "correct":
                calls += 1
                _, score = await self._ask(
                    item,
                    round_number,
                    "eval_correct",
                    prompts.render("eval_correct", response=response),
                    True,
                    generation,
                )
                fields["solution_correctness"] = score
                scenario = VS if score == 1 else FD
                rule = scenario_rule(item.label, scenario, fields)
            elif item.dataset != "mmrefine" and not (item.reference_feedback or "").strip():
                # the extension to other datasets needs their reference reason: without one
                # the official eval_incorrect call has nothing to compare against
                return Judgment(
                    self.name,
                    JUDGE_ERROR,
                    False,
                    fields,
                    f"{item.dataset}: this item has no reference reason, which the official "
                    "protocol compares against (judge it with the offline judge)",
                    calls,
                )
            else:
                calls += 1
                evaluation, _ = await self._ask(
                    item,
                    round_number,
                    "eval_incorrect",
                    prompts.render(
                        "eval_incorrect",
                        initial_solution=item.initial_solution,
                        feedback=response,
                        reference_feedback=item.reference_feedback or "",
                    ),
                    False,
                    generation,
                )
                fields["evaluation"] = evaluation
                for target in prompts.parsing_targets:
                    calls += 1
                    _, value = await self._ask(
                        item,
                        round_number,
                        f"parsing:{target}",
                        prompts.render("parsing", target=target, model_response=evaluation),
                        True,
                        generation,
                    )
                    fields[FIELD_OF_TARGET.get(target, target)] = value
                detection, correction, correctness = (
                    int(fields["error_detection"]),
                    int(fields["error_correction"]),
                    int(fields["solution_correctness"]),
                )
                scenario = cascade(detection, correction, correctness)
                rule = cascade_rule(detection, correction, correctness)
        except _JudgeFailed as exc:
            return Judgment(self.name, JUDGE_ERROR, False, fields, str(exc), calls)
        return Judgment(self.name, scenario, False, fields, None, calls, rule)


@hookimpl
def mmrefine_register_judges(register: RegisterJudge) -> None:
    """Register ``mmrefine_official``."""
    register("mmrefine_official", OfficialJudge)

"""``offline``: a model-free proxy judge (fast, free, and clearly labelled as a proxy).

Correct initial solution: VS when the response's verdict is Correct, else FD (the official
judge also scores anything but 'Correctness: Correct' as 0).
Incorrect initial solution: RF when the verdict is not Incorrect; RS when the final answer
is equivalent to the ground truth (option letters mapped; math-verify otherwise); EC when
the flagged step is the dataset's labelled first wrong step (MMRefine: the step the reference
feedback names first); else ED.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import (
    EC,
    ED,
    FD,
    RF,
    RS,
    VS,
    Item,
    Judge,
    JudgeCallRecord,
    Judgment,
    RegisterJudge,
    answers_match,
    first_step_number,
    hookimpl,
    jsonable,
    parse_error_step,
    parse_final_answer,
    parse_verdict,
    scenario_rule,
)


class OfflineJudge(Judge):
    """Verdict parsing plus answer equivalence; no model calls."""

    is_proxy: ClassVar[bool] = True
    description: ClassVar[str] = "PROXY: verdict parsing + math-verify answer check, no model"

    async def judge(
        self,
        item: Item,
        response: str,
        round_number: int,
        parsed: dict[str, Any],
        *,
        generation: int = 0,
    ) -> Judgment:
        """Classify from the response text (and the strategy's parsed fields as fallback)."""
        verdict = parse_verdict(response) or parsed.get("verdict")
        fields: dict[str, Any] = {"verdict": verdict}
        if item.label == "correct":
            scenario = VS if verdict == "correct" else FD
        elif verdict != "incorrect":
            scenario = RF
        else:
            final = parse_final_answer(response) or parsed.get("final_answer")
            flagged = parse_error_step(response) or parsed.get("error_step")
            reference_step = item.first_wrong_step or first_step_number(item.reference_feedback)
            has_gold = bool(item.answer.strip())  # step datasets may have no gold answer
            correct_answer = has_gold and answers_match(final, item.answer, item.options)
            fields.update(
                final_answer=final,
                answer_matches=correct_answer,
                flagged_step=flagged,
                reference_step=reference_step,
            )
            if correct_answer:
                scenario = RS
            elif flagged is not None and flagged == reference_step:
                scenario = EC
            else:
                scenario = ED
        self.env.record(
            JudgeCallRecord(
                item_key=item.key,
                round=round_number,
                judge=self.name,
                call="offline",
                parsed=jsonable(fields),
            )
        )
        rule = scenario_rule(item.label, scenario, fields)
        return Judgment(self.name, scenario, True, fields, None, 0, rule)


@hookimpl
def mmrefine_register_judges(register: RegisterJudge) -> None:
    """Register ``offline``."""
    register("offline", OfflineJudge)

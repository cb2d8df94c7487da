"""``strict``: a model-free proxy judge that wants the right step (the example of a judge plugin).

Stricter than the built-in ``offline`` judge where the dataset labels the first wrong step:

- a correct solution is verified (VS) only when the review says Correct *and* its final
  answer equals the gold answer (when there is one); otherwise FD;
- a wrong solution counts as detected only when the review says Incorrect *and* flags the
  labelled first wrong step (when there is one); otherwise RF. A detected error is RS when
  the final answer equals the gold answer, else ED.

Run it from the repository root, or re-judge a finished run with it::

    mmrefine run configs/quickstart.yaml --plugin examples/strict_judge.py --set judge.name=strict
    mmrefine judge runs/quickstart --plugin examples/strict_judge.py --set judge.name=strict

See docs/plugins.md, "A judge".
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import (
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
    hookimpl,
    jsonable,
    parse_error_step,
    parse_final_answer,
    parse_verdict,
)


class StrictJudge(Judge):
    """Verdict, flagged step and final answer, all checked; no model calls."""

    is_proxy: ClassVar[bool] = True  # not the official protocol: reports say so
    description: ClassVar[str] = "example: PROXY judge that also wants the labelled step"

    async def judge(
        self,
        item: Item,
        response: str,
        round_number: int,
        parsed: dict[str, Any],
        *,
        generation: int = 0,
    ) -> Judgment:
        """Classify ``response`` (the model's text: data, never instructions) for ``item``."""
        verdict = parse_verdict(response) or parsed.get("verdict")
        final = parse_final_answer(response) or parsed.get("final_answer")
        flagged = parse_error_step(response) or parsed.get("error_step")
        has_gold = bool(item.answer.strip())
        answer_ok = has_gold and answers_match(final, item.answer, item.options)
        fields: dict[str, Any] = {
            "verdict": verdict,
            "final_answer": final,
            "answer_matches": answer_ok,
            "flagged_step": flagged,
            "reference_step": item.first_wrong_step,
        }
        if item.label == "correct":
            ok = verdict == "correct" and (answer_ok or not has_gold)
            scenario = VS if ok else FD
            rule = f"label correct; verdict {verdict}, answer matches {answer_ok} -> {scenario}"
        else:
            right_step = item.first_wrong_step is None or flagged == item.first_wrong_step
            detected = verdict == "incorrect" and right_step
            scenario = (RS if answer_ok else ED) if detected else RF
            rule = (
                f"label incorrect; verdict {verdict}, flagged step {flagged} (labelled "
                f"{item.first_wrong_step}), answer matches {answer_ok} -> {scenario}"
            )
        self.env.record(  # one line of judgments.jsonl per decision: a run can be audited
            JudgeCallRecord(
                item_key=item.key,
                round=round_number,
                judge=self.name,
                call="strict",
                parsed=jsonable(fields),
            )
        )
        return Judgment(self.name, scenario, self.is_proxy, fields, None, 0, rule)


@hookimpl
def mmrefine_register_judges(register: RegisterJudge) -> None:
    """Register ``strict``."""
    register("strict", StrictJudge)

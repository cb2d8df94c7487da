"""Step metrics (detection, localisation, correction) and per-round answers on hand-built runs."""

from __future__ import annotations

from typing import Any

import pytest

from mmrefine_agent.analysis.round_metrics import round_correction, step_and_round_scores
from mmrefine_agent.analysis.step_metrics import step_scores
from mmrefine_agent.analysis.step_outcomes import step_outcomes
from mmrefine_agent.records.models import ItemResult
from mmrefine_agent.types import Item


def item(key: str, label: str, step: int | None, *, problem: str = "", answer: str = "",
         category: str | None = "c", feedback: str | None = None) -> Item:  # fmt: skip
    steps = ("a", "b", "c", "d", "e")
    return Item(
        key=key, id=problem or key, question="Q", options=(), image=None, answer=answer,
        initial_solution="Step 1: a", label=label, reference_feedback=feedback,  # type: ignore[arg-type]
        error_type=None, source="s", dataset="toy", steps=steps if feedback is None else (),
        first_wrong_step=step, category=category,
    )  # fmt: skip


def result(key: str, *rounds: dict[str, Any], status: str = "ok") -> dict[str, Any]:
    numbered = [{"round": n, "reviewed_solution": "Step 1: a" if n == 1 else "fixed", **r}
                for n, r in enumerate(rounds, 1)]  # fmt: skip
    return {"key": key, "status": status, "rounds": numbered}


def said(verdict: str | None, step: int | None = None, answer: str | None = None) -> dict:
    return {"verdict": verdict, "error_step": step, "final_answer": answer}


def test_localisation_is_processbench_style_with_the_harmonic_mean() -> None:
    items = {
        "e1": item("e1", "incorrect", 2),
        "e2": item("e2", "incorrect", 3),
        "e3": item("e3", "incorrect", 1),  # flags another step
        "e4": item("e4", "incorrect", 4),  # says correct
        "c1": item("c1", "correct", None),
        "c2": item("c2", "correct", None),  # false alarm
    }
    results = [
        result("e1", said("incorrect", 2)),
        result("e2", said("incorrect", 3)),
        result("e3", said("incorrect", 5)),
        result("e4", said("correct")),
        result("c1", said("correct")),
        result("c2", said("incorrect", 1)),
        result("gone", said("correct")),  # not an item of this slice
        result("c1-failed", status="backend_error"),
    ]
    block = step_scores(results, items, resamples=200).overall
    assert block.n == 6
    rates = block.rates
    assert rates["erroneous_accuracy"] == 0.5  # e1, e2 of four
    assert rates["correct_accuracy"] == 0.5  # c1 of two said "no error"
    assert rates["localisation_f1"] == 0.5
    # detection: tp 3 (e1-e3), fn 1 (e4), tn 1 (c1), fp 1 (c2)
    assert block.counts["tp"] == 3 and block.counts["fp"] == 1 and block.counts["fn"] == 1
    assert rates["detection_accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    assert rates["precision"] == 0.75 and rates["recall"] == 0.75 and rates["f1"] == 0.75
    assert (
        block.counts["correct/said_incorrect"] == 1 and block.counts["incorrect/said_correct"] == 1
    )


def test_harmonic_mean_of_unequal_accuracies_and_edge_cases() -> None:
    items = {f"e{i}": item(f"e{i}", "incorrect", 1) for i in range(4)}
    items |= {"c0": item("c0", "correct", None), "c1": item("c1", "correct", None)}
    results = [result(f"e{i}", said("incorrect", 1 if i < 3 else 2)) for i in range(4)]
    results += [result("c0", said("correct")), result("c1", said(None))]  # no verdict: a miss
    rates = step_scores(results, items, resamples=0).overall.rates
    assert rates["erroneous_accuracy"] == 0.75 and rates["correct_accuracy"] == 0.5
    assert rates["localisation_f1"] == pytest.approx(2 * 0.75 * 0.5 / 1.25)
    only_errors = step_scores(results[:4], items, resamples=0).overall.rates
    assert only_errors["correct_accuracy"] is None and only_errors["localisation_f1"] is None
    none_right = [result("e0", said("incorrect", 3)), result("c0", said("incorrect", 1))]
    assert step_scores(none_right, items, resamples=0).overall.rates["localisation_f1"] == 0.0


def test_only_rounds_on_the_given_solution_count_and_records_may_be_models() -> None:
    items = {"e": item("e", "incorrect", 2), "c": item("c", "correct", None)}
    results = [
        # round 2 reviewed a correction: its "step 1" is not a step of the given solution
        ItemResult.model_validate(result("e", said("correct"), said("incorrect", 2))),
        ItemResult.model_validate(result("c", said("correct"), said("incorrect", 1))),
    ]
    (e, c) = step_outcomes(results, items)
    assert e.verdict == "correct" and e.flagged_step is None
    assert c.verdict == "correct"
    same = result("e", said("correct"), said("incorrect", 2))
    same["rounds"][1]["reviewed_solution"] = "Step 1: a"  # round 2 re-reviewed the given one
    (again,) = step_outcomes([same], items)
    assert again.verdict == "incorrect" and again.flagged_step == 2


def test_mmrefine_items_use_the_step_their_feedback_names() -> None:
    items = {"m": item("m", "incorrect", None, feedback="The error is in step 3: 2+2 is not 5.")}
    block = step_scores([result("m", said("incorrect", 3))], items, resamples=0).overall
    assert block.rates["erroneous_accuracy"] == 1.0
    items = {"m": item("m", "incorrect", None, feedback="The final answer is wrong.")}
    block = step_scores([result("m", said("incorrect", 3))], items, resamples=0).overall
    assert block.counts["no_reference_step"] == 1 and block.rates["erroneous_accuracy"] is None


def test_correction_categories_and_problem_bootstrap() -> None:
    items = {
        f"{p}{s}": item(f"{p}{s}", "incorrect", 1, problem=p, answer="42", category=p)
        for p in ("p", "q", "r")
        for s in ("a", "b")
    }
    results = [
        result("pa", said("incorrect", 1, "42")),
        result("pb", said("incorrect", 1, "$42$")),
        result("qa", said("incorrect", 1, "41")),
        result("qb", said("incorrect", 2, None)),
        result("ra", said("incorrect", 1, "42")),
        result("rb", said("incorrect", 1, "7")),
    ]
    scores = step_scores(results, items, resamples=400, seed=3)
    overall = scores.overall
    assert overall.rates["answer_accuracy"] == 0.5 and overall.counts["n_gold"] == 6
    assert overall.rates["answer_accuracy_correct"] is None
    assert set(scores.by_category) == {"p", "q", "r"}
    assert scores.by_category["p"].rates["answer_accuracy"] == 1.0
    low, high = overall.ci95["answer_accuracy"]
    assert low <= 0.5 <= high
    # items of one problem move together: resampling problems can reach 0 and 1 (q, q, q)
    assert low == 0.0 and high == 1.0
    # one problem only: no interval
    assert scores.by_category["p"].ci95["answer_accuracy"] is None


def test_per_round_answers_score_style() -> None:
    items = {k: item(k, "incorrect", 1, answer="42") for k in ("fix", "break", "stop", "never")}
    items["nogold"] = item("nogold", "incorrect", 1)
    results = [
        result("fix", said("incorrect", 1, "41"), said("incorrect", 1, "42")),
        result("break", said("incorrect", 1, "42"), said("incorrect", 1, "40")),
        result("stop", said("correct", None, "42")),  # settled after round 1
        result("never", said("incorrect", 1, "1"), said("incorrect", 1, "2")),
        result("nogold", said("incorrect", 1, "42"), said("incorrect", 1, "42")),
    ]
    rounds = round_correction(results, items, resamples=200)
    assert rounds is not None and rounds.n == 4 and rounds.rounds == 2
    assert rounds.rates["accuracy_t1"] == 0.5  # break, stop
    assert rounds.rates["accuracy_last"] == 0.5  # fix, stop
    assert rounds.rates["delta"] == 0.0
    assert rounds.rates["incorrect_to_correct"] == 0.25
    assert rounds.rates["correct_to_incorrect"] == 0.25
    assert rounds.accuracy_by_round == {"1": 0.5, "2": 0.5}
    assert rounds.counts["incorrect_to_correct"] == 1 and rounds.ci95["delta"] is not None
    single = [result("fix", said("incorrect", 1, "42"))]
    assert round_correction(single, items) is None
    step, none = step_and_round_scores(single, items)
    assert none is None and step.overall.rates["answer_accuracy"] == 1.0
    no_gold = round_correction([results[-1]], items)
    assert no_gold is not None and no_gold.n == 0 and "gold" in no_gold.note

import pytest

from mmrefine_agent.analysis.metrics import compute_scores, rates_from_counts
from mmrefine_agent.judging.scenarios import cascade
from mmrefine_agent.records.models import ItemResult


@pytest.mark.parametrize(
    ("ed", "ec", "sc", "expected"),
    [(0, 0, 0, "RF"), (0, 1, 1, "RF"), (1, 0, 1, "ED"), (1, 1, 0, "EC"), (1, 1, 1, "RS")],
)
def test_official_cascade(ed: int, ec: int, sc: int, expected: str) -> None:
    assert cascade(ed, ec, sc) == expected


def official_formula(judges: list[str], labels: list[str]) -> dict[str, float]:
    """A transcription of the official evaluator's score block (naver-ai/MMRefine)."""
    counter: dict[str, int] = {}
    for judge, label in zip(judges, labels, strict=True):
        counter[judge] = counter.get(judge, 0) + 1
        counter[label] = counter.get(label, 0) + 1
    c = lambda k: counter.get(k, 0)  # noqa: E731
    scores = {
        "RF": c("Refinement Failure") / c("incorrect"),
        "ED": (
            c("Error Detection Success") + c("Error Correction Success") + c("Refinement Success")
        )
        / c("incorrect"),
        "EC": (c("Error Correction Success") + c("Refinement Success")) / c("incorrect"),
        "RS": c("Refinement Success") / c("incorrect"),
        "VS": c("Verification Success") / c("correct"),
        "FD": c("False Error Detection") / c("correct"),
    }
    scores["RefScore"] = scores["RS"] - scores["FD"]
    scores["mRecall"] = (scores["ED"] + scores["VS"]) / 2
    return scores


def _records(codes: list[str]) -> list[ItemResult]:
    return [
        ItemResult.model_validate(
            {
                "id": f"p{i // 4}",
                "key": f"k{i}",
                "status": "ok",
                "error_type": "E",
                "source": "s",
                "modality": "text",
                "rounds": [{"round": 1, "response": "r"}],
                "judgment": {"scenario": code, "judge": "j", "is_proxy": False},
                "round_judgments": [{"round": 1, "scenario": code, "judge": "j"}],
            }
        )
        for i, code in enumerate(codes)
    ]


def test_rates_equal_the_official_formula() -> None:
    from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES

    codes = ["VS", "FD", "VS", "RF", "ED", "EC", "RS", "RS", "ED", "VS", "FD", "RF"]
    labels = ["correct" if c in ("VS", "FD") else "incorrect" for c in codes]
    expected = official_formula([OFFICIAL_NAMES[c] for c in codes], labels)
    rates = compute_scores(_records(codes), resamples=50)["overall"]["rates"]
    for key, value in expected.items():
        assert rates[key] == pytest.approx(value)


def test_empty_classes_give_none_not_crash() -> None:
    only_incorrect = rates_from_counts({"RS": 2, "RF": 2})
    assert only_incorrect["RS"] == 0.5 and only_incorrect["FD"] is None
    assert only_incorrect["RefScore"] is None and only_incorrect["mRecall"] is None
    only_correct = rates_from_counts({"VS": 3, "FD": 1})
    assert only_correct["VS"] == 0.75 and only_correct["RS"] is None
    assert rates_from_counts({})["RefScore"] is None


def test_judge_errors_are_counted_and_excluded() -> None:
    scores = compute_scores(_records(["VS", "judge_error", "RS", "RF"]), resamples=20)
    assert scores["judge_errors"] == 1
    counts = scores["overall"]["counts"]
    assert counts["judge_error"] == 1 and counts["n_correct"] == 1 and counts["n_incorrect"] == 2
    assert scores["overall"]["rates"]["RS"] == 0.5


def test_breakdowns_and_bootstrap_intervals() -> None:
    codes = ["VS", "FD", "RS", "RF"] * 10
    scores = compute_scores(_records(codes), resamples=200)
    ci = scores["overall"]["ci95"]["RefScore"]
    assert ci is not None and ci[0] <= scores["overall"]["rates"]["RefScore"] <= ci[1]
    assert set(scores["by"]) == {"error_type", "solution_source", "modality", "round"}
    assert scores["by"]["round"]["1"]["n"] == 40

import json
from pathlib import Path

from mmrefine_agent.graph.parsing import parse_refinement, parse_verdict

SAMPLE = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "data"
    / "mmrefine_sample_submission.json"
)


def test_parses_the_official_sample_predictions() -> None:
    entries = list(json.loads(SAMPLE.read_text()).values())
    correct = parse_refinement(entries[0]["prediction"])
    assert correct.verdict == "correct" and correct.error_step is None
    assert correct.final_answer is not None and "243" in correct.final_answer
    wrong = parse_refinement(entries[1]["prediction"])
    assert wrong.verdict == "incorrect" and wrong.error_step == 9
    assert wrong.corrected_solution is not None and wrong.corrected_solution.startswith("Step 9")


def test_markdown_and_case_variations() -> None:
    text = (
        "**Error found in Step 3:** sign flipped\n**Corrected solution from step 3:**\n"
        "Step 3: x = 2\n### Overall Assessment\n**Correctness:** **incorrect**\n"
        "**Final Answer:** $\\boxed{4}$"
    )
    parsed = parse_refinement(text)
    assert parsed.verdict == "incorrect"
    assert parsed.error_step == 3
    assert parsed.corrected_solution == "Step 3: x = 2"
    assert parsed.final_answer == "$\\boxed{4}$"
    assert parse_verdict("Correctness: [Correct]") == "correct"
    assert parse_verdict("Correctness: In correct") == "incorrect"


def test_failures_are_reported_not_raised() -> None:
    empty = parse_refinement("")
    assert empty.verdict is None and empty.problems == ["empty answer"]
    rambling = parse_refinement("I think this is about triangles.")
    assert rambling.verdict is None
    assert any("verdict" in p for p in rambling.problems)


import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mmrefine_agent.judging.base import parse_binary  # noqa: E402

answers = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200)


@settings(max_examples=150, deadline=None)
@given(text=answers)
def test_the_refinement_parser_never_raises(text: str) -> None:
    parsed = parse_refinement(text)
    assert parsed.verdict in (None, "correct", "incorrect")
    assert parsed.error_step is None or parsed.error_step >= 0


@settings(max_examples=100, deadline=None)
@given(
    step=st.integers(min_value=1, max_value=99),
    final=st.from_regex(r"[A-E0-9][0-9./]{0,6}", fullmatch=True),
    correct=st.booleans(),
)
def test_well_formed_official_answers_round_trip(step: int, final: str, correct: bool) -> None:
    from fake_openai import official_answer

    parsed = parse_refinement(official_answer(correct, final, step=step))
    assert parsed.verdict == ("correct" if correct else "incorrect")
    assert parsed.final_answer == final
    if not correct:
        assert parsed.error_step == step


@settings(max_examples=150, deadline=None)
@given(reply=st.text(max_size=30))
def test_judge_replies_parse_to_0_1_or_nothing(reply: str) -> None:
    value = parse_binary(reply)
    assert value in (None, 0, 1)
    if value is not None:
        assert str(value) in reply


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("1", 1),
        (" 0 ", 0),
        ("**1**", 1),
        ("`0`.", 0),
        ("10", None),
        ("yes", None),
        ("1 or 0", None),
    ],
)
def test_judge_reply_examples(reply: str, value: int | None) -> None:
    assert parse_binary(reply) == value

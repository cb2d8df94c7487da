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

"""Parse refinement answers written in (or near) the official MMRefine output format.

Real models wrap labels in markdown (``**Correctness:** Incorrect``), use brackets, change
case, or skip sections. Every parser returns a value or None plus a list of problems; it
never raises, so a parse failure is recorded in the step rather than aborting the item.

Parsing is linear in the answer's length whatever the model writes (a word followed by
thousands of newlines, long runs of markdown): no pattern starts with a run of decoration,
and runs of decoration are matched possessively (``*+``), so the engine never re-splits a run
between two quantifiers. ``tests/test_parsing_linear.py`` checks it on adversarial answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["correct", "incorrect"]

_DECOR = r"[\s\*_`#>\[\]]*"
"""Markdown and whitespace around a label (greedy: used where what follows may be decoration)."""
_RUN = r"[\s\*_`#>\[\]]*+"
"""The same, possessive: used where what follows can never be decoration (a word, a colon)."""
_CORRECTNESS = re.compile(
    rf"correctness{_RUN}:{_RUN}(?P<v>in\s*+correct|correct|wrong|right|true|false)\b",
    re.IGNORECASE,
)
_ERROR_FOUND = re.compile(
    rf"error{_RUN}(?:is\s{_RUN})?(?:(?:found|identified|located|occurs|detected){_RUN})?"
    rf"(?:in|at){_RUN}step{_RUN}(?P<n>\d+)",
    re.IGNORECASE,
)
_CORRECTED_FROM = re.compile(
    r"corrected\s++solution(?:\s++(?:from|starting\s++from|starting\s++at)\s++step\s*+(?P<n>\d+))?"
    rf"{_RUN}:",
    re.IGNORECASE,
)
# starts where a run of decoration starts (never inside one): as early as the greedy
# ``{_DECOR}overall`` would, without trying every position of a long run
_OVERALL = re.compile(rf"(?<![\s\*_`#>\[\]]){_RUN}overall\s++assessment", re.IGNORECASE)
_FINAL = re.compile(rf"final\s++answer{_RUN}:{_DECOR}(?P<a>.+)", re.IGNORECASE)
_EXPLANATION = re.compile(rf"explanation{_RUN}:{_DECOR}(?P<e>.+)", re.IGNORECASE)
_NO_ERROR = re.compile(
    r"\b(no errors? (?:were |was )?(?:found|detected|identified)"
    r"|solution is (?:entirely |fully )?correct)\b",
    re.IGNORECASE,
)
_SAYS_INCORRECT = re.compile(r"\bsolution is (?:incorrect|wrong|flawed)\b", re.IGNORECASE)


@dataclass(slots=True)
class ParsedRefinement:
    """Fields parsed from one official-format refinement answer."""

    verdict: Verdict | None = None
    error_step: int | None = None
    error_explanation: str | None = None
    corrected_solution: str | None = None
    final_answer: str | None = None
    explanation: str | None = None
    problems: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        """The parsed values as a dict (problems excluded)."""
        return {
            "verdict": self.verdict,
            "error_step": self.error_step,
            "error_explanation": self.error_explanation,
            "corrected_solution": self.corrected_solution,
            "final_answer": self.final_answer,
            "explanation": self.explanation,
        }


def _clean(text: str) -> str:
    return text.strip().strip("*_` ").strip()


def parse_verdict(text: str) -> Verdict | None:
    """The verdict on the reviewed solution, from ``Correctness:`` or strong cues."""
    matches = list(_CORRECTNESS.finditer(text))
    if matches:
        word = "".join(matches[-1].group("v").lower().split())
        return "correct" if word in {"correct", "right", "true"} else "incorrect"
    if _ERROR_FOUND.search(text) or _CORRECTED_FROM.search(text) or _SAYS_INCORRECT.search(text):
        return "incorrect"
    if _NO_ERROR.search(text):
        return "correct"
    return None


def parse_error_step(text: str) -> int | None:
    """The first erroneous step number the answer names, if any."""
    found = _ERROR_FOUND.search(text)
    if found:
        return int(found.group("n"))
    corrected = _CORRECTED_FROM.search(text)
    if corrected and corrected.group("n"):
        return int(corrected.group("n"))
    return None


def _boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


def parse_final_answer(text: str) -> str | None:
    """The last ``Final Answer:`` line, else the content of the last boxed expression."""
    matches = list(_FINAL.finditer(text))
    if matches:
        answer = _clean(matches[-1].group("a"))
        return answer or None
    return _boxed(text)


def parse_refinement(text: str | None) -> ParsedRefinement:
    """Parse every field of an official-format refinement answer; never raises."""
    out = ParsedRefinement()
    if not text or not text.strip():
        out.problems.append("empty answer")
        return out
    out.verdict = parse_verdict(text)
    if out.verdict is None:
        out.problems.append("no 'Correctness: Correct|Incorrect' verdict found")
    out.error_step = parse_error_step(text)
    found = _ERROR_FOUND.search(text)
    if found:
        rest = text[found.end() :]
        line = rest.split("\n", 1)[0]
        out.error_explanation = _clean(line.lstrip(":").strip()) or None
    corrected = _CORRECTED_FROM.search(text)
    if corrected:
        body = text[corrected.end() :]
        overall = _OVERALL.search(body)
        section = body[: overall.start()] if overall else body
        out.corrected_solution = section.strip().lstrip("*_ ").strip() or None
    elif out.verdict == "incorrect":
        out.problems.append("verdict is Incorrect but no corrected solution section")
    if out.verdict == "incorrect" and out.error_step is None:
        out.problems.append("verdict is Incorrect but no erroneous step named")
    out.final_answer = parse_final_answer(text)
    if out.final_answer is None:
        out.problems.append("no 'Final Answer:' found")
    explanation = list(_EXPLANATION.finditer(text))
    if explanation:
        out.explanation = _clean(explanation[-1].group("e"))
    return out


_STEP_NUMBER = re.compile(r"\bstep\s*(\d+)\b", re.IGNORECASE)


def first_step_number(text: str | None) -> int | None:
    """The first ``step N`` mentioned in a free text (e.g. expert reference feedback)."""
    if not text:
        return None
    match = _STEP_NUMBER.search(text)
    return int(match.group(1)) if match else None


_KEYWORD_LINE = r"{kw}{run}:{decor}(?P<v>[^\n]*)"


def parse_labelled(text: str | None, label: str) -> str | None:
    """The value after the last ``Label:`` in a text (markdown tolerated), or None."""
    if not text:
        return None
    pattern = re.compile(
        _KEYWORD_LINE.format(kw=re.escape(label), run=_RUN, decor=_DECOR), re.IGNORECASE
    )
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    return _clean(matches[-1].group("v")) or None

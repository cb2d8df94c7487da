"""Every parser of model, judge and data text finishes in time linear in the text's length.

Adversarial answers (a word followed by a megabyte of newlines, long runs of markdown, a
phrase repeated) are built by hypothesis; each parse runs under a CPU-time budget that a
linear parser meets a dozen times over and a quadratic one misses by hours (the budget is a
``SIGPROF`` timer on this process's CPU time, not the wall clock, and it interrupts a regex
mid-match, so a regression fails in seconds instead of hanging the suite).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import pytest
from fake_openai import official_answer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmrefine_agent.cli.failures import cause_of
from mmrefine_agent.cli.safe_text import safe
from mmrefine_agent.graph.parsing import (
    first_step_number,
    parse_labelled,
    parse_refinement,
    parse_verdict,
)
from mmrefine_agent.judging.answers import option_letter
from mmrefine_agent.judging.base import parse_binary
from mmrefine_agent.redact import scrub_text
from mmrefine_plugins.datasets.bigbench_mistake import options_of
from mmrefine_plugins.datasets.mrben import parse_options
from mmrefine_strategies.common import answer_key
from mmrefine_strategies.cove import verification_questions
from mmrefine_strategies.multi_round import _EXPLAINED

SIZE = 1 << 18
"""A quarter of a megabyte of text per parse: a quadratic parser needs hours for it."""
BUDGET_S = 1.0
"""CPU seconds allowed per parse (a linear parser needs well under 0.1 s)."""

PARSERS: dict[str, Callable[[str], object]] = {
    "parse_refinement": parse_refinement,
    "parse_verdict": parse_verdict,
    "parse_labelled": lambda text: parse_labelled(text, "Verification"),
    "first_step_number": first_step_number,
    "parse_binary": parse_binary,
    "option_letter": lambda text: option_letter(text, ["1", "2"]),
    "answer_key": answer_key,
    "verification_questions": lambda text: verification_questions(text, 3),
    "multi_round explanation": _EXPLAINED.search,
    "safe": safe,
    "cause_of": cause_of,
    "scrub_text": scrub_text,
    "mrben options": parse_options,
    "bigbench options": options_of,
}

WORDS = [
    "error", "Error is", "found", " in ", "step", "Step 3", "correctness", "Correctness:",
    "in", "corrected solution", "from", "overall assessment", "final answer", "Final Answer:",
    "explanation", "answer is", "option", "(A", "A", "1", "12", "\\boxed{", "}", "x", ":", "-",
    "http://", "a.b", "bearer ", "sk-", "key=", "\x1b[", "\x1b]", "Solution", "no errors",
]  # fmt: skip
DECOR = ["\n", " ", "\t", "*", "_", "`", "#", ">", "[", "]", "(", ")", ".", ":", "\r", "\u00a0"]


@contextmanager
def cpu_budget(seconds: float, what: str) -> Iterator[None]:
    """Fail (interrupting the parse) when this process has used ``seconds`` of CPU time."""

    def over(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"{what}: over {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, over)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


units = st.lists(st.sampled_from(WORDS + DECOR), min_size=1, max_size=4).map("".join)
shapes = st.one_of(
    # a word, then a long run of one or two kinds of decoration
    st.tuples(st.sampled_from(WORDS), st.lists(st.sampled_from(DECOR), min_size=1, max_size=2)).map(
        lambda t: t[0] + "".join(t[1]) * (SIZE // len("".join(t[1])))
    ),
    # a short phrase repeated
    units.map(lambda u: u * (SIZE // len(u))),
    # a long run, then a word, then another run
    st.tuples(units, st.sampled_from(WORDS), units).map(
        lambda t: t[0] * (SIZE // (2 * len(t[0]))) + t[1] + t[2] * (SIZE // (2 * len(t[2])))
    ),
)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=shapes)
def test_parsers_are_linear_on_adversarial_text(name: str, text: str) -> None:
    with cpu_budget(BUDGET_S, f"{name} on {text[:40]!r}... ({len(text)} chars)"):
        PARSERS[name](text)


@pytest.mark.parametrize(
    "text",
    [
        "error" + "\n" * SIZE,
        "error" + " \n" * (SIZE // 2),
        "Error is" + "\n*" * (SIZE // 2),
        "\n" * SIZE + "overall assessment",
        "corrected solution" + " " * SIZE,
        "answer" + " " * SIZE + "x",
        "step 3" + " " * SIZE + "x",
        "1. x" + " " * SIZE + "y",
        "\\boxed{" * (SIZE // 7),
        "a." * (SIZE // 2),
    ],
    ids=lambda text: repr(text[:12]),
)
def test_the_shapes_that_used_to_backtrack(text: str) -> None:
    for name, parse in PARSERS.items():
        with cpu_budget(BUDGET_S, f"{name} on {text[:20]!r}..."):
            parse(text)


@settings(max_examples=60, deadline=None)
@given(
    step=st.integers(min_value=1, max_value=99),
    correct=st.booleans(),
    padding=st.sampled_from(["\n", " ", "*", "\n\n  "]),
    times=st.integers(min_value=0, max_value=5000),
)
def test_padding_a_normal_answer_changes_nothing(
    step: int, correct: bool, padding: str, times: int
) -> None:
    answer = official_answer(correct, "7", step=step)
    plain, padded = parse_refinement(answer), parse_refinement(answer + padding * times)
    assert (padded.verdict, padded.error_step, padded.final_answer) == (
        plain.verdict,
        plain.error_step,
        plain.final_answer,
    )
    assert padded.verdict == ("correct" if correct else "incorrect")

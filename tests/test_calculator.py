"""The ``calculator`` tool: exact answers, and no input can make it run code."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.tools import ToolException

from mmrefine_plugins.tools.calculator import calculate, calculator
from mmrefine_plugins.tools.math_expr import MathError, parse_math


@pytest.mark.parametrize(
    ("expression", "answer"),
    [
        ("2 + 3", "5"),
        ("0.1 + 0.2", "3/10 ≈ 0.3"),
        ("2^10", "1024"),
        ("-2^2", "-4"),
        ("3/7 + 1/14", "1/2 ≈ 0.5"),
        ("sqrt(8)", "2*sqrt(2) ≈ 2.82842712474619"),
        ("12!", "479001600"),
        ("binomial(10, 3)", "120"),
        ("gcd(84, 36)", "12"),
        ("2x + 3 = 11", "x = 4"),
        ("x^2 = 4", "x = -2 or x = 2"),
        ("(1+2)(3+4)", "21"),
        ("simplify((x^2 - 1)/(x - 1))", "x + 1"),
        ("factor(x^2 - 5x + 6)", "(x - 3)*(x - 2)"),
        ("expand((a + b)^3)", "a**3 + 3*a**2*b + 3*a*b**2 + b**3"),
        ("diff(x^3, x)", "3*x**2"),
        ("sin(pi/6)", "1/2 ≈ 0.5"),
        ("log(8, 2)", "3"),
        ("1/0", "undefined (e.g. a division by zero)"),
        ("2 * 3 = 6", "the equation is always true"),
    ],
)
def test_exact_answers(expression: str, answer: str) -> None:
    assert calculate(expression) == answer


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os').system('true')", "attribute access"),
        ("__import__('os')", "unknown function '__import__'"),
        ("().__class__.__bases__", "attribute access"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("x[0]", "indexing"),
        ("(lambda: 1)()", "lambda"),
        ("[i for i in (1, 2)]", "ListComp"),
        ("'text'", "not a number"),
        ("sqrt(x=2)", "keyword arguments"),
        ("__x__ + 1", "not a usable name"),
        ("2^2^2^2^2", "an exponent larger than"),
        ("factorial(10^6)", "factorial takes whole numbers up to"),
        ("10^5000", "a result longer than"),
        ("(x + 1)^100000", "an exponent larger than"),
        ("", "empty"),
    ],
)
def test_anything_but_math_is_refused_with_a_reason(expression: str, reason: str) -> None:
    with pytest.raises(MathError, match=None) as caught:
        parse_math(expression)
    assert reason in str(caught.value)


def test_the_tool_reports_a_refusal_as_its_error() -> None:
    with pytest.raises(ToolException, match="unknown function 'open'"):
        calculator("open('x')")


_RAN: list[list[str]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Note code compiled or run from text (not a module file, not the parser's own tree)."""
    if not _RAN or event not in ("compile", "exec"):
        return
    name = args[1] if event == "compile" else getattr(args[0], "co_filename", "?")
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if name == "<math>" and event == "compile":
        return  # ast.parse of the expression: a tree, never run
    if not (isinstance(name, str) and os.path.isfile(name)):  # imports run module files
        _RAN[-1].append(f"{event} {name}")


sys.addaudithook(_audit)  # an audit hook stays for the session; it only records while asked


@contextmanager
def watching() -> Iterator[list[str]]:
    """Collects every compile/exec of text (``eval``, ``exec``, ``sympify``) while open."""
    _RAN.append([])
    try:
        yield _RAN[-1]
    finally:
        _RAN.pop()


CODE_LIKE = st.sampled_from(
    ["__import__", "open", "os", "system", "(", ")", "'", '"', ".", "[", "]", "lambda",
     ":", ",", "=", "==", "^", "**", "*", "/", "x", "2", "1.5", "sqrt", "exec", "eval",
     "__class__", "__builtins__", "getattr", "solve", "!", " ", "{", "}", ";", "\n", "#",
     "import", "factorial", "9", "pi", "@", "~", "<", ">", "-", "+", "%", "//"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=80), st.lists(CODE_LIKE, max_size=25).map("".join)))
def test_garbage_is_answered_or_refused_and_never_runs_code(text: str) -> None:
    with watching() as ran:
        try:
            answer = calculator(text)
        except ToolException as exc:
            assert str(exc)
        else:
            assert isinstance(answer, str)
    assert ran == []


def test_a_code_injection_leaves_no_trace(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with watching() as ran:
        for attack in (
            f"__import__('os').system('touch {marker}')",
            f"open('{marker}', 'w')",
            f"().__class__.__base__.__subclasses__()[0]('{marker}')",
            f"exec(\"open('{marker}', 'w')\")",
            f"solve(x, x) + eval(\"open('{marker}', 'w')\")",
        ):
            with pytest.raises(ToolException):
                calculator(attack)
    assert not marker.exists()
    assert ran == []


def test_the_watch_sees_eval() -> None:
    with watching() as ran:
        eval("1 + 1")  # what the calculator must never do
    assert ran and ran[0].startswith("compile")


def arithmetic() -> st.SearchStrategy[tuple[str, Fraction]]:
    """Random arithmetic on whole numbers with its exact value (computed here, independently)."""
    leaves = st.integers(-50, 50).map(lambda n: (f"({n})", Fraction(n)))

    def combine(children: st.SearchStrategy[tuple[str, Fraction]]) -> Any:
        def make(a: tuple[str, Fraction], op: str, b: tuple[str, Fraction]) -> Any:
            if op == "/" and b[1] == 0:
                return a
            value = {"+": a[1] + b[1], "-": a[1] - b[1], "*": a[1] * b[1]}.get(op)
            if value is None:
                value = a[1] / b[1]
            return (f"({a[0]} {op} {b[0]})", value)

        return st.builds(make, children, st.sampled_from("+-*/"), children)

    return st.recursive(leaves, combine, max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(case=arithmetic())
def test_arithmetic_is_exact(case: tuple[str, Fraction]) -> None:
    text, value = case
    answer = calculate(text).split(" ≈ ")[0]
    assert Fraction(answer) == value

"""``calculator(expression)``: exact arithmetic and algebra through sympy; no code is run.

The expression is read by :mod:`mmrefine_plugins.tools.math_expr` (Python's parser builds a
tree, only math nodes become sympy objects; nothing is evaluated as code). Plain math syntax:
``+ - * / ^ **``, ``2x`` for ``2*x``, decimals are exact (``0.1`` is 1/10), functions such as
``sqrt``, ``log``, ``sin``, ``factorial``, ``binomial``, ``gcd``, ``simplify``, ``expand``,
``factor``, ``solve``, ``diff``; one ``=`` makes an equation that is solved for its unknowns.
The answer is exact, with a decimal approximation when it is not a whole number. It runs in
the calling process with bounded input (see ``math_expr.LIMITS``); a computation that still
takes longer than 10 s is reported to the model as a timeout.
"""

from __future__ import annotations

from typing import Any

from mmrefine_agent import RegisterTool, hookimpl
from mmrefine_plugins.tools.math_expr import MathError, parse_math

TIMEOUT_S = 10.0
OUTPUT_LIMIT = 2000


def calculate(expression: str) -> str:
    """The exact value of ``expression`` as text; raises MathError for anything not math."""
    import sympy

    left, equals, right = _split_equation(expression)
    if equals:
        equation = sympy.Eq(parse_math(left), parse_math(right))
        return _solutions(equation)
    return _show(parse_math(expression))


def _unwrap(text: str) -> str:
    """``text`` without parentheses that enclose all of it (``(2x = 4)`` -> ``2x = 4``)."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for index, ch in enumerate(text):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0 and index < len(text) - 1:
                return text  # the first parenthesis closes before the end
        text = text[1:-1].strip()
    return text


def _split_equation(text: str) -> tuple[str, bool, str]:
    """``lhs = rhs`` (one plain ``=``, not ``==``, ``<=``, ``>=``, ``!=``) split in two."""
    text = _unwrap(text)
    marks = [
        i
        for i, ch in enumerate(text)
        if ch == "="
        and (i == 0 or text[i - 1] not in "=<>!")
        and (i + 1 == len(text) or text[i + 1] != "=")
    ]
    if len(marks) != 1:
        return text, False, ""
    return text[: marks[0]], True, text[marks[0] + 1 :]


def _solutions(equation: Any) -> str:
    import sympy

    if equation is sympy.true or equation is sympy.false:
        return f"the equation is {'always true' if equation is sympy.true else 'never true'}"
    unknowns = sorted(equation.free_symbols, key=str)
    if not unknowns:
        return _show(equation)
    try:
        found = sympy.solve(equation, unknowns, dict=True)
    except (NotImplementedError, ValueError, TypeError) as exc:
        raise MathError(f"cannot solve it: {exc}"[:300]) from None
    if not found:
        return "no solution"
    lines = [", ".join(f"{k} = {_show(v)}" for k, v in sorted(s.items(), key=str)) for s in found]
    return _cut(" or ".join(lines))


def _show(value: Any) -> str:
    """Exact text, plus ``≈ decimal`` for a number that is not whole."""
    import sympy

    if isinstance(value, list | tuple):
        return _cut("[" + ", ".join(_show(v) for v in value) + "]")
    if isinstance(value, sympy.Basic) and value.has(sympy.zoo, sympy.nan):
        return "undefined (e.g. a division by zero)"
    text = sympy.sstr(value)
    if isinstance(value, sympy.Basic) and value.is_number and not value.is_Integer | value.is_Float:
        text += f" ≈ {_decimal(value)}"
    return _cut(text)


def _decimal(value: Any) -> str:
    """A short decimal form of a number (15 significant digits, no trailing zeros)."""
    import sympy

    try:
        approx = sympy.N(value, 15)
        if approx.is_real:
            return f"{float(approx):.15g}"
        return str(sympy.sstr(approx))
    except (TypeError, ValueError, ArithmeticError):
        return "?"


def _cut(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[:OUTPUT_LIMIT] + f" ... [{len(text) - OUTPUT_LIMIT} more characters]"


def calculator(expression: str) -> str:
    """Exact arithmetic and algebra (sympy).

    Write plain math: + - * / ^, sqrt(2), 3/7 + 1/14, factorial(12), binomial(10, 3),
    gcd(84, 36), simplify((x^2-1)/(x-1)), expand((a+b)^3), factor(x^2-5x+6), diff(x^3, x),
    or an equation such as 2x + 3 = 11 (solved for its unknowns). Decimals are exact.

    Args:
        expression: the expression or equation to compute.
    """
    from langchain_core.tools import ToolException

    try:
        return calculate(expression)
    except MathError as exc:
        raise ToolException(str(exc)) from None
    except (RecursionError, MemoryError, ArithmeticError, ValueError, TypeError) as exc:
        raise ToolException(f"cannot compute it: {type(exc).__name__}: {exc}"[:300]) from None


@hookimpl
def mmrefine_register_tools(register: RegisterTool) -> None:
    """Register ``calculator``."""
    from langchain_core.tools import tool

    made = tool("calculator", parse_docstring=True)(calculator)
    made.metadata = {"timeout_s": TIMEOUT_S}
    register(made)

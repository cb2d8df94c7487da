"""Math text -> a sympy expression, built node by node from Python's AST: nothing is evaluated.

The text is parsed with :func:`ast.parse` (``mode="eval"``, which never runs it) and only
these nodes are turned into sympy objects: numbers (decimals become exact rationals),
names (a constant, else a symbol), ``+ - * / // % **`` (``^`` is read as ``**``), unary
signs, one comparison, calls of the known functions (:func:`_functions`) and tuples/lists as
their arguments. Anything else (attributes, subscripts, strings, lambdas, comprehensions, keyword
arguments, dunder names, unknown functions) is refused with a one-line reason, so no Python
code can run; ``eval``/``sympify`` of text are never called. Sizes are bounded so a short text
cannot ask for an astronomically large computation (:data:`LIMITS`).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Any

LIMITS = {
    "characters": 2000,
    "nodes": 300,
    "literal_digits": 1000,
    "exponent": 10_000,
    "symbolic_exponent": 500,
    "result_digits": 4000,
    "factorial": 5000,
    "binomial": 100_000,
    "precision": 100,
}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")
_IMPLICIT = re.compile(r"(?<![A-Za-z0-9_.])(\d+(?:\.\d+)?)(?![eE][+-]?\d)\s*(?=[A-Za-z(])")
_CLOSE_OPEN = re.compile(r"\)\s*(?=[A-Za-z0-9(])")
_FACTORIAL = re.compile(r"\b(\d+|[A-Za-z]\w*)!(?!=)")
_UNICODE = str.maketrans({"×": "*", "÷": "/", "−": "-", "·": "*", "–": "-"})


class MathError(ValueError):
    """The text is not a math expression this calculator accepts (the message says why)."""


def _functions() -> dict[str, Callable[..., Any]]:
    import sympy

    def factorial(n: Any) -> Any:
        if n.is_number and (not n.is_integer or abs(n) > LIMITS["factorial"]):
            raise MathError(f"factorial takes whole numbers up to {LIMITS['factorial']}")
        return sympy.factorial(n)

    def binomial(n: Any, k: Any) -> Any:
        if n.is_number and abs(n) > LIMITS["binomial"]:
            raise MathError(f"binomial takes n up to {LIMITS['binomial']}")
        return sympy.binomial(n, k)

    def numeric(value: Any, digits: Any = 15) -> Any:
        if not (digits.is_Integer if hasattr(digits, "is_Integer") else isinstance(digits, int)):
            raise MathError("N(value, digits): digits is a whole number")
        if not 1 <= int(digits) <= LIMITS["precision"]:
            raise MathError(f"N(value, digits): digits from 1 to {LIMITS['precision']}")
        return sympy.N(value, int(digits))

    return {
        "sqrt": sympy.sqrt, "cbrt": sympy.cbrt, "root": sympy.root, "exp": sympy.exp,
        "log": sympy.log, "ln": sympy.log, "sin": sympy.sin, "cos": sympy.cos,
        "tan": sympy.tan, "cot": sympy.cot, "sec": sympy.sec, "csc": sympy.csc,
        "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan, "atan2": sympy.atan2,
        "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
        "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
        "abs": sympy.Abs, "Abs": sympy.Abs, "sign": sympy.sign, "floor": sympy.floor,
        "ceiling": sympy.ceiling, "ceil": sympy.ceiling, "factorial": factorial,
        "binomial": binomial, "gcd": sympy.gcd, "lcm": sympy.lcm, "Mod": sympy.Mod,
        "mod": sympy.Mod, "min": sympy.Min, "Min": sympy.Min, "max": sympy.Max,
        "Max": sympy.Max, "Rational": sympy.Rational, "frac": sympy.Rational,
        "re": sympy.re, "im": sympy.im, "conjugate": sympy.conjugate, "isprime": sympy.isprime,
        "simplify": sympy.simplify, "expand": sympy.expand, "factor": sympy.factor,
        "cancel": sympy.cancel, "together": sympy.together, "apart": sympy.apart,
        "solve": sympy.solve, "diff": sympy.diff, "Eq": sympy.Eq, "N": numeric,
        "evalf": numeric, "degrees": lambda x: x * 180 / sympy.pi,
        "radians": lambda x: x * sympy.pi / 180,
    }  # fmt: skip


def _constants() -> dict[str, Any]:
    import sympy

    return {"pi": sympy.pi, "e": sympy.E, "E": sympy.E, "I": sympy.I, "oo": sympy.oo,
            "inf": sympy.oo, "infinity": sympy.oo}  # fmt: skip


def prepare(text: str) -> str:
    """Math notation -> Python syntax: ``^``, ``n!``, implicit products (``2x``, ``)(``)."""
    text = text.translate(_UNICODE).strip().replace("^", "**")  # Python's ^ binds too loosely
    text = _FACTORIAL.sub(r"factorial(\1)", text)
    text = _IMPLICIT.sub(r"\1*", text)
    return _CLOSE_OPEN.sub(")*", text)


def parse_math(text: str) -> Any:
    """The sympy value of ``text`` (an expression, a comparison, or a list from ``solve``).

    Raises MathError with the reason for anything that is not plain math.
    """
    if len(text) > LIMITS["characters"]:
        raise MathError(f"the expression is longer than {LIMITS['characters']} characters")
    source = prepare(text)
    if not source:
        raise MathError("the expression is empty")
    try:
        tree = ast.parse(source, "<math>", mode="eval")  # a tree only: nothing runs
    except SyntaxError as exc:
        raise MathError(f"cannot read the expression: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise MathError("cannot read the expression") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > LIMITS["nodes"]:
        raise MathError(f"the expression has more than {LIMITS['nodes']} parts")
    return _Builder(source).build(tree.body)


class _Builder:
    """Turns the accepted AST nodes into sympy objects (see the module docstring)."""

    def __init__(self, source: str) -> None:
        import sympy

        self.sympy = sympy
        self.source = source
        self.functions = _functions()
        self.constants = _constants()

    def build(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise MathError(f"not allowed in a math expression: {_describe(node)}")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MathError(f"not a number: {value!r}"[:80])
        literal = ast.get_source_segment(self.source, node) or repr(value)
        if len(literal) > LIMITS["literal_digits"]:
            raise MathError(f"a number longer than {LIMITS['literal_digits']} digits")
        if isinstance(value, int):
            return self.sympy.Integer(value)
        if not math.isfinite(value):
            raise MathError("the number is too large")
        return self.sympy.Rational(literal.replace("_", ""))  # exact: 0.1 is 1/10

    def _Name(self, node: ast.Name) -> Any:
        name = node.id
        if name in self.constants:
            return self.constants[name]
        if "__" in name or not _NAME.fullmatch(name):
            raise MathError(f"not a usable name: {name[:40]!r}")
        if name in self.functions:
            raise MathError(f"{name} is a function: write {name}(...)")
        return self.sympy.Symbol(name)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        raise MathError(f"not allowed in a math expression: {_describe(node.op)}")

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.build(node.left), self.build(node.right)
        op = node.op
        if isinstance(op, ast.Pow):
            return self._power(left, right)
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.FloorDiv):
            return self.sympy.floor(left / right)
        if isinstance(op, ast.Mod):
            return self.sympy.Mod(left, right)
        raise MathError(f"not allowed in a math expression: {_describe(op)}")

    def _power(self, base: Any, exponent: Any) -> Any:
        sympy = self.sympy
        if getattr(exponent, "is_number", False) and exponent.is_real and base not in (0, 1, -1):
            size = abs(exponent)
            if size > LIMITS["exponent"]:
                raise MathError(f"an exponent larger than {LIMITS['exponent']}")
            if not getattr(base, "is_Rational", False) and size > LIMITS["symbolic_exponent"]:
                raise MathError(
                    f"a power above {LIMITS['symbolic_exponent']} of something not a fraction"
                )
            if getattr(base, "is_Rational", False):
                bits = max(int(base.p).bit_length(), int(base.q).bit_length())
                digits = float(size) * bits * math.log10(2)
                if digits > LIMITS["result_digits"]:
                    raise MathError(f"a result longer than {LIMITS['result_digits']} digits")
        return sympy.Pow(base, exponent)

    def _Compare(self, node: ast.Compare) -> Any:
        if len(node.ops) != 1:
            raise MathError("one comparison at a time")
        left, right = self.build(node.left), self.build(node.comparators[0])
        sympy = self.sympy
        kinds: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
            ast.Eq: sympy.Eq, ast.NotEq: sympy.Ne, ast.Lt: sympy.Lt, ast.LtE: sympy.Le,
            ast.Gt: sympy.Gt, ast.GtE: sympy.Ge,
        }  # fmt: skip
        make = kinds.get(type(node.ops[0]))
        if make is None:
            raise MathError(f"not allowed in a math expression: {_describe(node.ops[0])}")
        return make(left, right)

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            raise MathError(f"not allowed in a math expression: {_describe(node.func)}")
        name = node.func.id
        function = self.functions.get(name)
        if function is None:
            raise MathError(f"unknown function {name[:40]!r}; known: {', '.join(self.functions)}")
        if node.keywords:
            raise MathError(f"{name}: keyword arguments are not accepted")
        args = [self.build(arg) for arg in node.args]
        try:
            return function(*args)
        except MathError:
            raise
        except (TypeError, ValueError, NotImplementedError, ArithmeticError) as exc:
            raise MathError(f"{name}: {exc}"[:300]) from None

    def _Tuple(self, node: ast.Tuple) -> Any:
        return [self.build(item) for item in node.elts]

    _List = _Tuple


def _describe(node: ast.AST) -> str:
    """A short name for a refused syntax element."""
    names = {
        "Attribute": "attribute access (.)", "Subscript": "indexing ([])",
        "Lambda": "lambda", "Starred": "*", "BitXor": "^",
    }  # fmt: skip
    kind = type(node).__name__
    return names.get(kind, kind)

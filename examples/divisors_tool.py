"""``divisors``: a tool plugin, the positive divisors of an integer (for number-theory checks).

The example of a tool plugin. A strategy offers it when ``strategy.tools`` names it, e.g. the
test strategy's tool loop, from the repository root::

    mmrefine run configs/quickstart.yaml --plugin examples/divisors_tool.py \
        --plugin tests/tool_loop_strategy.py --set strategy.name=tool_loop \
        --set 'strategy.tools=[divisors,calculator]' ...

A tool is a langchain-core tool: its name, its description (the docstring's first line) and
its argument schema (the ``Args:`` section and the type hints) are what the model is offered.
An exception it raises becomes a tool result marked as an error, which the model reads; the
run goes on. See docs/plugins.md, "Tools".
"""

from __future__ import annotations

from typing import Any

from mmrefine_agent import hookimpl

LARGEST = 10**12
"""The largest size of ``n`` it takes (trial division up to 10^6 steps stays quick)."""


def divisors(n: int) -> str:
    """List the positive divisors of an integer, in increasing order.

    Args:
        n: a nonzero integer of size at most 10^12 (its sign is ignored).
    """
    size = abs(int(n))
    if size == 0 or size > LARGEST:
        raise ValueError(f"n must be nonzero and of size at most {LARGEST:.0e}, got {n}")
    low: list[int] = []
    high: list[int] = []
    d = 1
    while d * d <= size:
        if size % d == 0:
            low.append(d)
            if d != size // d:
                high.append(size // d)
        d += 1
    return ", ".join(str(x) for x in low + high[::-1])


@hookimpl
def mmrefine_register_tools(register: Any) -> None:
    """Register ``divisors`` (langchain-core is imported here: only runs offering tools pay it)."""
    from langchain_core.tools import tool

    register(tool("divisors", parse_docstring=True)(divisors))

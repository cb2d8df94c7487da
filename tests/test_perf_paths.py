"""The fast paths keep behaviour: remembered answer equivalences, the graph's framework nodes."""

from __future__ import annotations

import inspect
import sqlite3
from pathlib import Path

from mmrefine_agent.config import StrategyConfig
from mmrefine_agent.engine.answer_memo import RememberedEquivalence
from mmrefine_agent.engine.cache import CallCache
from mmrefine_agent.graph.builder import strategy_shape
from mmrefine_agent.graph.nodes import begin_round, end_round
from mmrefine_agent.graph.routing import checked
from mmrefine_agent.judging import answers
from mmrefine_agent.judging.answers import answers_match
from mmrefine_strategies.single_pass import SinglePass

PAIRS = [
    ("8", "8"),
    ("8.0", "8"),
    ("\\frac{1}{2}", "0.5"),
    ("$\\sqrt{4}$", "2"),
    ("12", "8"),
    ("x^2", "x*x"),
    ("no answer here", "3"),
    ("(1, 2)", "(2, 1)"),
]


def stored(cache_dir: Path) -> int:
    with sqlite3.connect(cache_dir / "calls.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])


def test_remembered_equivalences_match_math_verify_and_are_read_back(tmp_path: Path) -> None:
    expected = [answers_match(p, g) for p, g in PAIRS]
    cache = CallCache(tmp_path)
    first = RememberedEquivalence(cache)
    assert [answers_match(p, g, equivalent=first) for p, g in PAIRS] == expected
    first.save()
    cache.close()
    remembered = stored(tmp_path)
    assert remembered >= 1  # the pairs that reached math-verify (not the textually equal ones)

    # a later session answers from the cache: the same decisions, nothing asked again
    answers._settled.clear()
    cache = CallCache(tmp_path)
    second = RememberedEquivalence(cache)
    asked: list[tuple[str, str]] = []
    real = answers.check_equivalence

    def spy(prediction: str, gold: str) -> tuple[bool, bool]:
        asked.append((prediction, gold))
        return real(prediction, gold)

    answers.check_equivalence = spy  # type: ignore[assignment]
    try:
        assert [answers_match(p, g, equivalent=second) for p, g in PAIRS] == expected
    finally:
        answers.check_equivalence = real  # type: ignore[assignment]
    second.save()
    cache.close()
    assert asked == []
    assert stored(tmp_path) == remembered


def test_equivalence_key_depends_on_both_texts() -> None:
    memo = RememberedEquivalence(None)
    assert memo.key("8", "12") != memo.key("12", "8")
    assert memo.key("8", "12") == memo.key("8", "12")
    assert memo("8.0", "8") is answers.math_equivalent("8.0", "8")


def test_framework_nodes_and_routers_run_in_the_event_loop() -> None:
    """Coroutine functions: LangGraph awaits them instead of a thread-pool hop per item."""
    strategy = SinglePass(StrategyConfig(name="single_pass"))
    shape = strategy_shape(strategy)
    assert inspect.iscoroutinefunction(begin_round(strategy))
    assert inspect.iscoroutinefunction(end_round)
    for source, route in shape.routes.items():
        assert inspect.iscoroutinefunction(checked(source, route))

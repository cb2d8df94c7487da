"""Final answers checked against the gold ones while the run goes on, in a helper process.

Finishing a run scores every round's final answer against the gold one (step metrics), and
math-verify makes that the slowest part of finishing an uncached run (seconds for the full
protocol). The decisions are a pure function of the two texts, so they need not wait for the
end: as each item finishes, the pairs that :func:`answers.answers_match` will hand to
math-verify are sent to one helper process (``spawn``: a fresh interpreter, math-verify's
signal timeout in its main thread, as at finish), which decides them on the other core while
the run waits on its model calls. At finish the settled decisions are installed in this
process's memo (``answers._settled``), so the scores are computed exactly as before, by the
same code, just without the wait. Whatever the helper did not settle (a timeout, a pair still
queued after the grace period, a helper that would not start) is decided at finish as always.

``run.answer_checks``: ``ahead`` (this), ``at_finish`` (no helper), ``auto`` (ahead when at
least :data:`AUTO_MIN_ITEMS` items run through the graph: a helper's start-up is not worth it
for a handful).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mmrefine_agent.events import Event, ItemFinished
from mmrefine_agent.judging import answers

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult, Pool

    from mmrefine_agent.engine.cache import CallCache
    from mmrefine_agent.records.models import ItemResult
    from mmrefine_agent.types import Item

AUTO_MIN_ITEMS = 64
"""``auto``: the fewest items run through the graph for which answers are checked ahead."""
GRACE_S = 30.0
"""At finish, how long to wait for the helper's queued decisions before deciding the rest here."""

Pair = tuple[str, str]


def decide(pairs: Sequence[Pair]) -> list[tuple[Pair, bool, bool]]:
    """(pair, equivalent, settled) for each pair (runs in the helper process)."""
    return [(pair, *answers.check_equivalence(*pair)) for pair in pairs]


def _warm() -> None:
    """Import math-verify in the helper as soon as it starts (before the first pair arrives)."""
    import math_verify  # noqa: F401


def pairs_asked(result: ItemResult, item: Item) -> list[Pair]:
    """The (prediction, gold) pairs that scoring ``result`` will ask math-verify about.

    Exactly those :func:`answers.answers_match` passes to its ``equivalent`` for each round's
    final answer (it asks at most once per answer, whatever the reply).
    """
    asked: list[Pair] = []

    def record(prediction: str, gold: str) -> bool:
        asked.append((prediction, gold))
        return False

    if not item.answer.strip():
        return asked
    for entry in result.rounds:
        answer = entry.final_answer
        if answer:
            answers.answers_match(answer, item.answer, item.options, equivalent=record)
    return asked


def wanted(setting: str, n_graph_items: int) -> bool:
    """Whether ``run.answer_checks`` asks for the helper, for a session running that many."""
    if setting == "ahead":
        return n_graph_items > 0
    if setting == "auto":
        return n_graph_items >= AUTO_MIN_ITEMS
    return False


class AnswersAhead:
    """The helper process and the decisions it was asked for (a sink of the event stream)."""

    def __init__(
        self,
        items: dict[str, Item],
        cache: CallCache | None,
        *,
        start: Callable[[], Pool] | None = None,
    ) -> None:
        self.items = items
        self.cache = cache
        self._start = start or _spawn_pool
        self._pool: Pool | None = None
        self._broken = False
        self._asked: set[Pair] = set()
        self._pending: list[AsyncResult[list[tuple[Pair, bool, bool]]]] = []
        self.n_sent = 0
        self.n_installed = 0

    def sink(self, event: Event) -> None:
        """Send the new pairs of a refined item to the helper (started on the first)."""
        if not isinstance(event, ItemFinished) or self._broken:
            return
        result = event.result
        item = self.items.get(result.key)
        if item is None or result.status not in ("ok", "judge_error") or result.replayed:
            return
        fresh = [pair for pair in pairs_asked(result, item) if self._new(pair)]
        if not fresh:
            return
        try:
            if self._pool is None:
                self._pool = self._start()
                self._pool.apply_async(_warm)
            self._pending.append(self._pool.apply_async(decide, (fresh,)))
            self.n_sent += len(fresh)
        except Exception:  # no helper here (a sandbox, no semaphores): decided at finish
            self._broken = True

    def _new(self, pair: Pair) -> bool:
        if pair in self._asked or pair in answers._settled:
            return False
        self._asked.add(pair)
        if self.cache is not None:
            from mmrefine_agent.engine.answer_memo import RememberedEquivalence

            key = RememberedEquivalence(None).key(*pair)
            if self.cache.equivalence(key) is not None:
                return False  # the call cache has it: finish reads it there
        return True

    def install(self, grace_s: float = GRACE_S) -> None:
        """Put the helper's settled decisions in this process's memo; stop the helper."""
        deadline = time.monotonic() + grace_s
        try:
            for pending in self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    decided = pending.get(timeout=left)
                except Exception:  # a helper error or a timeout: those pairs are asked at finish
                    continue
                for pair, equivalent, settled in decided:
                    if settled:
                        answers._settled.setdefault(pair, equivalent)
                        self.n_installed += 1
        finally:
            self.close()

    def close(self) -> None:
        """Stop the helper process (whatever it is still doing is not needed)."""
        pool, self._pool = self._pool, None
        self._pending = []
        if pool is not None:
            pool.terminate()
            pool.join()


def _spawn_pool() -> Pool:
    context: Any = multiprocessing.get_context("spawn")
    return context.Pool(processes=1)  # type: ignore[no-any-return]

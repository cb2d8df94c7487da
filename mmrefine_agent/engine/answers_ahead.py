"""Final answers checked against the gold ones while the run goes on, in a helper process.

Finishing a run scores every round's final answer against the gold one (step metrics), and
math-verify makes that the slowest part of finishing an uncached run (seconds for the full
protocol). The decisions are a pure function of the two texts, so they need not wait for the
end: as each item finishes, the pairs that :func:`answers.answers_match` will hand to
math-verify are sent to one helper process (``python -m mmrefine_agent.engine.answers_helper``:
a fresh interpreter that imports nothing of the caller's script, math-verify's signal timeout
in its main thread, as at finish), which decides them on another core while the run waits on
its model calls. At finish the settled decisions are installed in this process's memo
(``answers._settled``), so the scores are computed exactly as before, by the same code, just
without the wait. Whatever the helper did not settle (a timeout, a batch still queued after
the grace period, a helper that would not start or died) is decided at finish as always.

``run.answer_checks``: ``ahead`` (this), ``at_finish`` (no helper), ``auto`` (ahead when at
least :data:`AUTO_MIN_ITEMS` items run through the graph: a helper's start-up is not worth it
for a handful).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from mmrefine_agent.engine.answer_memo import equivalence_key
from mmrefine_agent.events import Event, ItemFinished
from mmrefine_agent.judging import answers

if TYPE_CHECKING:
    from mmrefine_agent.engine.cache import CallCache
    from mmrefine_agent.records.models import ItemResult
    from mmrefine_agent.types import Item

AUTO_MIN_ITEMS = 64
"""``auto``: the fewest items run through the graph for which answers are checked ahead."""
GRACE_S = 30.0
"""At finish, how long to wait for the helper's last decisions before deciding the rest here."""
HELPER = "mmrefine_agent.engine.answers_helper"

Pair = tuple[str, str]


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


def helper_command() -> list[str]:
    """How the helper process is started (this interpreter, the helper module)."""
    return [sys.executable, "-m", HELPER]


def helper_env() -> dict[str, str]:
    """The environment of the helper: this one, with this package importable from it."""
    env = dict(os.environ)
    here = str(Path(answers.__file__).resolve().parents[2])  # the directory holding the package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


class AnswersAhead:
    """The helper process and the decisions it sent back (a sink of the event stream)."""

    def __init__(
        self,
        items: dict[str, Item],
        cache: CallCache | None,
        *,
        command: Sequence[str] | None = None,
    ) -> None:
        self.items = items
        self.cache = cache
        self.command = list(command or helper_command())
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._broken = False
        self._asked: set[Pair] = set()
        self._decided: list[tuple[Pair, bool, bool]] = []
        self.n_sent = 0
        self.n_installed = 0

    def sink(self, event: Event) -> None:
        """Send the new pairs of a refined item to the helper (started on the first).

        Never raises: the helper only saves time, so anything going wrong here leaves the
        answers to finish, as without it.
        """
        if not isinstance(event, ItemFinished) or self._broken:
            return
        try:
            self._send(event)
        except Exception:
            self._broken = True
            self.close()

    def _send(self, event: ItemFinished) -> None:
        result = event.result
        item = self.items.get(result.key)
        if item is None or result.status not in ("ok", "judge_error") or result.replayed:
            return
        fresh = [pair for pair in pairs_asked(result, item) if self._new(pair)]
        if not fresh:
            return
        stdin = self._stdin()  # no helper here, or it died: OSError, decided at finish
        stdin.write(json.dumps(fresh, ensure_ascii=True) + "\n")
        stdin.flush()
        self.n_sent += len(fresh)

    def _stdin(self) -> IO[str]:
        if self._process is None:
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, encoding="ascii", env=helper_env(),
            )  # fmt: skip
            self._reader = threading.Thread(
                target=self._read, args=(self._process.stdout,), daemon=True
            )
            self._reader.start()
        assert self._process.stdin is not None
        return self._process.stdin

    def _read(self, replies: IO[str]) -> None:
        """Collect the helper's replies as they come (a thread: its pipe never fills)."""
        try:
            for line in replies:
                for prediction, gold, equivalent, settled in json.loads(line):
                    self._decided.append(((prediction, gold), bool(equivalent), bool(settled)))
        except (ValueError, TypeError, OSError):
            return  # a torn reply: what came before it counts, the rest is decided at finish

    def _new(self, pair: Pair) -> bool:
        if pair in self._asked or pair in answers._settled:
            return False
        self._asked.add(pair)
        # the call cache has it: finish reads it there
        return self.cache is None or self.cache.equivalence(equivalence_key(*pair)) is None

    def install(self, grace_s: float = GRACE_S) -> None:
        """Put the helper's settled decisions in this process's memo; stop the helper."""
        process, reader = self._process, self._reader
        try:
            if process is not None and reader is not None and process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # the helper ends after the batches it has
                reader.join(grace_s)
        finally:
            self.close()
        for pair, equivalent, settled in list(self._decided):
            if settled:
                answers._settled.setdefault(pair, equivalent)
                self.n_installed += 1

    def close(self) -> None:
        """Stop the helper process (whatever it is still doing is not needed)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

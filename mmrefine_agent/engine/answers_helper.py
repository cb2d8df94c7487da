"""The helper process of engine/answers_ahead.py: decides answer equivalences with math-verify.

Reads batches of (prediction, gold) pairs, one JSON array per line on stdin, and writes one
JSON array of ``[prediction, gold, equivalent, settled]`` per batch on stdout, in order. The
pairs are decided in this process's main thread (math-verify's timeout uses signals), by
:func:`mmrefine_agent.judging.answers.check_equivalence`, the very function scoring calls. A
thread drains stdin as it arrives, so the run writing to it never waits. It runs at a lower
priority than the run, leaves Ctrl-C to the run (which stops it), and sends anything else it
prints to stderr, never into the replies. It ends when stdin closes, after the batches read.

    python -m mmrefine_agent.engine.answers_helper
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sys
import threading


def _drain(source: object, into: queue.Queue[str | None]) -> None:
    for line in source:  # type: ignore[attr-defined]
        into.put(line)
    into.put(None)


def main() -> int:
    """Serve batches until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):  # background work: the run and its model server come first
        with contextlib.suppress(OSError):
            os.nice(10)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="ascii")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints: not into the replies
    import math_verify  # noqa: F401  (imported before the first batch arrives)

    from mmrefine_agent.judging import answers

    batches: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_drain, args=(sys.stdin, batches), daemon=True).start()
    while (line := batches.get()) is not None:
        try:
            pairs = [(str(p), str(g)) for p, g in json.loads(line)]
        except (ValueError, TypeError):
            pairs = []
        decided = [[p, g, *answers.check_equivalence(p, g)] for p, g in pairs]
        replies.write(json.dumps(decided, ensure_ascii=True) + "\n")
        replies.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

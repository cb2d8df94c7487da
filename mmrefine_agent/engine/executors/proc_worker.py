"""A worker process of the local process executor (``run.processes``).

The driver starts it as ``python -m mmrefine_agent.engine.executors.proc_worker`` (never
through multiprocessing, which would re-run the user's script) and talks to it over its
stdin and stdout, in length-prefixed pickles (pipes.py). It serves a
:class:`~mmrefine_agent.engine.executors.ray_worker.ShardWorker`, the same body a Ray worker
has, whose shared limits are the driver's :class:`LimitsServer`, reached through the pipe.

Driver to worker:
    ``("hello", holder, sys_path)``   its name in the limits; the driver's import path
    ``("call", rid, method, args)``   ``ShardWorker.open|refine|judge|close(*args)``
    ``("limits", cid, result)``       the answer to a limits call
    end of input                      stop: close the sessions and exit

Worker to driver:
    ``("ok", rid, value)`` or ``("error", rid, message)``   a call's answer
    ``("limits", cid, args)``                               ``LimitsServer.sync(*args)``

The worker's own stdout (fd 1) is pointed at stderr, so a ``print`` in plugin code cannot
break the protocol; Ctrl-C is ignored here: the driver, which gets it too, ends its workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from typing import Any

from mmrefine_agent.engine.executors.pipes import encode, fd_streams, read_message

METHODS = frozenset({"open", "refine", "judge", "close"})


class _Link:
    """The worker's end of the pipes: replies, and limits calls awaiting the driver."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.asked: dict[int, asyncio.Future[Any]] = {}
        self._next = 0

    def send(self, message: object) -> None:
        """Queue one message to the driver."""
        self.writer.write(encode(message))

    def ask(self, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        """Ask the driver's limits server; the future holds its answer."""
        self._next += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.asked[self._next] = future
        self.send(("limits", self._next, args))
        return future

    def answered(self, cid: int, result: Any) -> None:
        """The driver answered a limits call."""
        future = self.asked.pop(cid, None)
        if future is not None and not future.done():
            future.set_result(result)


class _Method:
    """``limits.sync.remote(...)``, as SharedLimits calls a Ray actor: here, over the pipe."""

    def __init__(self, link: _Link) -> None:
        self.link = link

    def remote(self, *args: Any) -> asyncio.Future[Any]:
        """Send the call; the returned future is awaited by the caller."""
        return self.link.ask(args)


class DriverLimits:
    """What :class:`SharedLimits` needs of the limits actor, served by the driver."""

    def __init__(self, link: _Link) -> None:
        self.sync = _Method(link)


def warm_up() -> None:
    """Import what every session needs while the driver still loads its data."""
    from mmrefine_agent.config import RunConfig
    from mmrefine_agent.engine.session import check_strategy
    from mmrefine_agent.plugins_manager import load_plugins

    try:  # best effort: a failure here shows again, with its reason, when the session opens
        check_strategy(RunConfig(), load_plugins())
    except Exception:
        return


async def _answer(worker: Any, link: _Link, rid: int, method: str, args: tuple[Any, ...]) -> None:
    try:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        value = await getattr(worker, method)(*args)
        data = encode(("ok", rid, value))
    except Exception as exc:  # sent to the driver as one line (the item is reported there)
        lines = str(exc).strip().splitlines()
        data = encode(("error", rid, f"{type(exc).__name__}: {lines[0] if lines else ''}"))
    try:
        link.writer.write(data)
        await link.writer.drain()
    except ConnectionError:  # the driver is gone: this worker ends when its input does
        return


async def serve(read_fd: int, write_fd: int) -> None:
    """Serve the driver's calls until its end of the pipe closes."""
    from mmrefine_agent.engine.executors.ray_worker import ShardWorker

    warm_up()
    reader, writer = await fd_streams(read_fd, write_fd)
    link = _Link(writer)
    worker: ShardWorker | None = None
    tasks: set[asyncio.Task[None]] = set()
    try:
        while True:
            try:
                message = await read_message(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                break  # the driver is done (or gone)
            kind = message[0]
            if kind == "hello":
                _, holder, sys_path = message
                sys.path.extend(p for p in sys_path if p not in sys.path)
                worker = ShardWorker(DriverLimits(link), holder)
            elif kind == "call" and worker is not None:
                _, rid, method, args = message
                task = asyncio.create_task(_answer(worker, link, rid, method, args))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            elif kind == "limits":
                link.answered(message[1], message[2])
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if worker is not None:
            for scope in list(worker.sessions):
                await worker.close(scope)
        writer.close()


def main() -> int:
    """The worker process: its pipes, then :func:`serve`; one line on stderr if it fails."""
    if not all(stat.S_ISFIFO(os.fstat(fd).st_mode) for fd in (0, 1)):
        print("this module is a worker of run.processes, started by the run itself",
              file=sys.stderr)  # fmt: skip
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    read_fd, write_fd = os.dup(0), os.dup(1)
    os.dup2(2, 1)  # plugin output goes to stderr, never into the protocol
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    try:
        asyncio.run(serve(read_fd, write_fd))
    except Exception as exc:
        print(f"mmrefine worker process {os.getpid()}: {type(exc).__name__}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

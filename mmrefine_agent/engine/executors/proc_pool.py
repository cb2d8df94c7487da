"""The driver's side of the process executor: its worker processes and the limits they share.

Each worker is a child process (proc_worker.py) with two pipes. A reader task per worker
handles what it sends: the answers to the driver's calls, and its limits calls, served by the
driver's :class:`LimitsServer` (the same object the Ray executor runs as an actor). A worker
whose output ends has ended: its unanswered calls fail with :class:`WorkerGone`, its permits
go back to the limits, and it is reaped (waited for), so no process is left behind.

Workers run in a session of their own: Ctrl-C at the terminal reaches the driver alone, which
ends them (end of input, then a kill); a driver that dies any other way closes their input,
and they exit. On a machine whose scheduler shares the CPU per session (Linux autogroups), a
worker in the driver's session would only split the driver's share instead of adding one.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

from mmrefine_agent.engine.executors.limits import LimitsServer
from mmrefine_agent.engine.executors.pipes import encode, read_message

WORKER_MODULE = "mmrefine_agent.engine.executors.proc_worker"
STOP_S = 5.0
"""How long a worker may take to close its sessions and exit before it is killed."""


class WorkerGone(Exception):
    """The worker process ended with the call unanswered (the message says how it ended)."""


class CallFailed(Exception):
    """The worker answered the call with an error (one line)."""


@dataclass(eq=False, slots=True)
class Child:
    """One worker process, its calls awaiting an answer, and how it ended."""

    holder: str
    process: subprocess.Popen[bytes]
    replies: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    alive: bool = True
    ended: str = ""
    writer: asyncio.StreamWriter | None = None
    reading: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid


def how_it_ended(code: int | None) -> str:
    """``exit code N``, or the signal that ended the process."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def reap(process: subprocess.Popen[bytes], timeout_s: float) -> int:
    """Wait for a process that is ending (killed if it takes longer than ``timeout_s``)."""
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


class ProcessPool:
    """Worker processes on this machine and the limits server they share with the driver."""

    def __init__(self) -> None:
        self.server = LimitsServer()
        self.children: list[Child] = []
        self.failed: list[str] = []
        """Why workers could not be started (the driver runs their share)."""
        self._next = 0
        self._serving: set[asyncio.Task[None]] = set()

    def live(self) -> list[Child]:
        """The workers not known to have ended."""
        return [child for child in self.children if child.alive]

    def spawn(self, count: int) -> None:
        """Start ``count`` workers now (no event loop needed: they import while we work)."""
        for _ in range(count):
            try:
                process = subprocess.Popen(
                    [sys.executable, "-m", WORKER_MODULE],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                    start_new_session=True,  # see the module's docstring
                )  # fmt: skip
            except (OSError, ValueError) as exc:
                self.failed.append(f"{type(exc).__name__}: {exc}")
                continue
            self.children.append(Child(f"proc-{uuid.uuid4().hex[:8]}", process))

    async def start(self, count: int) -> None:
        """Start workers until ``count`` are alive, and connect to every one."""
        self.spawn(max(0, count - len(self.live())))
        loop = asyncio.get_running_loop()
        for child in self.live():
            if child.reading is not None:
                continue
            process = child.process
            assert process.stdin is not None and process.stdout is not None
            reader = asyncio.StreamReader(limit=1 << 20)
            await loop.connect_read_pipe(
                functools.partial(asyncio.StreamReaderProtocol, reader), process.stdout
            )
            transport, protocol = await loop.connect_write_pipe(
                asyncio.streams.FlowControlMixin, process.stdin
            )
            child.writer = asyncio.StreamWriter(transport, protocol, None, loop)
            child.reading = asyncio.create_task(self._read(child, reader))
            self._send(child, ("hello", child.holder, list(sys.path)))

    def submit(self, child: Child, method: str, *args: Any) -> asyncio.Future[Any]:
        """Call ``method`` of the worker's ShardWorker; the future holds its answer."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not child.alive:
            future.set_exception(WorkerGone(child.ended or "ended"))
            return future
        self._next += 1
        child.replies[self._next] = future
        self._send(child, ("call", self._next, method, args))
        return future

    def _send(self, child: Child, message: object) -> None:
        writer = child.writer
        if writer is not None and not writer.is_closing():  # else its reader sees it end
            writer.write(encode(message))

    async def _read(self, child: Child, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                message = await read_message(reader)
                kind = message[0]
                if kind == "limits":
                    task = asyncio.create_task(self._limits(child, message[1], message[2]))
                    self._serving.add(task)
                    task.add_done_callback(self._serving.discard)
                    continue
                future = child.replies.pop(message[1], None)
                if future is None or future.done():
                    continue
                if kind == "ok":
                    future.set_result(message[2])
                else:
                    future.set_exception(CallFailed(str(message[2])))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker closed its output: it is ending
        except Exception as exc:  # an unreadable message: this worker cannot be trusted on
            child.ended = f"unreadable message ({type(exc).__name__}: {exc})"
            child.process.kill()
        finally:
            await self._ended(child)

    async def _limits(self, child: Child, cid: int, args: tuple[Any, ...]) -> None:
        result = await self.server.sync(*args)
        if child.alive:
            self._send(child, ("limits", cid, result))

    async def _ended(self, child: Child) -> None:
        child.alive = False
        if child.writer is not None:
            child.writer.close()
        code = await asyncio.to_thread(reap, child.process, STOP_S)
        child.ended = child.ended or how_it_ended(code)
        for future in child.replies.values():
            if not future.done():
                future.set_exception(WorkerGone(child.ended))
        child.replies.clear()
        await self.server.forget(child.holder)

    async def close(self) -> None:
        """End every worker: end of input (it closes its sessions), then a kill if it lingers.

        A worker never connected (still importing: the run ended before its items) is
        terminated at once.
        """
        readers = [c.reading for c in self.children if c.reading is not None]
        for child in self.children:
            if child.writer is not None:
                child.writer.close()
            elif child.process.returncode is None:
                child.process.terminate()
                if child.process.stdin is not None:
                    child.process.stdin.close()
        try:
            if readers:
                await asyncio.wait(readers, timeout=STOP_S)
        finally:
            for child in self.children:
                if child.process.poll() is None and child.reading is not None:
                    child.process.kill()
            await asyncio.gather(*readers, return_exceptions=True)
            for child in self.children:
                if child.reading is None:
                    await asyncio.to_thread(reap, child.process, STOP_S)
                    if child.process.stdout is not None:
                        child.process.stdout.close()
            for task in list(self._serving):
                task.cancel()
            await asyncio.gather(*self._serving, return_exceptions=True)

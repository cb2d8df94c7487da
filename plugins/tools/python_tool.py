"""``python(code)``: run Python in a separate, limited process and return what it printed.

Each call gets a fresh interpreter (``python -I -u``: no user site, no ``PYTHON*`` variables)
started by :mod:`~mmrefine_plugins.tools.sandbox_child`, which sets the limits and guards and
then runs the code. Containment, outside in:

- **kernel filter**: a seccomp filter (:mod:`~mmrefine_plugins.tools.sandbox_seccomp`, x86-64
  and AArch64 Linux) refuses new processes, programs, sockets and signals to other processes,
  even as root and through any library;
- **network**: besides, the process runs in a new network namespace (``unshare --net``; as a
  normal user ``unshare --map-root-user --net``) when the ``unshare`` command can do it, where
  no interface is up; and an audit hook (:pep:`578`) refuses to create a socket;
- **processes**: besides, the audit hook refuses fork, exec, spawn, subprocess and kill, and
  ``RLIMIT_NPROC`` is 0, which the kernel enforces for any uid but root: started as root, the
  child drops to ``nobody`` when that uid can read the Python installation (probed once; see
  :func:`sandbox_report` for what a machine gives); the child leads its own process group,
  killed as a whole at the end;
- **time**: a wall-clock limit (the parent kills the group) and a CPU-seconds limit
  (``RLIMIT_CPU``);
- **memory and disk**: ``RLIMIT_AS`` (a huge allocation is a ``MemoryError``), ``RLIMIT_FSIZE``;
  a throwaway working directory (removed afterwards), writes outside it refused by the hook and,
  once root is dropped, by file permissions;
- **secrets**: the child gets a minimal environment (no API keys).

Output (stdout and stderr, interleaved) is cut at :attr:`SandboxLimits.output_chars`
characters. A non-zero exit, a timeout, a limit reached or a refused action is reported to the
model as the tool's (failed) result, with what was printed; it never fails or hangs the run.
Threads cannot be started when root was dropped (the process limit counts them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path

from mmrefine_agent import RegisterTool, hookimpl

CHILD = Path(__file__).with_name("sandbox_child.py")
CODE_LIMIT = 50_000
"""Characters of code accepted."""


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """The limits of one ``python`` call (the defaults are the registered tool's)."""

    wall_s: float = 20.0
    cpu_s: int = 10
    memory_bytes: int = 1024 * 2**20
    file_bytes: int = 16 * 2**20
    output_chars: int = 8000
    uid: int = 65534
    """The uid the child drops to when started as root (``nobody``)."""
    parallel: int = 2
    """Sandboxes running at once per event loop (each may use ``memory_bytes``)."""


@dataclass(frozen=True, slots=True)
class SandboxOutcome:
    """How a run ended and what it printed."""

    output: str
    exit_code: int | None
    signal: str | None = None
    timed_out: bool = False
    cut: bool = False

    @property
    def ok(self) -> bool:
        """Exited normally with status 0, nothing cut."""
        return self.exit_code == 0 and not self.timed_out and not self.cut


_unshare: list[str] | None = None
_dropped: dict[int, bool] = {}
PROBE = "import threading, tokenize, sysconfig, email.parser"
"""Modules the probe imports after dropping root: can the uid still read the Python install?"""
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def network_isolation() -> list[str]:
    """The ``unshare`` prefix that gives the child a network namespace ([] when none works)."""
    global _unshare
    if _unshare is None:
        _unshare = []
        binary = shutil.which("unshare")
        flags = ["--net"] if os.geteuid() == 0 else ["--map-root-user", "--net"]
        if binary:
            try:
                probe = subprocess.run(
                    [binary, *flags, "--", "true"], capture_output=True, timeout=10, check=False
                )
                if probe.returncode == 0:
                    _unshare = [binary, *flags, "--"]
            except (OSError, subprocess.SubprocessError):
                pass
    return _unshare


def can_drop_to(uid: int) -> bool:
    """Whether a root child can drop to ``uid`` and still import the standard library.

    Probed once per uid and process (a Python installed under ``/root`` is unreadable to
    ``nobody``); when it cannot, the child keeps root and the audit hook, the namespaces and
    the resource limits contain it, without the kernel's process limit (which exempts root).
    """
    if os.geteuid() != 0:
        return False
    if uid not in _dropped:
        workdir = tempfile.mkdtemp(prefix="mmrefine-python-probe-")
        try:
            os.chown(workdir, uid, uid)
            settings = {**asdict(SandboxLimits()), "uid": uid, "workdir": workdir}
            probe = subprocess.run(
                [sys.executable, "-I", str(CHILD), json.dumps(settings)],
                input=PROBE.encode(), capture_output=True, timeout=30, check=False,
                cwd=workdir, env=_child_env(workdir),
            )  # fmt: skip
            _dropped[uid] = probe.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _dropped[uid] = False
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return _dropped[uid]


def sandbox_report(limits: SandboxLimits = SandboxLimits()) -> str:
    """Which containment layers this machine gives the ``python`` tool, in one line."""
    network = "network namespace" if network_isolation() else "no network namespace (hook only)"
    if os.geteuid() != 0:
        user = f"runs as uid {os.geteuid()} (kernel process limit applies)"
    elif can_drop_to(limits.uid):
        user = f"drops root to uid {limits.uid} (kernel process limit applies)"
    else:
        user = f"keeps root: uid {limits.uid} cannot read the Python installation (hook only)"
    import platform

    kernel = "seccomp" if platform.machine() in ("x86_64", "aarch64") else "no seccomp"
    return f"python sandbox: {kernel}; {network}; {user}; audit hook; rlimits cpu/as/nproc/fsize"


def _child_env(workdir: str) -> dict[str, str]:
    env = {"PATH": os.defpath, "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg"}  # fmt: skip
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


async def _read_capped(stream: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of ``stream`` until it ends; True when there was more."""
    kept = bytearray()
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return bytes(kept), False
        kept += chunk
        if len(kept) > limit:
            return bytes(kept[:limit]), True


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def run_sandboxed(code: str, limits: SandboxLimits = SandboxLimits()) -> SandboxOutcome:
    """Run ``code`` in the sandbox and wait for it (at most ``limits.wall_s`` seconds)."""
    loop = asyncio.get_running_loop()
    slots = _slots.setdefault(loop, asyncio.Semaphore(limits.parallel))
    async with slots:
        return await _run(code, limits)


async def _run(code: str, limits: SandboxLimits) -> SandboxOutcome:
    uid = limits.uid if await asyncio.to_thread(can_drop_to, limits.uid) else -1
    isolation = await asyncio.to_thread(network_isolation)
    workdir = tempfile.mkdtemp(prefix="mmrefine-python-")
    if uid >= 0:
        os.chown(workdir, uid, uid)
    settings = {**asdict(limits), "uid": uid, "workdir": workdir}
    command = [*isolation, sys.executable, "-I", "-u", str(CHILD), json.dumps(settings)]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=workdir,
        env=_child_env(workdir),
        start_new_session=True,
    )
    assert process.stdin is not None and process.stdout is not None
    limit = limits.output_chars * 4  # bytes read; cut to characters below
    try:
        process.stdin.write(code.encode("utf-8", "surrogatepass"))
        await process.stdin.drain()
        process.stdin.close()
        raw, cut = await asyncio.wait_for(_read_capped(process.stdout, limit), limits.wall_s)
        if cut:
            _kill_group(process.pid)
        code_or_signal = await asyncio.wait_for(process.wait(), 5.0 if cut else limits.wall_s)
        timed_out = False
    except (TimeoutError, BrokenPipeError, ConnectionResetError):
        raw, cut, timed_out, code_or_signal = b"", False, True, None
    finally:
        _kill_group(process.pid)
        if process.returncode is None:
            await process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    text = raw.decode("utf-8", "replace")
    if len(text) > limits.output_chars:
        text, cut = text[: limits.output_chars], True
    name = None
    if code_or_signal is not None and code_or_signal < 0:
        name = signal.Signals(-code_or_signal).name
    exit_code = code_or_signal if code_or_signal is None or code_or_signal >= 0 else None
    return SandboxOutcome(text, exit_code, name, timed_out, cut)


def describe(outcome: SandboxOutcome, limits: SandboxLimits) -> str:
    """The text the model reads: what was printed, then how the run ended if not cleanly."""
    lines = [outcome.output.rstrip("\n")] if outcome.output.strip() else []
    if outcome.cut:
        lines.append(f"[output cut at {limits.output_chars} characters]")
    if outcome.timed_out:
        lines.append(f"[stopped: no result within {limits.wall_s:g} s (wall-clock limit)]")
    elif outcome.signal == "SIGXCPU":
        lines.append(f"[stopped: CPU time limit of {limits.cpu_s} s reached]")
    elif outcome.signal == "SIGKILL" and not outcome.cut:
        lines.append("[killed: a resource limit was reached]")
    elif outcome.signal == "SIGXFSZ":
        lines.append(f"[stopped: file size limit of {limits.file_bytes} bytes reached]")
    elif outcome.signal and not outcome.cut:
        lines.append(f"[crashed: {outcome.signal}]")
    elif outcome.exit_code not in (0, None):
        lines.append(f"[exit code {outcome.exit_code}]")
    if not lines:
        lines.append("(no output: print() what you want to see)")
    return "\n".join(lines)


def make_python_tool(limits: SandboxLimits = SandboxLimits()) -> object:
    """The ``python`` tool with ``limits`` (the registered one uses the defaults)."""
    from langchain_core.tools import StructuredTool, ToolException

    async def python(code: str) -> str:
        """Run Python 3 code in a sandbox and return what it printed.

        A fresh process each call (no state is kept between calls), no network, no files
        kept, limited time and memory. The value of a final expression is printed, as in a
        notebook; otherwise use print(). The standard library is available (and sympy).

        Args:
            code: the Python program to run.
        """
        if len(code) > CODE_LIMIT:
            raise ToolException(f"the code is longer than {CODE_LIMIT} characters")
        outcome = await run_sandboxed(code, limits)
        text = describe(outcome, limits)
        if not outcome.ok:
            raise ToolException(text)
        return text

    tool = StructuredTool.from_function(coroutine=python, name="python", parse_docstring=True)
    tool.metadata = {"timeout_s": limits.wall_s + 15.0}
    return tool


@hookimpl
def mmrefine_register_tools(register: RegisterTool) -> None:
    """Register ``python``."""
    register(make_python_tool())  # type: ignore[arg-type]

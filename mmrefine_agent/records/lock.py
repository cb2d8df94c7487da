"""An exclusive lock on a run directory, held for a whole session (run, judge, HTML report).

Two processes writing one run directory would interleave its files and pay every call twice;
the second one is refused at once, with the holder's PID and command line. The lock is an
``fcntl`` lock on ``RUN/.lock``: the kernel releases it when its holder dies, so a killed run
never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import IO

from mmrefine_agent.errors import RunDirError

LOCK_NAME = ".lock"


class RunLock:
    """``with RunLock(run_dir):`` - exclusive use of a run directory, or a RunDirError."""

    def __init__(self, run_dir: Path, purpose: str = "run") -> None:
        self.path = run_dir / LOCK_NAME
        self.run_dir = run_dir
        self.purpose = purpose
        self._handle: IO[str] | None = None

    def __enter__(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunDirError(
                f"{self.run_dir} is in use by {holder}; wait for it to finish or stop it"
            ) from None
        handle.seek(0)
        handle.truncate()
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        handle.write(f"PID {os.getpid()} ({self.purpose}: {command[:200]})\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.truncate(0)
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

"""A test plugin that imports in the test's own process only: a worker process fails on it.

Before failing, it makes the file ``MMREFINE_TEST_MARKER`` names (so a test knows it did).
"""

from __future__ import annotations

import os
from pathlib import Path

if os.getpid() != int(os.environ.get("MMREFINE_TEST_DRIVER_PID", "0")):
    Path(os.environ["MMREFINE_TEST_MARKER"]).touch()
    raise RuntimeError("this plugin imports only in the test's process")

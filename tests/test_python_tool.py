"""The ``python`` tool against hostile code: each attempt bounded, contained, and reported to
the model as the tool's result (never a hung or failed run)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mmrefine_agent import ToolBox, ToolCall, ToolContext, ToolResult, run_tool_call
from mmrefine_agent.types import Item
from mmrefine_plugins.tools.python_tool import (
    SandboxLimits,
    make_python_tool,
    network_isolation,
    sandbox_report,
)

LIMITS = SandboxLimits(wall_s=6.0, cpu_s=2, memory_bytes=512 * 2**20, output_chars=2000)
ITEM = Item(key="k", id="1", question="q", options=(), image=None, answer="", initial_solution="",
            label="correct", reference_feedback=None, error_type=None, source="s")  # fmt: skip


def run(code: str, limits: SandboxLimits = LIMITS) -> ToolResult:
    """``code`` through the tool as the framework runs a model's call."""
    box = ToolBox({"python": make_python_tool(limits)})  # type: ignore[dict-item]
    call = ToolCall("c1", "python", {"code": code})
    outcome = asyncio.run(run_tool_call(call, box, ToolContext(ITEM, "detect", 1, "c1")))
    assert outcome.record.error == outcome.result.error
    return outcome.result


def test_layers_of_this_machine_are_reported() -> None:
    report = sandbox_report()
    print(report)  # which layers this machine gives (shown with pytest -s)
    assert report.startswith("python sandbox:")


def test_plain_code_runs_and_its_last_value_is_shown() -> None:
    result = run("x = 6 * 7\nprint('hello')\nx")
    assert not result.error
    assert result.text == "hello\n42"


def test_an_endless_loop_is_stopped_by_the_cpu_limit() -> None:
    limits = SandboxLimits(wall_s=120.0, cpu_s=1)  # a loaded machine: CPU seconds come slowly
    result = run("while True:\n    pass", limits)
    assert result.error
    assert "CPU time limit of 1 s reached" in result.text


def test_sleeping_past_the_wall_clock_is_stopped() -> None:
    result = run("import time\nprint('start', flush=True)\ntime.sleep(600)")
    assert result.error
    assert "no result within 6 s (wall-clock limit)" in result.text


@pytest.mark.parametrize(
    "code",
    [
        "import os\nwhile True:\n    os.fork()",
        "import subprocess\nsubprocess.run(['sh', '-c', ':(){ :|:& };:'])",
        "import os\nos.system('sleep 100 &')",
        "import multiprocessing\nmultiprocessing.Process(target=print).start()",
    ],
)
def test_a_fork_bomb_cannot_start_a_process(code: str) -> None:
    result = run(code)
    assert result.error
    assert "PermissionError" in result.text


def test_the_kernel_filter_alone_refuses_fork_exec_and_sockets() -> None:
    """The seccomp layer without the audit hook (as code that bypassed the hook would see)."""
    probe = (
        "import os, socket, subprocess, sandbox_seccomp\n"
        "assert sandbox_seccomp.install()\n"
        "for name, act in [('fork', os.fork), ('socket', socket.socket),\n"
        "                  ('exec', lambda: subprocess.run(['true'])),\n"
        "                  ('kill', lambda: os.kill(1, 0))]:\n"
        "    try:\n"
        "        act()\n"
        "        print(name, 'allowed')\n"
        "    except PermissionError:\n"
        "        print(name, 'refused')\n"
    )
    if sys.platform != "linux" or os.uname().machine not in ("x86_64", "aarch64"):
        pytest.skip("the seccomp filter covers x86-64 and AArch64 Linux")
    folder = Path(__file__).resolve().parent.parent / "plugins" / "tools"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=folder, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "fork", "refused", "socket", "refused", "exec", "refused", "kill", "refused",
    ]  # fmt: skip


def test_a_huge_allocation_is_a_memory_error() -> None:
    result = run("data = bytearray(64 * 2**30)\nprint(len(data))")
    assert result.error
    assert "MemoryError" in result.text


def test_a_connection_to_a_loopback_port_never_arrives() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run(
            "import socket\n"
            f"connection = socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
            "print('connected')"
        )
        listener.settimeout(0.5)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert result.error
    assert "connected" not in result.text
    assert "network is off" in result.text
    if network_isolation():
        print("the child also ran in its own network namespace")


def test_writing_outside_the_working_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    for code in (
        f"open({str(target)!r}, 'w').write('x')",
        f"import os\nos.rename('.', {str(target)!r})",
        f"import pathlib\npathlib.Path({str(target)!r}).write_text('x')",
        "import shutil\nshutil.rmtree('/tmp')",
    ):
        result = run(code)
        assert result.error and "PermissionError" in result.text, code
    assert not target.exists()
    inside = run("open('notes.txt', 'w').write('kept here')\nprint(open('notes.txt').read())")
    assert not inside.error and inside.text == "kept here"


def test_the_working_directory_is_thrown_away() -> None:
    result = run("import os\nprint(os.getcwd())")
    assert not result.error
    assert result.text.startswith(os.path.realpath(os.environ.get("TMPDIR", "/tmp")))
    assert not Path(result.text).exists()


def test_credentials_in_the_environment_do_not_reach_the_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-the-sandbox-123456")
    result = run("import os\nprint(sorted(os.environ))")
    assert "OPENAI_API_KEY" not in result.text


def test_output_is_cut_at_the_documented_size() -> None:
    result = run("print('x' * 100_000)")
    assert result.error
    assert "[output cut at 2000 characters]" in result.text
    assert len(result.text) < 2100


def test_a_crash_and_an_error_exit_are_results() -> None:
    crashed = run("import os\nos.abort()")
    assert crashed.error and "[crashed: SIGABRT]" in crashed.text
    failed = run("raise ValueError('no')")
    assert failed.error and "ValueError: no" in failed.text and "[exit code 1]" in failed.text


def test_ctypes_cannot_undo_the_guard() -> None:
    result = run("import ctypes\nctypes.CDLL(None).fork()")
    assert result.error and "ctypes" in result.text

"""The child side of the ``python`` tool's sandbox: limits, guards, then the model's code.

Run as ``python -I -u sandbox_child.py LIMITS_JSON`` with the code on stdin (standard library
only: it runs before anything else in a fresh interpreter). In order:

1. read the code, pre-import a few standard modules the code may use;
2. as root, drop to an unprivileged uid (``nobody`` by default; the parent passes -1 when that
   uid cannot read the Python installation): file permissions then protect the machine, and
   the kernel enforces the process limit (it exempts root);
3. resource limits (hard = soft, so the code cannot raise them): CPU seconds (``RLIMIT_CPU``),
   address space (``RLIMIT_AS``), no new processes or threads (``RLIMIT_NPROC`` 0), file
   size (``RLIMIT_FSIZE``), open files, no core dumps;
4. a seccomp filter (:mod:`sandbox_seccomp`): the kernel refuses new processes, programs,
   sockets and signals to others, whatever the code does (x86-64 and AArch64 Linux);
5. an audit hook (:pep:`578`) that refuses, with a ``PermissionError`` the code sees: starting
   processes (``os.system``, ``subprocess``, ``os.fork``, ``os.exec*``, ``os.posix_spawn``,
   ``os.kill``), creating or using sockets (the network is off), writing, renaming, removing
   or linking any path outside the working directory, foreign calls and raw memory through
   ``ctypes`` (which could undo the hook; it is imported before, as sympy needs its types),
   and importing ``cffi`` (the seccomp filter stops a fork that raises no event, such as
   ``_posixsubprocess``'s);
6. the code runs as ``__main__`` in the throwaway working directory; when its last statement
   is an expression, its value is printed (as in a notebook).

The parent (``python_tool.py``) adds what a process cannot do to itself: a wall-clock limit,
the output cap, a new network namespace when ``unshare`` is available, and clean-up.
"""

import ast
import io
import json
import os
import resource
import sys
import traceback

PRELOAD = ("math", "cmath", "fractions", "decimal", "statistics", "itertools", "functools",
           "collections", "re", "random", "string", "heapq", "bisect", "operator", "numbers",
           "datetime", "json", "ctypes")  # fmt: skip
PROCESS_EVENTS = {"os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                  "os.forkpty", "subprocess.Popen", "os.kill", "os.killpg", "pty.spawn",
                  "os.startfile"}  # fmt: skip
PATH_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chmod", "os.chown",
               "os.symlink", "os.link", "os.truncate", "os.utime", "os.chflags",
               "shutil.rmtree", "shutil.move", "shutil.copytree", "os.mkfifo",
               "os.mknod"}  # fmt: skip
BLOCKED_IMPORTS = {"cffi", "_cffi_backend"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def install_guard(workdir: str) -> None:
    """Refuse process creation, sockets, writes outside ``workdir`` and ctypes (see above)."""
    busy = [False]

    def inside(path: object) -> bool:
        if isinstance(path, int):
            return True  # an already open descriptor
        try:
            real = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return real == workdir or real.startswith(workdir + os.sep)

    def hook(event: str, args: tuple) -> None:  # type: ignore[type-arg]
        if busy[0]:
            return
        busy[0] = True
        try:
            if event in PROCESS_EVENTS:
                raise PermissionError("sandbox: starting or signalling processes is not allowed")
            if event.startswith("socket."):
                raise PermissionError("sandbox: the network is off")
            if event.startswith("ctypes."):
                raise PermissionError("sandbox: foreign calls and raw memory (ctypes) are off")
            if event == "import" and str(args[0]).split(".")[0] in BLOCKED_IMPORTS:
                raise ImportError(f"sandbox: module {args[0]} is not available")
            if event == "open":
                path, mode, flags = args
                writing = bool(mode) and any(c in str(mode) for c in "wax+")
                writing = writing or (isinstance(flags, int) and bool(flags & WRITE_FLAGS))
                if writing and not inside(path):
                    raise PermissionError(
                        f"sandbox: writing outside the working directory: {path!r}"
                    )
            elif event in PATH_EVENTS:
                for value in args:
                    if isinstance(value, str | bytes | os.PathLike) and not inside(value):
                        raise PermissionError(
                            f"sandbox: changing paths outside the working directory: {value!r}"
                        )
        finally:
            busy[0] = False

    sys.addaudithook(hook)


def drop_privileges(uid: int) -> None:
    """As root: give up root for ``uid`` (and its group), keeping no extra groups (-1: stay)."""
    if uid < 0 or os.getuid() != 0:
        return
    try:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    except OSError:
        pass  # root mapped in a user namespace: only that id exists; the hook still guards


def set_limits(limits: dict) -> None:  # type: ignore[type-arg]
    """Hard resource limits (the code cannot raise them again)."""
    cpu = int(limits["cpu_s"])
    pairs = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (int(limits["memory_bytes"]),) * 2),
        (resource.RLIMIT_NPROC, (0, 0)),
        (resource.RLIMIT_FSIZE, (int(limits["file_bytes"]),) * 2),
        (resource.RLIMIT_NOFILE, (64, 64)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    for kind, value in pairs:
        resource.setrlimit(kind, value)


def run(code: str) -> int:
    """Run the code as ``__main__``; print the last expression's value; 1 on an exception."""
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        tree = ast.parse(code, "<python tool>", "exec")
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        if last is not None:
            tree.body.pop()
        exec(compile(tree, "<python tool>", "exec"), namespace)  # the sandboxed code itself
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<python tool>", "eval"), namespace)
            if value is not None:
                print(repr(value))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except BaseException as exc:  # the code's own failure: shown as Python shows it
        if not isinstance(exc, SyntaxError):
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
            print("Traceback (most recent call last):", file=sys.stderr)
            print("".join(traceback.format_list(frames)), end="", file=sys.stderr)
        print("".join(traceback.format_exception_only(type(exc), exc)), end="", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    """Read, limit, guard, run."""
    limits = json.loads(sys.argv[1])
    workdir = os.path.realpath(limits["workdir"])
    code = sys.stdin.read()
    sys.stdin = io.StringIO()  # input() ends at once
    sys.dont_write_bytecode = True
    for name in PRELOAD:
        __import__(name)
    os.chdir(workdir)
    drop_privileges(int(limits["uid"]))
    set_limits(limits)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import sandbox_seccomp  # beside this file (stdlib only)

    sys.path.pop(0)
    sandbox_seccomp.install()
    install_guard(workdir)
    sys.argv = ["<python tool>"]
    status = run(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()

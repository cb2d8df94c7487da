"""A seccomp filter for the ``python`` tool's child: no new processes, programs or sockets.

Loaded by the child (through ``ctypes``, before the model's code runs and before the audit
hook closes ``ctypes``), it makes the kernel refuse, whatever the code does (even as root,
even through a library that forks without raising an audit event):

- creating processes (``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD``; ``clone3``
  answers ENOSYS so the C library falls back to ``clone`` for threads), running programs
  (``execve``, ``execveat``);
- creating sockets (``socket``);
- signalling anything but itself (``kill``/``tgkill`` to another pid, ``tkill``,
  ``pidfd_send_signal``), ``ptrace`` and ``process_vm_writev``;
- any system call of another ABI (x32, 32-bit) than the one the filter knows.

Only x86-64 and AArch64 Linux are covered; elsewhere :func:`install` returns False and the
other layers (audit hook, resource limits, namespaces) remain. Standard library only: this
module is imported by the child script, which runs with ``python -I``.
"""

import ctypes
import errno
import os
import platform

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_CLONE_THREAD = 0x00010000
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2

ARCHES = {
    "x86_64": {
        "arch": 0xC000003E,
        "deny": {"fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "socket": 41,
                 "ptrace": 101, "process_vm_writev": 311, "tkill": 200,
                 "pidfd_send_signal": 424},
        "clone": 56, "clone3": 435, "kill": 62, "tgkill": 234, "x32": True,
    },
    "aarch64": {
        "arch": 0xC00000B7,
        "deny": {"execve": 221, "execveat": 281, "socket": 198, "ptrace": 117,
                 "process_vm_writev": 271, "tkill": 130, "pidfd_send_signal": 424},
        "clone": 220, "clone3": 435, "kill": 129, "tgkill": 131, "x32": False,
    },
}  # fmt: skip


class _Filter(ctypes.Structure):
    _fields_ = (("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint))  # fmt: skip


class _Program(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter)))


def program(arch: dict, pid: int) -> list[tuple[int, int, int, int]]:  # type: ignore[type-arg]
    """The filter as (code, jump if true, jump if false, k) rows, jump labels resolved."""
    Row = tuple[int, str | None, str | None, int]
    rows: list[Row] = [(_LD_W_ABS, None, None, 4), (_JEQ, None, "deny", arch["arch"]),
                       (_LD_W_ABS, None, None, 0)]  # fmt: skip
    if arch["x32"]:
        rows.append((_JGE, "deny", None, 0x40000000))
    rows += [(_JEQ, "deny", None, nr) for nr in arch["deny"].values()]
    rows += [(_JEQ, "enosys", None, arch["clone3"]), (_JEQ, "clone", None, arch["clone"]),
             (_JEQ, "self", None, arch["kill"]), (_JEQ, "self", None, arch["tgkill"]),
             (_RET, None, None, _ALLOW)]  # fmt: skip
    labels = {"clone": len(rows)}
    rows += [(_LD_W_ABS, None, None, 16), (_JSET, "allow", "deny", _CLONE_THREAD)]
    labels["self"] = len(rows)
    rows += [(_LD_W_ABS, None, None, 16), (_JEQ, "allow", "deny", pid)]
    labels["allow"] = len(rows)
    rows.append((_RET, None, None, _ALLOW))
    labels["deny"] = len(rows)
    rows.append((_RET, None, None, _ERRNO | errno.EPERM))
    labels["enosys"] = len(rows)
    rows.append((_RET, None, None, _ERRNO | errno.ENOSYS))
    out = []
    for index, (code, true, false, k) in enumerate(rows):
        jt = labels[true] - index - 1 if true else 0
        jf = labels[false] - index - 1 if false else 0
        out.append((code, jt, jf, k))
    return out


def install() -> bool:
    """Load the filter into this process (and its threads to come); False where unsupported."""
    arch = ARCHES.get(platform.machine())
    if arch is None or platform.system() != "Linux":
        return False
    rows = program(arch, os.getpid())
    filters = (_Filter * len(rows))(*(_Filter(*row) for row in rows))
    prog = _Program(len(rows), ctypes.cast(filters, ctypes.POINTER(_Filter)))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    ok = libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
    return bool(ok)

"""The end of a JSONL run file: what a kill or a power loss leaves there, and how it is cut.

A kill can leave the last line half-written (no newline after it); a power loss can leave a
block of NUL bytes, or any garbage, where the last lines were, newline-terminated or not. The
*unreadable tail* of a file is the run of lines at its end that do not parse as JSON (blank
lines aside), after its last line that does. Readers skip it (a newline-terminated one with a
warning); a writer cuts it before appending (:func:`cut_unreadable_tail`), so a line that does
parse is never written after garbage, which would make the file unreadable for good. A cut
tail that is more than one half-written line is kept beside the file
(``<name>.unreadable-<time>``), never just dropped.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_BLOCK = 1 << 16
_warned: set[str] = set()


def warn_once(message: str) -> None:
    """A one-line warning on stderr (each distinct message once per process)."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr)


def parses(line: bytes) -> bool:
    """Whether one line is JSON."""
    try:
        json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _lines_backwards(handle: IO[bytes], end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line without its newline) from the file's last line to its first."""
    pos = end
    carry = b""  # the start of a line whose beginning lies in an earlier block
    while pos > 0:
        size = min(_BLOCK, pos)
        pos -= size
        handle.seek(pos)
        data = handle.read(size) + carry
        first = -1 if pos == 0 else data.find(b"\n")
        if pos > 0 and first < 0:
            carry = data
            continue
        pieces = data[first + 1 :].split(b"\n")
        offsets = []
        offset = pos + first + 1
        for piece in pieces:
            offsets.append(offset)
            offset += len(piece) + 1
        yield from zip(reversed(offsets), reversed(pieces), strict=True)
        carry = data[: max(first, 0)] if pos > 0 else b""


def unreadable_tail(path: Path) -> tuple[int, int, bool] | None:
    """(where the unreadable tail starts, file size, whether it is one half-written line).

    None when the file ends in a line that parses (or is empty). Only the end is read.
    """
    with path.open("rb") as handle:
        end = handle.seek(0, 2)
        start: int | None = None
        torn = True
        for offset, line in _lines_backwards(handle, end):
            if not line.strip():
                continue
            if parses(line):
                break
            start = offset
            if offset + len(line) < end:  # a newline follows it: not a write cut short
                torn = False
    return None if start is None else (start, end, torn)


def cut_unreadable_tail(path: Path) -> None:
    """Before appending: cut the unreadable tail (kept aside unless a half-written line).

    A last line that parses but lacks its newline gets one, so the next line starts afresh.
    """
    if not path.is_file():
        return
    tail = unreadable_tail(path)
    with path.open("rb+") as handle:
        end = handle.seek(0, 2)
        if tail is None:
            if end:
                handle.seek(end - 1)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")
            return
        start, _, torn = tail
        if not torn:
            handle.seek(start)
            aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
            aside.write_bytes(handle.read())
            warn_once(
                f"{path}: its last lines could not be read ({end - start} bytes, e.g. after a "
                f"power loss); moved to {aside.name}, the readable lines before them are kept"
            )
        handle.truncate(start)


def tail_skipped(path: Path, lines: list[bytes], number: int) -> bool:
    """Whether line ``number`` (1-based) starts the unreadable tail of ``lines`` (then skipped).

    A tail of newline-terminated lines is skipped with a warning (it is no half-written line).
    """
    rest = lines[number:]
    if any(line.strip() and parses(line) for line in rest):
        return False
    if number < len(lines):  # the bad line has a newline after it
        warn_once(
            f"{path}: line {number} and after could not be read (garbage at the end of the "
            "file, e.g. after a power loss); skipped (the next run in it moves them aside)"
        )
    return True

"""Directories mmrefine made are recognisable, so no command writes into anyone else's.

A run or sweep directory holds ``mmrefine.json`` (:class:`DirMarker`), written before any other
file of it. A command that writes into a directory (``run`` and ``sweep`` with ``--out``,
``--restart``, ``judge``, ``judge --submission``) checks it first, before anything is touched:

- a new directory, or an empty one (a leftover ``.lock`` aside), is claimed: the marker goes in;
- a directory with the marker of the same kind is used;
- a directory an earlier version made is recognised by its files (a run's ``config.yaml`` with
  ``fingerprint.json`` or ``results.jsonl``; a sweep's ``sweep.json``) and gets the marker;
- anything else (a directory with other files in it) is refused, naming the way out.
"""

from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from mmrefine_agent.errors import RunDirError
from mmrefine_agent.records.documents import DirMarker
from mmrefine_agent.records.rundir import write_json_atomic

MARKER = "mmrefine.json"
Kind = Literal["run", "sweep"]

_LEFTOVERS = frozenset({".lock"})
"""Files a directory may hold and still count as empty (the lock a killed claim left)."""


def read_marker(path: Path) -> DirMarker | None:
    """The marker of directory ``path`` (None: absent, or a file of that name that is not one)."""
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
        return DirMarker.model_validate(data) if isinstance(data, dict) else None
    except (OSError, ValueError, ValidationError):
        return None


def _earlier_kind(path: Path) -> Kind | None:
    """What an earlier version's directory (made before the marker) was, by its files.

    The files must read as what that version wrote, not merely carry its names: a run's
    ``config.yaml`` is a mapping with ``model`` and ``strategy`` sections, and its
    ``fingerprint.json`` is a JSON object or the first line of its ``results.jsonl`` a result
    (a JSON object with a ``key``); a sweep's ``sweep.json`` an object with ``cells``.
    """
    if _is_run_config(path / "config.yaml") and (
        _json_object(path / "fingerprint.json") is not None
        or "key" in (_first_json_line(path / "results.jsonl") or {})
    ):
        return "run"
    data = _json_object(path / "sweep.json")
    return "sweep" if data is not None and "cells" in data else None


_MAX_READ = 1 << 20
"""Bytes read from a file to recognise it (a larger config or fingerprint is not one)."""


def _read_head(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return handle.read(_MAX_READ).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _json_object(path: Path) -> dict[str, object] | None:
    text = _read_head(path)
    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _first_json_line(path: Path) -> dict[str, object] | None:
    text = _read_head(path)
    try:
        data = json.loads(text.partition("\n")[0]) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _is_run_config(path: Path) -> bool:
    import yaml

    text = _read_head(path)
    try:
        data = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and all(
        isinstance(data.get(k), dict) for k in ("model", "strategy")
    )


def directory_kind(path: Path) -> Kind | Literal["new", "foreign"]:
    """``run``/``sweep`` (made by mmrefine), ``new`` (absent or empty) or ``foreign``."""
    if not path.exists():
        return "new"
    if not path.is_dir():
        return "foreign"
    marker = read_marker(path)
    if marker is not None:
        return marker.kind
    if {entry.name for entry in path.iterdir()} <= _LEFTOVERS:
        return "new"
    return _earlier_kind(path) or "foreign"


def check_writable(path: Path, kind: Kind) -> None:
    """Raise unless ``path`` is new, empty, or a ``kind`` directory mmrefine made."""
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path} is a file, not a {kind} directory; choose another --out")
    found = directory_kind(path)
    if found in ("new", kind):
        return
    if found == "foreign":
        raise RunDirError(
            f"{path} is not empty and is not a {kind} directory mmrefine made (no {MARKER}); "
            "nothing was written to it: choose a new or empty directory for --out"
        )
    raise RunDirError(
        f"{path} is a {found} directory, not a {kind} directory; choose another --out"
    )


def claim(path: Path, kind: Kind) -> None:
    """Check ``path`` (:func:`check_writable`), create it and write the marker if absent."""
    check_writable(path, kind)
    path.mkdir(parents=True, exist_ok=True)
    if read_marker(path) is None:
        try:
            made_by = f"mmrefine-agent {metadata.version('mmrefine-agent')}"
        except metadata.PackageNotFoundError:
            made_by = "mmrefine-agent"
        created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_json_atomic(path / MARKER, DirMarker(kind=kind, made_by=made_by, created_at=created))

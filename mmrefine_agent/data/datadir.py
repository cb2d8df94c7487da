"""Where the benchmark data lives (resolution order fixed by the design card).

1. an explicit directory (``--data-dir`` / ``data.dir``),
2. the ``MMREFINE_DATA_DIR`` environment variable,
3. ``../shared/data`` beside a source checkout (or beside the current directory),
4. the user cache (filled by ``mmrefine data download``).
"""

from __future__ import annotations

import os
from pathlib import Path

from mmrefine_agent.errors import DataError

PARQUET_NAME = "MMRefine_test.parquet"
PROMPTS_NAME = "mmrefine_official_prompts.json"
ENV_VAR = "MMREFINE_DATA_DIR"


def user_cache_root() -> Path:
    """The per-user cache root (``$XDG_CACHE_HOME/mmrefine`` or the platform default)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "mmrefine"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mmrefine"))


def candidate_dirs(explicit: str | os.PathLike[str] | None = None) -> list[tuple[str, Path]]:
    """Every place looked at, in order, with a label saying why it is a candidate."""
    out: list[tuple[str, Path]] = []
    if explicit:
        out.append(("--data-dir / data.dir", Path(explicit).expanduser()))
    env = os.environ.get(ENV_VAR)
    if env:
        out.append((ENV_VAR, Path(env).expanduser()))
    checkout = Path(__file__).resolve().parents[2]
    out.append(("source checkout", checkout.parent / "shared" / "data"))
    out.append(("current directory", Path.cwd().parent / "shared" / "data"))
    out.append(("user cache", user_cache_root() / "data"))
    return out


def resolve_data_dir(
    explicit: str | os.PathLike[str] | None = None, *, marker: str = PARQUET_NAME
) -> Path:
    """Return the first candidate holding ``marker`` (default: the MMRefine parquet file).

    A dataset plugin passes its own marker (e.g. ``step_benchmarks/prmbench``); the error
    lists every place looked at.
    """
    candidates = candidate_dirs(explicit)
    if explicit:
        path = candidates[0][1]
        if not (path / marker).exists():
            raise DataError(f"data directory {path} (from --data-dir) has no {marker}")
        return path
    seen: set[Path] = set()
    for _label, path in candidates:
        if path in seen:
            continue
        seen.add(path)
        if (path / marker).exists():
            return path
    tried = "\n".join(f"  - {p} ({label})" for label, p in candidates)
    raise DataError(
        f"cannot find {marker}; looked in:\n{tried}\n"
        f"Set {ENV_VAR}, pass --data-dir, or run `mmrefine data download` on a machine "
        "with network access."
    )

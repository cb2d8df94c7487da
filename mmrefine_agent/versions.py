"""Installed distributions' versions, read from their metadata (nothing of them is imported)."""

from __future__ import annotations

from importlib import metadata


def distribution_version(distribution: str, missing: str = "absent") -> str:
    """The installed version of ``distribution`` (``missing`` when it is not installed)."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return missing

"""Small parts shared by trace records (kept apart so tool records can use them too)."""

from __future__ import annotations

from mmrefine_agent.records.base import Part


class ImageSummary(Part):
    """An image as traces record it: its hash and size, never its bytes."""

    sha256: str
    bytes: int = 0
    mime: str = ""
    width: int = 0
    height: int = 0

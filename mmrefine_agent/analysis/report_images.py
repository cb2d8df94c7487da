"""The images the HTML report embeds: each distinct one once, as a data URL, with its facts.

The item's image is shown as the run sent it; an image a tool returned is read from the run
directory (``images/<sha256>.<ext>``) and shown as the tool made it.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrefine_agent.types import Image

DISPLAY_SIDE = 1024
"""Images larger than this (longer side) are downscaled for display in the report."""


@dataclass
class Images:
    """Each distinct image once, as a data URL for display, with what the model was sent."""

    max_side: int | None
    urls: dict[str, str] = field(default_factory=dict)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_dir: Path | None = None
    """Where images tools returned are stored (``images/<sha256>.<ext>``)."""

    def add_stored(self, relative: str | None, sha256: str) -> str | None:
        """A tool's image from the run directory, shown as stored (None when it is missing)."""
        if sha256 in self.urls:
            return sha256
        if relative is None or self.run_dir is None:
            return None
        try:
            image = Image.from_file(self.run_dir / relative)
        except (OSError, ValueError):
            return None
        saved, self.max_side = self.max_side, None  # shown as the tool made it
        try:
            return self.add(image)
        finally:
            self.max_side = saved

    def add(self, image: Image) -> str:
        """Store the image as the run sent it (resized for display); returns its hash."""
        from mmrefine_agent.model.image_urls import encode_image

        if image.sha256 in self.urls:
            return image.sha256
        sent_url = encode_image(image, self.max_side)
        mime, _, data = sent_url.partition(";base64,")
        sent = base64.b64decode(data)
        width, height = _size(image, sent)
        shown_url, shown = sent_url, (width, height)
        if max(width, height) > DISPLAY_SIDE:
            shown_url, shown = _downscaled(sent)
        self.urls[image.sha256] = shown_url
        self.facts[image.sha256] = {
            "sent": f"{mime.removeprefix('data:')} {width}x{height}, {len(sent):,} bytes",
            "shown": None if shown == (width, height) else f"{shown[0]}x{shown[1]}",
            "sha256": image.sha256,
        }
        return image.sha256


def _size(image: Image, sent: bytes) -> tuple[int, int]:
    if sent == image.data:
        return image.width, image.height
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(sent)) as img:
        return img.size


def _downscaled(data: bytes) -> tuple[str, tuple[int, int]]:
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(data)) as img:
        img.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
        buffer = io.BytesIO()
        img.convert("RGB").save(buffer, format="JPEG", quality=85)
        size = img.size
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), size

"""Images as base64 data URLs for OpenAI-style message parts (optionally downscaled)."""

from __future__ import annotations

import base64
import io

from mmrefine_agent.types import ChatMessage, Image


def encode_image(image: Image, max_side: int | None) -> str:
    """A data URL for the image, downscaled so its longer side is at most ``max_side``."""
    data, mime = image.data, image.mime
    if max_side and max(image.width, image.height) > max_side:
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(image.data)) as img:
            img.thumbnail((max_side, max_side))
            buffer = io.BytesIO()
            img.convert("RGB").save(buffer, format="JPEG", quality=90)
        data, mime = buffer.getvalue(), "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class ContentBuilder:
    """OpenAI message content for a ChatMessage; each image is encoded once per size."""

    def __init__(self, max_side: int | None) -> None:
        self.max_side = max_side
        self._urls: dict[str, str] = {}

    def content(self, message: ChatMessage) -> str | list[dict[str, object]]:
        """Plain text, or a text part followed by one image part per image."""
        if not message.images:
            return message.text
        parts: list[dict[str, object]] = [{"type": "text", "text": message.text}]
        for image in message.images:
            url = self._urls.get(image.sha256)
            if url is None:
                url = encode_image(image, self.max_side)
                self._urls[image.sha256] = url
            parts.append({"type": "image_url", "image_url": {"url": url}})
        return parts

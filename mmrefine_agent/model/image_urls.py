"""OpenAI-style chat messages and content parts.

Images go as base64 data URLs (optionally downscaled), an assistant's tool calls on its
message, tool results as ``tool`` messages with their call ids.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

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
    """OpenAI messages and message content; each image is encoded once per size."""

    def __init__(self, max_side: int | None) -> None:
        self.max_side = max_side
        self._urls: dict[str, str] = {}

    def content(self, message: ChatMessage) -> str | list[dict[str, object]]:
        """Plain text, or a text part followed by one image part per image."""
        if not message.images:
            return message.text
        return self._parts(message.text, message.images)

    def _parts(self, text: str, images: Sequence[Image]) -> list[dict[str, object]]:
        parts: list[dict[str, object]] = [{"type": "text", "text": text}]
        for image in images:
            url = self._urls.get(image.sha256)
            if url is None:
                url = encode_image(image, self.max_side)
                self._urls[image.sha256] = url
            parts.append({"type": "image_url", "image_url": {"url": url}})
        return parts

    def messages(self, messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
        """The OpenAI ``messages`` of a request.

        An assistant message sends its tool calls (``content`` null when it has no text); a
        tool message sends its call id and text. Tool messages take text only, so the images
        tool results carry follow the run of tool messages in one user message, each named by
        its tool and call id.
        """
        out: list[dict[str, Any]] = []
        held: list[ChatMessage] = []  # tool results with images, sent after the run of results
        for message in messages:
            if message.role == "tool":
                out.append(
                    {"role": "tool", "tool_call_id": message.tool_call_id or "",
                     "content": message.text}
                )  # fmt: skip
                if message.images:
                    held.append(message)
                continue
            if held:
                out.append(self._tool_images(held))
                held = []
            entry: dict[str, Any] = {"role": message.role, "content": self.content(message)}
            if message.tool_calls:
                entry["content"] = entry["content"] or None
                entry["tool_calls"] = [
                    {"id": call.id, "type": "function",
                     "function": {"name": call.name, "arguments": call.arguments_json}}
                    for call in message.tool_calls
                ]  # fmt: skip
            out.append(entry)
        if held:
            out.append(self._tool_images(held))
        return out

    def _tool_images(self, results: list[ChatMessage]) -> dict[str, Any]:
        """One user message carrying the images of ``results`` (each after a line naming it)."""
        parts: list[dict[str, object]] = []
        for result in results:
            tool = result.name or "the tool"
            label = f"The image returned by {tool} (call {result.tool_call_id})."
            parts += self._parts(label, result.images)
        return {"role": "user", "content": parts}

"""Core value types shared by every part of the framework.

These are plain frozen dataclasses: cheap to build, hashable where it matters, and free of
any heavy import, so that commands which never call a model stay fast.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mmrefine_agent.records.models import (
        CallUsage,
        ImageSummary,
        MessageSummary,
        ToolCallRecord,
    )

Label = Literal["correct", "incorrect"]
Modality = Literal["text", "image"]
Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class Image:
    """An image attached to a message: encoded bytes plus what Pillow found when decoding."""

    data: bytes
    mime: str
    width: int
    height: int
    sha256: str = field(default="", compare=False)
    """Hex digest of the encoded bytes (what traces and cache keys record); computed once."""

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())

    @classmethod
    def from_bytes(cls, data: bytes) -> Image:
        """An image from encoded bytes, decoded and checked with Pillow.

        Raises ValueError for empty, undecodable or decompression-bomb data.
        """
        from PIL import Image as PILImage

        if not data:
            raise ValueError("image bytes are empty")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", PILImage.DecompressionBombWarning)
                return _decode_image(data)
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
            raise ValueError(f"image refused as a decompression bomb: {exc}") from None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Image:
        """An image read from a file (PNG, JPEG, ...), decoded and checked with Pillow.

        Raises OSError if the file cannot be read, ValueError if it is not a valid image.
        """
        return cls.from_bytes(Path(path).read_bytes())

    def summary(self) -> ImageSummary:
        """A description of the image without its bytes (what traces record)."""
        from mmrefine_agent.records.models import ImageSummary

        return ImageSummary(
            sha256=self.sha256,
            bytes=len(self.data),
            mime=self.mime,
            width=self.width,
            height=self.height,
        )


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]++")


def _stable(message: str) -> str:
    """``message`` without memory addresses (``<_io.BytesIO object at 0x7f...>``).

    A failure's message is compared across sessions (a resumed run records a row's error
    again only when it changed), so it must not change from one process to the next.
    """
    return _ADDRESS.sub(" at <address>", message)


def _decode_image(data: bytes) -> Image:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(data)) as img:
            width, height = img.size
            fmt = (img.format or "").upper()
            # Decode at reduced scale where the format allows it (JPEG): cheap, and still
            # reads the whole compressed stream, so truncated or corrupt data fails here.
            img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            img.load()
    except UnidentifiedImageError as exc:  # its message names a buffer by memory address
        raise ValueError("cannot decode image: not in an image format Pillow reads") from exc
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"cannot decode image: {_stable(str(exc))}") from exc
    mime = PILImage.MIME.get(fmt, "image/jpeg")
    return Image(data=data, mime=mime, width=width, height=height)


@dataclass(frozen=True, slots=True)
class Item:
    """One benchmark item: a question, an initial solution to review, and its label.

    Step numbers are **1-based everywhere in the project**: ``first_wrong_step == 1`` names the
    first step of ``steps``, exactly as a model writes "Error found in step 1". Each dataset
    converts its source's convention on loading (BIG-Bench Mistake's 0-based ``mistake_index``
    becomes ``mistake_index + 1``). An empty ``answer`` means the dataset has no gold answer.
    """

    key: str
    id: str
    question: str
    options: tuple[str, ...]
    image: Image | None
    answer: str
    initial_solution: str
    label: Label
    reference_feedback: str | None
    error_type: str | None
    source: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    dataset: str = "mmrefine"
    """The registered dataset the item comes from (``data.name``)."""
    steps: tuple[str, ...] = ()
    """The solution's steps, without their numbers (empty: the solution is one free text)."""
    first_wrong_step: int | None = None
    """The labelled first wrong step (1-based), None for correct solutions or when unknown.
    MMRefine items leave it None: their reference feedback names a step in ~20% of the rows,
    and analysis reads that ("the first 'step N' of the feedback") where it needs one."""
    category: str | None = None
    """A dataset-specific breakdown (PRMBench error class, BIG-Bench Mistake task, Mr-Ben
    subject); None for MMRefine, which breaks down by ``error_type`` and ``source``."""

    @property
    def modality(self) -> Modality:
        """``image`` when the row carries an image, else ``text``."""
        return "image" if self.image is not None else "text"

    @property
    def problem(self) -> str:
        """The problem id (the four solutions of one problem share it)."""
        return self.id


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call a model asked for: its id, the tool's name and the arguments.

    ``arguments`` is the parsed JSON object; ``raw_arguments`` the string as the model wrote
    it (kept for the record and sent back as is). Arguments that are not a JSON object parse
    to ``{}`` with the reason in ``problem`` (running the call then reports it to the model).
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)
    raw_arguments: str = ""
    problem: str | None = None

    @classmethod
    def parse(cls, id: str, name: str, raw: object) -> ToolCall:
        """A call from a provider's reply: ``raw`` is the JSON text (or an already parsed dict)."""
        if isinstance(raw, dict):
            return cls(id, name, dict(raw), json.dumps(raw, ensure_ascii=False))
        text = "" if raw is None else str(raw)
        try:
            value = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            return cls(id, name, {}, text, f"arguments are not valid JSON: {exc}")
        if not isinstance(value, dict):
            return cls(id, name, {}, text, "arguments are not a JSON object")
        return cls(id, name, value, text)

    @classmethod
    def from_openai(cls, entry: object, index: int = 0) -> ToolCall:
        """A call from an OpenAI-style ``tool_calls`` entry (a dict or an object with fields).

        A missing id becomes ``call_<index>``; a missing name ``""`` (running it then fails
        as an unknown tool, which the model is told).
        """

        def get(value: object, name: str) -> Any:
            if isinstance(value, dict):
                return value.get(name)
            return getattr(value, name, None)

        function = get(entry, "function")
        call_id = get(entry, "id") or f"call_{index}"
        return cls.parse(str(call_id), str(get(function, "name") or ""), get(function, "arguments"))

    @property
    def arguments_json(self) -> str:
        """The arguments as JSON text: the model's own string when there is one."""
        return self.raw_arguments or json.dumps(self.arguments, ensure_ascii=False)

    def summary(self) -> ToolCallRecord:
        """The form traces record."""
        from mmrefine_agent.records.models import ToolCallRecord

        return ToolCallRecord(
            id=self.id,
            name=self.name,
            arguments=self.arguments,
            raw_arguments=self.raw_arguments,
            problem=self.problem,
        )


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A backend-neutral chat message: text plus any images, in order text first.

    An ``assistant`` message may carry the ``tool_calls`` the model made; a ``tool`` message
    is one call's result (``tool_call_id`` names the call, ``name`` the tool) and may carry
    images a tool returned (OpenAI-compatible backends send those in a user message after the
    tool results, as tool messages take text only).
    """

    role: Role
    text: str
    images: tuple[Image, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    def summary(self) -> MessageSummary:
        """The form traces record: the full text, images as hash and size only."""
        from mmrefine_agent.records.models import MessageSummary

        summary = MessageSummary(
            role=self.role, text=self.text, images=[img.summary() for img in self.images]
        )
        if self.tool_calls or self.tool_call_id is not None:
            summary.tool_calls = [call.summary() for call in self.tool_calls]
            summary.tool_call_id = self.tool_call_id
            summary.name = self.name
        return summary


@dataclass(frozen=True, slots=True)
class CallTags:
    """Where a model call comes from. Not part of the cache key."""

    item_key: str
    node: str
    round: int
    purpose: Literal["refine", "judge"] = "refine"


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One chat-completion request as the framework sees it."""

    messages: tuple[ChatMessage, ...]
    params: dict[str, Any]
    tags: CallTags


@dataclass(slots=True)
class ModelResponse:
    """What a backend returned for one request, with its accounting."""

    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    cache_hit: bool = False
    finish_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    """The tools the model asked to call (empty: a plain answer)."""

    def as_message(self) -> ChatMessage:
        """The reply as the assistant message of a conversation (text and tool calls)."""
        return ChatMessage("assistant", self.text, tool_calls=tuple(self.tool_calls))

    def usage(self) -> CallUsage:
        """The accounting of this call as a record."""
        from mmrefine_agent.records.models import CallUsage

        return CallUsage(
            model=self.model,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=self.cost_usd,
            latency_s=round(self.latency_s, 4),
            cache_hit=self.cache_hit,
            finish_reason=self.finish_reason,
        )

"""What a trace records about tools: the calls a model made and each call's run.

A call (:class:`ToolCallRecord`) sits on the model call that asked for it; its run
(:class:`ToolRunRecord`) sits on the step that ran it, linked by the call id. An image a tool
returned is summarised here and stored once in the run directory, content-addressed, as
``images/<sha256>.<ext>`` (``image_file``); ``steps.jsonl`` never holds image bytes.
"""

from __future__ import annotations

from pydantic import Field, JsonValue

from mmrefine_agent.records.base import Part
from mmrefine_agent.records.trace_parts import ImageSummary

IMAGES_DIR = "images"
"""The run-directory folder that holds the images tools returned (one file per content)."""

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def image_file(sha256: str, mime: str) -> str:
    """The run-relative path of a stored tool image: ``images/<sha256>.<ext>``."""
    return f"{IMAGES_DIR}/{sha256}.{EXTENSIONS.get(mime, 'bin')}"


class ToolCallRecord(Part):
    """One tool call as the model made it (on the call record that returned it)."""

    id: str
    name: str
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    raw_arguments: str = ""
    """The arguments as the model wrote them (JSON text)."""
    problem: str | None = None
    """Why the arguments could not be read (not JSON, not an object), if they could not."""


class ToolRunRecord(Part):
    """One tool call run by the framework: what went in, what came back, how it ended."""

    call_id: str
    name: str
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    result: str = ""
    """The text the model was sent as the call's result (an error's message included)."""
    error: bool = False
    """True when the tool failed (raised, refused, timed out, unknown name, bad arguments)."""
    error_type: str | None = None
    """The exception's type name when the tool raised."""
    image: ImageSummary | None = None
    image_file: str | None = None
    """Where the returned image is stored, relative to the run directory."""
    elapsed_s: float = 0.0
    timestamp: float = 0.0
    """When the tool started (seconds since the epoch; 0: not recorded, as in older runs)."""

"""Run one tool call: the item's context set, every failure turned into a result, traced.

:func:`run_tool_call` never raises for a tool's own failure: an unknown tool, arguments that
are not a JSON object, arguments the tool's schema refuses, an exception in the tool, a
timeout: each becomes a :class:`ToolResult` with ``error`` set and the reason as its text (the
model reads it), and a :class:`ToolRunRecord` for the trace. Only cancellation goes through.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from mmrefine_agent.records.models import ToolRunRecord
from mmrefine_agent.records.steps import jsonable
from mmrefine_agent.records.tool_records import image_file
from mmrefine_agent.redact import scrub_text
from mmrefine_agent.tools.box import ToolBox
from mmrefine_agent.tools.context import ToolContext, reset_tool_context, set_tool_context
from mmrefine_agent.tools.results import ToolResult, clip, content_text
from mmrefine_agent.types import Image, ToolCall

TIMEOUT_S = 120.0
"""The longest a tool call may take, unless the tool's ``metadata["timeout_s"]`` says."""


@dataclass(frozen=True, slots=True)
class ToolRun:
    """One call run: the result for the model and the record for the trace."""

    result: ToolResult
    record: ToolRunRecord

    @property
    def image_files(self) -> dict[str, bytes]:
        """The returned image's bytes by run-relative path (empty without an image)."""
        image = self.result.image
        if image is None or self.record.image_file is None:
            return {}
        return {self.record.image_file: image.data}


async def run_tool_call(
    call: ToolCall, tools: ToolBox, context: ToolContext, *, timeout_s: float | None = None
) -> ToolRun:
    """Run ``call`` with ``context`` readable by the tool (see :func:`tool_context`).

    ``timeout_s`` bounds the call (default: the tool's ``metadata["timeout_s"]``, else
    :data:`TIMEOUT_S`); a synchronous tool that overruns is reported as timed out while its
    worker thread finishes on its own.
    """
    started, timestamp = time.perf_counter(), time.time()
    text, image, error_type = "", None, None
    tool = tools.get(call.name)
    if timeout_s is None:
        declared = (getattr(tool, "metadata", None) or {}).get("timeout_s")
        timeout_s = float(declared) if isinstance(declared, int | float) else TIMEOUT_S
    if call.problem is not None:
        text, error_type = f"the call was not run: {call.problem}", "ArgumentsError"
    elif tool is None:
        offered = ", ".join(tools.names) or "none"
        text, error_type = f"unknown tool {call.name!r}; offered: {offered}", "UnknownTool"
    else:
        token = set_tool_context(context)
        try:
            message = await asyncio.wait_for(
                tool.ainvoke(
                    {"type": "tool_call", "id": call.id, "name": call.name, "args": call.arguments}
                ),
                timeout_s,
            )
            text, image, failed = _read(message)
            error_type = "ToolError" if failed else None
        except TimeoutError:
            text, error_type = f"{call.name} did not finish within {timeout_s:g} s", "Timeout"
        except Exception as exc:  # the tool's own failure: the model is told, the run goes on
            text, error_type = _failure(exc), type(exc).__name__
        finally:
            reset_tool_context(token)
    text = clip(text)
    result = ToolResult(call.id, call.name, text, image, error_type is not None)
    record = ToolRunRecord(
        call_id=call.id,
        name=call.name,
        arguments={str(k): jsonable(v) for k, v in call.arguments.items()},
        result=text,
        error=error_type is not None,
        error_type=error_type,
        image=image.summary() if image is not None else None,
        image_file=image_file(image.sha256, image.mime) if image is not None else None,
        elapsed_s=round(time.perf_counter() - started, 4),
        timestamp=timestamp,
    )
    return ToolRun(result, record)


def _read(message: Any) -> tuple[str, Image | None, bool]:
    """(text, image, failed) from what a langchain-core tool returned for a tool call."""
    content = getattr(message, "content", message)
    artifact = getattr(message, "artifact", None)
    image = artifact if isinstance(artifact, Image) else None
    if isinstance(content, Image):  # a tool that returned an image as its content
        image, content = content, f"[image {content.width}x{content.height}]"
    failed = getattr(message, "status", "success") == "error"
    return content_text(content), image, failed


def _failure(exc: Exception) -> str:
    """What the model reads when a tool raised (credential-shaped text masked)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
            for e in exc.errors()[:5]
        )
        return scrub_text(f"invalid arguments: {problems}")
    if type(exc).__name__ == "ToolException":
        return scrub_text(str(exc))
    return scrub_text(f"{type(exc).__name__}: {exc}")

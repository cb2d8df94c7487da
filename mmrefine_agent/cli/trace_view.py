"""``mmrefine trace``: one item, step by step, from the run directory (offline, instant)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mmrefine_agent.errors import RunDirError
from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES
from mmrefine_agent.records.rundir import RunDir


def _clip(text: str | None, full: bool, limit: int = 600) -> str:
    if text is None:
        return "-"
    if full or len(text) <= limit:
        return text
    return text[:limit] + f" ... [{len(text) - limit} more chars; --full shows all]"


def _scenario(judgment: dict[str, Any] | None) -> str:
    if not judgment:
        return "not judged"
    code = judgment.get("scenario", "?")
    name = OFFICIAL_NAMES.get(code, code)
    proxy = " (proxy)" if judgment.get("is_proxy") else ""
    error = f" - {judgment['error']}" if judgment.get("error") else ""
    return f"{code} {name}{proxy}{error}"


def render_trace(console: Console, run_path: Path, item_key: str, *, full: bool = False) -> None:
    """Print the item's result header, then every step in order."""
    run = RunDir(run_path).require()
    result = next((r for r in run.results() if r.get("key") == item_key), None)
    steps = run.steps(item_key)
    if result is None and not steps:
        keys = [r.get("key") for r in run.results()][:5]
        raise RunDirError(f"{run_path}: no item {item_key!r} (e.g. {', '.join(map(str, keys))})")
    if result is not None:
        header = Table.grid(padding=(0, 2))
        header.add_row("item", item_key)
        for label, field in (
            ("label", "label"),
            ("error type", "error_type"),
            ("source", "source"),
            ("modality", "modality"),
            ("status", "status"),
            ("strategy", "strategy"),
            ("model", "model"),
        ):
            header.add_row(label, str(result.get(field)))
        header.add_row("final scenario", _scenario(result.get("judgment")))
        for entry in result.get("round_judgments") or []:
            header.add_row(f"  round {entry.get('round')}", _scenario(entry))
        if result.get("error"):
            header.add_row("error", Text(str(result["error"]), style="red"))
        console.print(Panel(header, title=f"trace {item_key}"))
        context = run.submission().get(str(result.get("key"))) or {}
        for label, field in (
            ("question", "question"),
            ("initial solution", "initial_solution"),
            ("reference feedback", "reference_feedback"),
        ):
            if context.get(field):
                console.print(
                    Panel(Text(_clip(context[field], full, 1500)), title=label, title_align="left")
                )
    for number, step in enumerate(steps, start=1):
        parts: list[Any] = []
        for call in step.get("calls") or []:
            for message in call.get("messages") or []:
                images = message.get("images") or []
                suffix = "".join(
                    f"\n[image sha256 {i['sha256'][:12]}..., {i['width']}x{i['height']}]"
                    for i in images
                )
                parts.append(
                    Text(f"{message.get('role')}: ", style="bold cyan")
                    + Text(_clip(message.get("text"), full, 300) + suffix)
                )
            parts.append(
                Text("answer: ", style="bold green") + Text(_clip(call.get("answer"), full))
            )
            usage = call.get("usage") or {}
            parts.append(
                Text(
                    f"model {usage.get('model')}  tokens {usage.get('input_tokens')}/"
                    f"{usage.get('output_tokens')}  latency {usage.get('latency_s')}s  "
                    f"cache {'hit' if usage.get('cache_hit') else 'miss'}",
                    style="dim",
                )
            )
        if not step.get("calls"):
            parts.append(Text("(parse-only step: no model call)", style="dim"))
        parts.append(
            Text("parsed: ", style="bold")
            + Text(_clip(json.dumps(step.get("parsed"), ensure_ascii=False), full))
        )
        for problem in step.get("parse_errors") or []:
            parts.append(Text(f"parse problem: {problem}", style="yellow"))
        for note in step.get("notes") or []:
            parts.append(Text(f"note: {note}", style="magenta"))
        console.print(
            Panel(
                Group(*parts),
                title=f"{number}. round {step.get('round')} - {step.get('node')}",
                title_align="left",
            )
        )

"""``mmrefine trace``: one item, step by step, then what the judge read and decided."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mmrefine_agent import ItemResult, RunView, StepEvent, open_run, scenario_rule
from mmrefine_agent.cli.safe_text import cell, safe
from mmrefine_agent.errors import RunDirError
from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES
from mmrefine_agent.records.models import JudgmentRecord, MessageSummary, ToolRunRecord


def _clip(text: str | None, full: bool, limit: int = 600) -> str:
    if text is None:
        return "-"
    text = safe(text)
    if full or len(text) <= limit:
        return text
    return text[:limit] + f" ... [{len(text) - limit} more chars; --full shows all]"


def _scenario(judgment: JudgmentRecord | None) -> str:
    if judgment is None:
        return "not judged"
    name = OFFICIAL_NAMES.get(judgment.scenario, judgment.scenario)
    proxy = " (proxy)" if judgment.is_proxy else ""
    error = f" - {safe(judgment.error)}" if judgment.error else ""
    return f"{judgment.scenario} {name}{proxy}{error}"


def _header(view: RunView, result: ItemResult, full: bool) -> list[Any]:
    header = Table.grid(padding=(0, 2))
    header.add_row("item", cell(result.key))
    for label, value in (
        ("label", result.label),
        ("error type", result.error_type),
        ("source", result.source),
        ("modality", result.modality),
        ("status", result.status),
        ("strategy", result.strategy),
        ("model", result.model),
    ):
        header.add_row(label, cell(value))
    if result.uses_gold:
        header.add_row("uses gold", "the strategy read the gold answer or label while refining")
    if result.replayed:
        header.add_row(
            "replayed",
            "from the item cache: the steps below are those of the session that ran its graph "
            "(same item, settings and code), their calls counted as cache hits",
        )
    from mmrefine_agent.analysis.stopping import stop_reason

    max_rounds = view.config.strategy.max_rounds
    header.add_row("stopped", cell(stop_reason(result, max_rounds)[1]))
    header.add_row("final scenario", cell(_scenario(result.judgment)))
    for entry in result.round_judgments:
        header.add_row(f"  round {entry.round}", cell(_scenario(entry)))
    if result.error:
        header.add_row("error", Text(safe(result.error), style="red"))
    parts: list[Any] = [Panel(header, title=cell(f"trace {result.key}"))]
    item = view.items.get(result.key)
    if item is not None:
        for label, text in (
            ("question", item.question),
            ("initial solution", item.initial_solution),
            ("reference feedback", item.reference_feedback),
        ):
            if text:
                parts.append(Panel(Text(_clip(text, full, 1500)), title=label, title_align="left"))
    return parts


def _arguments(arguments: object, full: bool) -> str:
    return _clip(json.dumps(arguments, ensure_ascii=False), full, 300)


def _message(message: MessageSummary, full: bool) -> Text:
    """One prompt message: its role (a tool result names its tool and call), text, images."""
    role = message.role
    if message.tool_call_id is not None:
        role = safe(f"tool {message.name or '?'} [{message.tool_call_id}]")
    text = _clip(message.text, full, 300)
    if message.tool_calls:
        text += "".join(safe(f"\n(calls {c.name} [{c.id}])") for c in message.tool_calls)
    suffix = "".join(
        f"\n[image sha256 {i.sha256[:12]}..., {i.width}x{i.height}]" for i in message.images
    )
    return Text(f"{role}: ", style="bold cyan") + Text(text + suffix)


def _tool_run(run: ToolRunRecord, run_path: Path, full: bool) -> list[Any]:
    """A tool run: its result (red when it failed) and where its image is stored."""
    style = "red" if run.error else "green"
    label = safe(f"  -> {run.name} [{run.call_id}] {'failed' if run.error else 'returned'}: ")
    lines: list[Any] = [Text(label, style=f"bold {style}") + Text(_clip(run.result, full, 600))]
    if run.image is not None:
        where = run_path / run.image_file if run.image_file else "(not stored)"
        lines.append(
            Text(f"     image {run.image.width}x{run.image.height}: {where}", style="magenta")
        )
    return lines


def _tool_lines(step: StepEvent, run_path: Path, full: bool) -> tuple[list[list[Any]], list[Any]]:
    """Per call of the step, its tool calls each followed by its run; then unmatched runs."""
    runs = {run.call_id: run for run in step.tool_runs}
    shown: set[str] = set()
    per_call: list[list[Any]] = []
    for call in step.calls:
        lines: list[Any] = []
        for tool_call in call.tool_calls:
            given = (
                _clip(tool_call.raw_arguments, full, 300)
                if tool_call.problem
                else _arguments(tool_call.arguments, full)
            )
            called = safe(f"{tool_call.name}({given}) [{tool_call.id}]")
            lines.append(Text("tool call: ", style="bold yellow") + Text(called))
            if tool_call.problem:
                lines.append(Text(f"  arguments: {safe(tool_call.problem)}", style="red"))
            if tool_call.id in runs and tool_call.id not in shown:
                shown.add(tool_call.id)
                lines += _tool_run(runs[tool_call.id], run_path, full)
        per_call.append(lines)
    rest: list[Any] = []
    for run in step.tool_runs:
        if run.call_id not in shown:
            called = safe(f"{run.name}({_arguments(run.arguments, full)}) [{run.call_id}]")
            rest.append(Text("tool run: ", style="bold yellow") + Text(safe(called)))
            rest += _tool_run(run, run_path, full)
    return per_call, rest


def _step_panel(number: int, step: StepEvent, full: bool, run_path: Path = Path(".")) -> Panel:
    parts: list[Any] = []
    per_call, other_runs = _tool_lines(step, run_path, full)
    for call, tool_lines in zip(step.calls, per_call, strict=True):
        parts += [_message(message, full) for message in call.messages]
        parts.append(Text("answer: ", style="bold green") + Text(_clip(call.answer, full)))
        parts += tool_lines
        usage = call.usage
        offered = call.params.get("tools")
        tools = f"  tools {', '.join(map(str, offered))}" if isinstance(offered, list) else ""
        parts.append(
            Text(
                f"model {usage.model}  tokens {usage.input_tokens}/{usage.output_tokens}  "
                f"latency {usage.latency_s}s  cache {'hit' if usage.cache_hit else 'miss'}" + tools,
                style="dim",
            )
        )
    parts += other_runs
    if not step.calls and not step.tool_runs:
        parts.append(Text("(parse-only step: no model call)", style="dim"))
    parts.append(
        Text("parsed: ", style="bold")
        + Text(_clip(json.dumps(step.parsed, ensure_ascii=False), full))
    )
    for problem in step.parse_errors:
        parts.append(Text(f"parse problem: {safe(problem)}", style="yellow"))
    for note in step.notes:
        parts.append(Text(f"note: {safe(note)}", style="magenta"))
    if step.error is not None:
        parts.append(Text(f"error: {step.error.type}: {safe(step.error.message)}", style="red"))
    title = cell(f"{number}. round {step.round} - {step.node}")
    return Panel(Group(*parts), title=title, title_align="left")


def _judge_panels(view: RunView, result: ItemResult, full: bool) -> list[Panel]:
    calls = view.judgments_for(result.key)
    responses = {r.round: r.response for r in result.rounds}
    panels = []
    for entry in result.round_judgments:
        parts: list[Any] = [
            Text("response the judge read: ", style="bold")
            + Text(_clip(responses.get(entry.round), full))
        ]
        for call in (c for c in calls if c.round == entry.round):
            attempt = f" (attempt {call.attempt})" if call.attempt > 1 else ""
            parts.append(Text(f"{call.call}{attempt}", style="bold cyan"))
            if call.prompt:
                parts.append(Text("  prompt: ", style="dim") + Text(_clip(call.prompt, full, 200)))
            parts.append(Text("  reply: ", style="green") + Text(_clip(call.reply, full, 400)))
            parts.append(Text(f"  parsed: {safe(json.dumps(call.parsed, ensure_ascii=False))}"))
            if call.error:
                parts.append(Text(f"  error: {safe(call.error)}", style="red"))
        parts.append(Text(f"scenario {_scenario(entry)}", style="bold"))
        rule = entry.rule or scenario_rule(str(result.label), entry.scenario, entry.fields)
        parts.append(Text("rule: ", style="bold") + Text(safe(rule)))
        panels.append(
            Panel(Group(*parts), title=f"judge - round {entry.round}", title_align="left")
        )
    return panels


def list_items(console: Console, view: RunView) -> None:
    """Every item of the run: key, status, scenario, rounds (what ``trace RUN`` shows)."""
    table = Table(title=cell(f"items of {view.path} (mmrefine trace {view.path} KEY)"))
    for column in ("key", "status", "scenario", "label", "modality", "rounds"):
        table.add_column(column)
    for r in view.results:
        table.add_row(
            cell(r.key), r.status, r.scenario or "-", str(r.label), str(r.modality),
            str(r.n_rounds),
        )  # fmt: skip
    console.print(table)


def render_trace(
    console: Console,
    run_path: Path,
    item_key: str | None,
    *,
    full: bool = False,
    plugins: Sequence[str] = (),
) -> None:
    """Print the item's result header, every step in order, then the judge per round.

    The plugin modules the run was made with (and ``plugins``) are loaded and checked first.
    """
    view = open_run(run_path, plugins)
    view.plugins  # noqa: B018 - loads and checks the run's plugins (a PluginError if changed)
    if item_key is None:
        list_items(console, view)
        return
    result = view.result(item_key)
    steps = view.steps_for(item_key)
    if result is None and not steps:
        keys = [r.key for r in view.results][:5]
        raise RunDirError(
            f"{run_path}: no item {item_key!r} (e.g. {', '.join(keys)}; "
            f"`mmrefine report {run_path} --json` lists them all)"
        )
    if result is not None:
        for part in _header(view, result, full):
            console.print(part)
    for number, step in enumerate(steps, start=1):
        console.print(_step_panel(number, step, full, run_path))
    if result is not None:
        for panel in _judge_panels(view, result, full):
            console.print(panel)

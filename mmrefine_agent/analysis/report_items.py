"""What the HTML report embeds per item: a summary row, an on-demand trace, the images.

Size is kept down three ways: every text is split into paragraphs and each distinct paragraph
is stored once (:class:`Strings`; prompts repeat the question and the solution verbatim), each
distinct image is stored once (by its hash; :mod:`.report_images`), and a trace is a JSON
block of its own that the page parses only when the item is opened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from mmrefine_agent.analysis.metrics import final_scenario
from mmrefine_agent.analysis.report_images import Images
from mmrefine_agent.judging.scenarios import scenario_rule
from mmrefine_agent.records.models import (
    CallRecord,
    ItemResult,
    JudgeCallRecord,
    RoundJudgment,
    StepEvent,
    ToolRunRecord,
)
from mmrefine_agent.types import Item

_STEP_START = re.compile(r"^[ \t>*#_]*step[ \t]*(\d+)\b", re.IGNORECASE | re.MULTILINE)
_NUMBERED = re.compile(r"^[ \t>*#_]*(\d+)[.)][ \t*_]", re.MULTILINE)


class Strings:
    """Interned paragraphs: a text becomes ids; joined with blank lines they restore it."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._ids: dict[str, int] = {}

    def ids(self, text: str | None) -> list[int] | None:
        """The paragraph ids of ``text`` (None stays None)."""
        if text is None:
            return None
        out = []
        for part in text.split("\n\n"):
            index = self._ids.get(part)
            if index is None:
                index = self._ids[part] = len(self.values)
                self.values.append(part)
            out.append(index)
        return out


def solution_steps(text: str, steps: Sequence[str]) -> tuple[bool, list[tuple[int | None, str]]]:
    """A solution as numbered steps, and whether the numbering is the solution's own.

    The dataset's own steps, else its ``Step N`` markers, else its ``1)``/``1.`` lines counting
    up from 1, else its paragraphs numbered 1, 2, ... (then ``False``: the report's guess).
    """
    if steps:
        return True, [(number, step) for number, step in enumerate(steps, 1)]
    marks = list(_STEP_START.finditer(text))
    if not marks:  # "1) ...", "2. ..." lines, when they count up from 1
        numbered = list(_NUMBERED.finditer(text))
        counted = [int(m.group(1)) for m in numbered]
        if len(counted) >= 2 and counted == list(range(1, len(counted) + 1)):
            marks = numbered
    if marks:
        out: list[tuple[int | None, str]] = []
        if text[: marks[0].start()].strip():
            out.append((None, text[: marks[0].start()].strip()))
        for mark, following in zip(marks, [*marks[1:], None], strict=True):
            end = following.start() if following else len(text)
            out.append((int(mark.group(1)), text[mark.start() : end].strip()))
        return True, out
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return False, [(number, p) for number, p in enumerate(paragraphs, 1)]


def summary_row(record: ItemResult, steps: Sequence[StepEvent]) -> dict[str, Any]:
    """The item's row: what the table, the gallery filters and the counts read."""
    sequence = [j.scenario for j in record.round_judgments]
    transitions = sorted({f"{a}->{b}" for a, b in pairwise(sequence)})
    return {
        "key": record.key,
        "label": record.label or "",
        "error_type": record.error_type or "",
        "source": record.source,
        "modality": record.modality or "",
        "status": record.status,
        "scenario": (final_scenario(record) or "") if record.status == "ok" else "",
        "rounds": sequence,
        "transitions": transitions,
        "parse_failed": sorted({s.node for s in steps if s.parse_errors}),
        "tokens": record.usage.tokens,
        "cost": record.usage.cost_usd,
    }


def _call(call: CallRecord, strings: Strings) -> dict[str, Any]:
    return {
        "messages": [
            {
                "role": m.role,
                "text": strings.ids(m.text),
                "images": [i.sha256 for i in m.images],
                "tool_calls": [c.name for c in m.tool_calls],
                "tool_call_id": m.tool_call_id,
                "name": m.name,
            }
            for m in call.messages
        ],
        "answer": strings.ids(call.answer),
        "tool_calls": [
            {"id": c.id, "name": c.name, "arguments": c.arguments, "problem": c.problem}
            for c in call.tool_calls
        ],
        "tools": call.params.get("tools") if isinstance(call.params.get("tools"), list) else [],
        "model": call.usage.model,
        "tokens": [call.usage.input_tokens, call.usage.output_tokens],
        "latency_s": call.usage.latency_s,
        "cache_hit": call.usage.cache_hit,
        "error": call.error,
    }


def _tool_run(run: ToolRunRecord, strings: Strings, images: Images) -> dict[str, Any]:
    return {
        "call_id": run.call_id,
        "name": run.name,
        "arguments": run.arguments,
        "result": strings.ids(run.result),
        "error": run.error,
        "error_type": run.error_type,
        "image": images.add_stored(run.image_file, run.image.sha256) if run.image else None,
        "elapsed_s": run.elapsed_s,
    }


def _step(step: StepEvent, strings: Strings, images: Images) -> dict[str, Any]:
    return {
        "node": step.node,
        "calls": [_call(c, strings) for c in step.calls],
        "tool_runs": [_tool_run(r, strings, images) for r in step.tool_runs],
        "parsed": step.parsed,
        "parse_errors": step.parse_errors,
        "notes": step.notes,
        "error": step.error.message if step.error else None,
    }


def _judge_call(call: JudgeCallRecord, strings: Strings) -> dict[str, Any]:
    return {
        "call": call.call,
        "judge": call.judge,
        "attempt": call.attempt,
        "prompt": strings.ids(call.prompt),
        "reply": strings.ids(call.reply),
        "parsed": call.parsed,
        "error": call.error,
    }


def _judgment(record: ItemResult, judged: RoundJudgment | None) -> dict[str, Any] | None:
    if judged is None:
        return None
    return {
        "judge": judged.judge,
        "scenario": judged.scenario,
        "rule": scenario_rule(record.label, judged.scenario, judged.fields, judged.rule),
        "fields": judged.fields,
        "error": judged.error,
        "proxy": judged.is_proxy,
    }


def trace_payload(
    record: ItemResult,
    item: Item | None,
    steps: Sequence[StepEvent],
    judge_calls: Sequence[JudgeCallRecord],
    reference_step: int | None,
    strings: Strings,
    images: Images,
) -> dict[str, Any]:
    """Everything the item view shows, texts as paragraph ids and images as hashes."""
    judged = {j.round: j for j in record.round_judgments}
    if not judged and record.judgment is not None and record.rounds:
        final = RoundJudgment(**record.judgment.model_dump(), round=record.rounds[-1].round)
        judged = {final.round: final}
    rounds = []
    for summary in record.rounds:
        rounds.append(
            {
                "round": summary.round,
                "reviewed": strings.ids(summary.reviewed_solution),
                "reviewed_steps": _steps(summary.reviewed_solution or "", strings),
                "corrected": strings.ids(summary.corrected_solution),
                "verdict": summary.verdict,
                "error_step": summary.error_step,
                "explanation": strings.ids(summary.error_explanation),
                "final_answer": summary.final_answer,
                "parse_errors": summary.parse_errors,
                "response": strings.ids(summary.response),
                "nodes": [_step(s, strings, images) for s in steps if s.round == summary.round],
                "judgment": _judgment(record, judged.get(summary.round)),
                "judge_calls": [
                    _judge_call(c, strings) for c in judge_calls if c.round == summary.round
                ],
            }
        )
    seen = {r.round for r in record.rounds}
    orphans = [_step(s, strings, images) for s in steps if s.round not in seen]  # failed items
    numbered, solution = False, list[tuple[int | None, str]]()
    image = None
    if item is not None:
        numbered, solution = solution_steps(item.initial_solution, item.steps)
        if item.image is not None:
            image = images.add(item.image)
    return {
        "key": record.key,
        "question": strings.ids(item.question) if item else None,
        "options": list(item.options) if item else [],
        "gold": item.answer if item else None,
        "image": image,
        "image_not_seen": record.image_not_seen,
        "numbered": numbered,
        "solution": [[n, strings.ids(text)] for n, text in solution],
        "reference_feedback": strings.ids(item.reference_feedback) if item else None,
        "reference_step": reference_step,
        "error": record.error,
        "rounds": rounds,
        "other_steps": orphans,
        "final_rule": _judgment(record, _final(record)),
    }


def _steps(text: str, strings: Strings) -> list[list[Any]]:
    return [[n, strings.ids(step)] for n, step in solution_steps(text, ())[1]]


def _final(record: ItemResult) -> RoundJudgment | None:
    if record.judgment is None:
        return None
    last = record.rounds[-1].round if record.rounds else 1
    return RoundJudgment(**record.judgment.model_dump(), round=last)


def group_by_item(
    steps: Sequence[StepEvent], calls: Sequence[JudgeCallRecord]
) -> tuple[Mapping[str, list[StepEvent]], Mapping[str, list[JudgeCallRecord]]]:
    """Steps and judge calls per item key, in file order."""
    by_steps: dict[str, list[StepEvent]] = {}
    by_calls: dict[str, list[JudgeCallRecord]] = {}
    for step in steps:
        by_steps.setdefault(step.item_key, []).append(step)
    for call in calls:
        by_calls.setdefault(call.item_key, []).append(call)
    return by_steps, by_calls

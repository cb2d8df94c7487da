"""``bigbench_mistake``: BIG-Bench Mistake (Tyen et al. 2024), PaLM 2 chain-of-thought traces.

Files: ``step_benchmarks/bigbench_mistake/<task>.jsonl`` (five tasks), one JSON object a line:
``input`` (the question; the multiple-choice tasks list their options in it), ``steps``,
``mistake_index``, ``answer`` (the trace's answer) and ``target`` (the gold answer).

Convention: ``mistake_index`` is **0-based** (the upstream README: "0 indicates a mistake in
the first step"; null: no mistake), so the first wrong step is ``mistake_index + 1``. Checked
by hand: line 1 of ``multistep_arithmetic.jsonl`` has ``mistake_index`` 3 and its fourth step
computes ``7 - -7 * 4`` as ``7 - 28``; line 1 of ``tracking_shuffled_objects.jsonl`` has 3 and
its fourth step is the first wrong swap.

The label follows ``mistake_index`` (null: correct), as upstream defines it, even where the
trace's answer differs from the target. Category: the task (file name). Options ``(A) ...`` are
read from the question, and a target such as ``(E)`` becomes the letter ``E``, so answers match
by letter or option text. Keys: ``bigbench_mistake:<task>:<line>`` (1-based line); each line is
its own problem (no input repeats within a task).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from mmrefine_agent import (
    Item,
    RawRecord,
    RecordError,
    RegisterDataset,
    StepDataset,
    hookimpl,
    number_steps,
    read_jsonl,
    step_in_range,
    text_field,
    text_list,
)

SOURCE = "PaLM 2-L"
_OPTION = re.compile(r"^\(([A-Z])\)\s*+(\S[^\n]*)", re.MULTILINE)  # possessive: linear
_LETTER = re.compile(r"^\s*\(([A-Z])\)\s*$")


def options_of(question: str) -> tuple[str, ...]:
    """The ``(A) text`` lines of a question, in order (empty when it has none)."""
    found = _OPTION.findall(question)
    letters = [letter for letter, _ in found]
    if not found or letters != [chr(ord("A") + i) for i in range(len(found))]:
        return ()
    return tuple(text.rstrip() for _, text in found)


def _mistake_index(data: dict[str, object]) -> int | None:
    value = data.get("mistake_index")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordError("mistake_index", f"expected an integer or null, got {value!r}")
    return value


class BigBenchMistake(StepDataset):
    """BIG-Bench Mistake: 2,186 traces over five tasks with the first mistake located."""

    name: ClassVar[str] = "bigbench_mistake"
    description: ClassVar[str] = (
        "BIG-Bench Mistake (Tyen et al. 2024): PaLM 2 CoT traces over 5 tasks, 0-based "
        "mistake_index (converted to 1-based)"
    )
    folder: ClassVar[str] = "bigbench_mistake"

    def records(self, folder: Path) -> Iterator[RawRecord]:
        """One record per line of every task file."""
        for path in sorted(folder.glob("*.jsonl")):
            task = path.stem
            for line, data in read_jsonl(path):
                label = None
                if isinstance(data, dict):
                    mistake = data.get("mistake_index", "missing")
                    label = "correct" if mistake is None else "incorrect"
                yield RawRecord(
                    file=path,
                    row=line,
                    where=f"line {line}",
                    key=f"bigbench_mistake:{task}:{line}",
                    data=data,
                    facts={
                        "label": label,
                        "category": task,
                        "source": SOURCE,
                        "problem": f"{task}:{line}",
                    },
                )

    def build(self, record: RawRecord) -> Item:
        """One trace: its steps, the 1-based first mistake, the gold target."""
        data = record.data
        if not isinstance(data, dict):
            raise RecordError("(line)", f"expected a JSON object, got {type(data).__name__}")
        question = text_field(data, "input")
        steps = tuple(s.strip() for s in text_list(data, "steps"))
        target = text_field(data, "target", empty_ok=True).strip()
        mistake = _mistake_index(data)
        first = None if mistake is None else step_in_range(mistake + 1, len(steps), "mistake_index")
        options = options_of(question)
        letter = _LETTER.match(target)
        task = record.file.stem
        return Item(
            key=record.key,
            id=f"{task}:{record.row}",
            question=question,
            options=options,
            image=None,
            answer=letter.group(1) if letter and options else target,
            initial_solution=number_steps(steps),
            label="correct" if first is None else "incorrect",
            reference_feedback=None,
            error_type=None,
            source=SOURCE,
            meta={"file": record.file.name, "line": record.row, "trace_answer": data.get("answer")},
            dataset=self.name,
            steps=steps,
            first_wrong_step=first,
            category=task,
        )


@hookimpl
def mmrefine_register_datasets(register: RegisterDataset) -> None:
    """Register ``bigbench_mistake``."""
    register("bigbench_mistake", BigBenchMistake)

"""``mrben``: MR-Ben (Zeng et al. 2024), model solutions graded step by step by experts.

Files: ``step_benchmarks/mrben/<subject>.json``, each one JSON object mapping a question UUID
to its list of sampled solutions (``Question``, ``Options``, ``Ground_Truth_Answer``,
``Sampled_Model``, ``Model_Solution_Steps``, ``Model_Solution_Correctness``,
``Model_Solution_First_Error_Step``, ``Model_Solution_Error_Reason``, ...).

Convention: ``Model_Solution_First_Error_Step`` is the **1-based** number of the solution's
``Step k:`` label, as a string ("N/A" when correct); MR-Ben's scorer compares it with the step
number a model names. It is not an index into ``Model_Solution_Steps``: that list also holds
continuation lines, so the steps are rebuilt from the labels (a line without the next label
continues the current step, a preamble before "Step 1" opens it, a final "Solution: ..." line
is a step of its own, as the annotators counted it). Checked by hand: in ``math.json``, question
855fe031-17d9-482d-b10f-a2646a14786f, solution [1] (GPT3.5) is labelled 5, and its "Step 5"
differentiates ``(8/x)^2`` to ``-16/x^3`` instead of ``-128/x^3``.

Coding solutions are one program, labelled with a line of code rather than a step number
(upstream calls it "only a rough indicator"): they load as a single step without a first wrong
step (the line is kept in ``meta``). The gold answer is ``Ground_Truth_Answer_Modified`` where
set (the correct-labelled solutions answer it), else ``Ground_Truth_Answer``; options (``A: ...``
lines) are appended to the question. The annotators' error reasons become the reference
feedback. Category: the subject (file name). Keys: ``mrben:<subject>:<uuid>:<list index>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from mmrefine_agent import (
    DataError,
    Item,
    Label,
    RawRecord,
    RecordError,
    RegisterDataset,
    StepDataset,
    hookimpl,
    number_steps,
    step_in_range,
    text_field,
)

FIRST_ERROR = "Model_Solution_First_Error_Step"
# possessive runs (``*+``): linear in a line's length, whatever the file holds
_LABEL = re.compile(r"^\s*+[*#]*+\s*+Step\s*+(\d++|[A-Za-z])\s*+\**+\s*+[:.]\s*+", re.IGNORECASE)
_SOLUTION = re.compile(r"^\s*+[*#]*+\s*+Solution\s*+:", re.IGNORECASE)
_OPTION = re.compile(r"^\s*+([A-Z])\s*+[:.)]\s*+(.*)")


def group_steps(lines: Sequence[str]) -> list[str]:
    """Rebuild numbered steps from MR-Ben's ``Model_Solution_Steps`` list (see the module)."""
    steps: list[str] = []
    pending: list[str] = []
    for position, line in enumerate(lines):
        label = _LABEL.match(line)
        number = label.group(1) if label else ""
        if label and not steps and pending and number == "2":
            steps.append("\n".join(pending).strip())  # "tep 1: ..." (a typo) opened the solution
            pending = []
        if label and (not number.isdigit() or int(number) == len(steps) + 1):
            steps.append("\n".join([*pending, line[label.end() :]]).strip())
            pending = []
        elif steps and position == len(lines) - 1 and _SOLUTION.match(line):
            steps.append(line.strip())
        elif steps:
            steps[-1] = f"{steps[-1]}\n{line}".strip()
        elif line.strip():
            pending.append(line)
    if pending:
        steps.append("\n".join(pending).strip())
    return steps


def parse_options(text: str) -> tuple[str, ...]:
    """Option texts from ``A: ...`` lines, in order (empty if the letters are not A, B, C...)."""
    found = [m for line in text.splitlines() if line.strip() and (m := _OPTION.match(line))]
    letters = [m.group(1) for m in found]
    if not found or letters != [chr(ord("A") + i) for i in range(len(found))]:
        return ()
    return tuple(m.group(2).rstrip() for m in found)


def _reason(value: Any) -> str | None:
    if isinstance(value, list):
        parts = [v.strip() for v in value if isinstance(v, str) and v.strip()]
        return "\n".join(parts) or None
    if isinstance(value, str) and value.strip() and value.strip() != "N/A":
        return value.strip()
    return None


def _first_error(data: dict[str, Any], label: Label, n_steps: int) -> int | None:
    value = text_field(data, FIRST_ERROR, empty_ok=True).strip()
    if label == "correct":
        if value not in ("", "N/A"):
            raise RecordError(FIRST_ERROR, f"a correct solution names an error step ({value!r})")
        return None
    if not value.isdigit():
        raise RecordError(FIRST_ERROR, f"expected a step number, got {value!r}")
    return step_in_range(int(value), n_steps, FIRST_ERROR)


class MrBen(StepDataset):
    """MR-Ben: 4,534 solutions over six subjects, correctness and first error step labelled."""

    name: ClassVar[str] = "mrben"
    description: ClassVar[str] = (
        "MR-Ben (Zeng et al. 2024): solutions over 6 subjects graded by experts, 1-based "
        "'Step k' first error, reasons as reference feedback"
    )
    folder: ClassVar[str] = "mrben"

    def records(self, folder: Path) -> Iterator[RawRecord]:
        """One record per solution, by file, question (file order) and list position."""
        for path in sorted(folder.glob("*.json")):
            subject = path.stem
            try:
                content = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DataError(f"{path}: cannot read MR-Ben JSON: {exc}") from exc
            if not isinstance(content, dict):
                raise DataError(f"{path}: expected an object of question UUID -> solutions")
            row = 0
            for uuid, solutions in content.items():
                listed = solutions if isinstance(solutions, list) else [solutions]
                for index, data in enumerate(listed):
                    row += 1
                    record = data if isinstance(data, dict) else {}
                    label = record.get("Model_Solution_Correctness")
                    model = record.get("Sampled_Model")
                    yield RawRecord(
                        file=path,
                        row=row,
                        where=f"question {uuid}[{index}]",
                        key=f"mrben:{subject}:{uuid}:{index}",
                        data=data
                        if isinstance(solutions, list)
                        else RecordError("(solutions)", "expected a list of solutions"),
                        facts={
                            "label": label if isinstance(label, str) else None,
                            "category": subject,
                            "source": model if isinstance(model, str) else None,
                            "problem": uuid,
                        },
                    )

    def build(self, record: RawRecord) -> Item:
        """One solution: steps rebuilt from their labels, the 1-based first error, the gold."""
        data = record.data
        if not isinstance(data, dict):
            raise RecordError("(solution)", f"expected a JSON object, got {type(data).__name__}")
        question = text_field(data, "Question")
        correctness = data.get("Model_Solution_Correctness")
        if correctness not in ("correct", "incorrect"):
            raise RecordError(
                "Model_Solution_Correctness", f"must be correct or incorrect, got {correctness!r}"
            )
        label: Label = "correct" if correctness == "correct" else "incorrect"
        raw_steps = data.get("Model_Solution_Steps")
        meta: dict[str, Any] = {"file": record.file.name, "subject": data.get("Subject")}
        if isinstance(raw_steps, str) and raw_steps.strip():  # a program (coding)
            steps: tuple[str, ...] = (raw_steps.rstrip(),)
            first = None
            meta["first_error_line"] = data.get(FIRST_ERROR)
        elif isinstance(raw_steps, list) and all(isinstance(s, str) for s in raw_steps):
            steps = tuple(group_steps(raw_steps))
            if not steps:
                raise RecordError("Model_Solution_Steps", "no steps")
            first = _first_error(data, label, len(steps))
        else:
            raise RecordError("Model_Solution_Steps", "expected a list of strings or a program")
        options_text = data.get("Options")
        options = parse_options(options_text) if isinstance(options_text, str) else ()
        if options:
            letters = "\n".join(f"{chr(ord('A') + i)}: {o}" for i, o in enumerate(options))
            question = f"{question.rstrip()}\n\nOptions:\n{letters}"
        gold = data.get("Ground_Truth_Answer_Modified") or data.get("Ground_Truth_Answer") or ""
        if not isinstance(gold, str):
            raise RecordError("Ground_Truth_Answer", f"expected a string, got {gold!r}")
        source = text_field(data, "Sampled_Model")
        return Item(
            key=record.key,
            id=record.facts.get("problem") or record.key,
            question=question,
            options=options,
            image=None,
            answer=gold.strip(),
            initial_solution=number_steps(steps),
            label=label,
            reference_feedback=_reason(data.get("Model_Solution_Error_Reason"))
            if label == "incorrect"
            else None,
            error_type=None,
            source=source,
            meta=meta,
            dataset=self.name,
            steps=steps,
            first_wrong_step=first,
            category=record.file.stem,
        )


@hookimpl
def mmrefine_register_datasets(register: RegisterDataset) -> None:
    """Register ``mrben``."""
    register("mrben", MrBen)

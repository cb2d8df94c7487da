"""``prmbench``: PRMBench (Song et al. 2025), erroneous solutions and their clean originals.

Files: ``step_benchmarks/prmbench/prm800k_test_p{1,2}_4o_<class>.jsonl``, one JSON object a
line. Each line is a PRM800K solution that GPT-4o modified to hold one class of error
(``classification``); ``error_steps`` lists the erroneous steps of ``modified_process``.

Convention: ``error_steps`` are **1-based** already (PRMBench's own scorer subtracts 1 before
indexing its step list; line 1 of ``..._p1_4o_circular.jsonl`` labels ``[3, 4, 5]`` and its
step 3, "3. Assume a pencil costs 29 cents", is where the circular assumption starts), so the
first wrong step is ``min(error_steps)`` unchanged. A record whose first wrong step is not a
step of its solution is a bad record; later entries past the end are tolerated (only the first
is used).

Items, as PRMBench's own task builds them: every line gives an incorrect item (the modified
question and process; the ``reason`` is its reference feedback; category and error type are
the error class), and the lines of the ``redundency`` files (PRMBench's spelling) also give the
clean original solution once per question (label correct, no category). There is no gold final
answer. Keys: ``prmbench:<file stem>:<idx>`` and ``prmbench:<file stem>:<idx>:original``; the
problem id (what bootstrap intervals resample) is PRMBench's ``idx``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

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

ORIGINALS_FROM = "redundency"
MODIFIED_SOURCE = "PRM800K modified by GPT-4o"
ORIGINAL_SOURCE = "PRM800K"


def strip_number(text: str, number: int) -> str:
    """``"3. Assume ..."`` -> ``"Assume ..."`` when the prefix is the step's own number."""
    match = re.match(rf"\s*{number}\s*[.):]\s+", text)
    return text[match.end() :] if match else text.strip()


def first_error(data: dict[str, Any], n_steps: int) -> int:
    """The first wrong step (1-based) from ``error_steps`` (a list or a JSON-encoded list)."""
    raw = data.get("error_steps")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RecordError("error_steps", f"not a JSON-encoded list: {exc}") from None
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in raw)
    ):
        raise RecordError("error_steps", f"expected a non-empty list of step numbers, got {raw!r}")
    return step_in_range(min(raw), n_steps, "error_steps")


class PRMBench(StepDataset):
    """PRMBench: 2,848 modified solutions with labelled error steps, and 357 clean originals."""

    name: ClassVar[str] = "prmbench"
    description: ClassVar[str] = (
        "PRMBench (Song et al. 2025): PRM800K solutions with one of 8 error classes, "
        "1-based error_steps, plus the clean originals"
    )
    folder: ClassVar[str] = "prmbench"

    def records(self, folder: Path) -> Iterator[RawRecord]:
        """One record per line, plus one per clean original in the ``redundency`` files."""
        for path in sorted(folder.glob("*.jsonl")):
            stem = path.stem
            for line, data in read_jsonl(path):
                record = data if isinstance(data, dict) else {}
                idx = record.get("idx")
                ident = idx if isinstance(idx, str) and idx else f"line{line}"
                error_class = record.get("classification")
                error_class = error_class if isinstance(error_class, str) else None
                if error_class == ORIGINALS_FROM:
                    yield RawRecord(
                        file=path,
                        row=line,
                        where=f"line {line} (original_process)",
                        key=f"prmbench:{stem}:{ident}:original",
                        data=data,
                        facts={"label": "correct", "source": ORIGINAL_SOURCE, "problem": ident},
                    )
                yield RawRecord(
                    file=path,
                    row=line,
                    where=f"line {line}",
                    key=f"prmbench:{stem}:{ident}",
                    data=data,
                    facts={
                        "label": "incorrect",
                        "category": error_class,
                        "error_type": error_class,
                        "source": MODIFIED_SOURCE,
                        "problem": ident,
                    },
                )

    def build(self, record: RawRecord) -> Item:
        """The modified (incorrect) or original (correct) solution of one line."""
        data = record.data
        if not isinstance(data, dict):
            raise RecordError("(line)", f"expected a JSON object, got {type(data).__name__}")
        idx = text_field(data, "idx")
        original = record.key.endswith(":original")
        prefix = "original" if original else "modified"
        question = text_field(data, f"{prefix}_question")
        raw_steps = text_list(data, f"{prefix}_process", encoded_ok=True)
        steps = tuple(strip_number(s, n) for n, s in enumerate(raw_steps, 1))
        meta: dict[str, Any] = {"file": record.file.name, "line": record.row}
        if original:
            return Item(
                key=record.key,
                id=idx,
                question=question,
                options=(),
                image=None,
                answer="",
                initial_solution=number_steps(steps),
                label="correct",
                reference_feedback=None,
                error_type=None,
                source=ORIGINAL_SOURCE,
                meta=meta,
                dataset=self.name,
                steps=steps,
            )
        error_class = text_field(data, "classification")
        first = first_error(data, len(steps))
        reason = data.get("reason")
        return Item(
            key=record.key,
            id=idx,
            question=question,
            options=(),
            image=None,
            answer="",
            initial_solution=number_steps(steps),
            label="incorrect",
            reference_feedback=reason.strip() if isinstance(reason, str) and reason else None,
            error_type=error_class,
            source=MODIFIED_SOURCE,
            meta={**meta, "error_steps": data.get("error_steps")},
            dataset=self.name,
            steps=steps,
            first_wrong_step=first,
            category=error_class,
        )


@hookimpl
def mmrefine_register_datasets(register: RegisterDataset) -> None:
    """Register ``prmbench``."""
    register("prmbench", PRMBench)

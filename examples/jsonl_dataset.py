"""``jsonl_steps``: a JSONL benchmark with images and labelled first wrong steps.

The example of a dataset plugin. One JSON object per line::

    {"id": "square-area", "question": "What is the area of the square?",
     "image": "square.png", "steps": ["The side is 3.", "The area is 3 * 4 = 12."],
     "first_wrong_step": 2, "answer": "9", "category": "area"}

``image`` (optional) is a file beside the JSONL file; ``first_wrong_step`` is 1-based, null
for a correct solution; ``answer`` may be "" (no gold answer). The file is given by
``data.path``; run it from the repository root with::

    mmrefine run configs/quickstart.yaml --plugin examples/jsonl_dataset.py \
        --set data.name=jsonl_steps --set data.path=examples/data/shapes.jsonl --out runs/shapes

A record that cannot be used becomes a ``data_error`` item naming its line and field; the
other items run. See docs/plugins.md, "A dataset".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from mmrefine_agent import (
    DataConfig,
    DataError,
    Image,
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


class JsonlSteps(StepDataset):
    """Step-labelled problems from one JSONL file (``data.path``), images beside it."""

    name: ClassVar[str] = "jsonl_steps"
    description: ClassVar[str] = "example: a JSONL file of step-labelled problems (data.path)"

    def source(self, data_dir: Path, config: DataConfig) -> Path:
        """The file named by ``data.path``: this dataset has no place in the data directory."""
        if not config.path:
            raise DataError("dataset 'jsonl_steps' reads the JSONL file given by data.path")
        return Path(config.path).expanduser()

    def records(self, path: Path) -> Iterator[RawRecord]:
        """Every line, leniently, with the facts filters and ``balanced`` use."""
        for line, data in read_jsonl(path):  # a bad line arrives as a RecordError
            facts = {}
            if isinstance(data, dict):
                first = data.get("first_wrong_step")
                facts = {
                    "label": "correct" if first is None else "incorrect",
                    "category": data.get("category"),
                    "problem": data.get("id"),
                    "modality": "image" if data.get("image") else "text",
                }
            key = f"{self.name}:{data.get('id') if isinstance(data, dict) else line}"
            yield RawRecord(
                file=path, row=line, where=f"line {line}", key=key, data=data, facts=facts
            )

    def build(self, record: RawRecord) -> Item:
        """One validated item; a bad field raises RecordError naming it."""
        data = record.data
        if not isinstance(data, dict):
            raise RecordError("(line)", "expected a JSON object")
        steps = tuple(text_list(data, "steps"))
        first = data.get("first_wrong_step")
        if first is not None and not isinstance(first, int):
            raise RecordError("first_wrong_step", "expected a step number or null")
        if first is not None:  # 1-based in the file, as everywhere in the project
            first = step_in_range(first, len(steps), "first_wrong_step")
        image = None
        if data.get("image"):
            try:
                image = Image.from_file(record.file.parent / text_field(data, "image"))
            except (OSError, ValueError) as exc:
                raise RecordError("image", str(exc)) from None
        return Item(
            key=record.key,
            id=text_field(data, "id"),
            question=text_field(data, "question"),
            options=(),
            image=image,
            answer=text_field(data, "answer", empty_ok=True),
            initial_solution=number_steps(steps),  # "Step 1: ...\nStep 2: ..."
            label="correct" if first is None else "incorrect",
            reference_feedback=None,
            error_type=None,
            source=str(data.get("source", "hand-written")),
            dataset=self.name,
            steps=steps,
            first_wrong_step=first,
            category=data.get("category"),
        )


@hookimpl
def mmrefine_register_datasets(register: RegisterDataset) -> None:
    """Register ``jsonl_steps``."""
    register("jsonl_steps", JsonlSteps)

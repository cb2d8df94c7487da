"""The official MMRefine prompts, read from the benchmark data directory."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path

from mmrefine_agent.data.datadir import PROMPTS_NAME
from mmrefine_agent.errors import DataError

REQUIRED = ("refinement", "eval_correct", "eval_incorrect", "parsing")


@dataclass(frozen=True, slots=True)
class OfficialPrompts:
    """The refinement prompt, the three judge prompts and the parsing targets."""

    refinement: str
    eval_correct: str
    eval_incorrect: str
    parsing: str
    parsing_targets: tuple[str, str, str]
    source: str

    def render(self, name: str, **values: str) -> str:
        """Fill one template's placeholders exactly as the official scripts do (``str.format``)."""
        template: str = getattr(self, name)
        return template.format(**values)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_official_prompts(data_dir: Path) -> OfficialPrompts:
    """Read and check ``mmrefine_official_prompts.json``; errors name the file and field."""
    path = data_dir / PROMPTS_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found (official prompts)") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: invalid JSON: {exc}") from exc
    declared = raw.get("placeholders", {})
    for name in REQUIRED:
        if not isinstance(raw.get(name), str):
            raise DataError(f"{path}: field '{name}' missing or not a string")
        wanted = set(declared.get(name, []))
        if wanted and _placeholders(raw[name]) != wanted:
            raise DataError(
                f"{path}: field '{name}' has placeholders {sorted(_placeholders(raw[name]))}, "
                f"expected {sorted(wanted)}"
            )
    targets = raw.get("parsing_targets")
    if not (isinstance(targets, list) and len(targets) == 3):
        raise DataError(f"{path}: field 'parsing_targets' must list the three targets")
    return OfficialPrompts(
        refinement=raw["refinement"],
        eval_correct=raw["eval_correct"],
        eval_incorrect=raw["eval_incorrect"],
        parsing=raw["parsing"],
        parsing_targets=(targets[0], targets[1], targets[2]),
        source=str(raw.get("source", "")),
    )

"""``mmrefine config --keys``: every config key, its type, default and meaning, from the models.

The same text is kept in ``docs/config.md`` (a test checks the two agree), so the reference can
never drift from what the config accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mmrefine_agent import RunConfig
from mmrefine_agent.config import section_model


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("NoneType", "None")


def key_rows(
    model: type[BaseModel] = RunConfig, prefix: str = ""
) -> Iterator[tuple[str, str, str, str]]:
    """(dotted key, type, default, description) for every leaf key of the config."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        dotted = f"{prefix}{name}"
        section = section_model(annotation)
        if section is not None:
            if section is not annotation:  # an optional section: off until given
                yield dotted, "section or None", "null", field.description or ""
            yield from key_rows(section, f"{dotted}.")
            continue
        if field.default_factory is not None:
            default: Any = field.default_factory()  # type: ignore[call-arg]
        else:
            default = None if field.default is PydanticUndefined else field.default
        yield dotted, _type_name(annotation), json.dumps(default), field.description or ""


def keys_markdown() -> str:
    """The reference as a Markdown table (what docs/config.md holds)."""
    lines = [
        "# Config keys",
        "",
        "Generated from the config models by `mmrefine config --keys --markdown`; every key can",
        "also be given as `--set dotted.key=value` (the value is read as YAML).",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for key, kind, default, description in key_rows():
        cells = [
            f"`{key}`",
            kind.replace("|", "\\|"),
            f"`{default}`",
            description.replace("|", "/"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

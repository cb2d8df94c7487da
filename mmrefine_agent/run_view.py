"""``open_run``: a typed view of a run directory, for notebooks, reports and plugins.

    >>> run = open_run("runs/quickstart")
    >>> run.scores.overall.rates["RefScore"], [r.status for r in run.results][:3]
    >>> run.steps_frame()          # one row per step, as a pandas DataFrame

Every property reads its file once (lazily) and returns the records the run wrote, as the
same pydantic models the engine wrote them from.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrefine_agent.config import RunConfig, build_config, load_config_dict
from mmrefine_agent.errors import DataError
from mmrefine_agent.records import rundir
from mmrefine_agent.records.models import (
    ItemResult,
    JudgeCallRecord,
    Scores,
    StepEvent,
    SubmissionEntry,
    ToolRunRecord,
    UsageDoc,
)
from mmrefine_agent.records.rundir import RunDir
from mmrefine_agent.types import Image, Item, Label

if TYPE_CHECKING:
    import pandas

    from mmrefine_agent.plugins_manager import Plugins


class RunView:
    """The files of one run directory as typed records."""

    def __init__(self, path: Path, plugin_modules: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.path = path
        self.dir = RunDir(path).require()
        self.plugin_modules = [str(m) for m in plugin_modules]

    @cached_property
    def plugins(self) -> Plugins:
        """The plugins the run was made with (recorded in it), plus the ones given to open it.

        A recorded plugin module that is missing or changed is a PluginError naming it.
        """
        from mmrefine_agent.run_plugins import load_run_plugins

        return load_run_plugins(self.path, self.plugin_modules)

    def __repr__(self) -> str:
        return f"RunView({str(self.path)!r})"

    @cached_property
    def config(self) -> RunConfig:
        """The resolved config the run was made with (config.yaml)."""
        path = self.dir.file(rundir.CONFIG)
        return build_config(load_config_dict(path), origin=str(path), stored=True)

    @cached_property
    def results(self) -> list[ItemResult]:
        """The latest result per item (results.jsonl)."""
        return self.dir.results()

    @cached_property
    def steps(self) -> list[StepEvent]:
        """Every graph step (steps.jsonl)."""
        return self.dir.steps()

    @cached_property
    def judgments(self) -> list[JudgeCallRecord]:
        """Every judge call and decision (judgments.jsonl)."""
        return self.dir.judgments()

    @cached_property
    def scores(self) -> Scores | None:
        """scores.json (None until a session has finished)."""
        return rundir.read_document(self.dir.file(rundir.SCORES), Scores)

    @cached_property
    def usage(self) -> UsageDoc | None:
        """usage.json: totals over every session."""
        return self.dir.usage()

    @cached_property
    def submission(self) -> dict[str, SubmissionEntry]:
        """submission.json, keyed by item key."""
        return self.dir.submission()

    def result(self, key: str) -> ItemResult | None:
        """One item's result."""
        return next((r for r in self.results if r.key == key), None)

    def steps_for(self, key: str) -> list[StepEvent]:
        """One item's steps, in order."""
        return [s for s in self.steps if s.item_key == key]

    def judgments_for(self, key: str) -> list[JudgeCallRecord]:
        """One item's judge calls, in order."""
        return [j for j in self.judgments if j.item_key == key]

    def tool_image(self, run: ToolRunRecord) -> Image | None:
        """The image a tool run returned, read from the run directory (None: none, or gone)."""
        if run.image_file is None:
            return None
        try:
            return Image.from_file(self.path / run.image_file)
        except (OSError, ValueError):
            return None

    @cached_property
    def items(self) -> dict[str, Item]:
        """The dataset items of this run, from the dataset itself (not from the run's files).

        When the data cannot be found here, the items are rebuilt from submission.json (text
        fields only, no image).
        """
        from mmrefine_agent.data.run_slice import load_run_items

        keys = [r.key for r in self.results]
        try:
            config = self.config.model_copy(deep=True)
            config.data.limit = None
            config.data.balanced = False
            config.data.filter.keys = keys
            _dir, loaded, _prompts = load_run_items(config, self.plugins)
            return {item.key: item for item in loaded.items}
        except DataError:
            return {key: _item_from_submission(key, e) for key, e in self.submission.items()}

    def steps_frame(self) -> pandas.DataFrame:
        """One row per step: item, round, node, answer, parsed fields, tokens, cost, latency."""
        import pandas

        rows: list[dict[str, Any]] = []
        for step in self.steps:
            rows.append(
                {
                    "item_key": step.item_key,
                    "round": step.round,
                    "node": step.node,
                    "strategy": step.strategy,
                    "calls": len(step.calls),
                    "raw_answer": step.raw_answer,
                    "parse_errors": len(step.parse_errors),
                    "input_tokens": step.tokens["input"],
                    "output_tokens": step.tokens["output"],
                    "cost_usd": step.cost_usd,
                    "latency_s": step.latency_s,
                    "cache_hit": step.cache_hit,
                    "error": step.error.type if step.error else None,
                    **{f"parsed.{k}": v for k, v in step.parsed.items()},
                }
            )
        return pandas.DataFrame(rows)

    def results_frame(self) -> pandas.DataFrame:
        """One row per item: status, scenario, breakdown fields, usage."""
        import pandas

        return pandas.DataFrame(
            [
                {
                    "key": r.key,
                    "status": r.status,
                    "scenario": r.scenario,
                    "label": r.label,
                    "error_type": r.error_type,
                    "source": r.source,
                    "modality": r.modality,
                    "n_rounds": r.n_rounds,
                    "tokens": r.usage.tokens,
                    "cost_usd": r.usage.cost_usd,
                }
                for r in self.results
            ]
        )


def _item_from_submission(key: str, entry: SubmissionEntry) -> Item:
    label: Label = "incorrect" if entry.solution_label == "incorrect" else "correct"
    return Item(
        key=key,
        id=entry.id,
        question=entry.question,
        options=(),
        image=None,
        answer=entry.answer,
        initial_solution=entry.initial_solution,
        label=label,
        reference_feedback=entry.reference_feedback,
        error_type=entry.error_type,
        source=entry.solution_source,
    )


def open_run(path: Path | str, plugins: Sequence[str | os.PathLike[str]] = ()) -> RunView:
    """A typed view of a run directory (``.config``, ``.results``, ``.steps``, ...).

    The plugin modules the run was made with are loaded again when needed (``.plugins``,
    ``.items``); ``plugins`` adds modules or ``.py`` paths to them.
    """
    return RunView(Path(path), plugins)

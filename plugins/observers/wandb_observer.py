"""``wandb``: one Weights & Biases run per run directory, resumed with it (extra ``wandb``).

On when the config has an ``observers.wandb`` section (``--set observers.wandb.project=P``);
``wandb`` is imported only then. The W&B run's id is kept in ``RUN_DIR/wandb/mmrefine_run.json``
(the directory W&B writes its own files to), so every session of a run directory, a resume or
a re-judge, continues the same W&B run (``--restart`` starts a new one). While the run goes:
items done and failed, calls, cache hits, tokens and cost (at most once a second, and at the
end). At the end: the headline figures
with their 95% intervals, the six rates, step metrics and round correction in the summary; the
per-round figures as series over ``round``; the items table; ``report.html``, ``scores.json``
and ``submission.json`` as an artifact. A sweep's cells are grouped under the sweep's name with
the cell's values in the run config (``cell``), so W&B's own charts compare them.

Nothing here can fail a run: a W&B error is a warning and the run goes on without W&B.
"""

from __future__ import annotations

import os
import queue
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mmrefine_agent import (
    ItemResult,
    JudgeCallRecord,
    RunInfo,
    Scores,
    WandbObserverConfig,
    hookimpl,
    open_run,
    write_html_report,
)
from mmrefine_plugins.observers.notes import missing_extra, say, warn
from mmrefine_plugins.observers.wandb_figures import (
    ITEM_COLUMNS,
    Progress,
    item_row,
    round_series,
    summary_figures,
    sweep_group,
    tools_used,
    wandb_config,
)

NAME = "wandb"
ID_FILE = "mmrefine_run.json"
RESULTS = "results.jsonl"
PROGRESS_EVERY_S = 1.0
INIT_TIMEOUT_S = 30
"""How long W&B may take to start its run (online with no network: then one warning)."""
ARTIFACT_FILES = ("scores.json", "submission.json")


class WandbRunRef(BaseModel):
    """``RUN_DIR/wandb/mmrefine_run.json``: the W&B run this run directory logs to."""

    version: int = 1
    id: str


def wandb_run_id(run_dir: Path) -> str:
    """The W&B run id of a run directory: the one kept there, else a new one (then kept).

    A run directory without results (a new one, or one just ``--restart``-ed) starts a new
    W&B run: its history would not be this run's.
    """
    path = run_dir / "wandb" / ID_FILE
    results = run_dir / RESULTS
    try:
        if results.is_file() and results.stat().st_size:
            return WandbRunRef.model_validate_json(path.read_text(encoding="utf-8")).id
    except (OSError, ValidationError):
        pass
    ref = WandbRunRef(id=secrets.token_hex(8))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ref.model_dump_json() + "\n", encoding="utf-8")
    return ref.id


Task = Callable[[Any, Any], None]
"""Work for the W&B thread: called with the ``wandb`` module and the W&B run."""


class WandbSession:
    """One session's W&B run, driven by a thread of its own: the run's event loop only queues.

    ``import wandb`` and ``wandb.init`` (which starts W&B's service process) take seconds;
    in the thread they overlap the run instead of delaying its first item, and no W&B call
    ever waits in the event loop. The end of the session waits for the thread.
    """

    def __init__(self, info: RunInfo, settings: WandbObserverConfig) -> None:
        self.info = info
        self.settings = settings
        self.run_id = wandb_run_id(info.run_dir)  # now, before this session writes results
        self.progress = Progress()
        self.last_log = 0.0
        self.tasks: queue.SimpleQueue[tuple[str, Task] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._work, name="mmrefine-wandb", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        opened = self._open()
        while (entry := self.tasks.get()) is not None:
            if opened is None:
                continue
            what, task = entry
            try:
                task(*opened)
            except Exception as exc:
                warn(NAME, f"{what} failed ({type(exc).__name__}: {exc}); nothing more is sent "
                           "to W&B for this session")  # fmt: skip
                self._finish(opened[1])
                opened = None
        if opened is not None:
            self._finish(opened[1])

    @staticmethod
    def _finish(wb_run: Any) -> None:
        try:
            if getattr(wb_run, "offline", False):
                where = str(wb_run.settings.sync_dir)
                message = f"offline run {wb_run.id} in {where}; upload it with: wandb sync {where}"
            else:
                message = f"run {wb_run.id}: {wb_run.url}"
            wb_run.finish()
        except Exception as exc:
            warn(NAME, f"finishing the W&B run failed ({type(exc).__name__}: {exc})")
        else:
            say(NAME, message)

    def _open(self) -> tuple[Any, Any] | None:
        """Import wandb, start (or resume) the W&B run; None (warned) when it cannot start."""
        try:
            import wandb
        except ImportError as exc:
            missing_extra(NAME, "wandb", exc)
            return None
        info, settings = self.info, self.settings
        project = settings.project or (None if os.environ.get("WANDB_PROJECT") else "mmrefine")
        try:
            wb_run = wandb.init(
                project=project,
                entity=settings.entity,
                mode=settings.mode,
                id=self.run_id,
                resume="allow",
                dir=str(info.run_dir),
                name=info.config.name,
                group=sweep_group(info),
                job_type=info.session,
                config=wandb_config(info),
                reinit="create_new",
                settings=wandb.Settings(
                    silent=True,
                    console="off",
                    save_code=False,
                    disable_git=True,
                    x_disable_stats=True,
                    init_timeout=INIT_TIMEOUT_S,
                ),
            )
            wb_run.define_metric("round")
            wb_run.define_metric("per_round/*", step_metric="round")
        except Exception as exc:  # W&B's own errors (no key, no network, ...): a warning
            warn(NAME, f"could not start a W&B run ({type(exc).__name__}: {exc}); "
                       "this run goes on without W&B")  # fmt: skip
            return None
        return wandb, wb_run

    def _submit(self, what: str, task: Task) -> None:
        self.tasks.put((what, task))

    def item(self, result: ItemResult) -> None:
        """Count a finished item; progress goes out at most once a second."""
        self.progress.add_item(result)
        now = time.monotonic()
        if now - self.last_log >= PROGRESS_EVERY_S:
            self.last_log = now
            figures = self.progress.figures()
            self._submit("logging progress", lambda _wandb, wb_run: wb_run.log(figures))

    def judge_call(self, record: JudgeCallRecord) -> None:
        """Count a judge call's usage."""
        usage = record.usage
        if usage is not None:
            tokens = usage.input_tokens + usage.output_tokens
            self.progress.add_calls(1, int(usage.cache_hit), tokens, usage.cost_usd)

    def finish(self, scores: Scores) -> None:
        """Final progress, summary, round series, items table, run files; finish; wait."""
        figures = self.progress.figures()
        self._submit("logging progress", lambda _wandb, wb_run: wb_run.log(figures))
        self._submit("logging the figures", partial(self._log_scores, scores=scores))
        self._submit("logging the items table", self._log_items)
        self._submit("logging the run files", self._log_files)
        self.close()

    def close(self) -> None:
        """Let the thread finish the W&B run, and wait for it."""
        self.tasks.put(None)
        self.thread.join()

    @staticmethod
    def _log_scores(wandb: Any, wb_run: Any, *, scores: Scores) -> None:
        del wandb
        wb_run.summary.update(summary_figures(scores))
        for row in round_series(scores):
            wb_run.log(row)

    def _log_items(self, wandb: Any, wb_run: Any) -> None:
        view = open_run(self.info.run_dir)  # kept items too, not only this session's
        tools = tools_used(view.steps)
        rows = [item_row(r, tools.get(r.key, ())) for r in view.results]
        table = wandb.Table(columns=ITEM_COLUMNS, data=rows, allow_mixed_types=True)
        wb_run.log({"items": table})

    def _log_files(self, wandb: Any, wb_run: Any) -> None:
        artifact = wandb.Artifact(f"run-{wb_run.id}", type="mmrefine-run")
        for name in ARTIFACT_FILES:
            path = self.info.run_dir / name
            if path.is_file():
                artifact.add_file(str(path), name=name)
        with tempfile.TemporaryDirectory(prefix="mmrefine-wandb-") as tmp:
            try:
                report = write_html_report(self.info.run_dir, Path(tmp) / "report.html")
            except Exception as exc:  # e.g. the data directory is gone: the rest still goes
                warn(NAME, f"report.html not attached ({type(exc).__name__}: {exc})")
            else:
                artifact.add_file(str(report), name="report.html")
            wb_run.log_artifact(artifact)


_SESSIONS: dict[str, WandbSession] = {}


def _session(run: RunInfo) -> WandbSession | None:
    return _SESSIONS.get(str(run.run_dir)) if _SESSIONS else None


@hookimpl
def mmrefine_run_started(run: RunInfo) -> None:
    """Start or resume the W&B run of this run directory (when ``observers.wandb`` is set)."""
    settings = run.config.observers.wandb
    if settings is None or settings.mode == "disabled":
        return
    stale = _SESSIONS.pop(str(run.run_dir), None)  # a session that ended without finishing
    if stale is not None:
        stale.close()
    _SESSIONS[str(run.run_dir)] = WandbSession(run, settings)


@hookimpl
def mmrefine_observe_item(result: ItemResult, run: RunInfo) -> None:
    """Count the item; progress goes to W&B at most once a second."""
    session = _session(run)
    if session is not None:
        session.item(result)


@hookimpl
def mmrefine_observe_judgment(record: JudgeCallRecord, run: RunInfo) -> None:
    """Count the judge call's usage."""
    session = _session(run)
    if session is not None:
        session.judge_call(record)


@hookimpl
def mmrefine_run_finished(run_dir: str, scores: Scores, run: RunInfo) -> None:
    """Send the figures, the items table and the run files; finish the W&B run."""
    del run_dir
    session = _SESSIONS.pop(str(run.run_dir), None)
    if session is not None:
        session.finish(scores)

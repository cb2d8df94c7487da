"""``otel``: OpenTelemetry spans over OTLP/HTTP, one trace per item (extra ``otel``).

On when the config has an ``observers.otel`` section (``--set observers.otel.endpoint=URL``);
the OpenTelemetry SDK is imported only then. Each item's steps and judge calls are held until
the item finishes, then sent as one trace (item -> node -> model call, item -> judge call; see
``otel_spans``), so every span knows the scenario its round ended in. The end of a session
flushes the exporter; an unreachable collector is one warning, never a failed run.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from mmrefine_agent import (
    ItemResult,
    JudgeCallRecord,
    OtelObserverConfig,
    RunInfo,
    Scores,
    StepEvent,
    env_reference,
    hookimpl,
)
from mmrefine_plugins.observers.notes import missing_extra, say, warn
from mmrefine_plugins.observers.otel_spans import ItemSpans, ModelRoute, SpanSettings

NAME = "otel"


def header_values(settings: OtelObserverConfig) -> dict[str, str] | None:
    """The headers with their values read from the environment (None: the SDK's env)."""
    if not settings.headers:
        return None
    out: dict[str, str] = {}
    for name, reference in settings.headers.items():
        variable = env_reference(reference) or ""
        value = os.environ.get(variable)
        if value is None:
            warn(NAME, f"header {name!r} names ${{{variable}}}, which is not set; sent without it")
        else:
            out[name] = value
    return out


def resource_attributes(run: RunInfo) -> dict[str, Any]:
    """What every span of the session shares: the run's name, directory, session, cell."""
    attributes: dict[str, Any] = {
        "mmrefine.run.name": run.config.name,
        "mmrefine.run.dir": str(run.run_dir),
        "mmrefine.session": run.session,
        "mmrefine.strategy": run.config.strategy.name,
        "mmrefine.judge": run.config.judge.name,
    }
    for key, value in run.cell.items():
        attributes[f"mmrefine.cell.{key}"] = str(value)
    return attributes


class OtelSession:
    """One session's open items and exporter."""

    def __init__(self, run: RunInfo, exporting: Any, settings: SpanSettings) -> None:
        self.run = run
        self.exporting = exporting
        self.settings = settings
        self.items: dict[str, ItemSpans] = {}

    @classmethod
    def start(cls, run: RunInfo, settings: OtelObserverConfig) -> OtelSession | None:
        """Set up the exporter; None when the SDK is missing."""
        try:
            from mmrefine_plugins.observers.otel_export import Exporting
        except ImportError as exc:
            missing_extra(NAME, "opentelemetry-sdk", exc)
            return None
        config = run.config
        spans = SpanSettings(
            refine=ModelRoute.of(config.model.backend, config.model.name),
            judge=ModelRoute.of(config.judge.backend, config.judge.model),
            capture_content=settings.capture_content,
        )
        exporting = Exporting(settings.endpoint, header_values(settings), resource_attributes(run))
        return cls(run, exporting, spans)

    def _item(self, key: str) -> ItemSpans:
        spans = self.items.get(key)
        if spans is None:
            spans = self.items[key] = ItemSpans(key, self.settings)
        return spans

    def step(self, step: StepEvent) -> None:
        """Hold a node span until its item finishes."""
        self._item(step.item_key).add_step(step)

    def judge_call(self, record: JudgeCallRecord) -> None:
        """Hold a judge span until its item finishes."""
        self._item(record.item_key).add_judge_call(record, time.time_ns())

    def item(self, result: ItemResult) -> None:
        """Send the item's trace."""
        spans = self.items.pop(result.key, None) or ItemSpans(result.key, self.settings)
        self.exporting.emit(spans.build(result, time.time_ns()))

    def finish(self) -> None:
        """Send unfinished items as such, flush, and warn about undelivered spans."""
        now = time.time_ns()
        for spans in self.items.values():
            self.exporting.emit(spans.build(None, now))
        self.items.clear()
        problem = self.exporting.close()
        if problem:
            warn(NAME, problem)
        else:
            say(NAME, f"{self.exporting.created} span(s) sent to {self.exporting.url}")


_SESSIONS: dict[str, OtelSession] = {}


def _guarded(run: RunInfo, action: str, call: Any, *args: Any) -> None:
    """Run ``call``; a failure ends this session's tracing with one warning."""
    try:
        call(*args)
    except Exception as exc:
        session = _SESSIONS.pop(str(run.run_dir), None)
        warn(NAME, f"{action} failed ({type(exc).__name__}: {exc}); tracing stops for this run")
        if session is not None:
            with contextlib.suppress(Exception):
                session.exporting.close()


@hookimpl
def mmrefine_run_started(run: RunInfo) -> None:
    """Set up the exporter (when ``observers.otel`` is set)."""
    settings = run.config.observers.otel
    if settings is None:
        return
    stale = _SESSIONS.pop(str(run.run_dir), None)
    if stale is not None:
        _guarded(run, "closing an earlier session", stale.finish)

    def start() -> None:
        session = OtelSession.start(run, settings)
        if session is not None:
            _SESSIONS[str(run.run_dir)] = session

    _guarded(run, "starting the exporter", start)


@hookimpl
def mmrefine_observe_step(step: StepEvent, run: RunInfo) -> None:
    """Hold the step's node and call spans for its item."""
    session = _SESSIONS.get(str(run.run_dir)) if _SESSIONS else None
    if session is not None:
        _guarded(run, "tracing a step", session.step, step)


@hookimpl
def mmrefine_observe_judgment(record: JudgeCallRecord, run: RunInfo) -> None:
    """Hold the judge call's span for its item."""
    session = _SESSIONS.get(str(run.run_dir)) if _SESSIONS else None
    if session is not None:
        _guarded(run, "tracing a judge call", session.judge_call, record)


@hookimpl
def mmrefine_observe_item(result: ItemResult, run: RunInfo) -> None:
    """Send the item's trace."""
    session = _SESSIONS.get(str(run.run_dir)) if _SESSIONS else None
    if session is not None:
        _guarded(run, "tracing an item", session.item, result)


@hookimpl
def mmrefine_run_finished(run_dir: str, scores: Scores, run: RunInfo) -> None:
    """Flush the exporter (bounded); undelivered spans are one warning."""
    del run_dir, scores
    session = _SESSIONS.pop(str(run.run_dir), None)
    if session is not None:
        _guarded(run, "flushing the spans", session.finish)

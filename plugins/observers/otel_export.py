"""The OpenTelemetry SDK side of the ``otel`` observer: provider, OTLP/HTTP exporter, delivery.

Imported only when ``observers.otel`` is set (extra ``otel``). Spans go through a batch
processor to an OTLP/HTTP exporter whose each export is bounded (5 s, or the
``OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`` given); :meth:`Exporting.close` flushes for at most
:data:`FLUSH_TIMEOUT_S` (not at all when the latest export failed: the collector is down) and
then stops the exporter, so a collector that is down costs the end of a run seconds, not
minutes. Undelivered spans are counted and become one warning; the
SDK's own log lines are held back meanwhile (they would repeat it once per retry).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from mmrefine_agent import __version__, scrub_text
from mmrefine_plugins.observers.otel_spans import SpanSpec

EXPORT_TIMEOUT_S = 5.0
FLUSH_TIMEOUT_S = 6.0
TIMEOUT_ENV = ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")


def traces_url(endpoint: str | None) -> str | None:
    """The traces URL: a base URL without a path gets ``/v1/traces`` (None: the SDK's env)."""
    if endpoint is None:
        return None
    if urlsplit(endpoint).path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


class Delivery(SpanExporter):  # type: ignore[misc]
    """Wraps the OTLP exporter: counts what was delivered; stops at once when asked."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.delivered = 0
        self.failed = 0
        self.last_error = ""
        self.last_failed = False
        """The latest export failed (the collector is down, most likely)."""
        self._stopped = False
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export through the OTLP exporter; a failure is counted, never raised."""
        if self._stopped:
            result = SpanExportResult.FAILURE
        else:
            try:
                result = self.inner.export(spans)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                result = SpanExportResult.FAILURE
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.delivered += len(spans)
            else:
                self.failed += len(spans)
            self.last_failed = result is not SpanExportResult.SUCCESS
        return result

    def shutdown(self) -> None:
        """Stop the OTLP exporter (aborts a retry in progress); later exports fail at once."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered here."""
        return True


class HeldLogs(logging.Handler):
    """Holds the SDK's log lines while a session exports (the last one names the cause)."""

    _users = 0
    _propagate = True
    _guard = threading.Lock()

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.first = ""
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the first message (masked; the later ones repeat or generalise it)."""
        self.count += 1
        if not self.first:
            self.first = scrub_text(record.getMessage())[:240]

    def attach(self) -> None:
        """Route ``opentelemetry.*`` log lines here instead of the terminal."""
        root = logging.getLogger("opentelemetry")
        with HeldLogs._guard:
            if HeldLogs._users == 0:
                HeldLogs._propagate = root.propagate
                root.propagate = False
            HeldLogs._users += 1
        root.addHandler(self)

    def detach(self) -> None:
        """Give the log lines back."""
        root = logging.getLogger("opentelemetry")
        root.removeHandler(self)
        with HeldLogs._guard:
            HeldLogs._users -= 1
            if HeldLogs._users == 0:
                root.propagate = HeldLogs._propagate


class Exporting:
    """One session's tracer provider, exporter and delivery count."""

    def __init__(
        self,
        endpoint: str | None,
        headers: Mapping[str, str] | None,
        resource: Mapping[str, Any],
    ) -> None:
        timeout = None if any(os.environ.get(v) for v in TIMEOUT_ENV) else EXPORT_TIMEOUT_S
        exporter = OTLPSpanExporter(endpoint=traces_url(endpoint), headers=headers,
                                    timeout=timeout)  # fmt: skip
        self.url = str(getattr(exporter, "_endpoint", endpoint or "the OTLP endpoint"))
        self.delivery = Delivery(exporter)
        attributes = dict(resource)
        if not os.environ.get("OTEL_SERVICE_NAME"):
            attributes["service.name"] = "mmrefine-agent"
        attributes["service.version"] = __version__
        self.provider = TracerProvider(resource=Resource.create(attributes))
        self.provider.add_span_processor(
            BatchSpanProcessor(self.delivery, schedule_delay_millis=1000)
        )
        self.tracer = self.provider.get_tracer("mmrefine_agent", __version__)
        self.created = 0
        self.logs = HeldLogs()
        self.logs.attach()

    def emit(self, root: SpanSpec) -> None:
        """Emit a span tree; the root starts a new trace."""
        self._emit(root, Context())

    def _emit(self, spec: SpanSpec, context: Context) -> None:
        span = self.tracer.start_span(
            spec.name,
            context=context,
            kind=SpanKind.CLIENT if spec.kind == "client" else SpanKind.INTERNAL,
            attributes=spec.attributes,
            start_time=spec.start_ns,
        )
        self.created += 1
        if spec.error:
            span.set_status(Status(StatusCode.ERROR, spec.error))
        if spec.children:
            inner = trace.set_span_in_context(span, context)
            for child in spec.children:
                self._emit(child, inner)
        span.end(end_time=spec.end_ns)

    def close(self) -> str | None:
        """Flush (bounded), stop, and say what was not delivered (None: everything was)."""
        flushed = False
        try:
            if not self.delivery.last_failed:  # a collector known to be down is not waited for
                flushed = self.provider.force_flush(timeout_millis=int(FLUSH_TIMEOUT_S * 1000))
            self.delivery.shutdown()
            self.provider.shutdown()
        finally:
            self.logs.detach()
        missing = self.created - self.delivery.delivered
        if missing <= 0 and flushed:
            return None
        cause = self.delivery.last_error or self.logs.first or "no answer in time"
        return (
            f"{missing} of {self.created} span(s) not delivered to {scrub_text(self.url)} "
            f"({cause}); the run itself is complete"
        )

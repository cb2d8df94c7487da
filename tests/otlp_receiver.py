"""A real OTLP/HTTP traces receiver on 127.0.0.1 for tests (protobuf, as collectors take it).

Every POST to ``/v1/traces`` is kept with its headers and answered 200 with an empty
``ExportTraceServiceResponse``; :meth:`OtlpReceiver.spans` decodes what came (opentelemetry-
proto) into plain :class:`Span` rows. Run as a script, it prints ``PORT <n>`` and then one
line per span received (name, trace, parent, attributes): ``python tests/otlp_receiver.py``
(``--quiet``: only the count of spans received, printed when stdin closes).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    start_ns: int
    end_ns: int
    status: int
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def decode(body: bytes) -> list[Span]:
    """The spans of one ExportTraceServiceRequest."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    out = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                out.append(
                    Span(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        kind=span.kind,
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        status=span.status.code,
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        resource=resource,
                    )
                )
    return out


class OtlpReceiver:
    def __init__(self, on_body: Any = None) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.on_body = on_body
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.paths.append(self.path)
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                receiver.bodies.append(body)
                if receiver.on_body is not None:
                    receiver.on_body(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def spans(self) -> list[Span]:
        return [span for body in list(self.bodies) for span in decode(body)]


def main() -> None:
    quiet = "--quiet" in sys.argv[1:]

    def show(body: bytes) -> None:
        for span in decode(body):
            parent = span.parent_id or "-"
            print(f"{span.name}  trace={span.trace_id[:8]} parent={parent[:8]} {span.attributes}")
        sys.stdout.flush()

    with OtlpReceiver(on_body=None if quiet else show) as receiver:
        print(f"PORT {receiver.port}", flush=True)
        if quiet:
            sys.stdin.read()
            print(f"SPANS {len(receiver.spans())}", flush=True)
        else:
            threading.Event().wait()


if __name__ == "__main__":
    main()

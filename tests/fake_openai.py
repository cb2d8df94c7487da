"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests (scripted answers, faults).

It runs an aiohttp app in a background thread. ``answer(body)`` decides the reply: a string
(the content), or a mapping ``{"content": ..., "tool_calls": [{"name", "arguments", "id"}]}``
for a reply that calls tools (``arguments`` a mapping or JSON text; ``id`` defaults to
``call_<request>_<n>``); ``faults`` is a list consumed one per request (e.g. ``"429"``,
``"500"``, ``"html502"``, ``"stall"``, ``"truncated"``, ``"empty"``, and odd replies:
``"surrogate"``,
``"parts"``, ``"badusage"``, ``"nochoices"``, ``"badutf8"``, ``"echoauth"``; and hostile ones:
``"429days"`` / ``"429date"`` (Retry-After three days, as seconds or as an HTTP date),
``"hugeusage"`` / ``"negusage"`` / ``"nanusage"`` / ``"infusage"`` (absurd token counts),
``"huge"`` (an answer of ``huge_bytes``), ``"endless"`` (a chunked answer that never ends:
``streamed_bytes`` counts what was sent before the client hung up)); every request body is
kept.

Run as a script it serves in its own process (for benchmarks, so the server does not share
the client's CPU): ``python tests/fake_openai.py --latency 0.1`` prints ``PORT <n>`` and
answers like a refiner and the official judge (``JudgeScript``). ``GET /v1/_requests`` returns
the bodies received so far (``?reset=1`` clears them) and ``GET /v1/_stats`` their count and
the most requests it held in flight at once, overall and per model name (``?reset=1``
restarts those counts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

Answer = Callable[[dict[str, Any]], "str | dict[str, Any]"]


def reply_message(reply: str | dict[str, Any], number: int) -> tuple[dict[str, Any], str]:
    """The assistant message and finish reason for an answer (text, or text and tool calls)."""
    if isinstance(reply, str):
        return {"role": "assistant", "content": reply}, "stop"
    calls = []
    for index, call in enumerate(reply.get("tool_calls") or ()):
        arguments = call.get("arguments", {})
        calls.append(
            {
                "id": call.get("id") or f"call_{number}_{index}",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        )
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if calls:
        message["tool_calls"] = calls
    return message, "tool_calls" if calls else "stop"


class FakeOpenAI:
    def __init__(self, answer: Answer, *, latency_s: float = 0.0) -> None:
        self.answer = answer
        self.latency_s = latency_s
        self.stall_s = 3.0
        self.huge_bytes = 4 * 1024 * 1024
        self.streamed_bytes = 0
        self.faults: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        """Most requests held at once, per model name and in all (key ``"*"``)."""

    def _enter(self, model: str) -> None:
        for key in (model, "*"):
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.max_in_flight[key] = max(self.max_in_flight.get(key, 0), self.in_flight[key])

    def _leave(self, model: str) -> None:
        for key in (model, "*"):
            self.in_flight[key] -= 1

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/_requests", self._dump)
        app.router.add_get("/v1/_stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _dump(self, request: web.Request) -> web.Response:
        with self._lock:
            bodies = list(self.requests)
            if request.query.get("reset"):
                self.requests.clear()
        return web.json_response(bodies)

    async def _stats(self, request: web.Request) -> web.Response:
        with self._lock:
            stats = {"requests": len(self.requests), "max_in_flight": dict(self.max_in_flight)}
            if request.query.get("reset"):
                self.max_in_flight.clear()
            return web.json_response(stats)

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        """A chunked answer that does not end until the client stops reading."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the client hung up: what we wanted
            await _endless_body(self, response)
        return response

    def next_fault(self) -> str | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = str(body.get("model", ""))
        self._enter(model)  # the server's one event-loop thread: no lock needed
        try:
            return await self._reply(request, body)
        finally:
            self._leave(model)

    async def _reply(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        with self._lock:
            self.requests.append(body)
            self.headers.append(dict(request.headers))
        fault = self.next_fault()
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault == "429":
            return web.json_response(
                {"error": {"message": "slow down", "type": "rate_limit"}},
                status=429,
                headers={"Retry-After": "0.2"},
            )
        if fault in ("429days", "429date"):
            wait = "259200"
            if fault == "429date":
                from email.utils import formatdate

                wait = formatdate(time.time() + 259200, usegmt=True)
            return web.json_response(
                {"error": {"message": "quota exhausted", "type": "rate_limit"}},
                status=429,
                headers={"Retry-After": wait},
            )
        if fault == "endless":
            return await self._endless(request)
        if fault == "500":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if fault == "html502":
            return web.Response(
                text="<html><body>502 Bad Gateway</body></html>",
                status=502,
                content_type="text/html",
            )
        if fault == "stall":
            await asyncio.sleep(self.stall_s)
        if fault == "echoauth":  # a provider error body that echoes the request's credentials
            echoed = {"Authorization": request.headers.get("Authorization", "")}
            return web.json_response(
                {"error": {"message": "bad key", "headers": echoed}}, status=401
            )
        if fault == "401":
            return web.json_response(
                {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                           "code": "invalid_api_key"}}, status=401,
            )  # fmt: skip
        if fault == "404":
            return web.json_response(
                {"error": {"message": "The model `fake` does not exist",
                           "type": "invalid_request_error", "code": "model_not_found"}},
                status=404,
            )  # fmt: skip
        if fault == "badutf8":
            return web.Response(body=b'{"choices": [{"message": {"content": "\xff\xfe"}}]}',
                                content_type="application/json")  # fmt: skip
        reply = "" if fault == "empty" else self.answer(body)
        if fault == "huge":
            reply = official_answer(True) + "\n" + "x" * self.huge_bytes
        if fault == "surrogate":
            reply = "Correctness: Correct \ud800 Final Answer: 1"
        message, finish = reply_message(reply, len(self.requests))
        text = message.get("content") or ""
        payload = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        if fault == "parts":
            payload["choices"][0]["message"]["content"] = [{"type": "text", "text": text}]
        if fault == "badusage":
            payload["usage"] = {"prompt_tokens": "lots", "completion_tokens": None}
        if fault == "nochoices":
            payload["choices"] = []
        absurd = {"hugeusage": 10**400, "negusage": -7, "nanusage": float("nan"),
                  "infusage": float("inf")}  # fmt: skip
        if fault in absurd:
            figure = absurd[fault]
            payload["usage"] = {"prompt_tokens": figure, "completion_tokens": figure,
                                "total_tokens": figure}  # fmt: skip
        raw = json.dumps(payload)
        if fault == "truncated":
            raw = raw[: len(raw) // 2]
        return web.Response(text=raw, content_type="application/json")


async def _endless_body(server: FakeOpenAI, response: web.StreamResponse) -> None:
    chunk = b"x" * (256 * 1024)
    await response.write(b'{"choices": [{"message": {"role": "assistant", "content": "')
    while server.streamed_bytes < 2 * 1024**3:  # a bound for the test machine's sake
        await response.write(chunk)
        server.streamed_bytes += len(chunk)


def user_text(body: dict[str, Any]) -> str:
    """All text of the last message of a request body."""
    content = body["messages"][-1]["content"] or ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def image_parts(body: dict[str, Any]) -> list[str]:
    """The image data URLs in a request body."""
    urls = []
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, list):
            urls += [p["image_url"]["url"] for p in content if p.get("type") == "image_url"]
    return urls


def official_answer(correct: bool, final: str = "42", step: int = 2) -> str:
    """A refinement answer in the official format."""
    if correct:
        return (
            "Review and Correction (if applicable):\nStep 1: fine.\nStep 2: fine.\n"
            "Overall Assessment:\nCorrectness: Correct\nExplanation: all good.\n"
            f"Final Answer: {final}"
        )
    return (
        "Review and Correction (if applicable):\nStep 1: fine.\n"
        f"Error found in step {step}: the sign is wrong.\nCorrected solution from step {step}:\n"
        f"Step {step}: fixed.\nOverall Assessment:\nCorrectness: Incorrect\n"
        f"Explanation: step {step} was wrong.\nFinal Answer: {final}"
    )


class JudgeScript:
    """Answers refinement prompts and the three official judge prompts; can misbehave."""

    def __init__(self) -> None:
        self.garbage_for: set[str] = set()  # substrings of initial solutions to answer badly
        self.calls: dict[str, int] = {}

    def __call__(self, body: dict[str, Any]) -> str:
        text = user_text(body)
        if text.startswith("You are a mathematical expert"):
            kind = "refine"
            reply = official_answer(len(text) % 2 == 0, "8")
        elif text.startswith("Given the model's response, output 1 if 'Correctness'"):
            kind = "eval_correct"
            reply = "1" if "Correctness: Correct" in text else "0"
        elif text.startswith("You are an expert evaluator"):
            kind = "eval_incorrect"
            n = len(text)
            reply = (
                f"Error Detection: {n % 2}\nError Correction: {(n // 2) % 2}\n"
                f"Effectiveness and Correctness of the Feedback: {(n // 4) % 2}"
            )
            if any(g in text for g in self.garbage_for):
                reply = "I cannot evaluate this."
        elif text.startswith("Given the model's response, parse"):
            kind = "parsing"
            target = re.search(r'parse "([^"]+)"', text)
            found = target and re.search(re.escape(target.group(1)) + r": \[?([01])", text)
            reply = found.group(1) if found else "N/A - not present"
        else:
            kind, reply = "other", "?"
        self.calls[kind] = self.calls.get(kind, 0) + 1  # the server's one event-loop thread
        return reply


def main() -> None:
    """Serve in the foreground (its own process) until stdin closes or the process is killed."""
    parser = argparse.ArgumentParser(description="loopback OpenAI-compatible judge-like server")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    args = parser.parse_args()
    server = FakeOpenAI(JudgeScript(), latency_s=args.latency)
    with server:
        print(f"PORT {server.port}", flush=True)
        sys.stdin.read()  # the parent closes stdin (or kills us) to stop


if __name__ == "__main__":
    main()

"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests (scripted answers, faults).

It runs an aiohttp app in a background thread. ``answer(body) -> str`` decides the reply
content; ``faults`` is a list consumed one per request (e.g. ``"429"``, ``"500"``,
``"html502"``, ``"stall"``, ``"truncated"``, ``"empty"``); every request body is kept.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web


class FakeOpenAI:
    def __init__(self, answer: Callable[[dict[str, Any]], str], *, latency_s: float = 0.0) -> None:
        self.answer = answer
        self.latency_s = latency_s
        self.stall_s = 3.0
        self.faults: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

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

    def next_fault(self) -> str | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
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
        text = "" if fault == "empty" else self.answer(body)
        payload = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        raw = json.dumps(payload)
        if fault == "truncated":
            raw = raw[: len(raw) // 2]
        return web.Response(text=raw, content_type="application/json")


def user_text(body: dict[str, Any]) -> str:
    """All text of the last user message of a request body."""
    content = body["messages"][-1]["content"]
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

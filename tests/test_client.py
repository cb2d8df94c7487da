"""The call path: identical calls in flight at once are made once; a failed leader does not
take the others down with it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from mmrefine_agent.config import ModelConfig
from mmrefine_agent.engine.cache import CallCache
from mmrefine_agent.engine.client import ClientSettings, ModelClient
from mmrefine_agent.model.backend import ModelBackend, TransientModelError
from mmrefine_agent.types import CallTags, ChatMessage, ModelRequest, ModelResponse


class SlowEcho(ModelBackend):
    """Answers after a delay; the first ``fail_first`` calls fail transiently."""

    def __init__(self, fail_first: int = 0) -> None:
        super().__init__(ModelConfig(backend="slow", name="echo"))
        self.calls: list[str] = []
        self.fail_first = fail_first

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls.append(request.messages[-1].text)
        await asyncio.sleep(0.05)
        if len(self.calls) <= self.fail_first:
            raise TransientModelError("flaky")
        return ModelResponse(
            text="answer: " + request.messages[-1].text, model="echo", cost_usd=1.0
        )


def client_for(backend: ModelBackend, cache_dir: Path, retries: int = 0) -> ModelClient:
    return ModelClient(
        backend,
        limiter=asyncio.Semaphore(8),
        settings=ClientSettings(retries=retries, backoff_s=0.01),
        cache=CallCache(cache_dir),
    )


def ask(client: ModelClient, text: str, n: int) -> Any:
    message = (ChatMessage("user", text),)

    async def all_at_once() -> list[Any]:
        return await asyncio.gather(
            *(client.call(message, CallTags(f"item{i}", "detect", 1)) for i in range(n))
        )

    return asyncio.run(all_at_once())


def test_identical_calls_in_flight_are_made_once(tmp_path: Path) -> None:
    backend = SlowEcho()
    client = client_for(backend, tmp_path)
    answers = ask(client, "same prompt", 5)
    assert backend.calls == ["same prompt"]
    assert {response.text for response, _ in answers} == {"answer: same prompt"}
    assert client.totals.calls == 1 and client.totals.cache_hits == 4
    assert client.totals.cost_usd == 1.0  # the shared answers cost nothing
    assert sum(1 for response, _ in answers if response.cache_hit) == 4


def test_a_failed_leader_lets_the_others_try_on_their_own(tmp_path: Path) -> None:
    backend = SlowEcho(fail_first=1)
    client = client_for(backend, tmp_path, retries=0)
    outcomes = []

    async def run() -> None:
        message = (ChatMessage("user", "p"),)
        results = await asyncio.gather(
            *(client.call(message, CallTags(f"i{i}", "detect", 1)) for i in range(3)),
            return_exceptions=True,
        )
        outcomes.extend(results)

    asyncio.run(run())
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert len(failures) == 1  # only the leader's own call failed
    assert all(o[0].text == "answer: p" for o in outcomes if not isinstance(o, Exception))
    assert len(backend.calls) == 2  # one retry by a former waiter, shared with the third

"""The call path every model call takes: cache, concurrency limit, timeout, retries, budget."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from mmrefine_agent.engine.cache import CallCache, call_key
from mmrefine_agent.engine.reply_limits import (
    DEFAULT_MAX_REPLY_BYTES,
    DEFAULT_MAX_RETRY_AFTER_S,
    believable_usage,
    reply_bytes_over,
    too_large,
)
from mmrefine_agent.errors import ModelCallError
from mmrefine_agent.model.backend import (
    ModelBackend,
    PermanentModelError,
    ReplyTooLarge,
    TransientModelError,
    parse_retry_after,
)
from mmrefine_agent.records.models import CallRecord, MessageSummary, UsageBlock
from mmrefine_agent.redact import scrub, scrub_text
from mmrefine_agent.types import CallTags, ChatMessage, ModelRequest, ModelResponse


def params_record(params: dict[str, Any]) -> dict[str, Any]:
    """The call parameters as a call record keeps them: credentials masked, tools by name."""
    recorded: dict[str, Any] = scrub(params)
    tools = params.get("tools")
    if isinstance(tools, list):
        recorded["tools"] = [tool_name(t) for t in tools]
    return recorded


def tool_name(schema: object) -> str:
    """The name in an OpenAI tool schema (``{"type": "function", "function": {"name": ...}}``)."""
    if isinstance(schema, dict):
        function = schema.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
        if isinstance(schema.get("name"), str):
            return str(schema["name"])
    return "?"


def clean_text(response: ModelResponse) -> None:
    """Model text is data: lone surrogates (valid escaped JSON, invalid text) become U+FFFD."""
    try:
        response.text.encode("utf-8")
    except UnicodeEncodeError:
        response.text = response.text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        response.notes.append("answer had invalid characters (lone surrogates); replaced")


class BackendCrashed(ModelCallError):
    """Backend plugin code raised something other than a model error (never retried)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class BudgetExceeded(ModelCallError):
    """``run.max_cost_usd`` was reached: no new (uncached) calls are issued."""

    def __init__(self, spent: float, limit: float) -> None:
        super().__init__(f"cost budget reached: ${spent:.4f} of ${limit:.4f}", retryable=True)


@dataclass(slots=True)
class UsageTotals:
    """Running totals for one purpose (refine or judge)."""

    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    on_paid: Callable[[], None] | None = None
    """Called after each paid call is counted (the run's usage journal)."""

    def add(self, response: ModelResponse) -> None:
        """Count one completed call."""
        self.input_tokens += response.input_tokens
        self.output_tokens += response.output_tokens
        if response.cache_hit:
            self.cache_hits += 1
            return
        self.calls += 1
        self.cost_usd += response.cost_usd
        if self.on_paid is not None:
            self.on_paid()

    def absorb(self, block: UsageBlock) -> None:
        """Add a usage block counted elsewhere (e.g. by another process)."""
        self.calls += block.calls
        self.cache_hits += block.cache_hits
        self.failures += block.failures
        self.retries += block.retries
        self.input_tokens += block.input_tokens
        self.output_tokens += block.output_tokens
        self.cost_usd += block.cost_usd

    def as_json(self) -> str:
        """The totals as a JSON object with :class:`UsageBlock`'s fields (cheap: no model)."""
        cost = self.cost_usd
        return (
            f'{{"calls":{self.calls:d},"cache_hits":{self.cache_hits:d},'
            f'"failures":{self.failures:d},"retries":{self.retries:d},'
            f'"input_tokens":{self.input_tokens:d},"output_tokens":{self.output_tokens:d},'
            f'"cost_usd":{cost!r}}}'
            if math.isfinite(cost)
            else self.snapshot().model_dump_json()
        )

    def snapshot(self) -> UsageBlock:
        """The totals so far as a record."""
        return UsageBlock(
            calls=self.calls,
            cache_hits=self.cache_hits,
            failures=self.failures,
            retries=self.retries,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=round(self.cost_usd, 6),
        )


@dataclass(slots=True)
class Budget:
    """A shared spending limit in USD (None: unlimited), with the cost of calls in flight.

    A call starts only while the spend so far, plus an estimate of every call in flight and
    of itself, stays within the limit; each call is estimated at the dearest call seen so
    far. The first call goes alone (nothing is known of the cost yet), and when the budget
    left is less than one call, calls go one at a time. So the spend passes the limit by at
    most about one call (more only when a call costs more than any before it).
    """

    limit: float | None
    spent: float = 0.0
    reserved: float = 0.0
    in_flight: int = 0
    dearest: float | None = None
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def check(self) -> None:
        """Raise BudgetExceeded when the limit is reached."""
        if self.limit is not None and self.spent >= self.limit:
            raise BudgetExceeded(self.spent, self.limit)

    def charge(self, cost_usd: float) -> None:
        """Count the cost of one finished call."""
        self.spent += cost_usd

    async def reserve(self) -> float:
        """Wait until a call may start within the budget; the amount reserved for it.

        Raises BudgetExceeded once the spend has reached the limit.
        """
        if self.limit is None:
            return 0.0
        while True:
            self.check()
            estimate = self.dearest
            if self.in_flight == 0 or (
                estimate is not None and self.spent + self.reserved + estimate <= self.limit
            ):
                self.in_flight += 1
                self.reserved += estimate or 0.0
                return estimate or 0.0
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def settle(self, reserved: float, cost_usd: float | None) -> None:
        """A call ended: release what it reserved and charge its cost (None: it failed)."""
        if cost_usd is not None:
            self.charge(cost_usd)
        if self.limit is None:
            return
        self.in_flight -= 1
        self.reserved = max(0.0, self.reserved - reserved)
        if cost_usd is not None:
            self.dearest = cost_usd if self.dearest is None else max(self.dearest, cost_usd)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


@dataclass(slots=True)
class ClientSettings:
    """Retry, timeout and cache behaviour for one client."""

    timeout_s: float = 120.0
    retries: int = 4
    backoff_s: float = 1.0
    backoff_cap_s: float = 60.0
    params: dict[str, Any] = field(default_factory=dict)
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S
    """A server asking to wait longer than this (Retry-After) fails the call at once."""
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    """A longer reply fails the call (the backend's own ``max_reply_bytes`` stops its reading)."""
    section: str = "model"
    """The config section these settings come from (``model`` or ``judge``), for messages."""


class ModelClient:
    """Calls one backend under a shared concurrency limit, with cache and retries.

    ``limiter`` is entered around each attempt: an ``asyncio.Semaphore``, or a limit shared
    with other processes (the Ray executor's).
    """

    def __init__(
        self,
        backend: ModelBackend,
        *,
        limiter: AbstractAsyncContextManager[Any],
        settings: ClientSettings,
        cache: CallCache | None = None,
        budget: Budget | None = None,
        totals: UsageTotals | None = None,
    ) -> None:
        self.backend = backend
        self.limiter = limiter
        self.settings = settings
        self.cache = cache
        self.budget = budget or Budget(None)
        self.totals = totals or UsageTotals()
        self._serial = asyncio.Lock() if backend.serialised else None
        self._identity = backend.identity()
        self._in_flight: dict[str, asyncio.Future[ModelResponse]] = {}
        self._settings_params = params_record(settings.params)  # the plain calls' record

    def _prepare(
        self, messages: tuple[ChatMessage, ...]
    ) -> tuple[tuple[ChatMessage, ...], list[str]]:
        if self.backend.sees_images or not any(m.images for m in messages):
            return messages, []
        dropped = sum(len(m.images) for m in messages)
        stripped = tuple(dataclasses.replace(m, images=()) for m in messages)
        backend = self.backend.config.backend
        note = f"image not seen: backend '{backend}' is text-only ({dropped} dropped)"
        return stripped, [note]

    async def call(
        self,
        messages: tuple[ChatMessage, ...],
        tags: CallTags,
        params: dict[str, Any] | None = None,
        *,
        cache_salt: str = "",
    ) -> tuple[ModelResponse, CallRecord]:
        """Make one call; returns the response and its trace record. Raises ModelCallError.

        ``cache_salt`` makes a deliberate re-ask (e.g. after an unparsable judge reply) miss
        the cache without changing what is sent.
        """
        sent, notes = self._prepare(messages)
        merged = {**self.settings.params, **(params or {})}
        request = ModelRequest(messages=sent, params=merged, tags=tags)
        summary = [m.summary() for m in messages]
        key = call_key(self._identity, merged, sent, cache_salt) if self.cache is not None else None
        if self.cache is not None and key is not None:
            hit = self.cache.get(key)
            while hit is None and key in self._in_flight:
                # the same call is already on its way: share its answer (a cache hit, no cost);
                # if that call fails, look again (another waiter may have taken over) or go on
                try:
                    shared = await asyncio.shield(self._in_flight[key])
                    hit = dataclasses.replace(shared, cache_hit=True, cost_usd=0.0)
                except Exception:
                    hit = self.cache.get(key)
            if hit is not None:
                hit.notes = [*notes, *hit.notes]
                self.totals.add(hit)
                return hit, self._record(summary, hit, params, merged)
        pending: asyncio.Future[ModelResponse] | None = None
        if key is not None:
            pending = asyncio.get_running_loop().create_future()
            self._in_flight[key] = pending
        try:
            response, attempts = await self._call_with_retries(request)
        except BaseException as exc:
            if pending is not None:
                pending.set_exception(
                    exc if isinstance(exc, Exception) else RuntimeError("cancelled")
                )
                pending.exception()  # retrieved here, so no "never retrieved" warning
            raise
        finally:
            if key is not None:
                self._in_flight.pop(key, None)
        if pending is not None:
            pending.set_result(dataclasses.replace(response, notes=list(response.notes)))
        response.notes = [*notes, *response.notes]
        self.totals.add(response)
        if self.cache is not None and key is not None:
            self.cache.put(key, response)
        return response, self._record(summary, response, params, merged, attempts)

    def _record(
        self,
        summary: list[MessageSummary],
        response: ModelResponse,
        params: dict[str, Any] | None,
        merged: dict[str, Any],
        attempts: int = 1,
    ) -> CallRecord:
        """The call's trace record: prompt, answer, usage, parameters and tool calls."""
        record = CallRecord(
            messages=summary,
            answer=response.text,
            usage=response.usage(),
            attempts=attempts,
            params=params_record(merged) if params else self._settings_params,
        )
        if response.tool_calls:
            record.tool_calls = [call.summary() for call in response.tool_calls]
        return record

    async def _attempt(self, request: ModelRequest) -> ModelResponse:
        """One attempt at the backend, under the timeout (and the serialising lock)."""
        started = time.perf_counter()
        if self._serial is not None:
            async with self._serial:
                response = await asyncio.wait_for(
                    self.backend.complete(request), self.settings.timeout_s
                )
        else:
            response = await asyncio.wait_for(
                self.backend.complete(request), self.settings.timeout_s
            )
        if not response.latency_s:
            response.latency_s = time.perf_counter() - started
        believable_usage(response)
        self._check_size(request, response)
        clean_text(response)
        return response

    async def _call_with_retries(self, request: ModelRequest) -> tuple[ModelResponse, int]:
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.limiter:
                    # reserved and charged while holding a slot: a call starts only while the
                    # spend plus the calls in flight stay within the budget (see Budget)
                    reserved = await self.budget.reserve()
                    cost: float | None = None
                    try:
                        response = await self._attempt(request)
                        cost = response.cost_usd
                    finally:
                        self.budget.settle(reserved, cost)
                return response, attempt
            except PermanentModelError as exc:
                self.totals.failures += 1
                message = f"{request.tags.node}: {exc}"
                if isinstance(exc, ReplyTooLarge):
                    message = too_large(request.tags.node, self.settings.section, exc.limit)
                raise ModelCallError(scrub_text(message), retryable=False) from exc
            except (TransientModelError, TimeoutError) as exc:
                if attempt > self.settings.retries:
                    self.totals.failures += 1
                    what = "timed out" if isinstance(exc, TimeoutError) else str(exc)
                    raise ModelCallError(
                        scrub_text(
                            f"{request.tags.node}: failed after {attempt} attempt(s): {what}"
                        )
                    ) from exc
                retry_after = parse_retry_after(getattr(exc, "retry_after", None))
                if retry_after is not None and retry_after > self.settings.max_retry_after_s:
                    self.totals.failures += 1
                    raise ModelCallError(
                        scrub_text(
                            f"{request.tags.node}: the server asks to wait {retry_after:,.0f} s "
                            f"(Retry-After), more than run.max_retry_after_s "
                            f"({self.settings.max_retry_after_s:g} s): {exc}"
                        ),
                        retryable=False,
                    ) from exc
                self.totals.retries += 1
                delay = min(
                    self.settings.backoff_cap_s, self.settings.backoff_s * 2 ** (attempt - 1)
                )
                delay = delay * (0.5 + random.random() / 2)
                if retry_after is not None:
                    delay = max(delay, retry_after)
                await asyncio.sleep(delay)
            except ModelCallError:
                raise  # the budget, checked inside the slot
            except Exception as exc:  # a bug in backend plugin code: this call fails for good
                self.totals.failures += 1
                backend = self.backend.config.backend
                raise BackendCrashed(
                    scrub_text(
                        f"{request.tags.node}: backend '{backend}' raised {type(exc).__name__}: "
                        f"{exc}"
                    )
                ) from exc

    def _check_size(self, request: ModelRequest, response: ModelResponse) -> None:
        """Fail the call (for good) on a reply over ``max_reply_bytes``."""
        limit = self.settings.max_reply_bytes
        text = response.text
        if response.tool_calls:  # the calls' arguments count too
            text += "".join(c.name + c.arguments_json for c in response.tool_calls)
        size = reply_bytes_over(text, limit)
        if size is not None:
            self.totals.failures += 1
            raise ModelCallError(
                too_large(request.tags.node, self.settings.section, limit, size), retryable=False
            )

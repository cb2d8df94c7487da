"""Limits every Ray worker of a run shares: calls in flight per role, and one cost budget.

One async actor (:class:`LimitsServer`) holds a semaphore per (role, concurrency) and the
spend of each budget scope (a run, or a sweep's cell). A worker enters a :class:`SharedSlot`
around every call attempt, exactly where the local client enters its ``asyncio.Semaphore``:
one awaited actor call to take a permit (it answers with the scope's spend so far, which the
worker's :class:`SharedBudget` checks), one fire-and-forget call to give it back with the
call's cost. ``run.concurrency`` and ``judge.concurrency`` therefore bound the requests in
flight over all workers together, and ``run.max_cost_usd`` is one budget for the whole run
(calls already in flight can overshoot it a little, as in a local run).

Permits of a worker that dies are returned by the driver (:meth:`LimitsServer.forget`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from mmrefine_agent.engine.client import Budget


class LimitsServer:
    """The shared limits (runs as one Ray actor; every method runs on its event loop)."""

    def __init__(self) -> None:
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._spent: dict[str, float] = {}
        self._held: dict[str, dict[str, int]] = {}
        self._dead: set[str] = set()
        self._in_flight: dict[str, int] = {}
        self._peak: dict[str, int] = {}

    async def acquire(self, key: str, concurrency: int, holder: str, scope: str) -> float:
        """Wait for a permit of ``key``; returns the spend of ``scope`` so far."""
        slot = self._slots.setdefault(key, asyncio.Semaphore(concurrency))
        await slot.acquire()
        if holder in self._dead:  # granted after its worker died: nobody will give it back
            slot.release()
            return self._spent.get(scope, 0.0)
        held = self._held.setdefault(holder, {})
        held[key] = held.get(key, 0) + 1
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        self._peak[key] = max(self._peak.get(key, 0), self._in_flight[key])
        return self._spent.get(scope, 0.0)

    def release(self, key: str, holder: str, scope: str, cost_usd: float) -> None:
        """Give a permit back and add the cost of the call made under it."""
        self._spent[scope] = self._spent.get(scope, 0.0) + cost_usd
        held = self._held.get(holder, {})
        if held.get(key, 0) > 0:
            held[key] -= 1
            self._in_flight[key] -= 1
            self._slots[key].release()

    def forget(self, holder: str) -> int:
        """Return every permit a dead worker held; returns how many."""
        self._dead.add(holder)
        returned = 0
        for key, count in self._held.pop(holder, {}).items():
            for _ in range(count):
                self._slots[key].release()
            self._in_flight[key] -= count
            returned += count
        return returned

    def spent(self, scope: str) -> float:
        """The spend of one scope so far."""
        return self._spent.get(scope, 0.0)

    def peaks(self) -> dict[str, int]:
        """The most permits of each key held at once (for benchmarks and tests)."""
        return dict(self._peak)

    async def ping(self) -> None:
        """Nothing: one round trip (measures the per-call cost of the shared limits)."""


@dataclass(slots=True)
class SharedBudget(Budget):
    """A worker's view of a scope's budget: the last spend the actor reported plus its own."""

    pending: float = 0.0

    def charge(self, cost_usd: float) -> None:
        """Count a call's cost here at once; it reaches the actor with the permit."""
        self.spent += cost_usd
        self.pending += cost_usd


@dataclass(slots=True)
class SharedLimits:
    """A worker's handle on the limits actor for one scope: slots per role and the budget."""

    actor: Any
    holder: str
    scope: str
    budget: SharedBudget = field(default_factory=lambda: SharedBudget(None))

    def limiter(self, role: str, concurrency: int) -> SharedSlot:
        """The slot every call of ``role`` enters (shared by all workers of the pool)."""
        return SharedSlot(self, f"{role}:{concurrency}", concurrency)

    async def take(self, key: str, concurrency: int) -> None:
        """Take a permit; refresh the budget view with the scope's spend."""
        spent = await self.actor.acquire.remote(key, concurrency, self.holder, self.scope)
        self.budget.spent = max(self.budget.spent, float(spent) + self.budget.pending)

    def give_back(self, key: str) -> None:
        """Return a permit with the cost charged since the last one (not awaited)."""
        cost, self.budget.pending = self.budget.pending, 0.0
        self.actor.release.remote(key, self.holder, self.scope, cost)


@dataclass(slots=True)
class SharedSlot:
    """An async context manager holding one permit of the shared limits."""

    limits: SharedLimits
    key: str
    concurrency: int

    async def __aenter__(self) -> None:
        await self.limits.take(self.key, self.concurrency)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.limits.give_back(self.key)

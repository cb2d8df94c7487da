"""Limits every Ray worker of a run shares: calls in flight per role, and one cost budget.

One async actor (:class:`LimitsServer`) owns, per (role, concurrency), the permits of
``run.concurrency`` / ``judge.concurrency``, and the spend of each budget scope (a run, or a
sweep's cell). Workers do not ask it once per call: each *leases* permits
(:class:`LeasedSlots`) and hands them to its own calls locally, so a model call costs no actor
round trip while the worker keeps its lease. The leases never add up to more than the
concurrency, so the requests in flight over all workers together never exceed it. Fairness:
the actor tells every worker its share (concurrency / workers that want permits); a worker
above its share gives permits back as its calls end, and refreshes its share and reports its
spend every ``SYNC_S`` seconds while it holds any.

The budget is one for the whole run (earlier sessions' spend included): each worker checks the
scope's spend as last reported by the actor plus its own spend since, and bounds its own calls
in flight as a local run does (``Budget``); calls of other workers in the last ``SYNC_S`` can
overshoot it a little more.

Permits of a worker that dies are returned by the driver (:meth:`LimitsServer.forget`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from mmrefine_agent.engine.client import Budget

SYNC_S = 0.1


@dataclass(slots=True)
class _Permits:
    """The permits of one (role, concurrency) at the actor."""

    concurrency: int
    free: int
    held: dict[str, int] = field(default_factory=dict)
    wanting: dict[str, int] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    peak: int = 0

    def share(self) -> int:
        """Each active worker's fair part (rounded up: no permit is left idle)."""
        active = {h for h, n in self.held.items() if n > 0} | {
            h for h, n in self.wanting.items() if n > 0
        }
        return max(1, -(-self.concurrency // max(1, len(active))))


class LimitsServer:
    """The shared limits (runs as one Ray actor; every method runs on its event loop)."""

    def __init__(self) -> None:
        self._permits: dict[str, _Permits] = {}
        self._spent: dict[str, float] = {}
        self._dead: set[str] = set()

    def _get(self, key: str, concurrency: int) -> _Permits:
        if key not in self._permits:
            self._permits[key] = _Permits(concurrency=concurrency, free=concurrency)
        return self._permits[key]

    async def sync(
        self,
        key: str,
        concurrency: int,
        holder: str,
        scope: str,
        want: int = 0,
        give: int = 0,
        cost_usd: float = 0.0,
    ) -> tuple[int, int, float]:
        """Return ``give`` permits and ``cost_usd`` of spend; wait for up to ``want`` more.

        Returns (permits granted, the holder's share, the scope's spend so far).
        """
        permits = self._get(key, concurrency)
        self._spent[scope] = self._spent.get(scope, 0.0) + cost_usd
        if give:
            await self._put(permits, holder, give)
        granted = 0
        if want > 0:
            permits.wanting[holder] = permits.wanting.get(holder, 0) + 1
            try:
                async with permits.changed:
                    await permits.changed.wait_for(lambda: permits.free > 0)
                    room = max(1, permits.share() - permits.held.get(holder, 0))
                    granted = min(want, permits.free, room)
                    permits.free -= granted
                    permits.held[holder] = permits.held.get(holder, 0) + granted
                    permits.peak = max(permits.peak, permits.concurrency - permits.free)
            finally:
                permits.wanting[holder] -= 1
            if holder in self._dead:  # granted after its worker died: nobody would give it back
                await self._put(permits, holder, granted)
                granted = 0
        return granted, permits.share(), self._spent.get(scope, 0.0)

    async def _put(self, permits: _Permits, holder: str, count: int) -> None:
        count = min(count, permits.held.get(holder, 0))
        permits.held[holder] = permits.held.get(holder, 0) - count
        permits.free += count
        async with permits.changed:
            permits.changed.notify_all()

    async def forget(self, holder: str) -> int:
        """Return every permit a dead worker held; returns how many."""
        self._dead.add(holder)
        returned = 0
        for permits in self._permits.values():
            count = permits.held.get(holder, 0)
            if count:
                await self._put(permits, holder, count)
                returned += count
        return returned

    def add_spend(self, scope: str, cost_usd: float) -> None:
        """Count spend made before this session (a resumed run's earlier sessions)."""
        self._spent[scope] = self._spent.get(scope, 0.0) + cost_usd

    def spent(self, scope: str) -> float:
        """The spend of one scope so far."""
        return self._spent.get(scope, 0.0)

    def peaks(self) -> dict[str, int]:
        """The most permits of each key leased at once (never above its concurrency)."""
        return {key: permits.peak for key, permits in self._permits.items()}


@dataclass(slots=True)
class SharedBudget(Budget):
    """A worker's view of a scope's budget: the spend the actor reported plus its own since."""

    unsent: float = 0.0

    def charge(self, cost_usd: float) -> None:
        """Count a call's cost here at once; it reaches the actor with the next sync."""
        self.spent += cost_usd
        self.unsent += cost_usd

    def take_unsent(self) -> float:
        """The spend not yet reported (now counted as reported)."""
        cost, self.unsent = self.unsent, 0.0
        return cost

    def reported(self, spent: float) -> None:
        """The actor's figure for the scope (which includes everything sent so far)."""
        self.spent = max(self.spent, spent + self.unsent)


class LeasedSlots:
    """One worker's lease of one key's permits, handed to its calls without actor calls."""

    def __init__(self, limits: SharedLimits, key: str, concurrency: int) -> None:
        self.limits = limits
        self.key = key
        self.concurrency = concurrency
        self.held = 0
        self.in_use = 0
        self.share = concurrency
        self.waiters: deque[asyncio.Future[None]] = deque()
        self._asking = False
        self._syncing: asyncio.Task[None] | None = None

    async def take(self) -> None:
        """Wait for a permit (a leased one if free, else one more from the actor)."""
        if self.in_use < self.held and not self.waiters:
            self.in_use += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        self._hand_out()
        self._ask()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give_back()  # it had been handed a permit: pass it on
            else:
                self.waiters.remove(waiter)
            raise

    def give_back(self) -> None:
        """A call ended: its permit goes to the next call here, or back to the actor."""
        self.in_use -= 1
        if self.held > self.share or not self.waiters:
            self.held -= 1
            self._send(give=1)
        self._hand_out()

    def _hand_out(self) -> None:
        while self.waiters and self.in_use < self.held:
            waiter = self.waiters.popleft()
            if not waiter.done():
                self.in_use += 1
                waiter.set_result(None)

    def _ask(self) -> None:
        if self._asking or not self.waiters:
            return
        self._asking = True
        asyncio.get_running_loop().create_task(self._lease())

    async def _lease(self) -> None:
        try:
            granted = await self._sync(want=len(self.waiters))
            self.held += granted
        finally:
            self._asking = False
        self._hand_out()
        self._ask()
        if self.held and self._syncing is None:
            self._syncing = asyncio.get_running_loop().create_task(self._keep_in_sync())

    async def _sync(self, *, want: int = 0, give: int = 0) -> int:
        limits = self.limits
        cost = limits.budget.take_unsent()
        granted, share, spent = await limits.actor.sync.remote(
            self.key, self.concurrency, limits.holder, limits.scope, want, give, cost
        )
        self.share = int(share)
        limits.budget.reported(float(spent))
        return int(granted)

    def _send(self, *, give: int) -> None:
        asyncio.get_running_loop().create_task(self._sync(give=give))

    async def _keep_in_sync(self) -> None:
        """While holding permits: report spend, learn the share, give back any surplus."""
        try:
            while self.held:
                await asyncio.sleep(SYNC_S)
                idle = self.held - self.in_use
                surplus = min(idle, max(0, self.held - self.share)) if self.waiters else idle
                self.held -= surplus
                await self._sync(give=surplus)
        finally:
            self._syncing = None


@dataclass(slots=True)
class SharedLimits:
    """A worker's handle on the limits actor for one scope: leased slots and the budget."""

    actor: Any
    holder: str
    scope: str
    budget: SharedBudget = field(default_factory=lambda: SharedBudget(None))
    slots: dict[str, LeasedSlots] = field(default_factory=dict)

    def limiter(self, role: str, concurrency: int) -> SharedSlot:
        """The slot every call of ``role`` enters (its permits shared by all workers)."""
        key = f"{role}:{concurrency}"
        if key not in self.slots:
            self.slots[key] = LeasedSlots(self, key, concurrency)
        return SharedSlot(self.slots[key])


@dataclass(slots=True)
class SharedSlot:
    """An async context manager holding one permit of the shared limits."""

    slots: LeasedSlots

    async def __aenter__(self) -> None:
        await self.slots.take()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.slots.give_back()

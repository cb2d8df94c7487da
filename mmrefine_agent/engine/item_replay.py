"""Whole-item outcomes remembered by content: a cached rerun replays items without their graph.

With the call cache on, running an item again through its graph asks only cached calls, so
its steps, judgment and result are a pure function of the item, the settings that shape its
outcome and the code that runs it. That function's value is remembered here, in the call
cache's database, under a key that hashes all three:

- the item: every field a strategy or judge can read (its key too, the image by its sha256);
- the settings: model, strategy, judge (timeouts and concurrency left out), ``run.seed``, the
  dataset's name and the official prompts' text;
- the code: every source file of mmrefine_agent (its plugins and strategies included), the
  module of each component the run uses (strategy, backends, judge: plugins from elsewhere
  too), and the LangGraph and math-verify versions.

Changing any of them misses, and the item runs through its graph as before (against the call
cache). Only an item that finished ``ok`` with a valid judgment (or with no judge configured)
is remembered, in the form a cached rerun would record it: every call a cache hit at no cost.
A replayed result says ``replayed: true``; its steps and judge calls are written and observed
as if the graph had run. ``run.replay: false`` turns this off; injected backend objects
(``arun(backend=...)``) turn it off too, since their code is not known by file.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_core import PydanticSerializationError

import mmrefine_agent
from mmrefine_agent.config import RunConfig
from mmrefine_agent.data.prompts import OfficialPrompts
from mmrefine_agent.engine.cache import CallCache
from mmrefine_agent.engine.client import UsageTotals
from mmrefine_agent.engine.resume import plugin_fingerprints
from mmrefine_agent.engine.usage import sum_calls
from mmrefine_agent.events import Event, ItemFinished, JudgeCalled, StepFinished
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records.models import (
    CallRecord,
    CallUsage,
    ItemResult,
    JudgeCallRecord,
    Record,
    StepEvent,
)
from mmrefine_agent.types import Item
from mmrefine_agent.versions import distribution_version

REPLAY_FORMAT = 1
"""Bumped when what is stored, or how it is replayed, changes (old entries then miss)."""
FLUSH_EVERY = 64
"""Outcomes buffered before they are written to the database in one transaction."""
REPLAY_CHUNK = 200
"""Outcomes read and replayed at a time (memory stays flat however many items a run has)."""


class ItemOutcome(Record):
    """One item's remembered outcome: its steps, judge calls and result (calls as cache hits)."""

    kind: Literal["outcome"] = "outcome"
    result: ItemResult
    steps: list[StepEvent] = Field(default_factory=list)
    judge_calls: list[JudgeCallRecord] = Field(default_factory=list)


def _source_files(roots: Iterable[str]) -> list[tuple[str, Path]]:
    files: dict[str, Path] = {}
    for root in roots:
        base = Path(root)
        for path in base.rglob("*.py"):
            if "__pycache__" not in path.parts:
                files.setdefault(f"{base.name}/{path.relative_to(base).as_posix()}", path)
    return sorted(files.items())


@cache
def tree_digest(roots: tuple[str, ...]) -> str:
    """A hash of every ``.py`` file under ``roots`` (names and contents; once per process)."""
    digest = hashlib.sha256()
    for name, path in _source_files(roots):
        digest.update(name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def package_roots() -> tuple[str, ...]:
    """The directories mmrefine_agent's code lives in (plugins/ and strategies/ included)."""
    import importlib

    roots = [str(Path(mmrefine_agent.__file__).parent)]  # __path__ may hold the checkout too
    for sub in ("plugins", "strategies"):
        try:
            module = importlib.import_module(f"mmrefine_agent.{sub}")
        except ImportError:
            continue
        roots.extend(getattr(module, "__path__", []))
    return tuple(dict.fromkeys(str(Path(r).resolve()) for r in roots))


def code_digest(config: RunConfig, plugins: Plugins) -> str:
    """A hash of the code an item's outcome depends on (see the module docstring)."""
    components = [p.model_dump(mode="json") for p in plugin_fingerprints(config, plugins)]
    blob = json.dumps(
        {
            "package": tree_digest(package_roots()),
            "components": components,
            "langgraph": distribution_version("langgraph"),
            "math-verify": distribution_version("math-verify"),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def outcome_settings(config: RunConfig, prompts: OfficialPrompts | None) -> dict[str, object]:
    """The settings an item's outcome depends on (never written anywhere: hashed only)."""
    model = config.model.model_dump(mode="json", exclude={"timeout_s"})
    judge = config.judge.model_dump(mode="json", exclude={"timeout_s", "concurrency"})
    prompt_text = None
    if prompts is not None:
        prompt_text = [
            prompts.refinement,
            prompts.eval_correct,
            prompts.eval_incorrect,
            prompts.parsing,
            list(prompts.parsing_targets),
        ]
    return {
        "model": model,
        "strategy": config.strategy.model_dump(mode="json", exclude={"options_by_strategy"}),
        "judge": judge,
        "seed": config.run.seed,
        "dataset": config.data.name,
        "prompts": prompt_text,
    }


def _field(value: object) -> str:
    """One field of an item, length-prefixed (no two different values encode alike)."""
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b{int(value)};"
    if isinstance(value, int):
        return f"i{value};"
    if isinstance(value, str):
        return f"s{len(value)}:{value}"
    if isinstance(value, tuple | list):
        return f"l{len(value)}:" + "".join(_field(v) for v in value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return f"j{len(text)}:{text}"


def item_digest(item: Item) -> str:
    """A hash of every field of an item (the image by its sha256)."""
    fields = (
        item.key, item.id, item.question, item.options,
        item.image.sha256 if item.image is not None else None,
        item.answer, item.initial_solution, item.label, item.reference_feedback,
        item.error_type, item.source, item.dataset, item.steps,
        item.first_wrong_step, item.category, item.meta,
    )  # fmt: skip
    blob = "".join(_field(value) for value in fields)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def as_hit(usage: CallUsage) -> CallUsage:
    """A call's accounting as a cache hit records it (no cost, no latency)."""
    return usage.model_copy(update={"cache_hit": True, "cost_usd": 0.0, "latency_s": 0.0})


def _hit_call(call: CallRecord) -> CallRecord:
    return call.model_copy(update={"usage": as_hit(call.usage), "attempts": 1})


def rememberable(result: ItemResult, judged: bool) -> bool:
    """Whether an outcome may be remembered: refined ok, and validly judged when judged."""
    if result.status != "ok" or result.failure is not None or not result.rounds:
        return False
    if not judged:
        return True
    judgments = [result.judgment, *result.round_judgments]
    if result.judgment is None:
        return False
    return all(j is None or (j.error is None and j.scenario != "judge_error") for j in judgments)


class ItemReplay:
    """Looks up, replays and remembers whole-item outcomes for one session."""

    def __init__(self, cache: CallCache, tag: str, *, judged: bool) -> None:
        self.cache = cache
        self.tag = tag
        self.judged = judged
        self.keys: dict[str, str] = {}
        self.digests: dict[str, str] = {}
        """``item_digest`` of each item looked at, by item key (scoring reuses them)."""
        self._steps: dict[str, list[StepEvent]] = {}
        self._calls: dict[str, list[JudgeCallRecord]] = {}
        self._pending: dict[str, str] = {}

    @classmethod
    def for_session(
        cls,
        config: RunConfig,
        plugins: Plugins,
        prompts: OfficialPrompts | None,
        open_cache: Callable[..., CallCache | None],
        *,
        injected: Sequence[str] = (),
    ) -> ItemReplay | None:
        """The session's replay (None: cache off, ``run.replay: false`` or injected backends).

        ``open_cache(config, quiet=True)`` opens this session's own connection to the cache.
        """
        if not config.run.cache or not config.run.replay or injected:
            return None
        cache = open_cache(config, quiet=True)
        if cache is None:
            return None
        blob = json.dumps(
            [REPLAY_FORMAT, code_digest(config, plugins), outcome_settings(config, prompts)],
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        tag = hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()
        return cls(cache, tag, judged=config.judge.name not in ("none", ""))

    def key(self, item: Item) -> str:
        """The content address of one item's outcome in this session's settings and code."""
        known = self.keys.get(item.key)
        if known is None:
            digest = self.digests[item.key] = item_digest(item)
            blob = f"{self.tag}/{digest}".encode()
            known = self.keys[item.key] = hashlib.sha256(blob).hexdigest()
        return known

    def available(self, items: Sequence[Item]) -> set[str]:
        """The keys of the ``items`` whose outcome is remembered (nothing is read yet)."""
        by_address = {self.key(item): item.key for item in items}
        return {by_address[a] for a in self.cache.outcome_keys(list(by_address))}

    def lookup(self, items: Sequence[Item]) -> dict[str, ItemOutcome]:
        """The remembered outcomes of ``items`` (by item key); unreadable entries are misses."""
        by_address = {self.key(item): item.key for item in items}
        found: dict[str, ItemOutcome] = {}
        for address, blob in self.cache.outcomes(list(by_address)).items():
            try:
                outcome = ItemOutcome.model_validate_json(blob)
            except ValueError:
                continue
            if outcome.result.key == by_address[address]:
                found[by_address[address]] = outcome
        return found

    def replay(
        self,
        outcome: ItemOutcome,
        emit: Callable[[Event], None],
        event: Callable[[StepEvent | JudgeCallRecord], Event],
        refine_totals: UsageTotals,
        judge_totals: UsageTotals,
    ) -> ItemResult:
        """Emit an outcome's steps and judge calls (``event`` wraps each); its result."""
        now = time.time()
        shift = now - min((s.timestamp for s in outcome.steps), default=now)
        for step in outcome.steps:
            step.timestamp = round(step.timestamp + shift, 6)
            step.elapsed_s = 0.0
            emit(event(step))
        for call in outcome.judge_calls:
            emit(event(call))
        refine_totals.absorb(sum_calls(c.usage for s in outcome.steps for c in s.calls))
        judge_totals.absorb(sum_calls(c.usage for c in outcome.judge_calls if c.usage))
        result = outcome.result.model_copy(update={"replayed": True, "elapsed_s": 0.0})
        return result

    def watch(self, todo: Iterable[str]) -> Callable[[Event], None]:
        """A sink that remembers the outcomes of the ``todo`` items as they finish here."""
        for key in todo:
            self._steps[key] = []
            self._calls[key] = []

        def sink(event: Event) -> None:
            if isinstance(event, StepFinished):
                steps = self._steps.get(event.step.item_key)
                if steps is not None:
                    steps.append(event.step)
            elif isinstance(event, JudgeCalled):
                calls = self._calls.get(event.call.item_key)
                if calls is not None:
                    calls.append(event.call)
            elif isinstance(event, ItemFinished):
                self._finished(event.result)

        return sink

    def _finished(self, result: ItemResult) -> None:
        steps = self._steps.pop(result.key, None)
        calls = self._calls.pop(result.key, None)
        address = self.keys.get(result.key)
        if steps is None or calls is None or address is None or result.replayed:
            return
        if not rememberable(result, self.judged) or any(s.error for s in steps):
            return
        steps = [s.model_copy(update={"calls": [_hit_call(c) for c in s.calls]}) for s in steps]
        calls = [
            c.model_copy(update={"usage": as_hit(c.usage)}) if c.usage is not None else c
            for c in calls
        ]
        hits = sum_calls(c.usage for s in steps for c in s.calls)
        stored = result.model_copy(update={"usage": hits})
        outcome = ItemOutcome(result=stored, steps=steps, judge_calls=calls)
        # derived step fields are recomputed when read: not stored twice
        derived = {"steps": {"__all__": set(StepEvent.model_computed_fields)}}
        try:
            self._pending[address] = outcome.model_dump_json(exclude=derived)
        except PydanticSerializationError:
            return  # text JSON cannot hold (a lone surrogate): not remembered, simply rerun
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the buffered outcomes."""
        if self._pending:
            self.cache.remember_outcomes(self._pending)
            self._pending = {}

    def close(self) -> None:
        """Write what is buffered and close this session's connection to the cache."""
        self.flush()
        self.cache.close()

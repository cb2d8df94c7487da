"""The judge interface and the judge-call ledger entry."""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from mmrefine_agent.types import Item

if TYPE_CHECKING:
    from mmrefine_agent.config import JudgeConfig
    from mmrefine_agent.data.prompts import OfficialPrompts
    from mmrefine_agent.model.caller import ModelCaller
    from mmrefine_agent.records.models import JudgeCallRecord, RoundJudgment


@dataclass(slots=True)
class Judgment:
    """A judge's decision on one response: a scenario code or ``judge_error``."""

    judge: str
    scenario: str
    is_proxy: bool
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    calls: int = 0

    rule: str | None = None

    def to_record(self, round_number: int, generation: int) -> RoundJudgment:
        """The record stored in results.jsonl for one judged round."""
        from mmrefine_agent.records.models import RoundJudgment
        from mmrefine_agent.records.steps import jsonable

        return RoundJudgment(
            round=round_number,
            judge=self.judge,
            scenario=self.scenario,
            is_proxy=self.is_proxy,
            fields={str(k): jsonable(v) for k, v in self.fields.items()},
            error=self.error,
            calls=self.calls,
            generation=generation,
            rule=self.rule,
        )


@dataclass(frozen=True, slots=True)
class JudgeEnv:
    """What a judge may use: official prompts, a model client, and the ledger writer.

    ``record`` takes a :class:`~mmrefine_agent.records.models.JudgeCallRecord` (a v1 judge
    may still pass a plain dict with the same fields).
    """

    prompts: OfficialPrompts | None
    client: ModelCaller | None
    record: Callable[[JudgeCallRecord | dict[str, Any]], None]


def verdict_settings(config: JudgeConfig, needs_model: bool) -> dict[str, Any]:
    """What decides a judge's verdicts.

    Its name and, for a judge that calls a model, the model, backend, endpoint(s), call
    parameters and options (not timeouts, retries or the key variable).
    """
    settings: dict[str, Any] = {"name": config.name}
    if needs_model:
        settings |= {
            "model": config.model,
            "backend": config.backend,
            "api_base": config.api_base,
            "endpoints": [e.model_dump(mode="json") for e in config.endpoints],
            "params": dict(config.params),
            "options": dict(config.options),
        }
    return settings


VERDICT_FIELDS = ("model", "backend", "api_base", "endpoints", "params", "options")


def settings_key(settings: dict[str, Any], needs_model: bool) -> str:
    """A short hash of :func:`verdict_settings` (absent fields count as their defaults)."""
    chosen: dict[str, Any] = {"name": settings.get("name")}
    if needs_model:
        defaults: dict[str, Any] = {"api_base": None, "endpoints": [], "params": {}, "options": {}}
        chosen |= {k: settings.get(k, defaults.get(k)) for k in VERDICT_FIELDS}
    blob = json.dumps(chosen, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


class Judge(ABC):
    """Base class for judges."""

    is_proxy: ClassVar[bool] = False
    needs_model: ClassVar[bool] = False
    uses_official_prompts: ClassVar[bool] = False
    """Whether judging reads the official MMRefine prompts file (``env.prompts``)."""
    description: ClassVar[str] = ""

    def __init__(self, name: str, config: JudgeConfig, env: JudgeEnv) -> None:
        self.name = name
        self.config = config
        self.env = env

    @cached_property
    def settings_key(self) -> str:
        """The key of the settings that decide this judge's verdicts (stored with each one)."""
        return settings_key(verdict_settings(self.config, self.needs_model), self.needs_model)

    @abstractmethod
    async def judge(
        self,
        item: Item,
        response: str,
        round_number: int,
        parsed: dict[str, Any],
        *,
        generation: int = 0,
    ) -> Judgment:
        """Classify ``response`` for ``item``; never raise for a bad reply (use judge_error).

        ``generation`` counts earlier attempts that ended in judge_error: a judge that calls a
        model must then re-ask rather than reuse cached replies.
        """


_BINARY = re.compile(r"^[\s\*`\"'\[\(]*+([01])[\s\*`\"'\]\)\.]*+$")  # possessive: linear


def parse_binary(reply: str | None) -> int | None:
    """A judge reply that is exactly 0 or 1 (whitespace, quotes, markdown, a period allowed)."""
    if reply is None:
        return None
    match = _BINARY.match(reply)
    return int(match.group(1)) if match else None

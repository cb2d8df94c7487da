"""The services one run (or one judging session) uses, built once for both roles.

The refinement client and the judge share the call cache and the cost budget; each has its
own concurrency limit and usage totals. Re-judging builds the same services without a
refinement client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrefine_agent.config import ModelConfig, RunConfig
from mmrefine_agent.data.prompts import OfficialPrompts
from mmrefine_agent.engine.cache import CallCache
from mmrefine_agent.engine.client import Budget, ClientSettings, ModelClient, UsageTotals
from mmrefine_agent.errors import ConfigError, MMRefineError
from mmrefine_agent.judging.base import Judge, JudgeEnv
from mmrefine_agent.model.backend import ModelBackend
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records.models import JudgeCallRecord, UsageBlock


def judge_model_config(config: RunConfig) -> ModelConfig:
    """The judge's model settings as a ModelConfig (same backends, same call path)."""
    judge = config.judge
    return ModelConfig(
        backend=judge.backend,
        name=judge.model,
        api_base=judge.api_base,
        api_key_env=judge.api_key_env,
        params=dict(judge.params),
        timeout_s=judge.timeout_s,
        endpoints=list(judge.endpoints),
        options=dict(judge.options),
        max_reply_bytes=judge.max_reply_bytes,
    )


def open_cache(config: RunConfig, *, quiet: bool = False) -> CallCache | None:
    """The shared call cache for a run (None when ``run.cache`` is off)."""
    if not config.run.cache:
        return None
    directory = Path(config.run.cache_dir) if config.run.cache_dir else None
    return CallCache.open(directory, quiet=quiet)


def make_backend(plugins: Plugins, model: ModelConfig) -> ModelBackend:
    """An instance of the backend ``model.backend`` names."""
    backend_cls = plugins.backends.get(model.backend)
    try:
        backend: ModelBackend = backend_cls(model)
    except MMRefineError:
        raise
    except Exception as exc:  # plugin code or a bad setting: one line, no traceback
        raise ConfigError(f"backend '{model.backend}' ({model.name}): {exc}") from exc
    return backend


@dataclass(slots=True)
class Services:
    """Model clients, judge, cache and budget of one session."""

    config: RunConfig
    cache: CallCache | None
    budget: Budget
    refine_totals: UsageTotals = field(default_factory=UsageTotals)
    judge_totals: UsageTotals = field(default_factory=UsageTotals)
    client: ModelClient | None = None
    judge: Judge | None = None
    judge_client: ModelClient | None = None
    """The judge's model client (the judge sees it as a ``ModelCaller``)."""
    limiter: Callable[[str, int], AbstractAsyncContextManager[Any]] | None = None
    """(role, concurrency) -> the limit its calls share (None: a semaphore in this process)."""

    def client_for(
        self,
        backend: ModelBackend,
        timeout_s: float,
        params: dict[str, Any],
        concurrency: int,
        totals: UsageTotals,
        role: str = "refine",
    ) -> ModelClient:
        """A model client sharing this session's cache, budget and retry settings."""
        return ModelClient(
            backend,
            limiter=self.limiter(role, concurrency)
            if self.limiter is not None
            else asyncio.Semaphore(concurrency),
            settings=ClientSettings(
                timeout_s=timeout_s,
                retries=self.config.run.retries,
                backoff_s=self.config.run.backoff_s,
                params=dict(params),
                max_retry_after_s=self.config.run.max_retry_after_s,
                max_reply_bytes=backend.config.max_reply_bytes,
                section="judge" if role == "judge" else "model",
            ),
            cache=self.cache,
            budget=self.budget,
            totals=totals,
        )

    def preflight(self, *, tools: Sequence[str] = ()) -> None:
        """Check the model and judge backends before any item (see engine/preflight.py).

        ``tools``: the tools the strategy offers (the model's backend must be able to).
        """
        from mmrefine_agent.engine.preflight import check_backends

        roles: dict[str, ModelBackend] = {}
        if self.client is not None:
            roles["model"] = self.client.backend
        if self.judge_client is not None:
            roles["judge"] = self.judge_client.backend
        check_backends(roles, tools=tools)

    def usage(self) -> dict[str, UsageBlock]:
        """Usage of this session so far, per purpose."""
        return {"refine": self.refine_totals.snapshot(), "judge": self.judge_totals.snapshot()}

    async def aclose(self) -> None:
        """Close backends and the cache."""
        if self.client is not None:
            await self.client.backend.aclose()
        if self.judge_client is not None:
            await self.judge_client.backend.aclose()
        if self.cache is not None:
            self.cache.close()


def build_services(
    config: RunConfig,
    plugins: Plugins,
    prompts: OfficialPrompts | None,
    record_judge_call: Callable[[JudgeCallRecord | dict[str, Any]], None],
    *,
    refine: bool = True,
    backend: ModelBackend | None = None,
    judge_backend: ModelBackend | None = None,
    budget: Budget | None = None,
    limiter: Callable[[str, int], AbstractAsyncContextManager[Any]] | None = None,
) -> Services:
    """Build the session's services (``refine=False``: judging only).

    ``budget`` and ``limiter`` replace this process's own (the Ray executor's workers share
    the driver's).
    """
    services = Services(
        config=config,
        cache=open_cache(config),
        budget=budget or Budget(config.run.max_cost_usd),
        limiter=limiter,
    )
    if refine:
        services.client = services.client_for(
            backend or make_backend(plugins, config.model),
            config.model.timeout_s,
            config.model.params,
            config.run.concurrency,
            services.refine_totals,
        )
    services.judge = make_judge(
        config, plugins, prompts, services, record_judge_call, judge_backend=judge_backend
    )
    return services


def make_judge(
    config: RunConfig,
    plugins: Plugins,
    prompts: OfficialPrompts | None,
    services: Services,
    record: Callable[[JudgeCallRecord | dict[str, Any]], None],
    *,
    judge_backend: ModelBackend | None = None,
) -> Judge | None:
    """The configured judge, its model client sharing the cache and budget (None: no judge)."""
    name = config.judge.name
    if name in ("none", ""):
        return None
    judge_cls = plugins.judges.get(name)
    client = None
    if judge_cls.needs_model:
        client = services.client_for(
            judge_backend or make_backend(plugins, judge_model_config(config)),
            config.judge.timeout_s,
            config.judge.params,
            config.judge.concurrency,
            services.judge_totals,
            "judge",
        )
    services.judge_client = client
    judge: Judge = judge_cls(name, config.judge, JudgeEnv(prompts, client, record))
    return judge

"""Run configuration: typed sections validated from YAML, with ``--set`` overrides.

Unknown keys and wrong types are errors naming the dotted key, with a did-you-mean, so
a typo never silently changes an experiment. API keys are never part of a config: they
come from the environment, as litellm reads them.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mmrefine_agent.errors import ConfigError

MAX_REPLY_BYTES = 8 * 1024 * 1024
"""Default ``model.max_reply_bytes`` / ``judge.max_reply_bytes`` (8 MiB)."""
MAX_RETRY_AFTER_S = 120.0
"""Default ``run.max_retry_after_s``: the longest Retry-After a call waits for."""


def _reject_secrets(value: Any, where: str) -> Any:
    """Refuse a credential anywhere in ``value`` (the message names the key, never the value)."""
    from mmrefine_agent.redact import find_secrets

    found = list(find_secrets(value, where))
    if found:
        raise ValueError(
            f"'{found[0]}' holds a credential; put API keys in the environment and name the "
            "variable with api_key_env (e.g. OPENAI_API_KEY), never in a config"
        )
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
    return value


def unsafe_name(name: str) -> str | None:
    """Why ``name`` is not one plain path component (None: it is one)."""
    if not name.strip():
        return "empty"
    if name in (".", ".."):
        return f"{name!r} is not a directory of its own"
    for sep, what in (("/", "a '/'"), ("\\", "a '\\'"), ("\0", "a NUL byte")):
        if sep in name:
            return f"it contains {what}"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "it contains a control character"
    if name.startswith("~"):
        return "it starts with '~'"
    return None


class Section(BaseModel):
    """Base for config sections: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


class FilterConfig(Section):
    """Which rows to keep; each value may be a string or a list of strings."""

    modality: str | list[str] | None = Field(None, description="text or image")
    error_type: str | list[str] | None = Field(None, description="e.g. 'Perception Error'")
    label: str | list[str] | None = Field(None, description="correct or incorrect")
    source: str | list[str] | None = Field(None, description="solution source, e.g. 'GPT-4o'")
    keys: list[str] | None = Field(None, description="explicit item keys")
    problem: str | list[str] | None = Field(None, description="problem ids")
    category: str | list[str] | None = Field(
        None, description="step datasets: error class, task or subject"
    )


class DataConfig(Section):
    """Where the benchmark comes from and which slice of it to run."""

    name: str = Field(
        "mmrefine", description="a registered dataset: mmrefine, prmbench, bigbench_mistake, mrben"
    )
    dir: str | None = Field(None, description="data directory; see the resolution order")
    parquet: str | None = Field(None, description="a parquet file replacing the official one")
    path: str | None = Field(
        None,
        description="the dataset's own file or folder (e.g. a plugin dataset's JSONL), instead "
        "of its place under the data directory",
    )
    limit: int | None = Field(None, ge=1, strict=True, description="at most this many items")
    balanced: bool = Field(
        False,
        description="round-robin before limit: modality x label (mmrefine), category x label "
        "(step datasets)",
    )
    filter: FilterConfig = Field(default_factory=FilterConfig)


class EndpointConfig(Section):
    """One OpenAI-compatible server among several (litellm Router)."""

    api_base: str
    name: str | None = Field(None, description="model name on that server; default model.name")
    weight: int = 1


class ModelConfig(Section):
    """The model under test and how to reach it."""

    backend: str = Field("scripted", description="a registered backend name")
    name: str = Field("scripted", description="model name as the backend knows it")
    api_base: str | None = Field(None, description="OpenAI-compatible base URL")
    api_key_env: str | None = Field(None, description="name of the env var holding the key")
    params: dict[str, Any] = Field(default_factory=dict, description="temperature, max_tokens...")
    timeout_s: float = Field(120.0, gt=0, description="per-call timeout")
    max_image_side: int | None = Field(
        None, ge=16, strict=True, description="downscale larger images"
    )
    endpoints: list[EndpointConfig] = Field(
        default_factory=list, description="several servers: [{api_base, name, weight}]"
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="backend-specific options (`mmrefine plugins` lists each backend's)",
    )
    max_reply_bytes: int = Field(
        MAX_REPLY_BYTES,
        ge=1024,
        strict=True,
        description="a longer reply fails its item (backend_error); openai_compat stops "
        "reading there",
    )

    @field_validator("params", "options", "api_base", "endpoints")
    @classmethod
    def _no_secrets(cls, value: Any, info: ValidationInfo) -> Any:
        _reject_secrets(_plain(value), f"model.{info.field_name}")
        return value


class StrategyConfig(Section):
    """Which refinement strategy runs, and its budget."""

    name: str = Field("single_pass", description="a registered strategy name")
    max_rounds: int = Field(
        1, ge=1, le=20, strict=True, description="rounds for looping strategies"
    )
    max_steps: int = Field(
        25,
        ge=1,
        le=1000,
        strict=True,
        description="how often a node on a loop inside a round may run in that round",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="strategy-specific; the keys a strategy reads: `mmrefine graph NAME`",
    )
    tools: list[str] | None = Field(
        None,
        description="tools the strategy may offer the model (`mmrefine plugins` lists them); "
        "null: the strategy's default, [] none",
    )


class JudgeConfig(Section):
    """How outputs are judged into the six MMRefine scenarios."""

    name: str = Field("offline", description="a registered judge name, or 'none'")
    model: str = Field("openai/gpt-4o", description="judge model (official judge)")
    api_base: str | None = Field(None, description="judge's OpenAI-compatible base URL")
    api_key_env: str | None = Field(None, description="env var holding the judge's key")
    backend: str = Field("litellm", description="backend used for judge calls")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="judge call parameters (none, as the official evaluator sends)",
    )
    timeout_s: float = Field(120.0, gt=0, description="per judge call timeout")
    endpoints: list[EndpointConfig] = Field(
        default_factory=list, description="several judge servers: [{api_base, name, weight}]"
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="judge backend options (checked like model.options)"
    )
    max_reply_bytes: int = Field(
        MAX_REPLY_BYTES, ge=1024, strict=True, description="a longer judge reply fails the call"
    )
    per_round: bool = Field(False, description="judge every round, not only the final one")
    retries: int = Field(2, ge=0, le=10, strict=True, description="re-asks when a reply is not 0/1")
    concurrency: int = Field(32, ge=1, strict=True, description="judge calls in flight")

    @field_validator("params", "options", "api_base", "endpoints")
    @classmethod
    def _no_secrets(cls, value: Any, info: ValidationInfo) -> Any:
        _reject_secrets(_plain(value), f"judge.{info.field_name}")
        return value


class RunSettings(Section):
    """Execution: concurrency, cache, retries, budget, output."""

    concurrency: int = Field(16, ge=1, strict=True, description="model calls in flight")
    cache: bool = Field(True, description="use the shared content-addressed call cache")
    cache_dir: str | None = Field(None, description="override the cache directory")
    out_dir: str = Field("runs", description="parent directory of run directories")
    retries: int = Field(4, ge=0, le=20, strict=True, description="retries on 429/5xx/timeouts")
    backoff_s: float = Field(1.0, ge=0, description="base backoff delay")
    max_retry_after_s: float = Field(
        MAX_RETRY_AFTER_S,
        ge=0,
        allow_inf_nan=False,
        description="a server asking to wait longer (Retry-After) fails the call at once "
        "instead of sleeping",
    )
    max_cost_usd: float | None = Field(
        None,
        ge=0,
        description="one budget in USD for the run, across resumes: no call starts past it "
        "(passed by about one call at most)",
    )
    workers: int | Literal["auto"] = Field(
        "auto",
        description="deprecated and ignored (v1 worker processes); kept so v1 run directories "
        "and configs still load",
    )

    @field_validator("workers")
    @classmethod
    def _workers_range(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 64:
            raise ValueError("workers must be 'auto' or 1..64")
        return value

    executor: Literal["local", "ray"] = Field(
        "local",
        description="local: this machine (asyncio, over run.processes processes); ray: items "
        "run in Ray worker processes (this machine's cores, or the cluster at "
        "run.ray_address); extra 'ray'",
    )
    processes: int | Literal["auto"] = Field(
        "auto",
        description="executor local: processes that refine items (the driver and worker "
        "processes it starts; the limits and the budget hold over all of them); auto: one per "
        "core (at most 8) when there are at least 100 items per process, one process for an "
        "in-process model (llamacpp) or backends passed as objects",
    )

    @field_validator("processes")
    @classmethod
    def _processes_range(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 256:
            raise ValueError("processes must be 'auto' or 1..256")
        return value

    ray_address: str | None = Field(
        None,
        description="executor ray: the cluster to join (default RAY_ADDRESS, else a local "
        "Ray started for the run)",
    )
    ray_workers_per_node: int | Literal["auto"] = Field(
        "auto",
        description="executor ray: worker processes per machine; auto: one per core, one "
        "for an in-process model (llamacpp); a number asks for that many copies",
    )

    @field_validator("ray_address")
    @classmethod
    def _no_secret_address(cls, value: str | None) -> str | None:
        return _reject_secrets(value, "run.ray_address")  # type: ignore[no-any-return]

    @field_validator("ray_workers_per_node")
    @classmethod
    def _ray_workers_range(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 256:
            raise ValueError("ray_workers_per_node must be 'auto' or 1..256")
        return value

    seed: int = Field(0, description="seed for sampling and bootstrap intervals")
    preflight: bool = Field(
        True, description="check model/judge routes, keys and servers before any item"
    )


_ENV_REFERENCE = re.compile(r"^\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}$")


def env_reference(value: str) -> str | None:
    """The variable a ``${VAR}`` (or ``${env:VAR}``) reference names, else None."""
    match = _ENV_REFERENCE.match(value.strip())
    return match.group(1) if match else None


class WandbObserverConfig(Section):
    """Weights & Biases (extra ``wandb``): one W&B run per run directory, resumed with it.

    The API key is W&B's own: ``WANDB_API_KEY`` or ``wandb login``, never the config.
    """

    project: str | None = Field(
        None, description="W&B project (default: WANDB_PROJECT, else 'mmrefine')"
    )
    entity: str | None = Field(None, description="W&B team or user (default: W&B's own)")
    mode: Literal["online", "offline", "disabled"] | None = Field(
        None,
        description="online; offline (no network: the W&B run is written under RUN_DIR/wandb/, "
        "for `wandb sync`); disabled (default: WANDB_MODE, else online)",
    )


class OtelObserverConfig(Section):
    """OpenTelemetry (extra ``otel``): spans over OTLP/HTTP, one trace per item."""

    endpoint: str | None = Field(
        None,
        description="OTLP/HTTP URL; one without a path gets /v1/traces (default: "
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, else "
        "http://localhost:4318/v1/traces)",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="header name -> '${ENV_VAR}' naming the variable that holds its value "
        "(values are credentials: never in a config; default OTEL_EXPORTER_OTLP_HEADERS)",
    )
    capture_content: bool = Field(
        False, description="attach prompts and replies (and judge prompts) to the spans"
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _reject_secrets(value, "observers.otel.endpoint")
        if not value.startswith(("http://", "https://")):
            raise ValueError("an OTLP/HTTP endpoint is an http:// or https:// URL")
        return value

    @field_validator("headers")
    @classmethod
    def _headers_from_env(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if env_reference(text) is None:
                raise ValueError(
                    f"header {name!r} holds a value: header values are credentials, so give the "
                    "environment variable that holds it instead, as '${VAR}'"
                )
        return value


class ObserversConfig(Section):
    """Built-in observers that send the run where researchers look; each is on when given."""

    wandb: WandbObserverConfig | None = Field(
        None,
        description="Weights & Biases (extra 'wandb'); on when given, e.g. "
        "--set observers.wandb.project=P",
    )
    otel: OtelObserverConfig | None = Field(
        None,
        description="OpenTelemetry traces (extra 'otel'); on when given, e.g. "
        "--set observers.otel.endpoint=URL",
    )


class RunConfig(Section):
    """A whole run: data slice, model, strategy, judge and execution settings."""

    name: str = Field("run", description="the run's name (default run directory run.out_dir/NAME)")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    run: RunSettings = Field(default_factory=RunSettings)
    observers: ObserversConfig = Field(default_factory=ObserversConfig)
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="sweep axes")
    options_by_strategy: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="strategy name -> its strategy.options (for configs that serve several "
        "strategies, e.g. a sweep over them); strategy.options given directly win",
    )

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str, info: ValidationInfo) -> str:
        """The default run directory is run.out_dir/NAME: one plain path component."""
        if (info.context or {}).get("stored"):
            return value  # a run directory's own config.yaml: kept as written, never a path
        problem = unsafe_name(value)
        if problem:
            raise ValueError(f"must be a plain directory name ({problem})")
        return value

    @model_validator(mode="after")
    def _strategy_options(self) -> RunConfig:
        chosen = self.options_by_strategy.get(self.strategy.name)
        if chosen:
            self.strategy.options = {**chosen, **self.strategy.options}
        return self

    def to_yaml(self) -> str:
        """The resolved config as YAML (never holds secrets: they are refused on input)."""
        import yaml

        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def fingerprint_dict(self) -> dict[str, Any]:
        """The parts that determine refinement outputs (what a resumed run must share)."""
        data = self.model_dump(mode="json")
        volatiles = (
            "concurrency",
            "out_dir",
            "cache",
            "cache_dir",
            "retries",
            "backoff_s",
            "max_retry_after_s",
            "workers",
            "executor",
            "processes",
            "ray_address",
            "ray_workers_per_node",
        )
        for volatile in volatiles:
            data["run"].pop(volatile, None)
        # keys added with datasets: left out at their defaults, so earlier runs still resume
        if data["data"].get("name") == "mmrefine":
            data["data"].pop("name")
        if data["data"].get("path") is None:  # added in 0.3: earlier runs still resume
            data["data"].pop("path", None)
        if data["data"]["filter"].get("category") is None:
            data["data"]["filter"].pop("category", None)
        data["model"].pop("max_reply_bytes", None)  # a bound, not a setting of the experiment
        if data["strategy"].get("max_steps") == StrategyConfig.model_fields["max_steps"].default:
            data["strategy"].pop("max_steps")  # added in 0.3: earlier runs still resume
        data.pop("name", None)  # a label: --out (or run.out_dir/NAME) decides the directory
        data.pop("judge", None)  # a different judge re-judges; it does not redo refinement
        data.pop("grid", None)
        data.pop("observers", None)  # where the run is watched from does not change it
        data.pop("options_by_strategy", None)  # the chosen strategy's are in strategy.options
        return data


def _fields_at(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in path:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        section = section_model(field.annotation)
        if section is None:
            return []
        current = section
    return list(getattr(current, "model_fields", {}))


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The config section a field holds: its model, also when optional (``Section | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) not in (Union, UnionType):
        return None
    members = [m for m in get_args(annotation) if m is not type(None)]
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0]
    return None


def _format_validation(exc: ValidationError, origin: str) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        dotted = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            known = _fields_at(RunConfig, loc[:-1])
            guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = (
                f" (did you mean '{'.'.join([*map(str, loc[:-1]), guess[0]])}'?)" if guess else ""
            )
            lines.append(f"unknown key '{dotted}'{hint}; known here: {', '.join(known)}")
        else:
            from mmrefine_agent.redact import scrub

            message = str(err["msg"]).removeprefix("Value error, ")
            if "credential" in message:  # never echo the value that holds it
                lines.append(f"'{dotted}': {message}")
            else:
                lines.append(f"'{dotted}': {message} (got {scrub(err.get('input'))!r})")
    if len(lines) == 1:
        return f"{origin}: invalid config: {lines[0]}"
    return f"{origin}: invalid config:\n  " + "\n  ".join(lines)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``dotted.key=value``; the value is read as YAML (``2``, ``true``, ``[1, 3]``)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected dotted.key=value")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"--set {text!r}: empty key")
    from mmrefine_agent.config_yaml import load_yaml  # here: the engine's import stays light

    value = load_yaml(raw, f"--set {text!r}: value") if raw.strip() else None
    return parts, value


def apply_override(raw: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set ``raw[parts...] = value``, creating intermediate mappings."""
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = {}
            node[part] = child
        if not isinstance(child, dict):
            raise ConfigError(f"--set {'.'.join(parts)}: '{part}' is not a section")
        node = child
    node[parts[-1]] = value


def load_config_dict(path: Path) -> dict[str, Any]:
    """Read a YAML config safely (aliases bounded, see config_yaml); errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    from mmrefine_agent.config_yaml import load_yaml

    raw = load_yaml(text, str(path))
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config must be a mapping, got {type(raw).__name__}")
    return raw


RETIRED_KEYS = {
    ("run", "replay"): "0.3 removed the item replay: a new run directory always runs its graph, "
    "judge and scoring (only calls are reused, from the call cache)",
    ("run", "answer_checks"): "0.3 removed the answer-check helper process: answers are "
    "checked when the run finishes (equivalences are remembered by content)",
}
"""Keys earlier versions wrote, and why they are gone: refused in a config, dropped when read
from an existing run directory's config.yaml (so those directories still open)."""


def _retire(merged: dict[str, Any], origin: str, *, stored: bool) -> None:
    for (section, key), why in RETIRED_KEYS.items():
        part = merged.get(section)
        if isinstance(part, dict) and key in part:
            if not stored:
                raise ConfigError(f"{origin}: '{section}.{key}' is no longer a key: {why}")
            del part[key]


def build_config(
    raw: dict[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    origin: str = "config",
    *,
    stored: bool = False,
) -> RunConfig:
    """Apply ``--set`` overrides to a raw mapping and validate it into a RunConfig.

    ``stored``: ``raw`` is a run directory's config.yaml (keys of earlier versions dropped).
    """
    import copy

    merged = copy.deepcopy(raw)
    for text in overrides:
        parts, value = parse_override(text)
        apply_override(merged, parts, value)
    _retire(merged, origin, stored=stored)
    try:
        return RunConfig.model_validate(merged, context={"stored": stored})
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, origin)) from None


def load_config(
    path: str | os.PathLike[str],
    overrides: Sequence[str] = (),
    *,
    plugins: Sequence[str | os.PathLike[str]] | None = None,
) -> RunConfig:
    """Load a YAML run config (a ``str`` or ``Path``) and apply ``dotted.key=value`` overrides.

    ``plugins``: plugin modules or ``.py`` paths; when given, they are loaded with the entry
    points and the config's strategy, backends, judge and dataset must name loaded ones
    (a ConfigError with a did-you-mean otherwise).
    """
    config = build_config(load_config_dict(Path(path)), tuple(overrides), origin=str(path))
    if plugins is not None:
        check_names(config, plugins)
    return config


def check_names(config: RunConfig, plugins: Sequence[str | os.PathLike[str]]) -> None:
    """Raise a ConfigError unless every component ``config`` names is loaded with ``plugins``."""
    from mmrefine_agent.errors import PluginError
    from mmrefine_agent.plugins_manager import load_plugins

    loaded = load_plugins(plugins)
    wanted = [
        (loaded.strategies, config.strategy.name, "strategy.name"),
        (loaded.backends, config.model.backend, "model.backend"),
        (loaded.datasets, config.data.name, "data.name"),
    ]
    if config.judge.name not in ("none", ""):
        wanted.append((loaded.judges, config.judge.name, "judge.name"))
        wanted.append((loaded.backends, config.judge.backend, "judge.backend"))
    for registry, name, key in wanted:
        try:
            registry.get(name)
        except PluginError as exc:
            raise ConfigError(f"{key}: {exc}") from None

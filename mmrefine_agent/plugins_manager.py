"""Plugin loading: one fresh pluggy manager per call, with registries and provenance.

Environment variables:
    MMREFINE_PLUGINS: comma-separated importable modules to load as extra plugins.
    MMREFINE_DISABLE_PLUGINS: comma-separated plugin names (entry-point names) to skip.
    MMREFINE_TRACE_PLUGINS: when set, every hook call is printed to stderr.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pluggy

from mmrefine_agent import hookspecs
from mmrefine_agent.errors import PluginError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Registered(Generic[T]):
    """A registered component and where it came from."""

    name: str
    component: T
    plugin: str
    origin: str


@dataclass(slots=True)
class Registry(Generic[T]):
    """Named components of one kind, with duplicate detection and did-you-mean lookups."""

    kind: str
    entries: dict[str, Registered[T]] = field(default_factory=dict)

    def add(self, name: str, component: T, plugin: str, origin: str) -> None:
        """Register ``component`` under ``name``; a second registration is an error."""
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin}: {self.kind} name must be a non-empty string")
        if name in self.entries:
            first = self.entries[name]
            raise PluginError(
                f"{self.kind} '{name}' registered twice: by {first.plugin} ({first.origin}) "
                f"and by {plugin} ({origin})"
            )
        self.entries[name] = Registered(name, component, plugin, origin)

    def get(self, name: str) -> T:
        """Return the component registered as ``name`` or raise naming the known ones."""
        if name not in self.entries:
            import difflib

            guess = difflib.get_close_matches(name, list(self.entries), n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            raise PluginError(
                f"unknown {self.kind} '{name}'{hint}; loaded: {', '.join(sorted(self.entries))}"
            )
        return self.entries[name].component

    def names(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self.entries)


@dataclass(slots=True)
class Plugins:
    """A loaded plugin manager plus the registries its plugins filled."""

    pm: pluggy.PluginManager
    backends: Registry[Any]
    strategies: Registry[Any]
    judges: Registry[Any]
    modules: list[str] = field(default_factory=list)  # extra modules (--plugin), for workers
    datasets: Registry[Any] = field(default_factory=lambda: Registry("dataset"))
    _tools: Registry[Any] | None = None

    @property
    def tools(self) -> Registry[Any]:
        """The registered tools (langchain-core tools), collected when first asked for.

        A run that offers no tool never imports langchain-core's tool machinery.
        """
        if self._tools is None:
            registry: Registry[Any] = Registry("tool")
            _collect_tools(self.pm, registry, _distributions(self.pm))
            self._tools = registry
        return self._tools

    def origin_of(self, plugin: object) -> str:
        """Where a loaded plugin comes from (distribution and version, or module)."""
        return _origin_of(plugin, _distributions(self.pm))

    @property
    def hook(self) -> Any:
        """The pluggy hook relay (``plugins.hook.mmrefine_observe_step(step=...)``)."""
        return self.pm.hook


def _split_env(name: str) -> list[str]:
    return [p.strip() for p in os.environ.get(name, "").split(",") if p.strip()]


def _distributions(pm: pluggy.PluginManager) -> dict[int, str]:
    """``"name version"`` of each entry-point plugin's distribution.

    Each distribution's metadata is parsed once (the built-ins are some twenty plugins of one
    distribution; every ``project_name`` or ``version`` lookup would parse it again).
    """
    named: dict[int, str] = {}
    found: dict[int, str] = {}
    for plug, dist in pm.list_plugin_distinfo():
        wrapped = getattr(dist, "_dist", dist)  # pluggy's facade over importlib's distribution
        if id(wrapped) not in named:
            metadata = dist.metadata
            named[id(wrapped)] = f"{metadata['name']} {metadata['version']}"
        found[id(plug)] = named[id(wrapped)]
    return found


def _origin_of(plugin: object, distributions: dict[int, str]) -> str:
    known = distributions.get(id(plugin))
    if known is not None:
        return known
    module = getattr(plugin, "__name__", type(plugin).__name__)
    return f"module {module}"


def get_plugin_manager(
    extra_modules: Iterable[str | os.PathLike[str]] = (), *, load_entry_points: bool = True
) -> pluggy.PluginManager:
    """A fresh plugin manager with built-in and third-party plugins loaded (not a global)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in _split_env("MMREFINE_DISABLE_PLUGINS"):
        pm.set_blocked(name)
    if load_entry_points:
        try:
            pm.load_setuptools_entrypoints(hookspecs.PROJECT)
        except Exception as exc:
            raise PluginError(
                f"failed to load an '{hookspecs.PROJECT}' entry point: {exc}"
            ) from exc
    for module_name in named_modules(extra_modules):
        if pm.has_plugin(module_name) or pm.is_blocked(module_name):
            continue
        module = import_plugin(module_name)
        pm.register(module, name=module_name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin hook validation failed: {exc}") from exc
    if os.environ.get("MMREFINE_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda msg: sys.stderr.write(str(msg)))
        pm.enable_tracing()
    return pm


def import_plugin(name: str) -> Any:
    """Import a plugin by module name, or from a ``.py`` file path."""
    path = Path(name)
    try:
        if name.endswith(".py") or "/" in name:
            if not path.is_file():
                raise PluginError(f"plugin file '{name}' not found")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise PluginError(f"cannot load plugin file '{name}'")
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(name)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(
            f"cannot import plugin module '{name}': {type(exc).__name__}: {exc}"
        ) from exc


def _collect(
    pm: pluggy.PluginManager,
    hook_name: str,
    registry: Registry[Any],
    distributions: dict[int, str],
) -> None:
    caller = getattr(pm.hook, hook_name)
    for impl in caller.get_hookimpls():
        plugin_name = impl.plugin_name
        origin = _origin_of(impl.plugin, distributions)

        def register(name: str, component: Any, _p: str = plugin_name, _o: str = origin) -> None:
            registry.add(name, component, _p, _o)

        impl.function(register=register)


def _tool_register(registry: Registry[Any], plugin: str, origin: str) -> Callable[[Any], None]:
    """The ``register(tool)`` callback one plugin's ``mmrefine_register_tools`` receives."""
    from mmrefine_agent.tools.box import check_tool

    def register(tool: Any) -> None:
        checked = check_tool(tool, plugin)
        registry.add(checked.name, checked, plugin, origin)

    return register


def _collect_tools(
    pm: pluggy.PluginManager, registry: Registry[Any], distributions: dict[int, str]
) -> None:
    for impl in pm.hook.mmrefine_register_tools.get_hookimpls():
        origin = _origin_of(impl.plugin, distributions)
        impl.function(register=_tool_register(registry, impl.plugin_name, origin))


def named_modules(extra_modules: Iterable[str | os.PathLike[str]] = ()) -> list[str]:
    """The plugin modules named outside entry points: ``MMREFINE_PLUGINS``, then ``extra``."""
    out: list[str] = []
    for name in [*_split_env("MMREFINE_PLUGINS"), *map(str, extra_modules)]:
        if name not in out:
            out.append(name)
    return out


def load_plugins(
    extra_modules: Iterable[str | os.PathLike[str]] = (), *, load_entry_points: bool = True
) -> Plugins:
    """Load plugins and collect every backend, strategy, judge and dataset they register.

    ``extra_modules``: module names or ``.py`` file paths (``str`` or ``Path``) to load besides
    the entry points of the ``mmrefine_agent`` group and ``MMREFINE_PLUGINS``. Tools are
    collected when first asked for (:attr:`Plugins.tools`).
    """
    extra = [str(m) for m in extra_modules]
    pm = get_plugin_manager(extra, load_entry_points=load_entry_points)
    plugins = Plugins(
        pm, Registry("backend"), Registry("strategy"), Registry("judge"), named_modules(extra)
    )
    distributions = _distributions(pm)
    _collect(pm, "mmrefine_register_backends", plugins.backends, distributions)
    _collect(pm, "mmrefine_register_strategies", plugins.strategies, distributions)
    _collect(pm, "mmrefine_register_judges", plugins.judges, distributions)
    _collect(pm, "mmrefine_register_datasets", plugins.datasets, distributions)
    return plugins


def register_object(plugins: Plugins, plugin: object, name: str) -> None:
    """Register an in-process plugin object (tests, notebooks) and collect its components."""
    plugins.pm.register(plugin, name=name)
    plugins.pm.check_pending()
    origin = f"object {name}"
    pairs: list[tuple[str, Registry[Any]]] = [
        ("mmrefine_register_backends", plugins.backends),
        ("mmrefine_register_strategies", plugins.strategies),
        ("mmrefine_register_judges", plugins.judges),
        ("mmrefine_register_datasets", plugins.datasets),
    ]
    for hook_name, registry in pairs:
        function: Callable[..., None] | None = getattr(plugin, hook_name, None)
        if function is not None:
            function(register=lambda n, c, _r=registry: _r.add(n, c, name, origin))
    tools: Callable[..., None] | None = getattr(plugin, "mmrefine_register_tools", None)
    if tools is not None and plugins._tools is not None:  # else collected when first needed
        tools(register=_tool_register(plugins._tools, name, origin))

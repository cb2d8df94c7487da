"""``mmrefine plugins``: what is loaded and from where, as a table or as JSON.

The table never cuts a name: the kind and name columns do not wrap and are as wide as their
longest entry; the description (with where the component comes from) wraps instead, at any
width, in a terminal or a pipe.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mmrefine_agent.cli.safe_text import safe
from mmrefine_agent.records.outputs import PluginEntry, PluginListing

OBSERVING = (
    "mmrefine_run_started",
    "mmrefine_observe_step",
    "mmrefine_observe_judgment",
    "mmrefine_observe_item",
    "mmrefine_run_finished",
)


def _component_entry(kind: str, entry: Any) -> PluginEntry:
    from mmrefine_agent.graph.strategy import declared_options
    from mmrefine_agent.model.options import declared_backend_options

    component = entry.component
    options: list[str] = []
    if kind == "strategy":
        options = list(declared_options(component) or [])
    elif kind == "backend":
        options = list(declared_backend_options(component) or [])
    return PluginEntry(
        kind=kind,
        name=entry.name,
        plugin=entry.plugin,
        origin=entry.origin,
        description=str(getattr(component, "description", "") or ""),
        options=options,
        uses_gold=kind == "strategy" and bool(getattr(component, "uses_gold", False)),
        tools=list(getattr(component, "default_tools", None) or []) if kind == "strategy" else [],
    )


def plugin_listing(plugins: Any) -> PluginListing:
    """Every backend, strategy, judge, dataset, tool and observer ``plugins`` loaded."""
    entries: list[PluginEntry] = []
    for kind, registry in (
        ("backend", plugins.backends),
        ("strategy", plugins.strategies),
        ("judge", plugins.judges),
        ("dataset", plugins.datasets),
    ):
        entries += [_component_entry(kind, registry.entries[n]) for n in registry.names()]
    for name in plugins.tools.names():
        entry = plugins.tools.entries[name]
        summary = (entry.component.description or "").strip().split("\n")[0]
        entries.append(PluginEntry(kind="tool", name=name, plugin=entry.plugin,
                                   origin=entry.origin, description=summary))  # fmt: skip
    for hook_name in OBSERVING:
        for impl in getattr(plugins.pm.hook, hook_name).get_hookimpls():
            entries.append(
                PluginEntry(kind="observer", name=hook_name.removeprefix("mmrefine_"),
                            plugin=impl.plugin_name, origin=plugins.origin_of(impl.plugin))
            )  # fmt: skip
    hooks = sorted(name for name in dir(plugins.pm.hook) if name.startswith("mmrefine_"))
    return PluginListing(plugins=entries, hooks=hooks)


def _details(entry: PluginEntry) -> Text:
    text = Text()
    if entry.uses_gold:
        text.append("(uses gold) ", style="yellow")
    text.append(safe(entry.description))
    if entry.options:
        text.append(f" (options: {', '.join(entry.options)})")
    if entry.tools:
        text.append(f" (tools: {', '.join(entry.tools)})")
    source = entry.origin if entry.plugin == entry.name else f"{entry.plugin}, {entry.origin}"
    text.append(("\n" if text else "") + f"from {safe(source)}", style="dim")
    return text


def print_plugins(console: Console, listing: PluginListing) -> None:
    """The listing as one table whose names are never cut, then the hooks."""
    table = Table(title="mmrefine plugins", expand=False)
    longest = max((len(e.name) for e in listing.plugins), default=4)
    table.add_column("kind", no_wrap=True, min_width=8)
    table.add_column("name", no_wrap=True, min_width=longest)
    table.add_column("description (from)", overflow="fold", ratio=1)
    for entry in listing.plugins:
        table.add_row(entry.kind, Text(safe(entry.name), style="bold"), _details(entry))
    console.print(table)
    console.print(Text(f"hooks: {', '.join(listing.hooks)}"), overflow="fold")

"""The plugin modules a run directory was made with: recorded, loaded again, checked.

A module given by name or path (``--plugin``, ``MMREFINE_PLUGINS``, ``plugins=[...]``) is not
an entry point, so a run records it in ``fingerprint.json`` (module, file, source hash) and
every later command on the run (trace, report, compare, judge, resume, a sweep's cells) loads
it again, refusing when it is missing or its source changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from mmrefine_agent.errors import PluginError
from mmrefine_agent.plugins_manager import Plugins, load_plugins
from mmrefine_agent.records import rundir
from mmrefine_agent.records.documents import Fingerprint, PluginModule
from mmrefine_agent.records.rundir import RunDir


def module_records(plugins: Plugins) -> list[PluginModule]:
    """The named plugin modules ``plugins`` loaded, with their files and source hashes."""
    out = []
    for spec in plugins.modules:
        module = plugins.pm.get_plugin(spec)
        if module is None:  # blocked by MMREFINE_DISABLE_PLUGINS
            continue
        source = getattr(module, "__file__", None)
        path = Path(source).resolve() if source else None
        digest = _sha256(path) if path is not None and path.is_file() else None
        out.append(
            PluginModule(
                spec=spec,
                module=getattr(module, "__name__", spec),
                path=str(path) if path is not None else None,
                source_sha256=digest,
            )
        )
    return out


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _recorded_spec(recorded: PluginModule) -> str:
    """What to load for a recorded module: its file for a path, else its module name."""
    if recorded.spec.endswith(".py") or "/" in recorded.spec:
        return recorded.path or recorded.spec
    return recorded.spec


def recorded_modules(run_dir: str | os.PathLike[str]) -> list[PluginModule]:
    """The plugin modules a run directory's fingerprint records (none without one)."""
    run = RunDir(Path(run_dir))
    fingerprint = rundir.read_document(run.file(rundir.FINGERPRINT), Fingerprint)
    return list(fingerprint.modules) if fingerprint is not None else []


def specs_to_load(
    recorded: Iterable[PluginModule], extra_modules: Iterable[str | os.PathLike[str]] = ()
) -> list[str]:
    """What to load for ``recorded`` modules not given again in ``extra_modules``, then those."""
    extra = [str(m) for m in extra_modules]
    given = {Path(m).resolve() for m in extra if m.endswith(".py") or "/" in m} | set(extra)
    wanted: list[str] = []
    for record in recorded:
        if record.spec in given or (record.path is not None and Path(record.path) in given):
            continue
        spec = _recorded_spec(record)
        if spec not in wanted:
            wanted.append(spec)
    return [*wanted, *(m for m in extra if m not in wanted)]


def check_recorded(
    run_dir: str | os.PathLike[str], recorded: Iterable[PluginModule], plugins: Plugins
) -> None:
    """A PluginError naming a recorded module that is not loaded, or whose source changed."""
    by_module = {r.module: r for r in module_records(plugins)}
    for record in recorded:
        now = by_module.get(record.module)
        if now is None:
            raise PluginError(
                f"{run_dir} was made with plugin module '{record.spec}' "
                f"({record.path or record.module}), which is not loaded now"
            )
        if record.source_sha256 and now.source_sha256 != record.source_sha256:
            raise PluginError(
                f"{run_dir} was made with plugin module '{record.spec}' ({now.path}), whose "
                "source has changed since; restore it, use another --out for the new code, or "
                "--restart to start this run over"
            )


def load_run_plugins(
    run_dir: str | os.PathLike[str], extra_modules: Iterable[str | os.PathLike[str]] = ()
) -> Plugins:
    """The plugins a run was made with (recorded in its fingerprint), plus ``extra_modules``.

    A recorded module that cannot be found, or whose source changed since the run, is a
    PluginError naming it (its results may no longer be what that code makes); a module
    given again in ``extra_modules`` is loaded from there instead, and still checked.
    """
    recorded = recorded_modules(run_dir)
    try:
        plugins = load_plugins(specs_to_load(recorded, extra_modules))
    except PluginError as exc:
        raise PluginError(f"{run_dir}: loading the plugins the run was made with: {exc}") from None
    check_recorded(run_dir, recorded, plugins)
    return plugins


def load_sweep_plugins(
    sweep_dir: str | os.PathLike[str],
    extra_modules: Iterable[str | os.PathLike[str]] = (),
    *,
    restart: bool = False,
) -> Plugins:
    """The plugins a sweep's cells were made with (each cell's fingerprint), plus ``extra``.

    Run again, a sweep resumes its cells: the modules any cell recorded are loaded once for
    all of them, and each cell's are checked (a PluginError names the cell and the module).
    With ``restart`` the cells start over and only ``extra_modules`` (and the entry points)
    are loaded.
    """
    root = Path(sweep_dir)
    cells: list[tuple[Path, list[PluginModule]]] = []
    if not restart and root.is_dir():
        for child in sorted(root.iterdir()):
            if child.is_dir() and (child / rundir.FINGERPRINT).is_file():
                cells.append((child, recorded_modules(child)))
    recorded = [module for _, modules in cells for module in modules]
    try:
        plugins = load_plugins(specs_to_load(recorded, extra_modules))
    except PluginError as exc:
        raise PluginError(f"{root}: loading the plugins the sweep was made with: {exc}") from None
    for cell, modules in cells:
        check_recorded(cell, modules, plugins)
    return plugins

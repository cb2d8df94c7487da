"""Resume: what a run directory must share with the run that continues it, and what is left.

The fingerprint holds the parts of the config that determine refinement outputs, the sha256
of the data file(s), and, for each plugin module the run used (strategy, backends, judge),
its distribution version and a hash of its source. Resuming with changed code or data is
refused with a message naming what changed and the ``--restart`` way out. A resume never
drops a finished result: results.jsonl is append-only (the latest line per item wins).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrefine_agent.config import RunConfig
from mmrefine_agent.errors import RunDirError
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records import rundir
from mmrefine_agent.records.models import Fingerprint, ItemResult, PluginFingerprint
from mmrefine_agent.records.ownership import claim
from mmrefine_agent.records.rundir import RunDir
from mmrefine_agent.run_plugins import module_records


def file_sha256(path: Path) -> str:
    """sha256 of a file, or of every file below a directory (names and bytes, sorted)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode("utf-8") + b"\0")
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _module_fingerprint(role: str, name: str, component: Any, origin: str) -> PluginFingerprint:
    module_name = getattr(component, "__module__", None) or type(component).__module__
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    source = getattr(module, "__file__", None)
    digest = None
    if source and Path(source).is_file():
        digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    distribution = origin if not origin.startswith(("module ", "object ")) else None
    return PluginFingerprint(
        role=role, name=name, module=module_name, distribution=distribution, source_sha256=digest
    )


def plugin_fingerprints(config: RunConfig, plugins: Plugins) -> list[PluginFingerprint]:
    """The plugin modules this run uses: strategy, model backend, judge and its backend."""
    used: list[tuple[str, str, Any]] = [
        ("strategy", config.strategy.name, plugins.strategies),
        ("backend", config.model.backend, plugins.backends),
    ]
    if config.judge.name not in ("none", ""):
        used.append(("judge", config.judge.name, plugins.judges))
        judge = plugins.judges.entries.get(config.judge.name)
        if judge is not None and getattr(judge.component, "needs_model", False):
            used.append(("judge_backend", config.judge.backend, plugins.backends))
    out = []
    for role, name, registry in used:
        entry = registry.entries.get(name)
        if entry is not None:
            out.append(_module_fingerprint(role, name, entry.component, entry.origin))
    return out


def make_fingerprint(config: RunConfig, plugins: Plugins, data_path: Path) -> Fingerprint:
    """The fingerprint of a run about to start."""
    return Fingerprint(
        config=config.fingerprint_dict(),
        data={"path": str(data_path), "sha256": file_sha256(data_path)},
        plugins=plugin_fingerprints(config, plugins),
        modules=module_records(plugins),
    )


def _diff_keys(a: Any, b: Any, prefix: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for key in set(a) | set(b):
            out |= _diff_keys(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return set() if a == b else {prefix.rstrip(".")}


def fingerprint_changes(previous: Fingerprint, current: Fingerprint) -> list[str]:
    """What differs, in words (empty: the run may resume)."""
    # the name is a label (fingerprints before 0.3 held it): never a reason to refuse
    keys = _diff_keys(previous.config, current.config) - {"name"}
    changes = [f"config {k}" for k in sorted(keys)]
    if previous.data and previous.data.get("sha256") != current.data.get("sha256"):
        changes.append(
            f"data ({previous.data.get('path')} sha256 {previous.data.get('sha256', '')[:12]} "
            f"-> {current.data.get('path')} sha256 {current.data.get('sha256', '')[:12]})"
        )
    before = {(p.role, p.name): p for p in previous.plugins}
    for plugin in current.plugins:
        old = before.get((plugin.role, plugin.name))
        if old is None:
            continue  # a different name is a config change (or a judge change: re-judged)
        if old.distribution != plugin.distribution:
            changes.append(
                f"{plugin.role} plugin '{plugin.name}' version {old.distribution} -> "
                f"{plugin.distribution}"
            )
        elif old.source_sha256 != plugin.source_sha256:
            changes.append(f"{plugin.role} plugin '{plugin.name}' source ({plugin.module})")
    return changes


def read_previous(run: RunDir) -> Fingerprint | None:
    """The fingerprint a run directory holds (a v1 file held the config alone)."""
    path = run.file(rundir.FINGERPRINT)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path}: cannot read: {exc}") from exc
    if isinstance(raw, dict) and "version" not in raw:
        return Fingerprint(version=1, config=raw)
    return run.fingerprint()


RUN_FILES = (
    rundir.STEPS,
    rundir.RESULTS,
    rundir.JUDGMENTS,
    rundir.SCORES,
    rundir.SUBMISSION,
    rundir.USAGE,
    rundir.USAGE_JOURNAL,
    rundir.FINGERPRINT,
)


def prepare_run_dir(
    path: Path, config: RunConfig, fingerprint: Fingerprint, *, restart: bool
) -> RunDir:
    """Create (or reopen, for resume) a run directory; refuse changed config, data or code.

    A directory mmrefine did not make is refused before anything is written to it (see
    records/ownership.py), so ``--restart`` only ever deletes a run's own files.
    """
    claim(path, "run")
    run = RunDir(path)
    run.cut_unreadable_tails()  # before anything reads them or appends
    if restart:
        for name in RUN_FILES:
            run.file(name).unlink(missing_ok=True)
    else:
        previous = read_previous(run)
        if previous is not None:
            changes = fingerprint_changes(previous, fingerprint)
            if changes:
                raise RunDirError(
                    f"{path} holds a run made with different settings (changed: "
                    f"{'; '.join(changes)}); use another --out, or --restart to start over"
                )
    rundir.write_text_atomic(run.file(rundir.CONFIG), config.to_yaml())
    rundir.write_json_atomic(run.file(rundir.FINGERPRINT), fingerprint)
    return run


@dataclass(slots=True)
class ResumePlan:
    """What a session does: items to refine, refined records to (re-)judge, records kept."""

    kept: dict[str, ItemResult]
    todo: list[str]
    to_judge: list[ItemResult]


def plan_resume(run: RunDir, keys: list[str]) -> ResumePlan:
    """Split the configured items into finished, to refine, and to judge.

    Refined records (``ok``, or ``judge_error`` with their rounds) are kept; everything else
    is redone. The steps and judge calls of items that are redone are dropped (they belong to
    an attempt that did not finish, and would otherwise be shown twice); nothing is removed
    from results.jsonl.
    """
    previous = {r.key: r for r in run.results()}
    kept = {k: r for k, r in previous.items() if r.refined}
    todo = [k for k in keys if k not in kept]
    redo = set(todo)
    steps = run.steps() if redo else []  # nothing to redo: no step to drop, none read
    if any(s.item_key in redo for s in steps):
        rundir.rewrite_records(run.file(rundir.STEPS), [s for s in steps if s.item_key not in redo])
    calls = run.judgments() if redo else []
    if any(c.item_key in redo for c in calls):
        kept_calls = [c for c in calls if c.item_key not in redo]
        rundir.rewrite_records(run.file(rundir.JUDGMENTS), kept_calls)
    return ResumePlan(kept=kept, todo=todo, to_judge=[])

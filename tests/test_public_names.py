"""The public surface: what ``mmrefine_agent`` exports, and that the built-ins use only that.

Read from the source (``ast``), so a lazy import inside a function counts as much as one at the
top of a module.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ROOT

import mmrefine_agent

PACKAGE = ROOT / "mmrefine_agent"
INIT = PACKAGE / "__init__.py"
# import name of each folder of built-in plugins
PLUGIN_FOLDERS = {"plugins": "mmrefine_plugins", "strategies": "mmrefine_strategies"}


def sources(folder: Path) -> Iterator[tuple[Path, ast.Module]]:
    """Every module under ``folder``, parsed."""
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def imported_modules(tree: ast.Module) -> Iterator[tuple[int, str, list[str]]]:
    """(line, absolute module, names) for every import in the tree; relative ones as ``.``."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." if node.level else (node.module or "")
            found.append((node.lineno, module, [alias.name for alias in node.names]))
    yield from sorted(found)


def private_imports(folder: Path, own: str) -> list[str]:
    """Imports under ``folder`` of anything but the public root names and package ``own``."""
    public = set(mmrefine_agent.__all__)
    wrong = []
    for path, tree in sources(folder):
        for line, module, names in imported_modules(tree):
            where = f"{path.name}:{line}"
            top = module.split(".")[0]
            if module == "mmrefine_agent":
                # the package root, and only the names it exports (not a submodule through it)
                wrong += [f"{where}: {n} is not exported" for n in names if n not in public]
            elif top.startswith("mmrefine") and top != own:
                wrong.append(f"{where}: imports {module}")
    return wrong


@pytest.mark.parametrize("folder", sorted(PLUGIN_FOLDERS))
def test_built_in_plugins_import_only_the_public_api(folder: str) -> None:
    assert private_imports(ROOT / folder, PLUGIN_FOLDERS[folder]) == []


def test_examples_and_documented_snippets_import_only_the_public_api(tmp_path: Path) -> None:
    # what a researcher copies: examples/, and the Python blocks of the README and the guide
    assert private_imports(ROOT / "examples", own="") == []
    for doc in (ROOT / "README.md", ROOT / "docs" / "plugins.md"):
        blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
        for number, block in enumerate(blocks):
            (tmp_path / f"{doc.stem}_{number}.py").write_text(textwrap.dedent(block))
    assert len(list(tmp_path.glob("*.py"))) >= 10
    assert private_imports(tmp_path, own="") == []


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    (tmp_path / "plugin.py").write_text(
        "from mmrefine_agent import Strategy\n"
        "from mmrefine_plugins.backends import scripted\n"
        "from . import common\n"
        "def f():\n    from mmrefine_agent.engine.client import ModelClient\n"
        "import mmrefine_agent.graph.nodes\n"
        "from mmrefine_agent import hookspecs\n"
        "import mmrefine_strategies.single_pass\n"
    )
    assert private_imports(tmp_path, "mmrefine_plugins") == [
        "plugin.py:5: imports mmrefine_agent.engine.client",
        "plugin.py:6: imports mmrefine_agent.graph.nodes",
        "plugin.py:7: hookspecs is not exported",
        "plugin.py:8: imports mmrefine_strategies.single_pass",
    ]


def public_names_from_submodules(folder: Path) -> list[str]:
    """Imports under ``folder`` that take a name ``mmrefine_agent`` exports from a submodule."""
    public = set(mmrefine_agent.__all__)
    return [
        f"{path.name}:{line}: {name} from {module}"
        for path, tree in sources(folder)
        for line, module, names in imported_modules(tree)
        if module.startswith("mmrefine_agent.")
        for name in names
        if name in public
    ]


def test_the_cli_takes_public_names_from_the_package_root() -> None:
    # the command line is a client of the public API: `run`, `load_config`, `open_run`, ...
    assert public_names_from_submodules(PACKAGE / "cli") == []


def test_the_cli_check_sees_a_public_name_taken_from_its_module(tmp_path: Path) -> None:
    (tmp_path / "command.py").write_text(
        "from mmrefine_agent import load_config\n"
        "from mmrefine_agent.config import apply_override\n"
        "def go():\n    from mmrefine_agent.run_view import RunView, open_run\n"
    )
    assert public_names_from_submodules(tmp_path) == [
        "command.py:4: RunView from mmrefine_agent.run_view",
        "command.py:4: open_run from mmrefine_agent.run_view",
    ]


def _own_docstring(value: object) -> str | None:
    """The docstring written on a class or function (not one generated by @dataclass)."""
    doc = value.__doc__
    if inspect.isclass(value) and dataclasses.is_dataclass(value):
        generated = f"{value.__name__}("
        return None if doc is None or doc.startswith(generated) else doc
    return doc


def test_every_public_name_resolves_and_is_documented() -> None:
    undocumented = []
    for name in mmrefine_agent.__all__:
        value = getattr(mmrefine_agent, name)  # raises if _LAZY points at the wrong module
        if (inspect.isclass(value) or inspect.isfunction(value)) and not (
            _own_docstring(value) or ""
        ).strip():
            undocumented.append(name)
    assert not undocumented, undocumented
    assert sorted(dir(mmrefine_agent)) == sorted(mmrefine_agent.__all__)


def _init_parts() -> tuple[dict[str, str], dict[str, str], set[str], list[str]]:
    """(TYPE_CHECKING imports, _LAZY, names imported eagerly, __all__) of the package root."""
    tree = ast.parse(INIT.read_text())
    checking: dict[str, str] = {}
    eager: set[str] = set()
    lazy: dict[str, str] = {}
    exported: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for child in node.body:
                assert isinstance(child, ast.ImportFrom) and child.module
                checking.update({a.asname or a.name: child.module for a in child.names})
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("mmrefine_agent")
        ):
            eager.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            if target == "_LAZY":
                lazy = ast.literal_eval(node.value)
            elif target == "__all__":
                exported = ast.literal_eval(node.value)
    return checking, lazy, eager, exported


def test_lazy_map_all_and_type_checking_imports_agree() -> None:
    checking, lazy, eager, exported = _init_parts()
    assert lazy == checking  # same names, each from the same module
    assert len(exported) == len(set(exported))
    assert set(exported) == set(lazy) | eager | {"__version__"}
    assert not set(lazy) & eager
    assert mmrefine_agent.__all__ == exported


def _is_path(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "__path__") or (
        isinstance(node, ast.Attribute) and node.attr == "__path__"
    )


def _changes_a_path(call: ast.Call) -> bool:
    """Whether the call grows a ``__path__``, calls ``extend_path`` or sets ``__path__``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        grows = _is_path(func.value) and func.attr in ("append", "extend", "insert")
        return grows or func.attr == "extend_path"  # pkgutil.extend_path
    if isinstance(func, ast.Name) and func.id == "setattr" and len(call.args) > 1:
        name = call.args[1]
        return isinstance(name, ast.Constant) and name.value == "__path__"
    return isinstance(func, ast.Name) and func.id == "extend_path"


def _path_changes(tree: ast.Module) -> Iterator[int]:
    """Lines that assign, extend or rebuild a ``__path__`` (reading one is fine)."""
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        if any(
            _is_path(t) or (isinstance(t, ast.Subscript) and _is_path(t.value)) for t in targets
        ):
            yield node.lineno
        if isinstance(node, ast.Call) and _changes_a_path(node):
            yield node.lineno


def test_no_module_changes_a_package_path() -> None:
    assert "__path__" not in INIT.read_text()
    changes = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in ("mmrefine_agent", *PLUGIN_FOLDERS)
        for path, tree in sources(ROOT / folder)
        for line in _path_changes(tree)
    ]
    assert not changes, changes


def test_the_path_check_sees_each_way_of_changing_one() -> None:
    code = (
        "import pkgutil, sys\n"
        "__path__ = pkgutil.extend_path(__path__, __name__)\n"
        "__path__.append('x')\n"
        "sys.modules['a'].__path__ += ['y']\n"
        "setattr(sys.modules['a'], '__path__', [])\n"
        "roots = list(getattr(sys.modules['a'], '__path__', []))\n"
    )
    assert sorted(set(_path_changes(ast.parse(code)))) == [2, 3, 4, 5]

"""Shared fixtures: the benchmark data beside the checkout, an isolated cache, plugins."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MMREFINE_DATA_DIR", ROOT.parent / "shared" / "data"))
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Module- and session-scoped fixtures never touch the user's real cache either."""
    cache = tmp_path_factory.mktemp("xdg-cache-session")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        patch.setenv("MMREFINE_DATA_DIR", str(DATA_DIR))
        yield cache


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own XDG cache (the shared call cache lives there)."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("MMREFINE_DATA_DIR", str(DATA_DIR))
    return cache


@pytest.fixture
def data_dir() -> Path:
    if not (DATA_DIR / "MMRefine_test.parquet").is_file():
        pytest.fail(f"benchmark data not found at {DATA_DIR}")
    return DATA_DIR


@pytest.fixture
def plugins():
    from mmrefine_agent.plugins_manager import load_plugins

    return load_plugins()

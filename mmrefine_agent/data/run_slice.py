"""A run's inputs: the configured slice of the selected dataset and the official prompts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mmrefine_agent.config import RunConfig
from mmrefine_agent.data.base import LoadedData
from mmrefine_agent.data.datadir import PROMPTS_NAME
from mmrefine_agent.data.prompts import OfficialPrompts, load_official_prompts
from mmrefine_agent.data.select import load_dataset

if TYPE_CHECKING:
    from mmrefine_agent.plugins_manager import Plugins


def load_run_items(
    config: RunConfig, plugins: Plugins | None = None
) -> tuple[Path, LoadedData, OfficialPrompts | None]:
    """Resolve the data directory, load the configured slice and the official prompts.

    The official MMRefine prompts come from the data directory whatever the dataset (the
    refinement prompt is generic).
    """
    data_dir, loaded = load_dataset(config.data, plugins)
    prompts = load_official_prompts(data_dir) if (data_dir / PROMPTS_NAME).is_file() else None
    return data_dir, loaded, prompts

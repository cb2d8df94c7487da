"""A run's inputs: the configured slice of the dataset and the official prompts."""

from __future__ import annotations

from pathlib import Path

from mmrefine_agent.config import RunConfig
from mmrefine_agent.data.datadir import PROMPTS_NAME, resolve_data_dir
from mmrefine_agent.data.mmrefine import LoadedData, load_items
from mmrefine_agent.data.prompts import OfficialPrompts, load_official_prompts


def load_run_items(config: RunConfig) -> tuple[Path, LoadedData, OfficialPrompts | None]:
    """Resolve the data directory, load the configured slice and the official prompts."""
    data_dir = resolve_data_dir(config.data.dir)
    filters = config.data.filter.model_dump(exclude_none=True)
    loaded = load_items(
        data_dir,
        filters=filters,
        limit=config.data.limit,
        balanced=config.data.balanced,
        parquet=Path(config.data.parquet) if config.data.parquet else None,
    )
    prompts = load_official_prompts(data_dir) if (data_dir / PROMPTS_NAME).is_file() else None
    return data_dir, loaded, prompts

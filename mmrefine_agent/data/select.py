"""``load_dataset``: the dataset ``data.name`` selects, from the plugin registry, loaded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mmrefine_agent.data.base import Dataset, LoadedData
from mmrefine_agent.data.datadir import PROMPTS_NAME, resolve_data_dir
from mmrefine_agent.errors import DataError, PluginError

if TYPE_CHECKING:
    from mmrefine_agent.config import DataConfig
    from mmrefine_agent.plugins_manager import Plugins


def dataset_for(config: DataConfig, plugins: Plugins | None = None) -> Dataset:
    """An instance of the registered dataset ``config.name`` (plugins are loaded if not given)."""
    if plugins is None:
        from mmrefine_agent.plugins_manager import load_plugins

        plugins = load_plugins()
    component = plugins.datasets.get(config.name)
    if not (isinstance(component, type) and issubclass(component, Dataset)):
        raise PluginError(f"dataset '{config.name}' is not a Dataset subclass: {component!r}")
    dataset: Dataset = component()
    return dataset


def load_dataset(config: DataConfig, plugins: Plugins | None = None) -> tuple[Path, LoadedData]:
    """The data directory and the configured slice of dataset ``config.name``.

    Only the selected dataset is read. Filters it does not support, and ``data.parquet`` for a
    dataset other than ``mmrefine``, are errors.
    """
    dataset = dataset_for(config, plugins)
    filters = config.filter.model_dump(exclude_none=True)
    dataset.check_filters(filters)
    if config.parquet and config.name != "mmrefine":
        raise DataError(f"data.parquet replaces the MMRefine file; dataset is '{config.name}'")
    if config.path:
        source = Path(config.path).expanduser()
        if not source.exists():
            raise DataError(f"data.path {source}: no such file or folder")
        # the data directory still holds the official prompts, when there is one
        try:
            data_dir = resolve_data_dir(config.dir, marker=PROMPTS_NAME)
        except DataError:
            data_dir = source.parent if source.is_file() else source
    else:
        data_dir = resolve_data_dir(config.dir, marker=dataset.location or ".")
    return data_dir, dataset.load(data_dir, config)

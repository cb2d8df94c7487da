"""``mmrefine``: the MMRefine benchmark (the default dataset), as a dataset plugin.

It wraps :func:`mmrefine_agent.load_mmrefine_items` unchanged: the same rows, item keys
(``f"{id}_{solution_source}"``), filters, ``balanced`` order and ``data.parquet`` replacement.
MMRefine items carry no labelled first wrong step (``first_wrong_step`` is None); analysis uses
the first "step N" their reference feedback names, where it names one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mmrefine_agent import (
    MMREFINE_FILTER_FIELDS,
    MMREFINE_PARQUET_NAME,
    Dataset,
    LoadedData,
    RegisterDataset,
    hookimpl,
    load_mmrefine_items,
)

if TYPE_CHECKING:
    from mmrefine_agent import DataConfig


class MMRefine(Dataset):
    """MMRefine (Paik et al. 2025): 200 problems x 4 solution sources, half with an image."""

    name: ClassVar[str] = "mmrefine"
    description: ClassVar[str] = (
        "MMRefine (Paik et al. 2025): 800 rows, 200 problems x 4 solution sources (default)"
    )
    filter_fields: ClassVar[tuple[str, ...]] = MMREFINE_FILTER_FIELDS
    location: ClassVar[str] = MMREFINE_PARQUET_NAME

    def load(self, data_dir: Path, config: DataConfig) -> LoadedData:
        """Load, filter, order and validate rows of the parquet file."""
        replacement = config.path or config.parquet  # data.path, or the older data.parquet
        return load_mmrefine_items(
            data_dir,
            filters=config.filter.model_dump(exclude_none=True),
            limit=config.limit,
            balanced=config.balanced,
            parquet=Path(replacement) if replacement else None,
        )


@hookimpl
def mmrefine_register_datasets(register: RegisterDataset) -> None:
    """Register ``mmrefine``."""
    register("mmrefine", MMRefine)

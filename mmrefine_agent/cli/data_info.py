"""``mmrefine data info``: the selected dataset's size, counts and bad records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from mmrefine_agent import LoadedData
from mmrefine_agent.cli.render import print_counts
from mmrefine_agent.cli.safe_text import safe
from mmrefine_agent.data.mmrefine import count_by
from mmrefine_agent.data.select import dataset_for, load_dataset

if TYPE_CHECKING:
    from mmrefine_agent import DataConfig, Plugins

COUNTED = ("label", "category", "error_type", "source", "modality")


def print_data_info(console: Console, config: DataConfig, plugins: Plugins) -> LoadedData:
    """Print counts per label, category, error type, source and modality; return the data."""
    dataset = dataset_for(config, plugins)
    data_dir, loaded = load_dataset(config, plugins)
    console.print(
        f"dataset [bold]{escape(safe(config.name))}[/] from [bold]{escape(str(loaded.path))}[/] "
        f"(data directory {escape(str(data_dir))}) - {len(loaded.items)} items, "
        f"{len(loaded.problems)} bad rows",
        highlight=False,
    )
    counts = {
        attribute: {escape(safe(k)): n for k, n in count_by(loaded.items, attribute).items()}
        for attribute in COUNTED
        if any(getattr(item, attribute) is not None for item in loaded.items)
    }
    print_counts(console, escape(safe(dataset.name or config.name)), counts)
    if any(item.steps for item in loaded.items):
        incorrect = [i for i in loaded.items if i.label == "incorrect"]
        located = sum(1 for i in incorrect if i.first_wrong_step is not None)
        with_gold = sum(1 for i in loaded.items if i.answer.strip())
        console.print(
            f"first wrong step labelled (1-based) on {located} of {len(incorrect)} incorrect "
            f"solutions; gold answer on {with_gold} of {len(loaded.items)} items",
            highlight=False,
        )
    for problem in loaded.problems[:20]:
        console.print(f"[red]bad row[/] {escape(safe(str(problem)))}", highlight=False)
    return loaded

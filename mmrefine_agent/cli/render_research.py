"""Rich renderings for research workflows: sweep summaries, comparisons, rounds, localisation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.table import Table

from mmrefine_agent.cli.safe_text import cell, inline
from mmrefine_agent.judging.scenarios import SCENARIOS

if TYPE_CHECKING:
    from mmrefine_agent.records.models import CellSummary

HEADLINE = ("RefScore", "mRecall", "RS", "EC", "ED", "RF", "VS", "FD", "RS/ED")


def pct(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """A rate as a percentage ("-" when undefined)."""
    if value is None:
        return "-"
    return f"{100 * value:+.{digits}f}" if signed else f"{100 * value:.{digits}f}"


def sweep_table(
    name: str,
    cells: Sequence[CellSummary],
    grid: dict[str, Any] | None = None,
    *,
    include_gold: bool = False,
) -> Group:
    """Two tables, one row per cell each: the scores, then the usage (and gains, if any).

    The scores table has the gain over the baseline, the usage table the cost per point. Split
    in two so that every column keeps its figures whole at 80 columns; cell names never
    wrap. Cells whose strategy used the gold answer are left out (see
    :func:`gold_cells_table`) unless ``include_gold``, where they are marked.
    """
    from mmrefine_agent.analysis.sweep_gain import with_gains

    rows = with_gains(cells, grid or {})
    shown = [r for r in rows if include_gold or not r.uses_gold]
    gains = any(r.baseline for r in rows)
    scores = Table(
        title=f"sweep {name}: {len(shown)} of {len(rows)} cells",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    usage = Table(
        title=f"sweep {name}: usage", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    for table in (scores, usage):
        table.add_column("cell", no_wrap=True)
    for column in ("RefScore", "mRecall", "RS", "FD", "n", *(("gain pts",) if gains else ())):
        scores.add_column(column, justify="right", no_wrap=column != "gain pts")
    scores.add_column("status", overflow="fold")
    for column in ("calls", "cached", "tokens", "cost $", "secs"):
        usage.add_column(column, justify="right", no_wrap=True)
    if gains:
        for column in ("tokens/pt", "$/pt"):
            usage.add_column(column, justify="right", no_wrap=True)
    for row in shown:
        # one axis value per line (a cell is named AXIS=VALUE__AXIS=VALUE): each stays whole
        label = "\n".join(inline(part) for part in row.cell.split("__"))
        label += "\n[yellow](uses gold)[/]" if row.uses_gold else ""
        scores.add_row(
            label,
            *(pct(row.rates.get(m)) for m in ("RefScore", "mRecall", "RS", "FD")),
            str(row.n_judged),
            *((pct(row.gain, signed=True),) if gains else ()),
            row.status if row.status == "ok" else f"[red]{inline(row.status)}[/]",
        )
        per_point = [
            "-" if row.tokens_per_point is None else f"{row.tokens_per_point:,.1f}",
            "-" if row.cost_per_point is None else f"{row.cost_per_point:.4f}",
        ]
        usage.add_row(
            label,
            str(row.calls),
            str(row.cache_hits),
            str(row.tokens),
            f"{row.cost_usd:.4f}",
            f"{row.elapsed_s:.1f}",
            *(per_point if gains else ()),
        )
    if gains:
        scores.caption = (
            "gain pts: RefScore points over the cell's baseline (the first strategy of the grid, "
            "same other values)"
        )
        usage.caption = (
            "tokens/pt and $/pt: extra refinement tokens and USD over the baseline per point "
            "gained ('-': no gain); cached: calls answered by the call cache"
        )
    return Group(scores, usage)


def gold_cells_table(cells: Sequence[CellSummary]) -> Table | None:
    """The cells put apart because their strategy used the gold answer (None if there are none)."""
    rows = [r for r in cells if r.uses_gold]
    if not rows:
        return None
    table = Table(
        title="put apart: the strategy used the gold answer or label (not paper-comparable; "
        "--include-gold ranks them with the others)"
    )
    for column in ("cell", "RefScore", "mRecall", "n", "tokens"):
        table.add_column(column, justify="left" if column == "cell" else "right", overflow="fold")
    for row in rows:
        table.add_row(
            cell(row.cell),
            pct(row.rates.get("RefScore")),
            pct(row.rates.get("mRecall")),
            str(row.n_judged),
            str(row.tokens),
        )
    return table


def print_comparison(console: Console, comparison: dict[str, Any]) -> None:
    """Runs side by side, per error type, paired differences and changed items."""
    runs = comparison["runs"]
    table = Table(title=f"compare (baseline: {inline(comparison['baseline'])})")
    table.add_column("run")
    for column in (*HEADLINE, "n", "calls", "tokens", "cost $"):
        table.add_column(column, justify="right")
    for run in runs:
        rates, usage = run["rates"], run["usage"]
        proxy = " (proxy)" if run.get("is_proxy") else ""
        gold = " [yellow](uses gold)[/]" if run.get("uses_gold") else ""
        table.add_row(
            f"{inline(run['label'])}{proxy}{gold}",
            *(pct(rates.get(m)) for m in HEADLINE),
            str(run.get("n_judged")),
            str(usage["calls"]),
            str(usage["tokens"]),
            f"{usage['cost_usd']:.4f}",
        )
    console.print(table)
    if comparison.get("apart"):
        console.print(apart_table(comparison["apart"]))

    types = sorted({t for run in runs for t in run["by_error_type"]})
    if types:
        by_type = Table(
            title="per error type: RS % / ED % (incorrect items), VS % / FD % (correct)"
        )
        by_type.add_column("error type")
        for run in runs:
            by_type.add_column(cell(run["label"]), justify="right")
        for name in types:
            cells = []
            for run in runs:
                rates = run["by_error_type"].get(name) or {}
                if rates.get("RS") is not None:
                    cells.append(f"{pct(rates.get('RS'))} / {pct(rates.get('ED'))}")
                elif rates.get("VS") is not None:
                    cells.append(f"{pct(rates.get('VS'))} / {pct(rates.get('FD'))}")
                else:
                    cells.append("-")
            by_type.add_row(cell(name), *cells)
        console.print(by_type)

    for pair in comparison["paired"]:
        diff = Table(
            title=f"{inline(pair['b'])} - {inline(pair['a'])} on {pair['n_shared']} shared items "
            f"(paired bootstrap over problems; only in A {pair['only_in_a']}, "
            f"only in B {pair['only_in_b']})"
        )
        for column in ("metric", "A %", "B %", "B - A", "95% CI", ""):
            diff.add_column(column, justify="right" if column != "metric" else "left")
        for metric in HEADLINE:
            entry = pair["differences"][metric]
            ci = entry["ci95"]
            marker = ""
            if ci is not None and (ci[0] > 0 or ci[1] < 0):
                marker = "[green]*[/]" if ci[0] > 0 else "[red]*[/]"
            diff.add_row(
                metric,
                pct(entry["a"]),
                pct(entry["b"]),
                pct(entry["diff"], signed=True),
                "" if ci is None else f"[{pct(ci[0], signed=True)}, {pct(ci[1], signed=True)}]",
                marker,
            )
        diff.caption = "* the interval excludes 0"
        console.print(diff)
        console.print(
            transition_table(pair["transitions"], f"scenario A -> B ({inline(pair['b'])})")
        )
        if pair.get("step_metrics"):
            from mmrefine_agent.cli.render_steps import paired_step_table

            console.print(paired_step_table(pair["step_metrics"], pair["a"], pair["b"]))
        if pair.get("round_correction"):
            from mmrefine_agent.cli.render_steps import paired_round_table

            console.print(paired_round_table(pair["round_correction"], pair["a"], pair["b"]))
        if pair["changed"]:
            changed = Table(title=f"items that changed scenario: {pair['n_changed']}")
            for column in ("item", "A", "B"):
                changed.add_column(column)
            for entry in pair["changed"]:
                changed.add_row(cell(entry["key"]), cell(entry["from"]), cell(entry["to"]))
            if pair["n_changed"] > len(pair["changed"]):
                changed.caption = f"first {len(pair['changed'])}; --changed N shows more"
            console.print(changed)
    for warning in comparison.get("warnings", []):
        console.print(f"[yellow]warning:[/] {inline(warning)}", highlight=False)


def apart_table(rows: Sequence[dict[str, Any]]) -> Table:
    """Runs kept out of a paper-comparable summary: their strategy used the gold answer."""
    table = Table(
        title="put apart: the strategy used the gold answer or label (not paper-comparable; "
        "--include-gold to compare)"
    )
    for column in ("run", "RefScore", "mRecall", "n", "tokens"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for row in rows:
        rates = row.get("rates") or {}
        table.add_row(
            cell(row.get("label", "")),
            pct(rates.get("RefScore")),
            pct(rates.get("mRecall")),
            str(row.get("n_judged", "")),
            str((row.get("usage") or {}).get("tokens", "")),
        )
    return table


def transition_table(matrix: dict[str, dict[str, int]], title: str) -> Table:
    """A from x to count matrix over the six scenarios (rows: from)."""
    table = Table(title=title)
    table.add_column("from \\ to")
    for scenario in SCENARIOS:
        table.add_column(scenario, justify="right")
    for before in SCENARIOS:
        row = matrix.get(before) or {}
        cells = []
        for after in SCENARIOS:
            count = row.get(after, 0)
            text = str(count) if count else "."
            cells.append(f"[bold]{text}[/]" if before == after and count else text)
        table.add_row(before, *cells)
    return table


def print_rounds(console: Console, analysis: dict[str, Any]) -> None:
    """Per-round scores, transition matrices, notable transitions and settling rounds."""
    per_round = analysis["per_round"]
    if not per_round:
        console.print(
            "[yellow]no per-round judgments in this run[/] (set judge.per_round: true "
            "and re-judge: `mmrefine judge RUN --set judge.per_round=true --all`)"
        )
        return
    table = Table(title="per round")
    for column in ("round", "RefScore", "mRecall", "n", "settled here", "stopped here"):
        table.add_column(column, justify="right")
    for number, entry in per_round.items():
        table.add_row(
            number,
            pct(entry["RefScore"]),
            pct(entry["mRecall"]),
            str(entry["n"]),
            str(analysis["settled_at"].get(number, 0)),
            str(analysis["rounds_run"].get(number, 0)),
        )
    console.print(table)
    for step, matrix in analysis["transitions"].items():
        console.print(transition_table(matrix, f"transitions round {step}"))
    if analysis["notable"]:
        notable = Table(title="what later rounds changed")
        for column in ("rounds", "from", "to", "items", "meaning"):
            notable.add_column(column)
        for row in analysis["notable"]:
            notable.add_row(
                cell(row["rounds"]), cell(row["from"]), cell(row["to"]), str(row["count"]),
                cell(row["meaning"]),
            )  # fmt: skip
        console.print(notable)


def localisation_table(
    result: dict[str, Any], reference: str = "the step the reference feedback names"
) -> Table:
    """Right step found vs something else flagged, overall and per error type.

    ``reference``: what the reference step is for the run's dataset, in words.
    """
    from mmrefine_agent.analysis.localisation import OUTCOME_LABELS, OUTCOMES

    table = Table(title=f"localisation: the flagged step vs {reference}")
    table.add_column("error type")
    table.add_column("n", justify="right")
    for outcome in OUTCOMES:
        table.add_column(OUTCOME_LABELS[outcome], justify="right")
    rows = [*result["by_error_type"].items(), ("all", result["overall"])]
    for name, block in rows:
        table.add_row(
            cell(name, "bold" if name == "all" else ""),
            str(block["n"]),
            *(f"{block[o]} ({pct(block['share'][o], 0)}%)" for o in OUTCOMES),
        )
    table.caption = f"incorrect items without a reference step: {result['no_reference_step']}"
    return table

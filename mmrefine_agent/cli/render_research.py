"""Rich renderings for research workflows: sweep summaries, comparisons, rounds, localisation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from mmrefine_agent.judging.scenarios import SCENARIOS

if TYPE_CHECKING:
    from mmrefine_agent.engine.sweep import CellOutcome

HEADLINE = ("RefScore", "mRecall", "RS", "EC", "ED", "RF", "VS", "FD", "RS/ED")


def pct(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """A rate as a percentage ("-" when undefined)."""
    if value is None:
        return "-"
    return f"{100 * value:+.{digits}f}" if signed else f"{100 * value:.{digits}f}"


def sweep_table(name: str, outcomes: Sequence[CellOutcome]) -> Table:
    """One row per cell: headline rates, calls, cache hits, tokens, cost, time."""
    from mmrefine_agent.engine.sweep import summary_row

    table = Table(title=f"sweep {name}: {len(outcomes)} cells")
    table.add_column("cell")
    for column in ("RefScore", "mRecall", "RS", "FD", "n"):
        table.add_column(column, justify="right")
    for column in ("calls", "cache hits", "tokens", "cost $", "time s", "status"):
        table.add_column(column, justify="right")
    for outcome in outcomes:
        row = summary_row(outcome)
        table.add_row(
            row.cell,
            *(pct(row.rates.get(m)) for m in ("RefScore", "mRecall", "RS", "FD")),
            str(row.n_judged),
            str(row.calls),
            str(row.cache_hits),
            str(row.tokens),
            f"{row.cost_usd:.4f}",
            f"{row.elapsed_s:.1f}",
            row.status if row.status == "ok" else f"[red]{row.status}[/]",
        )
    return table


def print_comparison(console: Console, comparison: dict[str, Any]) -> None:
    """Runs side by side, per error type, paired differences and changed items."""
    runs = comparison["runs"]
    table = Table(title=f"compare (baseline: {comparison['baseline']})")
    table.add_column("run")
    for column in (*HEADLINE, "n", "calls", "tokens", "cost $"):
        table.add_column(column, justify="right")
    for run in runs:
        rates, usage = run["rates"], run["usage"]
        proxy = " (proxy)" if run.get("is_proxy") else ""
        table.add_row(
            f"{run['label']}{proxy}",
            *(pct(rates.get(m)) for m in HEADLINE),
            str(run.get("n_judged")),
            str(usage["calls"]),
            str(usage["tokens"]),
            f"{usage['cost_usd']:.4f}",
        )
    console.print(table)

    types = sorted({t for run in runs for t in run["by_error_type"]})
    if types:
        by_type = Table(
            title="per error type: RS % / ED % (incorrect items), VS % / FD % (correct)"
        )
        by_type.add_column("error type")
        for run in runs:
            by_type.add_column(run["label"], justify="right")
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
            by_type.add_row(name, *cells)
        console.print(by_type)

    for pair in comparison["paired"]:
        diff = Table(
            title=f"{pair['b']} - {pair['a']} on {pair['n_shared']} shared items "
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
        console.print(transition_table(pair["transitions"], f"scenario A -> B ({pair['b']})"))
        if pair["changed"]:
            changed = Table(title=f"items that changed scenario: {pair['n_changed']}")
            for column in ("item", "A", "B"):
                changed.add_column(column)
            for entry in pair["changed"]:
                changed.add_row(entry["key"], entry["from"], entry["to"])
            if pair["n_changed"] > len(pair["changed"]):
                changed.caption = f"first {len(pair['changed'])}; --changed N shows more"
            console.print(changed)
    for warning in comparison.get("warnings", []):
        console.print(f"[yellow]warning:[/] {warning}")


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
                row["rounds"], row["from"], row["to"], str(row["count"]), row["meaning"]
            )
        console.print(notable)


def localisation_table(result: dict[str, Any]) -> Table:
    """Right step found vs something else flagged, overall and per error type."""
    from mmrefine_agent.analysis.localisation import OUTCOME_LABELS, OUTCOMES

    table = Table(title="localisation: the flagged step vs the step the reference feedback names")
    table.add_column("error type")
    table.add_column("n", justify="right")
    for outcome in OUTCOMES:
        table.add_column(OUTCOME_LABELS[outcome], justify="right")
    rows = [*result["by_error_type"].items(), ("all", result["overall"])]
    for name, block in rows:
        table.add_row(
            f"[bold]{name}[/]" if name == "all" else name,
            str(block["n"]),
            *(f"{block[o]} ({pct(block['share'][o], 0)}%)" for o in OUTCOMES),
        )
    table.caption = f"incorrect items whose feedback names no step: {result['no_reference_step']}"
    return table

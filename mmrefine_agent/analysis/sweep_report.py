"""``mmrefine report SWEEP_DIR --html FILE``: one page comparing the cells of a sweep.

The page has one row per cell (RefScore and mRecall with 95% intervals, the scenario rates,
calls, tokens, cost), the cost-vs-RefScore chart, paired differences of every cell against a
baseline cell (the same paired bootstrap over problems as ``mmrefine compare``), the items that
changed scenario, and a link to each cell's own report, written beside the page in
``FILE_cells/`` (each one the full run report, so every item's trace is a click away).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmrefine_agent.analysis.compare import load_run, paired
from mmrefine_agent.analysis.legend import LEGEND
from mmrefine_agent.analysis.report_charts import Point, heat_map, scatter
from mmrefine_agent.analysis.report_page import page, pct, table
from mmrefine_agent.errors import RunDirError
from mmrefine_agent.judging.scenarios import SCENARIOS
from mmrefine_agent.records.models import CellSummary, SweepDoc
from mmrefine_agent.records.rundir import CONFIG, RunDir, read_document, write_text_atomic

SWEEP_FILE = "sweep.json"
CELL_RATES = ("RS", "EC", "ED", "RF", "VS", "FD")
_E = html.escape


def is_sweep_dir(path: Path) -> bool:
    """Whether ``path`` is a sweep directory (it holds ``sweep.json``)."""
    return (path / SWEEP_FILE).is_file()


def read_sweep(path: Path) -> SweepDoc:
    """The sweep's summary document (``sweep.json``)."""
    doc = read_document(path / SWEEP_FILE, SweepDoc)
    if doc is None:
        raise RunDirError(f"{path}: no {SWEEP_FILE} (not a sweep directory)")
    return doc


def cell_dir(sweep_dir: Path, cell: CellSummary) -> Path:
    """The cell's run directory: beside sweep.json (also when the sweep was moved)."""
    near = sweep_dir / Path(cell.run_dir or cell.cell).name
    return near if near.is_dir() else Path(cell.run_dir)


def cell_file(cell: str) -> str:
    """A file name for a cell's report (cell names are already slugs; be strict anyway)."""
    return re.sub(r"[^\w.=+,-]", "_", cell).lstrip(".") + ".html"


def _with_ci(rates: dict[str, float | None], ci: dict[str, list[float] | None], key: str) -> str:
    interval = ci.get(key)
    text = pct(rates.get(key))
    return text + (f' <span class="dim">[{pct(interval[0])}, {pct(interval[1])}]</span>'
                   if interval else "")  # fmt: skip


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f}"


def cells_section(cells: list[CellSummary], links: dict[str, str], baseline: str) -> str:
    """One row per cell: headline scores with intervals, rates, usage, link to its report."""
    rows = []
    for cell in cells:
        name = _E(cell.cell)
        link = f'<a href="{_E(links[cell.cell])}">{name}</a>' if cell.cell in links else name
        if cell.cell == baseline:
            link += ' <span class="dim">(baseline)</span>'
        rows.append(
            [link, _E(cell.status) + (f": {_E(cell.error)}" if cell.error else ""),
             str(cell.n_judged), _with_ci(cell.rates, cell.ci95, "RefScore"),
             _with_ci(cell.rates, cell.ci95, "mRecall"),
             *(pct(cell.rates.get(code)) for code in CELL_RATES),
             str(cell.calls), f"{cell.tokens:,}", f"{cell.cost_usd:.4f}", f"{cell.elapsed_s:.1f}"]
        )  # fmt: skip
    headers = ["cell", "status", "judged", "RefScore (95% CI)", "mRecall (95% CI)", *CELL_RATES,
               "calls", "tokens", "cost USD", "time s"]  # fmt: skip
    body = table(headers, rows, "cells")
    return body.replace("<tr><td>", '<tr class="cell-row"><td>')


def cost_chart(cells: list[CellSummary]) -> str:
    """Cost (or tokens, when no cost is known) against RefScore with its interval."""
    scored = [c for c in cells if c.rates.get("RefScore") is not None]
    use_cost = any(c.cost_usd > 0 for c in scored)
    points = []
    for cell in scored:
        interval = cell.ci95.get("RefScore")
        points.append(
            Point(
                f"{cell.cell} (n={cell.n_judged})",
                cell.cost_usd if use_cost else float(cell.tokens),
                100 * (cell.rates["RefScore"] or 0.0),
                100 * interval[0] if interval else None,
                100 * interval[1] if interval else None,
            )
        )
    x_name = "cost (USD)" if use_cost else "tokens (no cost known)"
    return scatter("cost vs RefScore (95% CI)", points, x_name, "RefScore (%)")


def paired_section(
    pairs: list[tuple[str, dict[str, Any]]], baseline: str, item_link: Callable[[str, str], str]
) -> str:
    """Paired B - A differences on shared items, the transition heat map, changed items."""
    parts = [f"<h2>Paired differences against {_E(baseline)}</h2>",
             '<p class="meta">B - A on the items both cells judged, 95% intervals from one '
             "bootstrap over problems (as <code>mmrefine compare</code>).</p>"]  # fmt: skip
    if not pairs:
        return parts[0] + "<p>only one scored cell: nothing to compare.</p>"
    metrics = ("RefScore", "mRecall", "RS", "EC", "ED", "RF", "VS", "FD")
    rows = []
    for label, pair in pairs:
        row = [_E(label), str(pair["n_shared"]), str(pair["n_changed"])]
        for metric in metrics:
            diff = pair["differences"].get(metric) or {}
            value, ci = diff.get("diff"), diff.get("ci95")
            cls = ""
            if ci and ci[0] > 0:
                cls = "better" if metric not in ("RF", "FD") else "worse"
            elif ci and ci[1] < 0:
                cls = "worse" if metric not in ("RF", "FD") else "better"
            text = _signed(value) + (f" [{_signed(ci[0])}, {_signed(ci[1])}]" if ci else "")
            row.append(f'<span class="{cls}">{text}</span>')
        rows.append(row)
    parts.append(table(["cell (B)", "shared", "changed", *metrics], rows, "paired"))
    charts, changed = [], []
    for label, pair in pairs:
        charts.append(heat_map(f"{baseline} \u2192 {label}", pair["transitions"], SCENARIOS))
        links = ", ".join(
            f'<a href="{_E(item_link(label, c["key"]))}">{_E(c["key"])}</a> '
            f"{_E(c['from'])}\u2192{_E(c['to'])}"
            for c in pair["changed"]
        )
        more = pair["n_changed"] - len(pair["changed"])
        if links:
            changed.append(f"<li><strong>{_E(label)}</strong>: {links}"
                           + (f" and {more} more" if more > 0 else "") + "</li>")  # fmt: skip
    parts.append('<div class="charts">' + "".join(charts) + "</div>")
    if changed:
        parts.append("<h3>items that changed scenario</h3><ul>" + "".join(changed) + "</ul>")
    return "".join(parts)


def write_sweep_report(
    sweep_dir: Path, out: Path, baseline: str | None = None, *, cell_reports: bool = True
) -> Path:
    """Write the sweep page (and, beside it, each cell's own report); returns its path."""
    from mmrefine_agent.analysis.html_report import write_html_report

    doc = read_sweep(sweep_dir)
    names = [c.cell for c in doc.cells]
    if not names:
        raise RunDirError(f"{sweep_dir}: the sweep has no cell yet")
    chosen = baseline or names[0]
    if chosen not in names:
        raise RunDirError(f"--baseline {chosen!r} is not a cell of this sweep: {', '.join(names)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = out.parent / f"{out.stem}_cells"
    links: dict[str, str] = {}
    runs: dict[str, dict[str, Any]] = {}
    for cell in doc.cells:
        path = cell_dir(sweep_dir, cell)
        if not (path / CONFIG).is_file():
            continue
        if cell_reports:
            target = folder / cell_file(cell.cell)
            write_html_report(RunDir(path), target)
            links[cell.cell] = os.path.relpath(target, out.parent).replace(os.sep, "/")
        try:
            runs[cell.cell] = load_run(path)
        except RunDirError:
            continue  # not judged: listed, not compared
    pairs = []
    if chosen in runs:
        pairs = [(name, paired(runs[chosen], run, 50)) for name, run in runs.items()
                 if name != chosen]  # fmt: skip

    def item_link(cell: str, key: str) -> str:
        return f"{links[cell]}#item={key}" if cell in links else "#"

    grid = ", ".join(f"{k}: {v}" for k, v in doc.grid.items())
    body = (
        f"<header><h1>MMRefine sweep: {_E(doc.name or sweep_dir.name)}</h1>"
        f'<p class="meta">{len(doc.cells)} cell(s); grid {_E(grid)}; baseline {_E(chosen)}</p>'
        "</header><h2>Cells</h2>"
        + cells_section(doc.cells, links, chosen)
        + f'<p class="legend">{_E(LEGEND)}</p>'
        + '<div class="charts">' + cost_chart(doc.cells) + "</div>"
        + paired_section(pairs, chosen, item_link)
    )  # fmt: skip
    write_text_atomic(out, page(f"MMRefine sweep: {doc.name}", body, [], [], math=False))
    return out

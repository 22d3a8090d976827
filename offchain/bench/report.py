"""The ``reports/`` convention: every benchmark writes CSV, a Markdown table and a PNG plot, with the
paper's own figures beside ours where the paper gives any, and the machine and versions recorded."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table as RichTable

from offchain.bench.environment import environment_markdown, environment_record

Cell = str | int | float | None


@dataclass
class Table:
    """A result table: named columns, rows of cells, optional notes shown under the title."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: expected {len(self.columns)} cells, got {len(cells)}")
        self.rows.append(cells)

    def column(self, name: str) -> list[Cell]:
        index = list(self.columns).index(name)
        return [row[index] for row in self.rows]


def _format(cell: Cell) -> str:
    if cell is None:
        return "n/a"
    if isinstance(cell, float):
        if abs(cell) < 10:
            return f"{cell:,.3f}"
        return f"{cell:,.1f}" if abs(cell) < 1_000 else f"{cell:,.0f}"
    if isinstance(cell, int):
        return f"{cell:,}"
    return str(cell)


def to_markdown(table: Table) -> str:
    lines = [f"## {table.title}", ""]
    if table.notes:
        lines.extend([*table.notes, ""])
    lines.append("| " + " | ".join(table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines.extend("| " + " | ".join(_format(cell) for cell in row) + " |" for row in table.rows)
    return "\n".join(lines) + "\n"


def write_csv(table: Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.columns)
        writer.writerows(["" if cell is None else cell for cell in row] for row in table.rows)


def figures_table(
    title: str, figures: Mapping[str, Any], show: Callable[[Any], str] = str, value_header: str = "value"
) -> RichTable:
    """A benchmark's headline figures as a rich table for the console (``show`` formats each value)."""
    table = RichTable(title=title)
    table.add_column("figure")
    table.add_column(value_header, justify="right")
    for key, value in figures.items():
        table.add_row(key, show(value))
    return table


def update_summary(path: Path, figures: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``figures`` into the JSON object at ``path`` (created if missing) and return the result.

    Several benchmarks write one system's ``summary.json``; each sets only its own keys. A file that is
    not a JSON object raises ``ValueError`` rather than being overwritten."""
    current: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON; fix or remove it first: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ValueError(f"{path} does not hold a JSON object")
        current = loaded
    current.update(figures)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return current


def write_report(
    directory: Path,
    name: str,
    tables: Sequence[Table],
    summary: Mapping[str, Any] | None = None,
    plots: Sequence[str] = (),
    intro: str = "",
) -> Path:
    """Write ``<name>.md`` (every table, the plots, the machine record), one CSV per table and, when
    given, the ``summary`` keys merged into ``summary.json`` (:func:`update_summary`: other benchmarks'
    keys survive). Returns the Markdown path. ``plots`` are PNG file names already written in
    ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = [f"# {name}", ""]
    if intro:
        parts.extend([intro, ""])
    for table in tables:
        slug = "".join(ch if ch.isalnum() else "_" for ch in table.title.lower()).strip("_")
        write_csv(table, directory / f"{slug}.csv")
        parts.append(to_markdown(table))
    parts.extend(f"![{plot}]({plot})\n" for plot in plots)
    record = environment_record()
    parts.extend(["## Machine and versions", "", environment_markdown(record), ""])
    if summary is not None:
        update_summary(directory / "summary.json", {**summary, "environment": record})
    path = directory / f"{name}.md"
    path.write_text("\n".join(parts))
    return path


def bar_plot(
    path: Path,
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    ylabel: str,
    *,
    log: bool = False,
) -> None:
    """A grouped bar chart (one group per label, one bar per series), saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    width = 0.8 / max(len(series), 1)
    for index, (name, values) in enumerate(series.items()):
        positions = [i + index * width for i in range(len(labels))]
        ax.bar(positions, values, width=width, label=name)
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))])
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)

"""``metatrust bench resource-auth``: the RSMS cost benchmark (registered in :mod:`offchain.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def bench_resource_auth(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports/resource_auth"),
    quick: Annotated[bool, typer.Option(help="a tenth of the repetitions (smoke run)")] = False,
) -> None:
    """RSMS (seed 002): Table II operations, per-protocol costs and Table III sizes beside the paper's."""
    from offchain.resource_auth.bench import BenchSize, headline, run

    figures = run(out, BenchSize.quick() if quick else BenchSize(), console)
    table = Table(title=f"RSMS costs (full report: {out}/costs.md)")
    table.add_column("figure")
    table.add_column("this machine", justify="right")
    for label, value in headline(figures):
        table.add_row(label, value)
    console.print(table)

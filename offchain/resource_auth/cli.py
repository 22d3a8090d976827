"""``metatrust bench resource-auth``: the RSMS cost benchmark (registered in :mod:`offchain.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from offchain.bench.report import figures_table

console = Console()


def bench_resource_auth(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports/resource_auth"),
    quick: Annotated[bool, typer.Option(help="a tenth of the repetitions (smoke run)")] = False,
) -> None:
    """RSMS (seed 002): Table II operations, per-protocol costs and Table III sizes beside the paper's."""
    from offchain.resource_auth.bench import BenchSize, headline, run

    figures = run(out, BenchSize.quick() if quick else BenchSize(), console)
    title = f"RSMS costs (full report: {out}/costs.md)"
    console.print(figures_table(title, dict(headline(figures)), value_header="this machine"))

"""``metatrust bench web3compute-onion``: the onion evaluation (Fig. 5a, Fig. 5b, attack vs hops)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from offchain.bench.report import figures_table


def _show(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{name}: {_show(item)}" for name, item in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def bench(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports/web3compute"),
    quick: Annotated[bool, typer.Option(help="3 runs per point and short calibration (smoke run)")] = False,
    seed: Annotated[int, typer.Option(help="seed of the simulations")] = 2026,
) -> None:
    """Onion-routed sandbox location: damage rate, task delay and attack success vs hops (seed 004)."""
    from offchain.web3compute.bench_onion import BenchSize, run

    console = Console()
    values = run(out, BenchSize.quick() if quick else BenchSize(), console, seed)
    console.print(figures_table(f"web3compute onion benchmark ({out}/web3compute-onion.md)", values, _show))
    if not (values["onion_fig5a_orderings_hold"] and values["onion_fig5b_orderings_hold"]):
        console.print("[yellow]some of the paper's orderings do not hold in our model: see the report[/]")

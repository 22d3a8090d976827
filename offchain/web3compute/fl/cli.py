"""``metatrust bench web3compute-fl``: the FedAvg task in sandboxes (accuracy and time per round)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from offchain.bench.report import figures_table


def bench(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports/web3compute"),
    quick: Annotated[bool, typer.Option(help="3 rounds, 3 nodes only (smoke run)")] = False,
    seed: Annotated[int, typer.Option(help="seed of the data split and of training")] = 0,
) -> None:
    """Federated learning in computing sandboxes over onion circuits vs direct delivery (seed 004)."""
    from offchain.web3compute.fl.bench import BenchSize, run

    console = Console()
    values = run(out, BenchSize.quick() if quick else BenchSize(), console, seed)
    title = f"web3compute FL benchmark ({out}/web3compute-fl.md)"
    console.print(figures_table(title, values, lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)))
    if values["fl_final_accuracy"] <= values["fl_baseline_accuracy"]:
        console.print("[red]FedAvg did not beat the majority-class baseline[/]")
        raise typer.Exit(1)

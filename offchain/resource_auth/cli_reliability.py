"""``metatrust bench resource-auth-reliability``: the RSMS reliability study (Figs. 5–7 of seed 002)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def bench_reliability(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports/resource_auth"),
    runs: Annotated[int, typer.Option(min=2, help="Monte Carlo runs per configuration")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed (common random numbers)")] = 2,
    quick: Annotated[bool, typer.Option(help="1,000 runs per configuration (smoke run)")] = False,
    group_size: Annotated[int, typer.Option(min=1, help="N RNs per service group")] = 4,
    pool_rns: Annotated[int, typer.Option(min=0, help="RNs in the pool (0: unlimited groups)")] = 16,
    cost_scale: Annotated[float, typer.Option(min=0.0, help="multiply every RSMS protocol time")] = 1.0,
) -> None:
    """Monte Carlo throughput with and without RSMS: service-time range, join and leave rates."""
    from offchain.resource_auth.bench_reliability import StudySize, run
    from offchain.resource_auth.reliability import ModelConfig, RsmsCosts

    try:
        base = ModelConfig(group_size=group_size, pool_rns=pool_rns or None)
        costs = RsmsCosts(scale=cost_scale)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    size = StudySize(runs=1_000 if quick else runs, seed=seed)
    updates = run(out, size, console, base=base, costs=costs)
    study = updates["reliability"]
    table = Table(title=f"RSMS reliability ({size.runs:,} runs per configuration)")
    table.add_column("configuration")
    table.add_column("TP without (95 % CI)", justify="right")
    table.add_column("TP with RSMS", justify="right")
    table.add_column("within CI", justify="center")
    for name, record in study["configs"].items():
        lo, hi = record["tp_without_ci95"]
        table.add_row(
            name,
            f"{record['tp_without']:.3f} [{lo:.3f}, {hi:.3f}]",
            f"{record['tp_with']:.4f}",
            "yes" if record["within_ci"] else "[red]NO[/]",
        )
    console.print(table)
    console.print(f"tp_gap_within_ci = {updates['tp_gap_within_ci']}; reports in {out}/")

"""``metatrust`` commands of the Web3 data computing system (seed 004), registered by ``offchain/cli.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from offchain.bench.report import figures_table

console = Console()


def bench_channel(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports/web3compute"),
    quick: Annotated[bool, typer.Option(help="a tenth of the updates (smoke run)")] = False,
) -> None:
    """State channels: co-signed, persisted updates per second vs devnet transactions; gas per operation."""
    from offchain.web3compute.bench_channel import TARGET_UPDATES_PER_S, BenchSize, run

    figures = run(out, BenchSize.quick() if quick else BenchSize(), console)
    console.print(figures_table("web3compute channel benchmark", figures, lambda v: f"{v:,}"))
    rate = float(figures["channel_updates_per_s"])
    verdict = "meets" if rate >= TARGET_UPDATES_PER_S else "misses"
    console.print(f"channel_updates_per_s = {rate:,.0f}: {verdict} the target of {TARGET_UPDATES_PER_S:,}/s")

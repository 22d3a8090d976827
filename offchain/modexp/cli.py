"""``metatrust modexp``: MExpm (seed 003) on the devnet with real agents and the market (an extension)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from offchain.agents.errors import AgentCallError
from offchain.modexp.encoding import MAX_N
from offchain.modexp.params import MExpmError

app = typer.Typer(
    no_args_is_help=True, help="MExpm: fair offloading of batch modular exponentiation (seed 003)."
)
console = Console()

#: dev accounts of the flow: 0 deploys (auditor and MTC pools on the devnet), 1-2 serve the platform demo.
AGENCY, SERVER, RSU, VEHICLE = 3, 4, 5, 6


@app.command("run")
def run(
    n: Annotated[int, typer.Option("--n", min=1, max=MAX_N, help="batch size n")] = 1,
    cheat: Annotated[
        bool, typer.Option(help="the server forges: watch it be rejected, refunded, slashed")
    ] = False,
    malicious_iv: Annotated[
        bool, typer.Option(help="the vehicle commits a bad Aux: watch the server win the dispute")
    ] = False,
    every: Annotated[
        bool, typer.Option("--all", help="run the honest, forged and malicious-vehicle scenarios in turn")
    ] = False,
    deployments: Annotated[Path, typer.Option(help="deployments file")] = Path("deployments/local.json"),
    rpc_url: Annotated[
        str | None, typer.Option(help="JSON-RPC URL (default: the deployments file's)")
    ] = None,
    out: Annotated[Path, typer.Option(help="folder of market_flow_gas.csv/.md")] = Path("reports/modexp"),
    auditor_index: Annotated[int, typer.Option(help="dev account holding RSC's AUDITOR_ROLE")] = 0,
    funder_index: Annotated[int, typer.Option(help="dev account holding MTC to fund the actors")] = 0,
) -> None:
    """Run the MExpm flow on the devnet (deploy first: `metatrust deploy`); write the gas per transaction."""
    from offchain.chain.connection import connect
    from offchain.chain.deployments import load_deployments
    from offchain.chain.devnet import dev_accounts
    from offchain.crypto.keys import from_private_key
    from offchain.modexp.flow import SCENARIOS, FlowKeys, run_modexp_flow

    deps = load_deployments(deployments)
    deps.contract_info("MExpmMarket")  # a clear error when the market is not deployed
    w3 = connect(rpc_url or deps.rpc_url, expected_chain_id=deps.chain_id)
    if deps.chain_id != 31337:
        raise typer.BadParameter(
            "the flow spends the devnet's funded dev accounts: run it on the local devnet"
        )
    keys = [from_private_key(bytes(account.key)) for account in dev_accounts(n=10)]
    flow_keys = FlowKeys(
        auditor=keys[auditor_index],
        funder=keys[funder_index],
        agency=keys[AGENCY],
        server=keys[SERVER],
        rsu=keys[RSU],
        vehicle=keys[VEHICLE],
    )
    scenarios = ["forged" if cheat else "honest"]
    if malicious_iv:
        scenarios.append("malicious-iv")
    if every:
        scenarios = list(SCENARIOS)
    try:
        report = asyncio.run(run_modexp_flow(w3, deps, flow_keys, console, n=n, scenarios=scenarios))
    except (AgentCallError, MExpmError, RuntimeError) as exc:  # an agent refused, or an outcome was wrong
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    csv_path, md_path = report.write_gas(out)
    table = Table(title="gas per transaction of the flow")
    for column in ("scenario/actor", "function", "gas used"):
        table.add_column(column, justify="right" if column == "gas used" else "left")
    for actor, function, gas in report.gas:
        table.add_row(actor, function, f"{gas:,}")
    console.print(table)
    console.print(f"wrote {csv_path} and {md_path}")

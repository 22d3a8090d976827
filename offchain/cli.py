"""The ``metatrust`` command: devnet, deploy, demo, gas, bench and agents.

Ape does compiling, testing and deploying (``ape run``/``ape test`` underneath); the devnet and the
agents use the web3 chain layer, so they also run against any JSON-RPC endpoint.
"""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from offchain.bench.report import figures_table
from offchain.modexp.cli import app as modexp_app
from offchain.outsourcing.cli import bench_command as bench_outsourcing
from offchain.outsourcing.cli import outsource_app
from offchain.resource_auth.cli import bench_resource_auth
from offchain.resource_auth.cli_reliability import bench_reliability
from offchain.storage.cli import app as storage_app
from offchain.storage.cli import bench_storage
from offchain.web3compute import cli as web3compute_cli
from offchain.web3compute.fl.cli import bench as bench_web3compute_fl
from offchain.web3compute.onion.cli import bench as bench_web3compute_onion

app = typer.Typer(
    no_args_is_help=True, help="metatrust: trustworthy metaverse and edge computing on EVM chains"
)
devnet_app = typer.Typer(no_args_is_help=True, help="Start, stop and inspect the local anvil devnet.")
agent_app = typer.Typer(no_args_is_help=True, help="Run off-chain agents as network services.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: CSV, Markdown and PNG under reports/.")
app.add_typer(devnet_app, name="devnet")
app.add_typer(agent_app, name="agent")
app.add_typer(bench_app, name="bench")
app.add_typer(modexp_app, name="modexp")
app.add_typer(outsource_app, name="outsource")

app.add_typer(storage_app, name="storage")

console = Console()
ROOT = Path(__file__).resolve().parent.parent
NetworkOption = Annotated[
    str, typer.Option("--network", help="Ape network choice or an RPC URL", envvar="METATRUST_NETWORK")
]


def _ape(*args: str, env: dict[str, str] | None = None) -> int:
    ape = Path(sys.executable).with_name("ape")
    return subprocess.call([str(ape), *args], cwd=ROOT, env={**os.environ, **(env or {})})


# ---------------------------------------------------------------------------------------- devnet


@devnet_app.command("up")
def devnet_up(
    port: Annotated[int, typer.Option(help="JSON-RPC port")] = 8545,
    block_time: Annotated[
        int | None, typer.Option(help="seconds per block (default: mine on demand)")
    ] = None,
) -> None:
    """Start anvil in the background (state and logs in .devnet/)."""
    from offchain.chain.devnet import devnet_up as start

    status = start(port=port, state_dir=ROOT / ".devnet", block_time=block_time)
    console.print(status.message + ("; stop with: metatrust devnet down" if status.changed else ""))


@devnet_app.command("down")
def devnet_down(port: Annotated[int, typer.Option(help="JSON-RPC port")] = 8545) -> None:
    """Stop the background anvil."""
    from offchain.chain.devnet import devnet_down as stop

    console.print(stop(state_dir=ROOT / ".devnet", port=port).message)


@devnet_app.command("status")
def devnet_status(port: Annotated[int, typer.Option(help="JSON-RPC port")] = 8545) -> None:
    """Say whether the background anvil runs, and its block height."""
    from offchain.chain.connection import connect
    from offchain.chain.devnet import Devnet

    devnet = Devnet(port=port, state_dir=ROOT / ".devnet")
    if not devnet.is_running():
        console.print("no devnet running")
        raise typer.Exit(1)
    w3 = connect(devnet.rpc_url)
    console.print(f"devnet at {devnet.rpc_url}: chain id {w3.eth.chain_id}, block {w3.eth.block_number}")


# ---------------------------------------------------------------------------------------- ape-backed


@app.command()
def deploy(network: NetworkOption = "ethereum:local:foundry") -> None:
    """Deploy every contract and write deployments/<network>.json (ape run deploy)."""
    raise typer.Exit(_ape("run", "deploy", "--network", network))


@app.command()
def demo(network: NetworkOption = "ethereum:local:foundry") -> None:
    """Deploy and run every system's end-to-end flow, then print the gas table (ape run demo)."""
    raise typer.Exit(_ape("run", "demo", "--network", network))


@app.command()
def gas(prefix: Annotated[Path, typer.Option(help="output prefix")] = Path("reports/gas")) -> None:
    """Run the contract tests with gas recording; write <prefix>.md and <prefix>.csv and show them."""
    code = _ape("test", "tests", "-q", env={"METATRUST_GAS_REPORT": str(prefix)})
    if code != 0:
        raise typer.Exit(code)
    table = Table(title=f"gas ({prefix}.csv)")
    with Path(f"{prefix}.csv").open() as handle:
        reader = csv.reader(handle)
        for column in next(reader):
            table.add_column(
                column, justify="right" if column in {"calls", "min", "median", "max"} else "left"
            )
        for row in reader:
            table.add_row(*row)
    console.print(table)


# ---------------------------------------------------------------------------------------- benchmarks


@bench_app.command("platform")
def bench_platform(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports/platform"),
    quick: Annotated[bool, typer.Option(help="a tenth of the repetitions (smoke run)")] = False,
) -> None:
    """Signing, ECIES, agent round trips and devnet transactions on this machine."""
    from offchain.bench.platform import BenchSize, run

    figures = run(out, BenchSize.quick() if quick else BenchSize(), console)
    console.print(
        figures_table("platform benchmark", figures, lambda v: f"{v:,.3f}" if v < 100 else f"{v:,.0f}")
    )


bench_app.command("web3compute-onion")(bench_web3compute_onion)
bench_app.command("web3compute-fl")(bench_web3compute_fl)

bench_app.command("resource-auth-reliability")(bench_reliability)
bench_app.command("outsourcing")(bench_outsourcing)

bench_app.command("storage")(bench_storage)


@bench_app.command("modexp")
def bench_modexp(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports/modexp"),
    quick: Annotated[bool, typer.Option(help="tiny sizes (smoke run)")] = False,
) -> None:
    """MExpm (seed 003): time per phase, Verify gas, communication, checkability and attack rates."""
    from offchain.modexp.bench import BenchSize, run

    figures = run(out, BenchSize.quick() if quick else BenchSize(), console)
    console.print(
        figures_table("MExpm benchmark", figures, lambda v: f"{v:.4g}" if isinstance(v, float) else str(v))
    )


bench_app.command("resource-auth")(bench_resource_auth)


bench_app.command("web3compute-channel")(web3compute_cli.bench_channel)

# ---------------------------------------------------------------------------------------- agents


@agent_app.command("run")
def agent_run(
    role: Annotated[str, typer.Argument(help="actor role, e.g. csn, mec-server, oracle")],
    keystore: Annotated[Path, typer.Option(help="eth-account keystore JSON of the agent's account")],
    password_env: Annotated[str, typer.Option(help="environment variable holding the keystore password")] = (
        "METATRUST_KEYSTORE_PASSWORD"
    ),
    deployments: Annotated[Path, typer.Option(help="deployments file")] = Path("deployments/local.json"),
    rpc_url: Annotated[
        str | None, typer.Option(help="JSON-RPC URL (default: the deployments file's)")
    ] = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on (0: any free port)")] = 0,
    public_url: Annotated[str | None, typer.Option(help="URL to publish in the registry")] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    """Start an agent, publish its endpoint in the registry (RSC) and serve until SIGINT/SIGTERM."""
    import logging

    from rich.logging import RichHandler

    import offchain.crowdsourcing.ml.agents
    import offchain.modexp.agents  # noqa: F401  (registers MExpm's role services)
    from offchain.agents.runner import AgentSettings, run_agent
    from offchain.chain.roles import ActorRole

    try:
        roles = ActorRole.parse(role)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    password = os.environ.get(password_env)
    if password is None:
        raise typer.BadParameter(f"set {password_env} to the keystore password")
    settings = AgentSettings(
        roles=roles,
        keystore=keystore,
        password=password,
        deployments=deployments,
        rpc_url=rpc_url,
        host=host,
        port=port,
        public_url=public_url,
    )
    logging.basicConfig(
        level=log_level.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )
    asyncio.run(run_agent(settings, console=console))


def main() -> None:
    """Entry point: known failures (chain, devnet, keystore, deployments) end with one clear line."""
    from offchain.chain.errors import ChainError
    from offchain.crypto.errors import CryptoError
    from offchain.storage.errors import StorageError

    try:
        app()
    except (ChainError, CryptoError, StorageError, FileNotFoundError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()

"""``metatrust outsource``: one Meta-BMEOC evaluation against a running devnet with CSN agents on loopback;
``metatrust outsource enclave run``: one enclave process of the on-chain environment."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def outsource_command(
    ctx: typer.Context,
    k: Annotated[int, typer.Option("--k", help="number of variables of F")] = 200,
    d: Annotated[int, typer.Option("--d", help="total degree of F")] = 2,
    t: Annotated[int, typer.Option("--t", help="privacy threshold (m = (d+1)t+1 CSNs)")] = 2,
    cheat: Annotated[int, typer.Option("--cheat", help="how many CSNs return a wrong result")] = 0,
    deployments: Annotated[Path, typer.Option(help="deployments file")] = Path("deployments/local.json"),
    rpc_url: Annotated[
        str | None, typer.Option(help="JSON-RPC URL (default: the deployments file's)")
    ] = None,
    mtd_index: Annotated[int, typer.Option(help="devnet account index of the MTD")] = 3,
    auditor_index: Annotated[
        int, typer.Option(help="devnet account index of RSC's auditor (the deployer after make deploy)")
    ] = 0,
    seed: Annotated[
        int | None, typer.Option(help="seed F and x (reproducible runs; not for real use)")
    ] = None,
) -> None:
    """Outsource F(x) to m CSN agents found through RSC; verify; on failure build and check TX_acc.

    Needs a devnet with the platform deployed (`make deploy` or `make demo`); the m CSN agents run in this
    process on loopback and register in RSC (the devnet's first account is the auditor that approves them).
    `metatrust outsource enclave run --help` starts an enclave of the on-chain environment instead.
    """
    if ctx.invoked_subcommand is not None:
        return
    from offchain.chain.connection import connect
    from offchain.chain.deployments import load_deployments
    from offchain.chain.devnet import dev_accounts
    from offchain.crypto.keys import from_private_key
    from offchain.outsourcing.flow import run_outsourcing_flow
    from offchain.outsourcing.task import required_servers

    m = required_servers(d, t)
    if not 0 <= cheat <= m:
        raise typer.BadParameter(f"--cheat must be in 0..m = {m}")
    deps = load_deployments(deployments)
    w3 = connect(rpc_url or deps.rpc_url, expected_chain_id=deps.chain_id)
    accounts = [from_private_key(bytes(a.key)) for a in dev_accounts(n=max(mtd_index, auditor_index) + 1)]
    report = asyncio.run(
        run_outsourcing_flow(
            w3,
            deps,
            accounts[auditor_index],
            accounts[mtd_index],
            console,
            k=k,
            d=d,
            t=t,
            cheats=(cheat,),
            seed=seed,
        )
    )
    outcome = report.outcomes[0]
    table = Table(title=f"Meta-BMEOC k={k} d={d} t={t} m={m}")
    table.add_column("item")
    table.add_column("value")
    table.add_row(
        "verification", "accepted" if outcome.verification.accepted else f"⊥ ({outcome.verification.reason})"
    )
    if outcome.value is not None:
        table.add_row("F(x)", hex(outcome.value))
    for name, ms in outcome.timings_ms.items():
        table.add_row(f"{name} (ms)", f"{ms:.1f}")
    if outcome.accountability is not None:
        table.add_row("ACC (off chain)", outcome.accountability.reason)
        table.add_row("flagged CSNs", ", ".join(outcome.accountability.flagged) or "none")
    console.print(table)
    honest_ok = cheat == 0 and outcome.value == report.expected[0]
    flagged = outcome.accountability.flagged if outcome.accountability is not None else ()
    caught = cheat > 0 and set(flagged) == set(report.cheaters[0])
    if cheat > t and not caught:
        console.print(
            f"[yellow]{cheat} cheating CSNs exceed the threshold t = {t}: soundness is only guaranteed "
            "against at most t (see docs/outsourcing.md)"
        )
    if not (honest_ok or caught):
        raise typer.Exit(1)


def bench_command(
    quick: Annotated[
        bool, typer.Option("--quick", help="a small grid (k in {200, 1000, 2000}, t in {1, 5})")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="report directory [default: reports/outsourcing, with --quick reports/outsourcing/quick]"
        ),
    ] = None,
    repeats: Annotated[int | None, typer.Option(help="runs per median (task, verification)")] = None,
    max_d: Annotated[int | None, typer.Option("--max-d", help="largest d of the Fig. 6 grid (k = 9)")] = None,
    clock: Annotated[
        str, typer.Option(help="clock of the grid: wall (the paper's metric) or cpu (this thread's CPU time)")
    ] = "wall",
) -> None:
    """Meta-BMEOC evaluation: the paper's Figs. 4-6 with the baselines, trends and targets."""
    from dataclasses import replace

    from offchain.outsourcing.bench import BenchConfig, run_and_write, summary_figures

    config = BenchConfig.quick() if quick else BenchConfig()
    if repeats is not None:
        config = replace(config, repeats=repeats)
    if max_d is not None:
        config = replace(config, high_ds=tuple(range(2, max_d + 1, 2)))
    config = replace(config, clock=clock)
    if out is None:
        out = Path("reports/outsourcing/quick" if quick else "reports/outsourcing")
    result, path = run_and_write(config, out)
    figures = summary_figures(result)
    table = Table(title="Meta-BMEOC benchmark (summary.json)")
    table.add_column("key")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.3f}")
        elif not isinstance(value, list | dict):
            table.add_row(key, str(value))
    console.print(table)
    for clock, met in figures["outsourcing_targets"].items():
        console.print(f"targets met ({clock}): " + ", ".join(f"{name}={ok}" for name, ok in met.items()))
    console.print(f"report: {path}")


enclave_app = typer.Typer(
    no_args_is_help=True, help="Enclave processes of the on-chain Meta-BMEOC environment."
)


@enclave_app.command("run")
def enclave_run_command(
    keystore: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="Web3 Secret Storage file of the enclave's key")
    ],
    password_file: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="file holding the keystore password")
    ],
    deployments: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="deployments file naming RSC, MSC and ASC")
    ] = Path("deployments/local.json"),
    rpc_url: Annotated[
        str | None, typer.Option(help="JSON-RPC URL (default: the deployments file's)")
    ] = None,
    host: Annotated[str, typer.Option(help="address to serve HTTP on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to serve on (0: a free one)")] = 0,
    member_timeout: Annotated[
        float, typer.Option(help="seconds a member has to answer the Leader before it is challenged")
    ] = 4.0,
    poll_interval: Annotated[float, typer.Option(help="seconds between polls of MSC's events")] = 0.3,
) -> None:
    """Run one enclave (``python -m offchain.outsourcing.enclave``) until SIGTERM or Ctrl-C.

    The enclave serves HTTP, registers in RSC (role ENCLAVE: endpoint, encryption and BLS keys) and in MSC
    (BLS key with proof of possession, simulated attestation quote, stake in MTC: the key's account needs
    MTC and ETH), proves block sync, then follows MSC: it submits its VRF proof when an environment is
    requested, learns its role, and serves the Leader's and the users' requests. It prints one JSON line
    ``{"ready": true, "address": ..., "endpoint": ...}`` once it serves.
    """
    from offchain.outsourcing.enclave.__main__ import main as enclave_main

    argv = [
        "--keystore", str(keystore), "--password-file", str(password_file), "--deployments", str(deployments),
        "--host", host, "--port", str(port), "--member-timeout", str(member_timeout),
        "--poll-interval", str(poll_interval),
    ]  # fmt: skip
    if rpc_url is not None:
        argv += ["--rpc-url", rpc_url]
    enclave_main(argv)


outsource_app = typer.Typer(
    invoke_without_command=True,
    help="Outsource F(x) to CSN agents found through RSC (options below), or run an enclave (`enclave run`).",
)
outsource_app.callback(invoke_without_command=True)(outsource_command)
outsource_app.add_typer(enclave_app, name="enclave")

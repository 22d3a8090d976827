"""make demo: deploy every contract, run every system's end-to-end flow, print the gas table.

    .venv/bin/ape run demo --network ethereum:local:foundry

Each system adds its flow here as it lands. The flows use the web3 chain layer and real HTTP agents on
loopback, exactly as they would against a testnet.
"""

import asyncio
import time

from ape import chain, project
from rich.console import Console
from rich.table import Table

from offchain.bench.chain_gas import gas_log_from_blocks
from offchain.chain.connection import connect
from offchain.chain.deployments import load_deployments
from offchain.chain.devnet import dev_accounts
from offchain.crypto.keys import from_private_key
from offchain.deploy import (
    deploy_modexp,
    deploy_platform,
    deploy_resource_auth,
    deployer_account,
    rpc_url,
    write_deployments,
)
from offchain.modexp.flow import FlowKeys, run_modexp_flow
from offchain.outsourcing.flow import run_outsourcing_flow
from offchain.platform_flow import run_platform_flow
from offchain.resource_auth.agents import run_resource_auth_flow


def main() -> None:
    console = Console()
    if not chain.provider.network.is_local:
        raise SystemExit(
            "the demo spends the devnet's funded accounts; on a testnet use `ape run deploy` and "
            "`metatrust agent run ROLE` instead"
        )
    started = time.perf_counter()
    console.rule("[bold]deploy")
    deployer = deployer_account()
    deployment = deploy_platform(project, deployer)
    deploy_modexp(project, deployer, deployment)
    # RSMS: accounts 8 and 9 are the RPMs; the MSRP is a 11th dev account, funded below (anvil funds 10)
    rsms_accounts = dev_accounts(n=11)[8:]
    deploy_resource_auth(project, deployer, deployment, msrp=rsms_accounts[2].address)
    path = write_deployments(deployment, rpc_url())
    for name, record in deployment.records.items():
        console.print(f"  {name:<12} {record['address']}")
    console.print(f"  wrote {path}")
    first_block = min(int(record["block"]) for record in deployment.records.values())

    deployments = load_deployments(path)
    w3 = connect(rpc_url(), expected_chain_id=deployment.chain_id)
    keys = [from_private_key(bytes(account.key)) for account in dev_accounts(n=8)]
    auditor, server, client = keys[:3]  # the deployer (account 0) is the registry's auditor on the devnet
    report = asyncio.run(run_platform_flow(w3, deployments, auditor, server, client, console))
    # account 0 is the auditor and holds the MTC pools; accounts 3-6 are the SA, server, RSU and vehicle
    modexp_keys = FlowKeys(auditor, auditor, keys[3], keys[4], keys[5], keys[6])
    modexp = asyncio.run(
        run_modexp_flow(w3, deployments, modexp_keys, console, scenarios=("honest", "forged"))
    )
    outsourcing = asyncio.run(run_outsourcing_flow(w3, deployments, auditor, keys[7], console))
    w3.provider.make_request("anvil_setBalance", [rsms_accounts[2].address, hex(10**20)])  # type: ignore[arg-type]
    rpm_1, rpm_2, msrp = (from_private_key(bytes(account.key)) for account in rsms_accounts)
    rsms = asyncio.run(run_resource_auth_flow(w3, deployments, auditor, msrp, (rpm_1, rpm_2), console))

    console.rule("[bold]gas of every transaction above")
    log = gas_log_from_blocks(w3, deployment.records, first_block)
    table = Table()
    for column in ("contract", "function", "calls", "min", "median", "max"):
        table.add_column(column, justify="right" if column in {"calls", "min", "median", "max"} else "left")
    for row in log.rows():
        table.add_row(
            row.contract, row.function, str(row.calls), f"{row.min:,}", f"{row.median:,}", f"{row.max:,}"
        )
    console.print(table)
    console.print(
        f"[bold green]demo complete[/] in {time.perf_counter() - started:.1f} s: "
        f"{len(report.steps)} platform steps, {len(modexp.steps)} MExpm steps, "
        f"{len(outsourcing.steps)} Meta-BMEOC steps, {len(rsms.steps)} RSMS steps; full gas report: make gas"
    )

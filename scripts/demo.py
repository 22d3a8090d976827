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
from offchain.chain.devnet import dev_accounts, fund_on_devnet
from offchain.crowdsourcing.committee_flow import (
    elect_committee,
    pay_round_reward,
    reelect_after_reputation_changes,
)
from offchain.crowdsourcing.datatask.flow import run_data_task_flow
from offchain.crowdsourcing.ml.flow import MlFlowKeys, run_ml_crowdsourcing_flow
from offchain.crypto.keys import from_private_key
from offchain.deploy import deploy_all, deployer_account, rpc_url, write_deployments
from offchain.marketplace.flow import run_marketplace_flow
from offchain.modexp.flow import FlowKeys as ModexpKeys
from offchain.modexp.flow import run_modexp_flow
from offchain.outsourcing.flow import run_outsourcing_flow
from offchain.outsourcing.onchain_flow import OnchainFlowKeys, run_bmeoc_onchain_flow
from offchain.platform_flow import run_platform_flow
from offchain.resource_auth.agents import run_resource_auth_flow
from offchain.web3compute.flow import FlowKeys as Web3ComputeKeys
from offchain.web3compute.flow import run_web3compute_flow


def main() -> None:
    console = Console()
    if not chain.provider.network.is_local:
        raise SystemExit(
            "the demo spends the devnet's funded accounts; on a testnet use `ape run deploy` and "
            "`metatrust agent run ROLE` instead"
        )
    started = time.perf_counter()
    # Mnemonic accounts: 0 is the deployer, the registry's auditor and the holder of the MTC pools; anvil
    # funds the first ten, the rest get gas money through anvil_setBalance once the chain is connected.
    keys = [from_private_key(bytes(account.key)) for account in dev_accounts(n=29)]
    console.rule("[bold]deploy")
    deployer = deployer_account()
    deployment = deploy_all(project, deployer, msrp=keys[21].address)  # RSMS: the MSRP is 21
    path = write_deployments(deployment, rpc_url())
    for name, record in deployment.records.items():
        console.print(f"  {name:<12} {record['address']}")
    console.print(f"  wrote {path}")
    first_block = min(int(record["block"]) for record in deployment.records.values())

    deployments = load_deployments(path)
    w3 = connect(rpc_url(), expected_chain_id=deployment.chain_id)
    fund_on_devnet(w3, [key.address for key in keys[10:]])
    auditor, server, client = keys[:3]
    report = asyncio.run(run_platform_flow(w3, deployments, auditor, server, client, console))
    # MExpm: accounts 3-6 are the SA, the MEC server, the RSU and the vehicle
    modexp_keys = ModexpKeys(auditor, auditor, keys[3], keys[4], keys[5], keys[6])
    modexp = asyncio.run(
        run_modexp_flow(w3, deployments, modexp_keys, console, scenarios=("honest", "forged"))
    )
    # Meta-BMEOC: account 7 is the MTD (its CSNs use keys derived inside the flow)
    outsourcing = asyncio.run(run_outsourcing_flow(w3, deployments, auditor, keys[7], console))
    # Meta-BMEOC on chain: account 0 creates the enclave environment, audits and funds; account 7 is the MTD
    # again; the five enclave processes and eight CSN agents use keys derived inside the flow
    bmeoc_keys = OnchainFlowKeys(admin=auditor, auditor=auditor, funder=auditor, mtd=keys[7])
    bmeoc = asyncio.run(run_bmeoc_onchain_flow(w3, deployments, bmeoc_keys, console))
    # Web3 data computing: user 8, provider 9, computing servers 10-12 and 18 (the global node and three
    # local nodes), storage server 13, onion routers 14-17
    web3_keys = Web3ComputeKeys(
        auditor, auditor, keys[8], keys[9], (*keys[10:13], keys[18]), keys[13], tuple(keys[14:18])
    )
    web3compute = asyncio.run(run_web3compute_flow(w3, deployments, web3_keys, console))
    # RSMS: pool managers 19 and 20, the MSRP 21
    rsms = asyncio.run(
        run_resource_auth_flow(w3, deployments, auditor, keys[21], (keys[19], keys[20]), console)
    )
    # MetaAICM: the auditor pays; sellers, buyers, workers and oracles are keys derived inside the flows
    market = asyncio.run(run_marketplace_flow(w3, deployments, auditor, console))
    data_task = asyncio.run(run_data_task_flow(w3, deployments, auditor, auditor, console))
    # MetaAICM committee (MLC's evaluators): institutions 22-23, seed node 24, candidates 25-28. Algorithm 4.3
    # elects the dynamic partition from reputations (VRF proof verified on chain, election recomputed in
    # Python); every member then runs a committee node and scores the ML task's models; reputations change
    # and the same committee is re-elected; a round reward is paid
    committee = elect_committee(
        w3,
        deployments,
        auditor,
        keys[22:24],
        [keys[24].address],
        keys[25:29],
        console,
        reputation_events=(5, 3, 2, 0),
    )
    members = [key for key in keys[22:29] if key.address in committee.seats()]
    ml_keys = MlFlowKeys.derived(treasury=auditor, auditor=auditor, committee=tuple(members))
    ml_task = asyncio.run(run_ml_crowdsourcing_flow(w3, deployments, ml_keys, console))
    reelect_after_reputation_changes(committee)
    pay_round_reward(committee, auditor)

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
        f"{len(outsourcing.steps) + len(bmeoc.steps)} Meta-BMEOC steps, "
        f"{len(web3compute.steps)} web3compute workflow steps, "
        f"{len(rsms.steps)} RSMS steps, "
        f"{len(market.steps) + len(data_task.steps) + len(ml_task.steps) + len(committee.report.steps)} "
        "MetaAICM steps; "
        "full gas report: make gas"
    )

"""The channel part of seed 004's workflow for ``make demo`` (steps 1–3, 7 and 11 of the paper's Fig. 2a).

1. A Web3 user, a service provider, three computing servers and a storage server register in RSC; the
   auditor approves the servers; each computing server runs a channel agent (HTTP on loopback) and
   publishes its endpoint.
2. The user creates a task (star topology), selects the servers with the §3.2.7 rule over RSC records,
   schedules it, and every server accepts.
3. The global node opens a channel with each local node, which joins; both escrow MTC.
4. The parties exchange state updates over HTTP (each co-signed and durable before it is acknowledged),
   with payloads standing for the encrypted model traffic; peers are found through RSC.
5. Channel 1 closes cooperatively with a final state carrying the task result hash.
6. On channel 2 the local node closes unilaterally with a stale state; the global node's watchtower
   answers with the newest co-signed state within the challenge period; after the period, settle pays the
   newest balances.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from rich.console import Console
from web3 import Web3

from offchain.agents.client import AgentClient
from offchain.agents.discovery import Peer, lookup_peer
from offchain.agents.service import Agent
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.registry import RegistryClient, Resources
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.web3compute.agent import push_final, push_updates, serve_channels
from offchain.web3compute.chain import ChannelManagerClient
from offchain.web3compute.channel import ChannelInfo, ChannelParty
from offchain.web3compute.store import SignedState
from offchain.web3compute.tasks import Requirements, Topology, select_servers, task_id_of
from offchain.web3compute.watchtower import Watchtower

UNIT = 10**18
DEPOSIT = 50 * UNIT
ROUNDS = 4


@dataclass
class ChannelFlowReport:
    """What the flow showed, for the caller (and the tests) to check."""

    steps: list[str] = field(default_factory=list)
    gas: dict[str, int] = field(default_factory=dict)
    updates: int = 0
    stale_nonce: int = 0
    corrected_nonce: int = 0
    settled_balances: tuple[int, int] = (0, 0)
    cooperative_result_hash: bytes = b""

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


@dataclass(frozen=True)
class FlowKeys:
    """The accounts the flow uses (all funded with ETH on the devnet)."""

    auditor: KeyPair  # holds RSC's AUDITOR_ROLE
    treasury: KeyPair  # holds MTC (pays the servers' deposits)
    user: KeyPair
    provider: KeyPair
    compute: tuple[KeyPair, KeyPair, KeyPair]
    storage: KeyPair


def _sender(w3: Web3, deployments: Deployments, key: KeyPair) -> TransactionSender:
    return TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)


async def _peer(registry: RegistryClient, address: str) -> Peer:
    """The registered, active agent at ``address`` (its endpoint comes from RSC)."""
    peer = await lookup_peer(registry, address)
    if peer is None:
        raise RuntimeError(f"{address} is not an active node in RSC")
    return peer


def _advance_time(w3: Web3, seconds: int) -> None:
    """Devnet only: move the clock past a deadline (anvil's ``evm_increaseTime`` + a mined block)."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


async def run_channel_flow(
    w3: Web3, deployments: Deployments, keys: FlowKeys, console: Console, state_root: Path | None = None
) -> ChannelFlowReport:
    """Run the flow on a chain where ``deploy_platform`` and ``deploy_web3compute`` were deployed."""
    report = ChannelFlowReport()
    console.rule("[bold]web3compute: task, state channels, a stale close corrected by the watchtower")
    with tempfile.TemporaryDirectory(prefix="web3compute-") as scratch:
        root = state_root or Path(scratch)
        await _run(w3, deployments, keys, console, root, report)
    return report


async def _run(
    w3: Web3,
    deployments: Deployments,
    keys: FlowKeys,
    console: Console,
    root: Path,
    report: ChannelFlowReport,
) -> None:
    chain_id = int(w3.eth.chain_id)
    registry = {
        k.address: RegistryClient(contract(w3, deployments, "RSC"), _sender(w3, deployments, k))
        for k in (keys.auditor, keys.user, keys.provider, *keys.compute, keys.storage)
    }
    task_manager = contract(w3, deployments, "TaskManager")
    manager_contract = contract(w3, deployments, "StateChannelManager")
    token = contract(w3, deployments, "MetaCoin")
    manager_address = manager_contract.address

    def gas(label: str, receipt: Any) -> None:
        report.gas[label] = report.gas.get(label, 0) + int(receipt["gasUsed"])

    # 1. registration; the computing servers' channel agents serve first, so their endpoints are real.
    parties: dict[str, dict[bytes, ChannelParty]] = {k.address: {} for k in keys.compute}
    agents = [Agent(k, name=f"compute-{i}", role="compute-server") for i, k in enumerate(keys.compute)]
    for agent in agents:
        serve_channels(agent, parties[agent.address])
    for agent in agents:
        await agent.start()
    try:
        for key, roles, endpoint, resources in (
            (keys.user, ActorRole.WEB3_USER, "", Resources()),
            (keys.provider, ActorRole.SERVICE_PROVIDER, "", Resources()),
            *(
                (k, ActorRole.COMPUTE_SERVER, a.endpoint, Resources("127.0.0.1", 8 - i, 16_384, 100, 1_000))
                for i, (k, a) in enumerate(zip(keys.compute, agents, strict=True))
            ),
            (keys.storage, ActorRole.STORAGE_SERVER, "", Resources("127.0.0.1", 2, 4_096, 2_000, 1_000)),
        ):
            registry[key.address].register(
                roles,
                encryption_keypair(key).compressed_public_key,
                endpoint,
                resources=resources,
                provider="web3compute-demo",
            )
            if roles & (ActorRole.COMPUTE_SERVER | ActorRole.STORAGE_SERVER):
                registry[keys.auditor.address].approve_roles(key.address, roles)
        report.note(
            console,
            "user, service provider, 3 computing servers (channel agents on loopback) and "
            "a storage server registered in RSC; the auditor approved the servers",
        )

        # 2. the task: selection over RSC records, scheduling, acceptance.
        requirements = Requirements(
            keys.provider.address,
            keccak256(b"fedavg-program-v1"),
            min_cpu_cores=4,
            min_storage_gib=500,
            compute_nodes=3,
            storage_nodes=1,
            topology=Topology.STAR,
            accept_window=600,
            duration=3_600,
        )
        user_tasks = _sender(w3, deployments, keys.user)
        gas(
            "TaskManager.createTask",
            user_tasks.send(task_manager.functions.createTask(requirements.as_tuple())),
        )
        task_id = task_id_of(int(task_manager.functions.taskCount().call()))
        reader = RegistryClient(contract(w3, deployments, "RSC"))
        selection = select_servers(
            reader.discover(ActorRole.COMPUTE_SERVER) + reader.discover(ActorRole.STORAGE_SERVER),
            requirements,
        )
        gas(
            "TaskManager.schedule",
            user_tasks.send(task_manager.functions.schedule(task_id, selection.compute, selection.storage)),
        )
        by_address = {k.address: k for k in (*keys.compute, keys.storage)}
        for server in [*selection.compute, *selection.storage]:
            receipt = _sender(w3, deployments, by_address[server]).send(
                task_manager.functions.acceptTask(task_id)
            )
            gas("TaskManager.acceptTask", receipt)
        report.note(
            console,
            f"task {int.from_bytes(task_id, 'big')} scheduled by the §3.2.7 rule on "
            f"{len(selection.compute)} computing servers (global node {selection.global_node[:10]}…) "
            "and accepted by every server",
        )

        # 3. channels: global <-> each local, both escrow MTC.
        global_key = by_address[selection.global_node]
        locals_ = [by_address[a] for a in selection.compute[1:]]
        treasury = _sender(w3, deployments, keys.treasury)
        clients: dict[str, ChannelManagerClient] = {}
        for key in (global_key, *locals_):
            treasury.send(token.functions.transfer(key.address, 2 * DEPOSIT))
            sender = _sender(w3, deployments, key)
            sender.send(token.functions.approve(manager_address, 2**256 - 1))
            clients[key.address] = ChannelManagerClient(manager_contract, sender)
        channel_infos: list[ChannelInfo] = []
        for local in locals_:
            gas("StateChannelManager.open", clients[global_key.address].open(task_id, local.address, DEPOSIT))
            gas("StateChannelManager.join", clients[local.address].join(task_id, global_key.address, DEPOSIT))
            info = ChannelInfo.of(
                chain_id,
                manager_address,
                task_id,
                global_key.address,
                local.address,
                {global_key.address: DEPOSIT, local.address: DEPOSIT},
            )
            channel_infos.append(info)
            for key in (global_key, local):
                parties[key.address][info.channel_id] = ChannelParty.create(root / key.address, info, key)
        report.note(
            console,
            f"{len(channel_infos)} channels opened by the global node and joined by the local "
            f"nodes (open + join), {DEPOSIT // UNIT} MTC escrowed by each party",
        )

        # 4. off-chain updates over HTTP, peers found through RSC.
        stale: SignedState | None = None
        async with AgentClient(global_key) as to_local:
            for info, local in zip(channel_infos, locals_, strict=True):
                peer = await _peer(reader, local.address)
                mine = parties[global_key.address][info.channel_id]
                theirs = parties[local.address][info.channel_id]
                async with AgentClient(local) as to_global:
                    global_peer = await _peer(reader, global_key.address)
                    for round_ in range(ROUNDS):
                        await push_updates(
                            to_local, peer.endpoint, mine, [b"model round %d" % round_], pay=UNIT
                        )
                        signed = await push_updates(
                            to_global, global_peer.endpoint, theirs, [b"local update round %d" % round_]
                        )
                        report.updates += 2
                        if round_ == 0:
                            stale = signed  # the local node keeps an early state to cheat with later
        report.note(
            console,
            f"{report.updates} state updates over HTTP, each co-signed and durable before "
            "it was acknowledged; the global node paid 1 MTC per model it sent",
        )

        # 5. channel 1: cooperative close with the result hash.
        first, second = channel_infos
        result_hash = keccak256(b"aggregated model")
        async with AgentClient(global_key) as to_local:
            peer = await _peer(reader, locals_[0].address)
            final = await push_final(
                to_local, peer.endpoint, parties[global_key.address][first.channel_id], result_hash
            )
        gas(
            "StateChannelManager.cooperativeClose",
            clients[global_key.address].cooperative_close(final, first),
        )
        report.cooperative_result_hash = result_hash
        report.note(
            console,
            f"channel 1 closed cooperatively at nonce {final.state.nonce} with the task "
            f"result hash {result_hash.hex()[:12]}… recorded on chain",
        )

        # 6. channel 2: a stale unilateral close, corrected by the global node's watchtower.
        if stale is None:
            raise RuntimeError("no early co-signed state was kept")
        tower = Watchtower(
            w3,
            manager_contract,
            clients[global_key.address],
            parties[global_key.address],
            from_block=int(w3.eth.block_number) + 1,
        )
        stop = asyncio.Event()
        guard = asyncio.create_task(tower.run(stop, interval=0.1))
        gas("StateChannelManager.close", clients[locals_[1].address].close(stale, second))
        report.stale_nonce = stale.state.nonce
        for _ in range(100):
            if tower.corrections:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await guard
        if not tower.corrections:
            raise RuntimeError(f"the watchtower did not answer the stale close: {tower.errors}")
        correction = tower.corrections[0]
        report.corrected_nonce = correction.newest_nonce
        report.gas["StateChannelManager.challenge"] = correction.gas_used
        report.note(
            console,
            f"the local node closed channel 2 with stale nonce {correction.stale_nonce}; the "
            f"watchtower challenged with nonce {correction.newest_nonce}",
        )
        newest = parties[global_key.address][second.channel_id].latest
        record = clients[global_key.address].channel(second.channel_id)
        _advance_time(w3, int(record["deadline"]) - int(w3.eth.get_block("latest")["timestamp"]) + 1)
        gas("StateChannelManager.settle", clients[global_key.address].settle(newest, second))
        report.settled_balances = (newest.balance_a, newest.balance_b)
        report.note(
            console,
            f"after the challenge period channel 2 settled at nonce {newest.nonce}: "
            f"{newest.balance_a / UNIT:g} / {newest.balance_b / UNIT:g} MTC, the newest split",
        )
    finally:
        for agent in agents:
            await agent.stop()
        for table in parties.values():
            for party in table.values():
                party.close()

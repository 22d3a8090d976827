"""Seed 004's 11-step workflow (Fig. 2a) end to end on a devnet, for ``make demo`` and the tests.

Actors: a Web3 user (the data owner), a service provider (SP), ``n >= 3`` computing servers (one global
node, the others local nodes), a storage server and ``k >= 3`` onion routers, all registered in RSC.

 1. Request: the user creates a task in TaskManager whose program hash is the FedAvg program's.
 2. Scheduling: the §3.2.7 rule over RSC records selects the servers; the user schedules, every server
    accepts.
 3. Channels: the global node opens a channel with each local node, which joins; both escrow MTC.
 4. Sandboxes: one per computing server; the task key is drawn in the global one and wrapped to the
    members; every computing server co-signs it (EIP-712) and the global node registers it in TaskManager
    (``on_task_key``). Without every co-signature the chain refuses the key and the task fails cleanly.
 5. Injection: the SP (configuration, initial model) and the data owner (shards) seal their inputs to the
    registered key; the routers of RSC carry them (every message: a fresh 3-hop circuit).
 6. Decryption and verification happen inside the sandboxes (signers checked against the task's spec).
 7. FedAvg rounds: every transmission between computing servers (key wrap, models, updates) is committed
    in a co-signed state of that pair's channel (``on_transmission``: the ciphertext hash extends the
    transcript chain); the receiving host checks the hash against the bytes it was handed.
 8. The global sandbox signs each round's model with the task key and seals it to the SP (onion again).
 9. The SP decrypts, checks the signer is the registered sandbox key and measures accuracy.
10. Sandboxes destroyed (keys zeroised), the key invalidated in TaskManager (``on_destroyed``); the global
    node submits the result hash.
11. Channels revoked: all but the last close cooperatively with a final state carrying the result hash;
    the last local node withholds the final state and closes with a stale one, the global node's
    watchtower challenges with the newest co-signed state, and after the period the channel settles at
    the full transcript. The SP then completes the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from offchain.agents.client import AgentClient
from offchain.agents.discovery import Peer, lookup_peer
from offchain.agents.errors import AgentCallError
from offchain.agents.service import Agent
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.errors import ChainError, ContractRevert, TransactionFailed
from offchain.chain.registry import RegistryClient, Resources
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.web3compute.agent import push_final, push_updates, serve_channels
from offchain.web3compute.chain import ChannelManagerClient
from offchain.web3compute.channel import ChannelError, ChannelInfo, ChannelParty
from offchain.web3compute.fl.network import FL_CELL_FORMAT, Courier
from offchain.web3compute.fl.program import TrainConfig
from offchain.web3compute.fl.task import (
    FLConfig,
    FLHooks,
    FLResult,
    FLTaskError,
    RoundStats,
    Transmission,
    fedavg_program_hash,
    run_fl_task,
)
from offchain.web3compute.onion.directory import fetch_routers, register_router
from offchain.web3compute.onion.router import OnionRouter
from offchain.web3compute.sandbox.host import DestroyReport, TaskKey
from offchain.web3compute.store import SignedState
from offchain.web3compute.tasks import (
    Requirements,
    TaskStatus,
    Topology,
    select_servers,
    sign_sandbox_key,
    task_domain,
    task_id_of,
)
from offchain.web3compute.watchtower import Watchtower

UNIT = 10**18
DEPOSIT = 50 * UNIT
HOPS = 3
MODEL_FEE = UNIT
"""What the global node pays a local node per model it sends it (moved in the same co-signed state)."""


@dataclass(frozen=True)
class FlowKeys:
    """The accounts the flow uses (all funded with ETH on the devnet)."""

    auditor: KeyPair  # holds RSC's AUDITOR_ROLE
    treasury: KeyPair  # holds MTC (pays the servers' deposits)
    user: KeyPair  # the Web3 user, also the data owner
    provider: KeyPair  # the service provider: initial model, result recipient
    compute: tuple[KeyPair, ...]  # at least 3 computing servers
    storage: KeyPair
    routers: tuple[KeyPair, ...] = ()  # at least ``HOPS`` onion routers


@dataclass(frozen=True)
class FlowOptions:
    """Knobs of one run (a few rounds for the demo, fewer for the tests)."""

    rounds: int = 3
    hops: int = HOPS
    train: TrainConfig = field(default_factory=TrainConfig)
    withhold_cosignature: frozenset[str] = frozenset()
    """Computing servers that refuse to co-sign the sandbox key (the negative path: no key on chain)."""


@dataclass(frozen=True)
class ChannelOutcome:
    """One channel's ``ChannelSettled`` event, as mined."""

    channel_id: bytes
    local_node: str
    nonce: int
    msg_count: int
    transcript_hash: bytes
    result_hash: bytes
    cooperative: bool
    newest_transcript: bytes
    """The transcript hash of the newest co-signed state off chain (what the chain should record)."""


@dataclass
class Web3ComputeReport:
    """What the flow showed, for the caller (and the tests) to check against the chain."""

    steps: list[str] = field(default_factory=list)
    gas: dict[str, int] = field(default_factory=dict)
    task_id: bytes = b""
    program_hash: bytes = b""
    global_node: str = ""
    channel_ids: list[bytes] = field(default_factory=list)
    sandbox_key: bytes = b""
    sandbox_signer: str = ""
    key_registered: bool = False
    key_invalidated: bool = False
    rounds: tuple[RoundStats, ...] = ()
    baseline_accuracy: float = 0.0
    result_hash: bytes = b""
    transmissions: int = 0
    channel_commits: int = 0
    """Transmissions between computing servers, each committed in a co-signed channel state."""
    onion_messages: int = 0
    router_cells: dict[str, int] = field(default_factory=dict)
    """Cells each onion router of RSC relayed (by account)."""
    destroyed: int = 0
    outcomes: list[ChannelOutcome] = field(default_factory=list)
    stale_nonce: int = 0
    corrected_nonce: int = 0
    settled_balances: tuple[int, int] = (0, 0)
    task_status: TaskStatus = TaskStatus.NONE
    failure: str = ""

    @property
    def final_accuracy(self) -> float:
        return self.rounds[-1].accuracy if self.rounds else 0.0

    def note(self, console: Console, step: str, text: str) -> None:
        self.steps.append(f"{step}: {text}")
        console.print(f"  [green]✓[/] [bold]{step}[/] {text}")


class FlowFailed(Exception):  # noqa: N818 (domain name)
    """The task failed (after the flow failed it on chain and refunded the channels); ``report`` has why."""

    def __init__(self, report: Web3ComputeReport) -> None:
        super().__init__(report.failure)
        self.report = report


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
    w3.provider.make_request("evm_increaseTime", [max(seconds, 1)])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


async def run_web3compute_flow(
    w3: Web3,
    deployments: Deployments,
    keys: FlowKeys,
    console: Console,
    *,
    options: FlowOptions | None = None,
    state_root: Path | None = None,
) -> Web3ComputeReport:
    """Run the 11 steps on a chain where ``deploy_platform`` and ``deploy_web3compute`` were deployed.

    Raises :class:`FlowFailed` when the task could not complete; it was then failed on chain, its
    sandboxes destroyed and every channel closed at its deposits.
    """
    options = options or FlowOptions()
    if len(keys.compute) < 3:
        raise ValueError("the workflow needs at least three computing servers")
    if len(keys.routers) < options.hops:
        raise ValueError(f"{options.hops}-hop circuits need at least {options.hops} onion routers")
    report = Web3ComputeReport()
    console.rule("[bold]web3compute: the 11-step workflow with a FedAvg task")
    with tempfile.TemporaryDirectory(prefix="web3compute-") as scratch:
        flow = _Flow(w3, deployments, keys, options, console, state_root or Path(scratch), report)
        await flow.run()
    return report


class _Flow:
    """One run; the methods are the workflow's phases in order."""

    def __init__(
        self,
        w3: Web3,
        deployments: Deployments,
        keys: FlowKeys,
        options: FlowOptions,
        console: Console,
        root: Path,
        report: Web3ComputeReport,
    ) -> None:
        self.w3 = w3
        self.deployments = deployments
        self.keys = keys
        self.options = options
        self.console = console
        self.root = root
        self.report = report
        self.chain_id = int(w3.eth.chain_id)
        self.task_manager: Contract = contract(w3, deployments, "TaskManager")
        self.manager: Contract = contract(w3, deployments, "StateChannelManager")
        self.token: Contract = contract(w3, deployments, "MetaCoin")
        self.reader = RegistryClient(contract(w3, deployments, "RSC"))
        self.parties: dict[str, dict[bytes, ChannelParty]] = {k.address: {} for k in keys.compute}
        self.clients: dict[str, ChannelManagerClient] = {}
        self.infos: dict[str, ChannelInfo] = {}  # by local node
        self.agent_clients: dict[str, AgentClient] = {}
        self.endpoints: dict[str, str] = {}
        self.by_address = {k.address: k for k in (*keys.compute, keys.storage)}
        self.order: list[KeyPair] = []  # computing servers in selection order, global first
        self.stale: SignedState | None = None
        self.task_id = b""
        self.program_hash = fedavg_program_hash()
        self.received: dict[str, set[bytes]] = {k.address: set() for k in keys.compute}
        """keccak256 of every envelope each computing server's Exit handed to its sandbox."""

    # ------------------------------------------------------------------ helpers

    def gas(self, label: str, receipt: Any) -> None:
        self.report.gas[label] = self.report.gas.get(label, 0) + int(receipt["gasUsed"])

    def send(self, key: KeyPair, label: str, call: Any) -> Any:
        receipt = _sender(self.w3, self.deployments, key).send(call)
        self.gas(label, receipt)
        return receipt

    def note(self, step: str, text: str) -> None:
        self.report.note(self.console, step, text)

    @property
    def global_key(self) -> KeyPair:
        return self.order[0]

    @property
    def locals_(self) -> list[KeyPair]:
        return self.order[1:]

    # ------------------------------------------------------------------ the run

    async def run(self) -> None:
        agents = [
            Agent(k, name=f"compute-{i}", role="compute-server") for i, k in enumerate(self.keys.compute)
        ]
        for agent in agents:
            serve_channels(agent, self.parties[agent.address], received=self._receipt_check(agent.address))
            await agent.start()
        routers = [
            await OnionRouter(
                encryption_keypair(k), host=f"127.0.4.{10 + i}", fmt=FL_CELL_FORMAT, name=f"OR{i}", timeout=60
            ).start()
            for i, k in enumerate(self.keys.routers)
        ]
        try:
            self.register(agents, routers)
            self.request_and_schedule()
            self.open_channels()
            async with contextlib.AsyncExitStack() as stack:
                for key in self.order:
                    self.agent_clients[key.address] = await stack.enter_async_context(AgentClient(key))
                    self.endpoints[key.address] = (await _peer(self.reader, key.address)).endpoint
                result = await self.compute(routers)
                if result is None:
                    await self.fail_cleanly()
                    raise FlowFailed(self.report)
                await self.revoke(result)
        finally:
            for agent in agents:
                await agent.stop()
            for router in routers:
                await router.stop()
            for table in self.parties.values():
                for party in table.values():
                    party.close()

    def register(self, agents: Sequence[Agent], routers: Sequence[OnionRouter]) -> None:
        keys = self.keys
        registry = {
            k.address: RegistryClient(
                contract(self.w3, self.deployments, "RSC"), _sender(self.w3, self.deployments, k)
            )
            for k in (keys.auditor, keys.user, keys.provider, *keys.compute, keys.storage, *keys.routers)
        }
        entries: list[tuple[KeyPair, ActorRole, str, Resources]] = [
            (keys.user, ActorRole.WEB3_USER, "", Resources()),
            (keys.provider, ActorRole.SERVICE_PROVIDER, "", Resources()),
            *(
                (k, ActorRole.COMPUTE_SERVER, a.endpoint, Resources("127.0.0.1", 8 - i, 16_384, 100, 1_000))
                for i, (k, a) in enumerate(zip(keys.compute, agents, strict=True))
            ),
            (keys.storage, ActorRole.STORAGE_SERVER, "", Resources("127.0.0.1", 2, 4_096, 2_000, 1_000)),
        ]
        for key, role, endpoint, resources in entries:
            registry[key.address].register(
                role,
                encryption_keypair(key).compressed_public_key,
                endpoint,
                resources=resources,
                provider="web3compute-demo",
            )
            if role & (ActorRole.COMPUTE_SERVER | ActorRole.STORAGE_SERVER):
                registry[keys.auditor.address].approve_roles(key.address, role)
        for key, router in zip(keys.routers, routers, strict=True):
            register_router(
                registry[key.address], router.keypair, router.address, provider="web3compute-demo"
            )
            registry[keys.auditor.address].approve_roles(key.address, ActorRole.ONION_ROUTER)
        self.note(
            "setup",
            f"RSC: user, service provider, {len(keys.compute)} computing servers (channel agents on "
            f"loopback), a storage server and {len(keys.routers)} onion routers (TCP on loopback) "
            "registered; the auditor approved the servers and routers",
        )

    def request_and_schedule(self) -> None:
        keys = self.keys
        requirements = Requirements(
            keys.provider.address,
            self.program_hash,
            min_cpu_cores=4,
            min_storage_gib=500,
            compute_nodes=len(keys.compute),
            storage_nodes=1,
            topology=Topology.STAR,
            accept_window=600,
            duration=3_600,
        )
        self.send(
            keys.user,
            "TaskManager.createTask",
            self.task_manager.functions.createTask(requirements.as_tuple()),
        )
        self.task_id = task_id_of(int(self.task_manager.functions.taskCount().call()))
        self.report.task_id = self.task_id
        self.report.program_hash = self.program_hash
        self.note(
            "step 1",
            f"request: the user created task {int.from_bytes(self.task_id, 'big')} (star, "
            f"{len(keys.compute)} computing nodes) for the FedAvg program {self.program_hash.hex()[:12]}…",
        )
        selection = select_servers(
            self.reader.discover(ActorRole.COMPUTE_SERVER) + self.reader.discover(ActorRole.STORAGE_SERVER),
            requirements,
        )
        self.send(
            keys.user,
            "TaskManager.schedule",
            self.task_manager.functions.schedule(self.task_id, selection.compute, selection.storage),
        )
        for server in [*selection.compute, *selection.storage]:
            self.send(
                self.by_address[server],
                "TaskManager.acceptTask",
                self.task_manager.functions.acceptTask(self.task_id),
            )
        self.order = [self.by_address[a] for a in selection.compute]
        self.report.global_node = selection.global_node
        self.note(
            "step 2",
            f"scheduling: the §3.2.7 rule over RSC picked {len(selection.compute)} computing servers "
            f"(global node {selection.global_node[:10]}…) and storage server {selection.storage[0][:10]}…; "
            "every one accepted on chain",
        )

    def open_channels(self) -> None:
        treasury = _sender(self.w3, self.deployments, self.keys.treasury)
        for key in self.order:
            treasury.send(self.token.functions.transfer(key.address, len(self.locals_) * DEPOSIT))
            sender = _sender(self.w3, self.deployments, key)
            sender.send(self.token.functions.approve(self.manager.address, 2**256 - 1))
            self.clients[key.address] = ChannelManagerClient(self.manager, sender)
        glob = self.global_key
        for local in self.locals_:
            self.gas(
                "StateChannelManager.open",
                self.clients[glob.address].open(self.task_id, local.address, DEPOSIT),
            )
            self.gas(
                "StateChannelManager.join",
                self.clients[local.address].join(self.task_id, glob.address, DEPOSIT),
            )
            info = ChannelInfo.of(
                self.chain_id,
                self.manager.address,
                self.task_id,
                glob.address,
                local.address,
                {glob.address: DEPOSIT, local.address: DEPOSIT},
            )
            self.infos[local.address] = info
            self.report.channel_ids.append(info.channel_id)
            for key in (glob, local):
                self.parties[key.address][info.channel_id] = ChannelParty.create(
                    self.root / key.address, info, key
                )
        self.note(
            "step 3",
            f"channels: {len(self.locals_)} opened by the global node and joined by each local node "
            f"(open + join), {DEPOSIT // UNIT} MTC escrowed by each party",
        )

    # ------------------------------------------------------------------ steps 4-10

    def _server_of(self, name: str) -> KeyPair | None:
        """The computing server behind an FL actor name (``global``, ``local0`` …); None for SP/owner."""
        if name == "global":
            return self.global_key
        if name.startswith("local"):
            return self.locals_[int(name[5:])]
        return None

    def _receipt_check(self, address: str) -> Callable[[bytes], bool]:
        """What a server's channel agent asks before countersigning: did my Exit receive this envelope?"""
        return lambda payload: keccak256(payload) in self.received[address]

    def on_received(self, name: str, envelope: bytes) -> None:
        """A computing server's Exit handed ``envelope`` to its sandbox (recorded for the channel check)."""
        server = self._server_of(name)
        if server is not None:
            self.received[server.address].add(keccak256(envelope))

    async def on_task_key(self, task_key: TaskKey, members: Sequence[bytes], signature: bytes) -> None:
        """Step 4: every assigned computing server co-signs the key; the global node registers it."""
        domain = task_domain(self.chain_id, self.task_manager.address)
        signatures = [
            b""
            if key.address in self.options.withhold_cosignature
            else sign_sandbox_key(
                key, domain, self.task_id, task_key.public_key, task_key.address, self.program_hash
            )
            for key in self.order
        ]
        try:
            self.send(
                self.global_key,
                "TaskManager.registerSandboxKey",
                self.task_manager.functions.registerSandboxKey(
                    self.task_id, task_key.public_key, task_key.address, signatures
                ),
            )
        except (ContractRevert, TransactionFailed) as exc:
            raise FLTaskError(f"TaskManager refused the sandbox key: {exc}") from exc
        stored, signer = self.task_manager.functions.sandboxKey(self.task_id).call()
        self.report.sandbox_key = bytes(stored)
        self.report.sandbox_signer = str(signer)
        self.report.key_registered = bytes(stored) == task_key.public_key
        self.note(
            "step 4",
            f"sandboxes: {len(self.order)} created (program hash checked); the task key "
            f"{task_key.public_key.hex()[:14]}… drawn in the global sandbox, wrapped to "
            f"{len(members)} member sandboxes, co-signed by all {len(signatures)} servers "
            "and stored in TaskManager",
        )

    async def on_transmission(self, record: Transmission) -> None:
        """Step 7: a transmission between computing servers is committed in their channel's next state."""
        self.report.transmissions += 1
        sender, receiver = self._server_of(record.sender), self._server_of(record.receiver)
        if sender is None or receiver is None:
            return  # SP / data owner → sandbox, or sandbox → SP: onion only, no channel
        local = receiver if sender is self.global_key else sender
        info = self.infos[local.address]
        party = self.parties[sender.address][info.channel_id]
        pay = MODEL_FEE if record.kind == "model" and sender is self.global_key else 0
        try:
            signed = await push_updates(
                self.agent_clients[sender.address],
                self.endpoints[receiver.address],
                party,
                [record.ciphertext],
                pay=pay,
            )
        except (AgentCallError, ChannelError) as exc:
            raise FLTaskError(
                f"{record.receiver} refused to commit the {record.kind} from {record.sender}: {exc}"
            ) from exc
        self.report.channel_commits += 1
        if self.stale is None and local is self.locals_[-1]:
            self.stale = signed  # the last local node keeps its first co-signed state to cheat with later

    async def on_destroyed(self, reports: Sequence[DestroyReport]) -> None:
        """Step 10: every sandbox is gone; the global node invalidates the key on chain."""
        self.report.destroyed = len(reports)
        if not all(r.zeroised and r.process_gone and r.directory_removed for r in reports):
            raise FLTaskError(f"a sandbox was not fully destroyed: {reports}")
        if self.report.key_registered:
            self.send(
                self.global_key,
                "TaskManager.invalidateSandboxKey",
                self.task_manager.functions.invalidateSandboxKey(self.task_id),
            )
            self.report.key_invalidated = not self.task_manager.functions.isSandboxKeyValid(
                self.task_id
            ).call()

    async def compute(self, routers: Sequence[OnionRouter]) -> FLResult | None:
        """Steps 4-10 through ``run_fl_task`` with the hooks above; None when the task failed."""
        directory = fetch_routers(self.reader)
        courier = Courier(routers=directory, hops=self.options.hops)
        config = FLConfig(nodes=len(self.locals_), rounds=self.options.rounds, train=self.options.train)
        hooks = FLHooks(
            on_task_key=self.on_task_key,
            on_transmission=self.on_transmission,
            on_received=self.on_received,
            on_destroyed=self.on_destroyed,
        )
        try:
            result = await run_fl_task(
                config,
                sp=self.keys.provider,
                data_owner=self.keys.user,
                servers=[encryption_keypair(k) for k in self.order],
                courier=courier,
                task_id=self.task_id,
                hooks=hooks,
            )
        except (FLTaskError, ChainError) as exc:
            self.report.failure = str(exc)
            self.console.print(f"  [red]✗[/] the task failed: {exc}")
            return None
        finally:
            self.report.onion_messages = courier.messages
            self.report.router_cells = {
                key.address: len(router.observations)
                for key, router in zip(self.keys.routers, routers, strict=True)
            }
        report = self.report
        report.rounds = result.rounds
        report.baseline_accuracy = result.baseline_accuracy
        report.result_hash = result.result_hash
        self.note(
            "step 5",
            f"injection: the SP's configuration and initial model and the data owner's "
            f"{len(self.locals_)} shards, "
            f"each signed and sealed to the task key, went over {self.options.hops}-hop circuits of the "
            f"{len(directory)} routers in RSC",
        )
        self.note(
            "step 6", "decryption and verification inside each sandbox (signers: the SP and the data owner)"
        )
        table = Table(title="FedAvg rounds (accuracy of the global model on the SP's held-out split)")
        for column in ("round", "accuracy", "seconds"):
            table.add_column(column, justify="right")
        for stats in result.rounds:
            table.add_row(str(stats.round + 1), f"{stats.accuracy:.3f}", f"{stats.seconds:.2f}")
        self.console.print(table)
        self.note(
            "step 7",
            f"{len(result.rounds)} FedAvg rounds: accuracy {result.final_accuracy:.3f} vs majority baseline "
            f"{result.baseline_accuracy:.3f}; {report.channel_commits} inter-server transmissions each "
            f"committed in a co-signed channel state (ciphertext hash → transcript chain), all "
            f"{courier.messages} messages onion-routed ({sum(report.router_cells.values())} router hops)",
        )
        self.note(
            "step 8",
            "each round's model signed with the task key inside the global sandbox and sealed to the SP",
        )
        self.note(
            "step 9",
            f"the SP decrypted the result and verified it against the key registered for the task "
            f"(signer {report.sandbox_signer[:10]}…); result hash {result.result_hash.hex()[:12]}…",
        )
        self.send(
            self.global_key,
            "TaskManager.submitResult",
            self.task_manager.functions.submitResult(self.task_id, result.result_hash),
        )
        self.note(
            "step 10",
            f"{report.destroyed} sandboxes destroyed (keys zeroised, processes gone, directories wiped); the "
            "sandbox key invalidated in TaskManager; the global node submitted the result hash",
        )
        return result

    # ------------------------------------------------------------------ step 11

    def _settled(self, receipt: Any, local: KeyPair) -> ChannelOutcome:
        (event,) = self.manager.events.ChannelSettled().process_receipt(receipt, errors=DISCARD)
        args = event["args"]
        info = self.infos[local.address]
        newest = self.parties[self.global_key.address][info.channel_id].latest
        outcome = ChannelOutcome(
            bytes(args["channelId"]),
            local.address,
            int(args["nonce"]),
            int(args["msgCount"]),
            bytes(args["transcriptHash"]),
            bytes(args["resultHash"]),
            bool(args["cooperative"]),
            newest.transcript_hash,
        )
        self.report.outcomes.append(outcome)
        return outcome

    async def revoke(self, result: FLResult) -> None:
        glob = self.global_key
        closing = self.locals_[:-1]
        for local in closing:
            info = self.infos[local.address]
            final = await push_final(
                self.agent_clients[glob.address],
                self.endpoints[local.address],
                self.parties[glob.address][info.channel_id],
                result.result_hash,
            )
            receipt = self.clients[glob.address].cooperative_close(final, info)
            self.gas("StateChannelManager.cooperativeClose", receipt)
            outcome = self._settled(receipt, local)
            self.note(
                "step 11",
                f"channel with {local.address[:10]}… closed cooperatively at nonce {outcome.nonce} "
                f"({outcome.msg_count} transmissions): transcript {outcome.transcript_hash.hex()[:12]}… and "
                f"result hash {outcome.result_hash.hex()[:12]}… recorded on chain",
            )
        await self.dispute(self.locals_[-1])
        self.send(
            self.keys.provider,
            "TaskManager.completeTask",
            self.task_manager.functions.completeTask(self.task_id),
        )
        self.report.task_status = TaskStatus(int(self.task_manager.functions.getTask(self.task_id).call()[1]))
        self.note(
            "step 11",
            f"the SP completed the task (status {self.report.task_status.name}); the servers are free",
        )

    async def dispute(self, cheater: KeyPair) -> None:
        """The last local node withholds the final state and closes with its stale one; the watchtower
        answers with the newest co-signed state; after the challenge period the channel settles."""
        glob = self.global_key
        info = self.infos[cheater.address]
        if self.stale is None:
            raise RuntimeError("no early co-signed state was kept")
        tower = Watchtower(
            self.w3,
            self.manager,
            self.clients[glob.address],
            self.parties[glob.address],
            from_block=int(self.w3.eth.block_number) + 1,
        )
        stop = asyncio.Event()
        guard = asyncio.create_task(tower.run(stop, interval=0.1))
        self.gas("StateChannelManager.close", self.clients[cheater.address].close(self.stale, info))
        self.report.stale_nonce = self.stale.state.nonce
        for _ in range(200):
            if tower.corrections:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await guard
        if not tower.corrections:
            raise RuntimeError(f"the watchtower did not answer the stale close: {tower.errors}")
        correction = tower.corrections[0]
        self.report.corrected_nonce = correction.newest_nonce
        self.report.gas["StateChannelManager.challenge"] = correction.gas_used
        self.note(
            "step 11",
            f"the local node {cheater.address[:10]}… withheld the final state and closed with stale nonce "
            f"{correction.stale_nonce}; the global node's watchtower challenged with nonce "
            f"{correction.newest_nonce}",
        )
        newest = self.parties[glob.address][info.channel_id].latest
        record = self.clients[glob.address].channel(info.channel_id)
        _advance_time(
            self.w3, int(record["deadline"]) - int(self.w3.eth.get_block("latest")["timestamp"]) + 1
        )
        receipt = self.clients[glob.address].settle(newest, info)
        self.gas("StateChannelManager.settle", receipt)
        outcome = self._settled(receipt, cheater)
        self.report.settled_balances = (newest.balance_a, newest.balance_b)
        self.note(
            "step 11",
            f"after the challenge period the channel settled at nonce {outcome.nonce} with the full "
            f"transcript {outcome.transcript_hash.hex()[:12]}… ({outcome.msg_count} transmissions): "
            f"{newest.balance_a / UNIT:g} / {newest.balance_b / UNIT:g} MTC",
        )

    async def fail_cleanly(self) -> None:
        """The task failed: fail it on chain (key invalid, servers free) and close every channel at its
        newest state with a final state carrying no result (the escrow goes back)."""
        self.send(self.keys.user, "TaskManager.failTask", self.task_manager.functions.failTask(self.task_id))
        self.report.task_status = TaskStatus(int(self.task_manager.functions.getTask(self.task_id).call()[1]))
        glob = self.global_key
        for local in self.locals_:
            info = self.infos[local.address]
            final = await push_final(
                self.agent_clients[glob.address],
                self.endpoints[local.address],
                self.parties[glob.address][info.channel_id],
                bytes(32),
            )
            receipt = self.clients[glob.address].cooperative_close(final, info)
            self.gas("StateChannelManager.cooperativeClose", receipt)
            self._settled(receipt, local)
        self.note(
            "failed",
            f"the user failed the task on chain (status {self.report.task_status.name}); "
            "sandboxes destroyed; "
            f"{len(self.locals_)} channels closed cooperatively at their newest balances",
        )

"""MExpm end to end on a devnet (``make demo``, ``metatrust modexp run``): the four actors as real agents
meeting through RSC, tasks escrowed and settled by ``MExpmMarket`` (an extension, spec 003 §4.3).

Scenarios:

* ``honest``: Setup through the SA, KeyGen, escrow, offer, compute, submission (relayed by the RSU),
  reveal, Algorithm 2 on chain, payment; the vehicle recovers ∏u_i^{a_i} mod N and checks it locally;
* ``forged``: the server forges an output; Eq. (5) fails, the server does not dispute, the vehicle upholds
  the rejection after the dispute window (devnet clock moved forward) and gets payment + collateral;
* ``malicious-iv``: the vehicle commits a wrong Aux so that a correct result fails; the server's watcher
  disputes, the contract recomputes every output and pays the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rich.console import Console
from web3 import Web3

from offchain.agents.discovery import Peer, find_peers
from offchain.agents.runner import sync_registration
from offchain.bench.report import Table, to_markdown, write_csv
from offchain.chain.deployments import Deployments
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.crypto.keys import KeyPair
from offchain.modexp.agents import MecServer, Node, RoadsideUnit, ServiceAgency, Vehicle
from offchain.modexp.market import TaskStatus, advance_devnet_time

SCENARIOS = ("honest", "forged", "malicious-iv")
TOKEN = 10**18


@dataclass(frozen=True)
class FlowKeys:
    """The accounts of the flow (each funded with ether on the devnet)."""

    auditor: KeyPair  # holds RSC's AUDITOR_ROLE
    funder: KeyPair  # holds MTC to fund the vehicle and the server
    agency: KeyPair
    server: KeyPair
    rsu: KeyPair
    vehicle: KeyPair


@dataclass
class TaskLine:
    """One task of the flow."""

    scenario: str
    task_id: int
    accepted: bool
    status: TaskStatus
    result_matches: bool
    server_won_dispute: bool | None = None


@dataclass
class ModexpReport:
    """What the flow did: tasks, steps, and the gas of every transaction it sent."""

    tasks: list[TaskLine] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    gas: list[tuple[str, str, int]] = field(default_factory=list)  # actor, function, gas used

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")

    def gas_table(self) -> Table:
        table = Table(
            "MExpm market flow: gas per transaction",
            ("scenario/actor", "function", "gas used"),
            notes=["Measured on the local anvil devnet by `metatrust modexp run` (Prague rules)."],
        )
        for actor, function, gas in self.gas:
            table.add(actor, function, gas)
        return table

    def write_gas(self, out_dir: Path) -> tuple[Path, Path]:
        """``market_flow_gas.csv`` and ``.md`` under ``out_dir``."""
        table = self.gas_table()
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path, md_path = out_dir / "market_flow_gas.csv", out_dir / "market_flow_gas.md"
        write_csv(table, csv_path)
        md_path.write_text(to_markdown(table))
        return csv_path, md_path


def _register(node: Node, roles: ActorRole, endpoint: str, auditor: RegistryClient, console: Console) -> None:
    quiet = Console(quiet=True)
    sync_registration(node.registry, roles, node.encryption.compressed_public_key, endpoint, quiet)
    record = node.registry.node(node.address)
    if record.pending_roles & roles:
        auditor.approve_roles(node.address, record.pending_roles & roles)
    del console


def _fund(funder: Node, to: str, amount: int) -> None:
    token = funder.market.token
    if funder.market.balance(to) < amount:
        funder.sender.send(token.functions.transfer(Web3.to_checksum_address(to), amount))


def _collect_gas(report: ModexpReport, label: str, nodes: Sequence[tuple[str, Node]]) -> None:
    for actor, node in nodes:
        for function, gas in node.market.gas:
            report.gas.append((f"{label}/{actor}", function, gas))
        node.market.gas.clear()


async def _wait_status(node: Node, task_id: int, wanted: TaskStatus, timeout: float = 30.0) -> TaskStatus:
    end = time.monotonic() + timeout
    while True:
        status = (await asyncio.to_thread(node.market.task, task_id)).status
        if status is wanted or time.monotonic() > end:
            return status
        await asyncio.sleep(0.2)


async def _wait_until(done: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.1)
    return True


async def run_modexp_flow(
    w3: Web3,
    deployments: Deployments,
    keys: FlowKeys,
    console: Console,
    *,
    n: int = 1,
    scenarios: Sequence[str] = ("honest", "forged"),
    payment: int = 10 * TOKEN,
    collateral: int = 5 * TOKEN,
    via_rsu: bool = True,
) -> ModexpReport:
    """Run ``scenarios`` (see :data:`SCENARIOS`) with batches of ``n`` on a devnet; returns the report.

    Raises :class:`RuntimeError` when an outcome contradicts the market's guarantees."""
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    report = ModexpReport()
    console.rule(f"[bold]MExpm: fair offloading of ∏u_i^a_i mod N (n = {n})")
    auditor, funder = Node(keys.auditor, w3, deployments), Node(keys.funder, w3, deployments)
    sa_node, server_node = Node(keys.agency, w3, deployments), Node(keys.server, w3, deployments)
    rsu_node, iv_node = Node(keys.rsu, w3, deployments), Node(keys.vehicle, w3, deployments)
    agency = ServiceAgency(sa_node)
    server = MecServer(server_node, via_rsu=via_rsu)
    rsu = RoadsideUnit(rsu_node)
    vehicle = Vehicle(iv_node)
    actors = (("iv", iv_node), ("server", server_node), ("rsu", rsu_node))

    async with agency.agent, server, rsu.agent:
        for node, roles, endpoint in (
            (sa_node, ActorRole.SERVICE_AGENCY, agency.agent.endpoint),
            (server_node, ActorRole.MEC_SERVER, server.agent.endpoint),
            (rsu_node, ActorRole.RSU, rsu.agent.endpoint),
            (iv_node, ActorRole.VEHICLE, ""),
        ):
            await asyncio.to_thread(_register, node, roles, endpoint, auditor.registry, console)
        report.note(console, "SA, MEC server and RSU serve HTTP and are registered in RSC (auditor approved)")
        for who in (iv_node, server_node):
            await asyncio.to_thread(_fund, funder, who.address, 10 * (payment + collateral))
        report.note(console, "vehicle and server funded with MTC")
        sa_peer = await _only_peer(iv_node, ActorRole.SERVICE_AGENCY, agency.agent.address)
        server_peer = await _only_peer(iv_node, ActorRole.MEC_SERVER, server.agent.address)
        report.note(
            console, f"vehicle discovered the SA at {sa_peer.endpoint}, the server at {server_peer.endpoint}"
        )

        for scenario in scenarios:
            server.cheat = scenario == "forged"
            exponents = tuple(int.from_bytes(_random_bytes(64), "big") for _ in range(n))
            before = (iv_node.market.balance(), server_node.market.balance(server_node.address))
            outcome, _ = await vehicle.offload(
                sa_peer,
                server_peer,
                exponents,
                payment=payment,
                collateral=collateral,
                reveal_window=120,
                corrupt_aux=scenario == "malicious-iv",
            )
            line = TaskLine(
                scenario,
                outcome.task_id,
                outcome.accepted,
                outcome.status,
                outcome.result == outcome.expected,
            )
            if scenario == "honest":
                if not (outcome.accepted and line.result_matches and outcome.status is TaskStatus.VERIFIED):
                    raise RuntimeError(f"an honest task was not verified and paid: {outcome}")
                report.note(
                    console,
                    f"task {outcome.task_id}: outputs relayed by the RSU, Eq. (5) holds on chain, "
                    f"server paid; recovered result = ∏u_i^a_i mod N computed locally",
                )
            elif scenario == "forged":
                if outcome.accepted or outcome.status is not TaskStatus.REJECTED:
                    raise RuntimeError(f"a forged result was not rejected: {outcome}")
                report.note(
                    console, f"task {outcome.task_id}: forged output → Eq. (5) fails, dispute window opens"
                )
                window = int(iv_node.market.market.functions.disputeWindow().call())
                await asyncio.to_thread(advance_devnet_time, w3, window + 1)
                await asyncio.to_thread(iv_node.market.finalize, outcome.task_id)
                line.status = TaskStatus.REJECTION_FINAL
                report.note(
                    console,
                    f"no dispute within {window} s (devnet clock moved on): rejection upheld, "
                    f"vehicle refunded and the server's collateral slashed",
                )
            else:
                if outcome.accepted:
                    raise RuntimeError("a corrupted Aux was accepted")
                line.status = await _wait_status(iv_node, outcome.task_id, TaskStatus.DISPUTE_WON)
                # The IV can see the new status before the server's dispute call has returned its receipt
                # (and recorded its gas): wait for the server's own record of the dispute too.
                await _wait_until(partial(server.disputes.__contains__, outcome.task_id))
                line.server_won_dispute = line.status is TaskStatus.DISPUTE_WON
                if not line.server_won_dispute:
                    raise RuntimeError(f"the server did not win the dispute of task {outcome.task_id}")
                report.note(
                    console,
                    f"task {outcome.task_id}: the vehicle's bad Aux rejected a correct result; the server "
                    f"disputed, the contract recomputed every output and paid the server",
                )
            after = (iv_node.market.balance(), server_node.market.balance(server_node.address))
            console.print(
                f"    MTC: vehicle {(after[0] - before[0]) / TOKEN:+.1f}, "
                f"server {(after[1] - before[1]) / TOKEN:+.1f}"
            )
            report.tasks.append(line)
            _collect_gas(report, scenario, actors)
    return report


async def _only_peer(node: Node, role: ActorRole, address: str) -> Peer:
    peers = await find_peers(node.registry, role)
    for peer in peers:
        if peer.address == address:
            return peer
    raise RuntimeError(f"discovery did not find {address} with role {role.label}")


def _random_bytes(count: int) -> bytes:
    import secrets

    return secrets.token_bytes(count)

"""Meta-BMEOC end to end with real agents: ``make demo`` and ``metatrust outsource``.

1. m CSN agents start on loopback, register in RSC (role CSN, endpoint, encryption key, resource tuple,
   provider id) and the auditor approves them; the MTD registers.
2. The MTD discovers live CSNs through RSC, picks m of them with at most t per provider, and sends each its
   share sealed to the CSN's registered key, in parallel.
3. Honest task: verification accepts and the value equals F(x). Task with cheating CSNs: verification
   rejects; the MTD builds TX_acc and the off-chain ACC (Algorithm 1) flags exactly the cheaters.
4. A replayed task gets 409 and is not computed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from eth_account import Account
from rich.console import Console
from web3 import Web3

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.agents.service import Agent
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.chain.registry import NodeRecord, RegistryClient, Resources
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, derive
from offchain.outsourcing.agent import CSNBehaviour, CSNState, csn_agent
from offchain.outsourcing.client import OutsourceOutcome, call_csn, outsource
from offchain.outsourcing.field import get_field
from offchain.outsourcing.polynomial import direct_evaluate, random_dense
from offchain.outsourcing.task import required_servers

DEMO_SEED = b"metatrust/demo/bmeoc-csn"
PROVIDERS = ("edge-provider-a", "edge-provider-b", "edge-provider-c", "edge-provider-d")


@dataclass
class FleetMember:
    key: KeyPair
    agent: Agent
    state: CSNState
    behaviour: CSNBehaviour


@dataclass
class OutsourcingFlowReport:
    """What the flow showed, for the caller to check."""

    steps: list[str] = field(default_factory=list)
    outcomes: list[OutsourceOutcome] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)
    cheaters: list[list[str]] = field(default_factory=list)
    replay_status: int | None = None

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


def _registry(w3: Web3, deployments: Deployments, key: KeyPair) -> RegistryClient:
    sender = TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
    return RegistryClient(contract(w3, deployments, "RSC"), sender)


@asynccontextmanager
async def csn_fleet(
    w3: Web3, deployments: Deployments, auditor: KeyPair, keys: Sequence[KeyPair], console: Console
) -> AsyncIterator[list[FleetMember]]:
    """Start one CSN agent per key, register each in RSC and have the auditor approve the CSN role."""
    fund_on_devnet(w3, [key.address for key in keys])
    auditor_registry = _registry(w3, deployments, auditor)
    members: list[FleetMember] = []
    async with AsyncExitStack() as stack:
        for index, key in enumerate(keys):
            registry = _registry(w3, deployments, key)
            behaviour = CSNBehaviour()
            agent, state = csn_agent(
                key, encryption_keypair(key), registry, name=f"csn-{index + 1}", behaviour=behaviour
            )
            await stack.enter_async_context(agent)
            provider = PROVIDERS[index % len(PROVIDERS)]
            await asyncio.to_thread(
                registry.ensure_registered,
                ActorRole.CSN,
                encryption_keypair(key).compressed_public_key,
                agent.endpoint,
                resources=Resources("127.0.0.1", 4, 8_192, 100, 1_000),
                provider=provider,
            )
            if not registry.node(key.address).has(ActorRole.CSN):
                await asyncio.to_thread(auditor_registry.approve_roles, key.address, ActorRole.CSN)
            members.append(FleetMember(key, agent, state, behaviour))
        console.print(
            f"  [green]✓[/] {len(members)} CSN agents serve on loopback, registered and approved in RSC"
        )
        yield members


async def live_csns(registry: RegistryClient, timeout: float = 2.0) -> list[NodeRecord]:
    """Active CSNs of the registry whose endpoint answers ``/health`` (the idle, reachable ones)."""
    records = [r for r in await asyncio.to_thread(registry.discover, ActorRole.CSN) if r.endpoint]

    async def alive(session: aiohttp.ClientSession, record: NodeRecord) -> bool:
        try:
            async with session.get(f"{record.endpoint.rstrip('/')}/health") as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        flags = await asyncio.gather(*(alive(session, r) for r in records))
    return [r for r, ok in zip(records, flags, strict=True) if ok]


async def run_outsourcing_flow(
    w3: Web3,
    deployments: Deployments,
    auditor: KeyPair,
    mtd: KeyPair,
    console: Console,
    *,
    k: int = 200,
    d: int = 2,
    t: int = 2,
    cheats: Sequence[int] = (0, 1),
    seed: int | None = None,
    csn_seed: bytes = DEMO_SEED,
) -> OutsourcingFlowReport:
    """One task per entry of ``cheats`` (that many CSNs cheat in it); see the module docstring."""
    report = OutsourcingFlowReport()
    console.rule(f"[bold]Meta-BMEOC: outsourced evaluation of F (k={k}, d={d}) with t={t}")
    m = required_servers(d, t)
    if any(not 0 <= n <= m for n in cheats):
        raise ValueError(f"the number of cheating CSNs must be in 0..{m}")
    rng = random.Random(seed) if seed is not None else None
    field_ = get_field()
    keys = [derive(csn_seed, index) for index in range(m)]
    fund_on_devnet(w3, [mtd.address])
    mtd_registry = _registry(w3, deployments, mtd)
    await asyncio.to_thread(
        mtd_registry.ensure_registered, ActorRole.MTD, encryption_keypair(mtd).compressed_public_key, ""
    )
    report.note(console, f"MTD {mtd.address} registered in RSC")

    polynomial = random_dense(field_, k, d, rng)
    polynomial.prepare()
    report.note(console, f"F: dense, {polynomial.term_count:,} terms = C(k+d, d) over F_q, q = 2^128 + 51")
    async with csn_fleet(w3, deployments, auditor, keys, console) as fleet, AgentClient(mtd) as rpc:
        by_address = {member.key.address: member for member in fleet}
        candidates = [r for r in await live_csns(mtd_registry) if r.address in by_address]
        report.note(console, f"MTD discovered {len(candidates)} live CSNs through RSC (m = (d+1)t+1 = {m})")
        delivered: set[tuple[str, bytes]] = set()  # F goes to each CSN once; later tasks send its digest only
        for number, cheat in enumerate(cheats, start=1):
            x = field_.random_elements(k, rng)
            expected = (
                direct_evaluate(polynomial, x) if polynomial.term_count <= 100_000 else polynomial.evaluate(x)
            )
            cheaters = [member.key.address for member in fleet[:cheat]]
            for member in fleet:
                member.behaviour.cheat = member.key.address in cheaters
            outcome = await outsource(mtd, rpc, polynomial, x, t, candidates, rng=rng, delivered=delivered)
            report.outcomes.append(outcome)
            report.expected.append(expected)
            report.cheaters.append(cheaters)
            label = f"task {number} ({cheat} cheating CSN{'s' if cheat != 1 else ''})"
            timing = ", ".join(f"{name} {ms:.1f} ms" for name, ms in outcome.timings_ms.items())
            if outcome.verification.accepted:
                correct = outcome.value == expected
                report.note(
                    console,
                    f"{label}: verified, F(x) reconstructed ({'correct' if correct else 'WRONG'}); {timing}",
                )
            else:
                report.note(console, f"{label}: rejected (⊥): {outcome.verification.reason}; {timing}")
            if outcome.accountability is not None:
                flagged = set(outcome.accountability.flagged)
                exact = flagged == set(cheaters)
                report.note(
                    console,
                    f"{label}: TX_acc built and checked off chain (ACC, Algorithm 1): flagged indices "
                    f"{list(outcome.accountability.indices)} = {sorted(flagged)} "
                    f"({'exactly the cheaters' if exact else 'MISMATCH'}); "
                    "the on-chain flow below settles such a dispute through the enclaves and ASC",
                )
        last = report.outcomes[-1]
        record = last.group[0]
        try:
            await call_csn(rpc, last.task, polynomial, record, 1)
        except AgentCallError as exc:
            report.replay_status = exc.status
            report.note(console, f"replayed T_1 → HTTP {exc.status} {exc.code}; not computed again")
        for member in fleet:
            member.behaviour.cheat = False
    return report

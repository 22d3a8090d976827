"""RSMS parties as network agents (HTTP on loopback by default), discovered through the registry RSC.

* The **MSRP** agent (role ``RESOURCE_PROVIDER``) serves ``rsms-directory`` (a pool's MSRP-signed
  ``(PK_RPM, PID_RPM)``) and ``rsms-report`` (an RPM's report; only senders holding ``POOL_MANAGER`` in
  RSC may call it). It answers with the signed acknowledgement once the record is on the ledger.
* Each **RPM** agent (role ``POOL_MANAGER``, RSC provider id ``rsms-pool-<id>``) serves
  ``rsms-initial-auth`` and ``rsms-reauth``: it runs its checks, forwards the report to the MSRP it found
  in RSC and, in strict mode, answers the RN with A only after the MSRP's acknowledgement.
* An **RN** is a client: it signs its envelopes with a fresh throw-away key per run (RSMS keeps RNs
  anonymous behind pseudonyms, so an RN's account must not identify it), finds the MSRP and its pool's RPM
  in RSC, checks the directory entry's MSRP signature and runs the protocol.

Every protocol rejection becomes a 4xx with the rejection's name as the code and its reason: 400 for
malformed messages, 409 for replays and reused pseudonyms, 403 for every other refused check.
The ledger is the :class:`~offchain.resource_auth.ledger_api.Ledger` given to the MSRP and RPMs (in memory
here; the ``RSMSLedger`` client plugs in unchanged).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from eth_account import Account
from pydantic import BaseModel, Field, field_validator
from rich.console import Console
from web3 import Web3

from offchain.agents.client import AgentClient
from offchain.agents.discovery import Peer, find_peers, registry_authorizer
from offchain.agents.errors import AgentCallError, AgentError
from offchain.agents.service import Agent
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.resource_auth import schnorr
from offchain.resource_auth.errors import (
    MalformedMessage,
    PseudonymReused,
    ReplayDetected,
    RSMSError,
)
from offchain.resource_auth.group import Point
from offchain.resource_auth.messages import (
    AuthAck,
    AuthReport,
    AuthResponse,
    DirectoryEntry,
    InitialAuthRequest,
    ReauthRequest,
)
from offchain.resource_auth.parties import MSRP, RPM, ResourceNode, RPMDirectoryEntry

DIRECTORY = "rsms-directory"
REPORT = "rsms-report"
INITIAL_AUTH = "rsms-initial-auth"
REAUTH = "rsms-reauth"
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")


class Wire(BaseModel):
    """One RSMS message in its byte encoding, as 0x-hex."""

    data: str = Field(max_length=2 + 2 * 65_536)

    @field_validator("data")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _HEX.match(value):
            raise ValueError("data must be 0x-prefixed hex")
        return value

    @classmethod
    def of(cls, data: bytes) -> Wire:
        return cls(data="0x" + data.hex())

    def raw(self) -> bytes:
        return bytes.fromhex(self.data[2:])


class PoolQuery(BaseModel):
    pool_id: int = Field(ge=0, lt=2**32)


def pool_provider(pool_id: int) -> str:
    return f"rsms-pool-{pool_id}"


def _agent_error(exc: RSMSError) -> AgentError:
    name = type(exc).__name__
    code = re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
    if isinstance(exc, MalformedMessage):
        status = 400
    elif isinstance(exc, ReplayDetected | PseudonymReused):
        status = 409
    else:
        status = 403
    return AgentError(status, code, str(exc) or name)


def sign_directory(msrp: MSRP, pool_id: int) -> DirectoryEntry:
    entry = msrp.directory(pool_id)
    unsigned = DirectoryEntry(pool_id, entry.pk_rpm, entry.pid_rpm, bytes(schnorr.SIGNATURE_BYTES))
    signature = schnorr.sign(msrp.msk, msrp.pk_pub, unsigned.signed_part())
    return DirectoryEntry(pool_id, entry.pk_rpm, entry.pid_rpm, signature.to_bytes())


def open_directory(entry: DirectoryEntry, pk_pub: Point) -> RPMDirectoryEntry:
    """Check the MSRP's signature on a directory entry (raises :class:`MalformedMessage` otherwise)."""
    if not schnorr.verify(pk_pub, entry.signed_part(), schnorr.Signature.from_bytes(entry.signature)):
        raise MalformedMessage("directory entry not signed by the MSRP")
    return RPMDirectoryEntry(entry.pool_id, entry.pk_rpm, entry.pid_rpm)


def serve_msrp(agent: Agent, msrp: MSRP, registry: RegistryClient) -> None:
    """Register the MSRP's routes on ``agent``; reports are accepted from RSC pool managers only."""
    managers_only = registry_authorizer(registry, {REPORT: ActorRole.POOL_MANAGER})

    async def authorize(sender: str, action: str) -> bool:
        # the directory is public (anonymous RNs read it); reports come from RSC pool managers only
        return action != REPORT or await managers_only(sender, action)

    agent.authorizer = authorize

    async def directory(sender: str, query: PoolQuery) -> Wire:
        try:
            return Wire.of(sign_directory(msrp, query.pool_id).to_bytes())
        except KeyError:
            raise AgentError(404, "unknown-pool", f"no RPM manages pool {query.pool_id}") from None

    async def report(sender: str, request: Wire) -> Wire:
        try:
            ack = msrp.handle_report(AuthReport.from_bytes(request.raw()))
        except RSMSError as exc:
            raise _agent_error(exc) from exc
        return Wire.of(ack.to_bytes())

    agent.route(DIRECTORY, PoolQuery, directory)
    agent.route(REPORT, Wire, report)


async def find_msrp(registry: RegistryClient) -> Peer:
    peers = await find_peers(registry, ActorRole.RESOURCE_PROVIDER)
    if not peers:
        raise LookupError("no MSRP (RESOURCE_PROVIDER) is active in RSC")
    return peers[0]


async def find_rpm(registry: RegistryClient, pool_id: int) -> Peer:
    wanted = pool_provider(pool_id).encode().ljust(32, b"\0")
    records = await asyncio.to_thread(registry.discover, ActorRole.POOL_MANAGER)
    for record in records:
        if record.provider == wanted:
            return Peer.from_record(record)
    raise LookupError(f"no RPM of pool {pool_id} is active in RSC")


def serve_rpm(agent: Agent, rpm: RPM, client: AgentClient, registry: RegistryClient) -> None:
    """Register the RPM's routes: run the checks, forward the report to the MSRP, answer A after its ack."""

    async def settle(report: AuthReport, response: AuthResponse | None) -> Wire:
        msrp = await find_msrp(registry)
        try:
            answer = await client.call(msrp.endpoint, msrp.address, REPORT, Wire.of(report.to_bytes()), Wire)
        except AgentCallError as exc:
            rpm.on_reject(report.pid)
            status = exc.status if 400 <= exc.status < 500 else 502
            raise AgentError(status, exc.code or "msrp-unreachable", f"MSRP: {exc.reason}") from exc
        try:
            if response is None:
                response = rpm.on_ack(AuthAck.from_bytes(answer.raw()))
        except RSMSError as exc:
            rpm.on_reject(report.pid)
            raise _agent_error(exc) from exc
        return Wire.of(response.to_bytes())

    def handler(
        decode: Callable[[bytes], InitialAuthRequest | ReauthRequest],
    ) -> Callable[[str, Wire], Awaitable[Wire]]:
        async def handle(sender: str, request: Wire) -> Wire:
            try:
                message = decode(request.raw())
                if isinstance(message, InitialAuthRequest):
                    report, response = rpm.handle_initial(message)
                else:
                    report, response = rpm.handle_reauth(message)
            except RSMSError as exc:
                raise _agent_error(exc) from exc
            return await settle(report, response)

        return handle

    agent.route(INITIAL_AUTH, Wire, handler(InitialAuthRequest.from_bytes))
    agent.route(REAUTH, Wire, handler(ReauthRequest.from_bytes))


def throwaway_key() -> KeyPair:
    """A fresh envelope key for an anonymous RN."""
    while True:
        try:
            return from_private_key(secrets.token_bytes(32))
        except ValueError:  # pragma: no cover - probability 2^-128
            continue


async def rn_authenticate(
    rn: ResourceNode, pool_id: int, registry: RegistryClient, *, initial: bool
) -> bytes:
    """Run initial (or re-) authentication of ``rn`` at pool ``pool_id`` over HTTP; returns the request sent.

    Raises :class:`AgentCallError` with the RPM's (or the MSRP's) code and reason on a refusal."""
    msrp, rpm_peer = await find_msrp(registry), await find_rpm(registry, pool_id)
    async with AgentClient(throwaway_key()) as client:
        answer = await client.call(msrp.endpoint, msrp.address, DIRECTORY, PoolQuery(pool_id=pool_id), Wire)
        entry = open_directory(DirectoryEntry.from_bytes(answer.raw()), rn.params.pk_pub)
        request = rn.start_initial(entry) if initial else rn.start_reauth(entry)
        wire = request.to_bytes()
        action = INITIAL_AUTH if initial else REAUTH
        response = await client.call(rpm_peer.endpoint, rpm_peer.address, action, Wire.of(wire), Wire)
        rn.finish(AuthResponse.from_bytes(response.raw()))
        return wire


async def replay(wire: bytes, pool_id: int, registry: RegistryClient, *, initial: bool) -> None:
    """Send a captured request again (what an eavesdropper would do)."""
    rpm_peer = await find_rpm(registry, pool_id)
    async with AgentClient(throwaway_key()) as client:
        action = INITIAL_AUTH if initial else REAUTH
        await client.call(rpm_peer.endpoint, rpm_peer.address, action, Wire.of(wire), Wire)


# ---------------------------------------------------------------------------------------- the flow


@dataclass
class FlowReport:
    """What the RSMS agent flow showed, for the caller to check."""

    steps: list[str] = field(default_factory=list)
    replay_status: int = 0
    replay_code: str = ""
    outsider_report_status: int = 0
    records: int = 0

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


def _registry(w3: Web3, deployments: Deployments, key: KeyPair) -> RegistryClient:
    sender = TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
    return RegistryClient(contract(w3, deployments, "RSC"), sender)


async def run_resource_auth_flow(
    w3: Web3,
    deployments: Deployments,
    auditor: KeyPair,
    msrp_key: KeyPair,
    rpm_keys: tuple[KeyPair, KeyPair],
    console: Console,
) -> FlowReport:
    """An MSRP and two RPMs as HTTP agents registered in RSC; an RN finds them there, authenticates at
    pool 1, re-authenticates at pool 2, and a replay of its first request is refused with 409."""
    from offchain.resource_auth.flows import World

    report = FlowReport()
    console.rule("[bold]RSMS: resource-node authentication over HTTP")
    world = World.create(pools=2)
    auditor_registry = _registry(w3, deployments, auditor)
    msrp_registry = _registry(w3, deployments, msrp_key)
    msrp_agent = Agent(msrp_key, name="rsms-msrp", role="resource-provider")
    serve_msrp(msrp_agent, world.msrp, msrp_registry)
    clients = [AgentClient(key) for key in rpm_keys]
    rpm_agents = []
    for pool_id, key in enumerate(rpm_keys, start=1):
        agent = Agent(key, name=f"rsms-rpm-{pool_id}", role="pool-manager")
        serve_rpm(agent, world.rpms[pool_id], clients[pool_id - 1], _registry(w3, deployments, key))
        rpm_agents.append(agent)
    try:
        async with msrp_agent, rpm_agents[0], rpm_agents[1]:
            msrp_registry.register(
                ActorRole.RESOURCE_PROVIDER,
                encryption_keypair(msrp_key).compressed_public_key,
                msrp_agent.endpoint,
            )
            auditor_registry.approve_roles(msrp_key.address, ActorRole.RESOURCE_PROVIDER)
            for pool_id, (key, agent) in enumerate(zip(rpm_keys, rpm_agents, strict=True), start=1):
                _registry(w3, deployments, key).register(
                    ActorRole.POOL_MANAGER,
                    encryption_keypair(key).compressed_public_key,
                    agent.endpoint,
                    provider=pool_provider(pool_id),
                )
                auditor_registry.approve_roles(key.address, ActorRole.POOL_MANAGER)
            report.note(
                console,
                "MSRP and the RPMs of pools 1, 2 serve on loopback, registered and approved in RSC",
            )
            rn = world.register_rn(1, b"rsms-demo-rn")
            report.note(console, "RN set up by the MSRP (sk, a_1, PID_1); pool 1's Bloom batch delivered")
            captured = await rn_authenticate(rn, 1, msrp_registry, initial=True)
            report.note(console, "RN found MSRP and RPM-1 in RSC and passed initial authentication at pool 1")
            await rn_authenticate(rn, 2, msrp_registry, initial=False)
            report.note(console, f"RN re-authenticated at pool 2 under a new pseudonym (k = {rn.k})")
            try:
                await replay(captured, 1, msrp_registry, initial=True)
            except AgentCallError as exc:
                report.replay_status, report.replay_code = exc.status, exc.code
            else:
                raise RuntimeError("a replayed initial authentication was accepted")
            report.note(console, f"replayed request → HTTP {report.replay_status} {report.replay_code}")
            msrp_peer = await find_msrp(msrp_registry)
            async with AgentClient(throwaway_key()) as outsider:
                try:
                    await outsider.call(msrp_peer.endpoint, msrp_peer.address, REPORT, Wire.of(b"\x01"), Wire)
                except AgentCallError as exc:
                    report.outsider_report_status = exc.status
            report.note(
                console, f"a report from outside RSC's pool managers → HTTP {report.outsider_report_status}"
            )
            other = world.register_rn(1, b"rsms-demo-rn-2")
            await rn_authenticate(other, 1, msrp_registry, initial=True)
            report.note(console, "RPM-1 keeps serving: a second RN authenticates")
            report.records = len(world.ledger.records())
    finally:
        for client in clients:
            await client.close()
    return report

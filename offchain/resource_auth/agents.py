"""RSMS parties as network agents (HTTP on loopback by default), discovered through the registry RSC.

* The **MSRP** agent (role ``RESOURCE_PROVIDER``) serves ``rsms-directory`` (a pool's MSRP-signed
  ``(PK_RPM, PID_RPM)``) and, to senders holding ``POOL_MANAGER`` in RSC only, ``rsms-report`` (check the
  report, record it on the ledger itself, acknowledge), or the two halves used when the RPMs write the
  ledger: ``rsms-approve`` (the checks only) and ``rsms-recorded`` (the record must be on the ledger; then
  advance the RN's chain and acknowledge).
* Each **RPM** agent (role ``POOL_MANAGER``, RSC provider id ``rsms-pool-<id>``) serves
  ``rsms-initial-auth`` and ``rsms-reauth``: it runs its checks, asks the MSRP it found in RSC and, in
  strict mode, answers the RN with A only after the MSRP's acknowledgement. With ``record_on_ledger``
  (the on-chain deployment) the RPM itself records ``(H4(a), PID)`` in ``RSMSLedger`` between approval and
  acknowledgement, so a replay or a clone racing at two pools is refused by the contract's check-and-set.
* An **RN** is a client: it signs its envelopes with a fresh throw-away key per run (RSMS keeps RNs
  anonymous behind pseudonyms, so an RN's account must not identify it), finds the MSRP and its pool's RPM
  in RSC, checks the directory entry's MSRP signature and runs the protocol.

Every protocol rejection becomes a 4xx with the rejection's name as the code and its reason: 400 for
malformed messages, 409 for replays and reused pseudonyms, 403 for every other refused check.
The ledger is the :class:`~offchain.resource_auth.ledger_api.Ledger` given to the MSRP and RPMs: in the
flow below, :class:`~offchain.resource_auth.ledger.ChainLedger` clients of ``RSMSLedger`` on the devnet,
each with its owner's transaction sender (the MSRP opens pools, anchors Bloom digests and revokes; each RPM
records the authentications of its pool).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
    RevokedNode,
    RSMSError,
)
from offchain.resource_auth.group import Point
from offchain.resource_auth.ledger import ChainLedger
from offchain.resource_auth.ledger_api import Ledger
from offchain.resource_auth.messages import (
    AuthAck,
    AuthReport,
    AuthResponse,
    DirectoryEntry,
    InitialAuthRequest,
    ReauthRequest,
)
from offchain.resource_auth.parties import MSRP, RPM, ResourceNode, RPMDirectoryEntry

if TYPE_CHECKING:
    from offchain.resource_auth.flows import World
    from offchain.resource_auth.group_service import GroupDesk
    from offchain.resource_auth.ledger_api import Ledger

DIRECTORY = "rsms-directory"
REPORT = "rsms-report"
INITIAL_AUTH = "rsms-initial-auth"
REAUTH = "rsms-reauth"
APPROVE = "rsms-approve"
RECORDED = "rsms-recorded"
HEX_DATA = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")


class Wire(BaseModel):
    """One RSMS message in its byte encoding, as 0x-hex."""

    data: str = Field(max_length=2 + 2 * 65_536)

    @field_validator("data")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not HEX_DATA.match(value):
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


def agent_error(exc: RSMSError) -> AgentError:
    """A rejection as a 4xx; a refusal of ``RSMSLedger`` keeps the contract's error name in the reason."""
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
    managed = (REPORT, APPROVE, RECORDED)
    managers_only = registry_authorizer(registry, dict.fromkeys(managed, ActorRole.POOL_MANAGER))

    async def authorize(sender: str, action: str) -> bool:
        # the directory is public (anonymous RNs read it); reports come from RSC pool managers only
        return action not in managed or await managers_only(sender, action)

    agent.authorizer = authorize

    async def directory(sender: str, query: PoolQuery) -> Wire:
        try:
            return Wire.of(sign_directory(msrp, query.pool_id).to_bytes())
        except KeyError:
            raise AgentError(404, "unknown-pool", f"no RPM manages pool {query.pool_id}") from None

    async def report(sender: str, request: Wire) -> Wire:
        try:  # the ledger write may be a transaction: keep the event loop free meanwhile
            ack = await asyncio.to_thread(msrp.handle_report, AuthReport.from_bytes(request.raw()))
        except RSMSError as exc:
            raise agent_error(exc) from exc
        return Wire.of(ack.to_bytes())

    async def approve(sender: str, request: Wire) -> Wire:
        try:
            tag, pid = await asyncio.to_thread(msrp.approve_report, AuthReport.from_bytes(request.raw()))
        except RSMSError as exc:
            raise agent_error(exc) from exc
        return Wire.of(tag + pid)

    async def recorded(sender: str, request: Wire) -> Wire:
        try:
            ack = await asyncio.to_thread(msrp.confirm_report, AuthReport.from_bytes(request.raw()))
        except RSMSError as exc:
            raise agent_error(exc) from exc
        return Wire.of(ack.to_bytes())

    agent.route(DIRECTORY, PoolQuery, directory)
    agent.route(REPORT, Wire, report)
    agent.route(APPROVE, Wire, approve)
    agent.route(RECORDED, Wire, recorded)


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


def serve_rpm(
    agent: Agent,
    rpm: RPM,
    client: AgentClient,
    registry: RegistryClient,
    *,
    record_on_ledger: bool = False,
) -> None:
    """Register the RPM's routes: run the checks, forward the report to the MSRP, answer A after its ack.

    With ``record_on_ledger`` (strict admission only) the RPM asks the MSRP to approve the report, records
    ``(H4(a), PID)`` on its own ledger (``RSMSLedger``, as the pool's manager), then has the MSRP confirm."""
    if record_on_ledger and rpm.config.admission != "strict":
        raise ValueError("an RPM records on the ledger only with strict admission")
    from offchain.resource_auth.group_service import serve_roster

    roster = serve_roster(agent, rpm)

    async def ask_msrp(msrp: Peer, action: str, report: AuthReport) -> Wire:
        try:
            return await client.call(msrp.endpoint, msrp.address, action, Wire.of(report.to_bytes()), Wire)
        except AgentCallError as exc:
            rpm.on_reject(report.pid)
            status = exc.status if 400 <= exc.status < 500 else 502
            raise AgentError(status, exc.code or "msrp-unreachable", f"MSRP: {exc.reason}") from exc

    async def settle(report: AuthReport, response: AuthResponse | None) -> Wire:
        msrp = await find_msrp(registry)
        if record_on_ledger:
            await ask_msrp(msrp, APPROVE, report)
            try:
                await asyncio.to_thread(rpm.record_pending, report.pid)
            except RSMSError as exc:
                rpm.on_reject(report.pid)
                raise agent_error(exc) from exc
            answer = await ask_msrp(msrp, RECORDED, report)
        else:
            answer = await ask_msrp(msrp, REPORT, report)
        try:
            if response is None:
                response = rpm.on_ack(AuthAck.from_bytes(answer.raw()))
        except RSMSError as exc:
            rpm.on_reject(report.pid)
            raise agent_error(exc) from exc
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
                raise agent_error(exc) from exc
            answer = await settle(report, response)
            roster.admitted[report.pid] = sender  # only this sender may announce the pseudonym's agent
            return answer

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
    rn: ResourceNode,
    pool_id: int,
    registry: RegistryClient,
    *,
    initial: bool,
    key: KeyPair | None = None,
) -> bytes:
    """Run initial (or re-) authentication of ``rn`` at pool ``pool_id`` over HTTP; returns the request sent.

    ``key`` is the RN's envelope key (a fresh throw-away one by default); an RN that will serve a group
    keeps it for its party agent, the one address its RPM accepts an announcement from.
    Raises :class:`AgentCallError` with the RPM's (or the MSRP's) code and reason on a refusal."""
    msrp, rpm_peer = await find_msrp(registry), await find_rpm(registry, pool_id)
    async with AgentClient(key or throwaway_key()) as client:
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
    replay_revert: str = ""
    race_outcomes: list[str] = field(default_factory=list)
    revoked_status: int = 0
    revoked_code: str = ""
    revoked_revert: str = ""
    outsider_report_status: int = 0
    records: int = 0
    writers: dict[int, set[str]] = field(default_factory=dict)
    group_size: int = 0
    departed_refused: bool = False
    joined: int = 0
    revoked_member_refused: bool = False

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


def _sender(w3: Web3, deployments: Deployments, key: KeyPair) -> TransactionSender:
    return TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)


def _registry(w3: Web3, deployments: Deployments, key: KeyPair) -> RegistryClient:
    return RegistryClient(contract(w3, deployments, "RSC"), _sender(w3, deployments, key))


def approve_pending(auditor: RegistryClient, address: str, roles: ActorRole) -> None:
    """Auditor: approve ``roles`` for ``address`` if they are pending."""
    if auditor.node(address).pending_roles & roles:
        auditor.approve_roles(address, roles)


def open_pools(msrp_ledger: ChainLedger, managers: dict[int, str]) -> None:
    """MSRP: open each pool in RSMSLedger under its manager (or hand it over if another manages it)."""
    for pool_id, manager in managers.items():
        info = msrp_ledger.pool(pool_id)
        if not info.open:
            msrp_ledger.open_pool(pool_id, manager)
        elif info.manager != Web3.to_checksum_address(manager):
            msrp_ledger.set_pool_manager(pool_id, manager)


async def _attempt(call: Awaitable[object]) -> AgentCallError | None:
    try:
        await call
    except AgentCallError as exc:
        return exc
    return None


def clone_rn(rn: ResourceNode) -> ResourceNode:
    """A copy of an RN's secrets and chain position (what an attacker who cloned the device holds)."""
    twin = ResourceNode(rn.credentials, rn.params, config=rn.config)
    twin.a, twin.pid, twin.k, twin.pool_id, twin.authenticated = (
        rn.a,
        rn.pid,
        rn.k,
        rn.pool_id,
        rn.authenticated,
    )
    return twin


async def run_resource_auth_flow(
    w3: Web3,
    deployments: Deployments,
    auditor: KeyPair,
    msrp_key: KeyPair,
    rpm_keys: tuple[KeyPair, KeyPair],
    console: Console,
    *,
    group_size: int = 3,
) -> FlowReport:
    """RSMS on the devnet: an MSRP and two RPMs as HTTP agents registered in RSC, the ledger ``RSMSLedger``
    (deployed with ``msrp_key`` holding its MSRP role). The MSRP opens the pools for the RPMs and anchors
    the Bloom digests; an RN finds the agents in RSC, authenticates at pool 1 and re-authenticates at
    pool 2, each record written on chain by the pool's RPM; a replay is refused (by the RPM's on-chain
    check over HTTP, and by the contract when submitted straight to it), a clone racing at both pools
    gets one admission, a revoked RN is refused; then a User and ``group_size`` on-chain-authenticated RNs
    (each a party agent) form a group over HTTP and re-key when one RN leaves."""
    from offchain.resource_auth.flows import World
    from offchain.resource_auth.group_auth import GroupManager
    from offchain.resource_auth.group_service import GroupDesk, serve_msrp_groups
    from offchain.resource_auth.ledger import ChainLedger

    report = FlowReport()
    console.rule("[bold]RSMS: resource-node authentication over HTTP, recorded in RSMSLedger")
    msrp_ledger = ChainLedger.from_deployments(w3, deployments, _sender(w3, deployments, msrp_key))
    rpm_ledgers: dict[int, Ledger] = {
        pool_id: ChainLedger.from_deployments(w3, deployments, _sender(w3, deployments, key))
        for pool_id, key in enumerate(rpm_keys, start=1)
    }
    world = World.create(pools=2, ledger=msrp_ledger, rpm_ledgers=rpm_ledgers)
    auditor_registry = _registry(w3, deployments, auditor)
    msrp_registry = _registry(w3, deployments, msrp_key)
    msrp_agent = Agent(msrp_key, name="rsms-msrp", role="resource-provider")
    serve_msrp(msrp_agent, world.msrp, msrp_registry)
    desk = GroupDesk(GroupManager(world.msrp))
    serve_msrp_groups(msrp_agent, desk)
    clients = [AgentClient(key) for key in rpm_keys]
    rpm_agents = []
    for pool_id, key in enumerate(rpm_keys, start=1):
        agent = Agent(key, name=f"rsms-rpm-{pool_id}", role="pool-manager")
        registry = _registry(w3, deployments, key)
        serve_rpm(agent, world.rpms[pool_id], clients[pool_id - 1], registry, record_on_ledger=True)
        rpm_agents.append(agent)
    try:
        async with msrp_agent, rpm_agents[0], rpm_agents[1]:
            msrp_registry.ensure_registered(
                ActorRole.RESOURCE_PROVIDER,
                encryption_keypair(msrp_key).compressed_public_key,
                msrp_agent.endpoint,
            )
            approve_pending(auditor_registry, msrp_key.address, ActorRole.RESOURCE_PROVIDER)
            for pool_id, (key, agent) in enumerate(zip(rpm_keys, rpm_agents, strict=True), start=1):
                registry = _registry(w3, deployments, key)
                registry.ensure_registered(
                    ActorRole.POOL_MANAGER,
                    encryption_keypair(key).compressed_public_key,
                    agent.endpoint,
                    provider=pool_provider(pool_id),
                )
                approve_pending(auditor_registry, key.address, ActorRole.POOL_MANAGER)
            report.note(
                console,
                "MSRP and the RPMs of pools 1, 2 serve on loopback, registered and approved in RSC",
            )
            open_pools(msrp_ledger, {pool_id: key.address for pool_id, key in enumerate(rpm_keys, start=1)})
            report.note(
                console, "MSRP opened pools 1, 2 in RSMSLedger under the RPMs holding POOL_MANAGER in RSC"
            )
            tag = secrets.token_bytes(6)  # fresh RIDs per run: a second run on one devnet meets no old record
            rn = world.register_rn(1, b"rsms-demo-rn-" + tag)
            version = msrp_ledger.pool(1).bloom_version
            report.note(
                console, f"RN set up by the MSRP; pool 1's Bloom batch anchored on chain (version {version})"
            )
            first_block = w3.eth.block_number + 1
            captured = await rn_authenticate(rn, 1, msrp_registry, initial=True)
            report.note(console, "RN found MSRP and RPM-1 in RSC: initial authentication at pool 1, recorded")
            await rn_authenticate(rn, 2, msrp_registry, initial=False)
            report.note(console, f"RN re-authenticated at pool 2 under PID_{rn.k}, recorded by RPM-2")
            refused = await _attempt(replay(captured, 1, msrp_registry, initial=True))
            if refused is None:
                raise RuntimeError("a replayed initial authentication was accepted")
            report.replay_status, report.replay_code = refused.status, refused.code
            report.note(console, f"replayed request → HTTP {report.replay_status} {report.replay_code}")
            first = msrp_ledger.history(first_block)[0]
            try:
                rpm_ledgers[2].record_authentication(2, first.tag, first.pid)
            except ReplayDetected as exc:
                report.replay_revert = exc.revert_name or ""
            else:
                raise RuntimeError("RSMSLedger recorded a replayed (H4(a), PID)")
            report.note(
                console,
                f"the same record sent straight to RSMSLedger by RPM-2 → revert {report.replay_revert}",
            )
            clone = clone_rn(rn)
            outcomes = await asyncio.gather(
                _attempt(rn_authenticate(rn, 1, msrp_registry, initial=False)),
                _attempt(rn_authenticate(clone, 2, msrp_registry, initial=False)),
            )
            report.race_outcomes = sorted(
                "admitted" if exc is None else f"{exc.status} {exc.code}: {exc.reason}" for exc in outcomes
            )
            if [o == "admitted" for o in report.race_outcomes].count(True) != 1:
                raise RuntimeError(f"a clone racing at two pools: {report.race_outcomes}")
            winner = rn if outcomes[0] is None else clone
            report.note(
                console, f"RN and its clone race at pools 1 and 2: one admitted, {report.race_outcomes[0]}"
            )
            world.msrp.revoke_rn(world.msrp.trace(winner.pid))
            refused = await _attempt(rn_authenticate(winner, 1, msrp_registry, initial=False))
            if refused is None:
                raise RuntimeError("a revoked RN authenticated")
            report.revoked_status, report.revoked_code = refused.status, refused.code
            try:
                rpm_ledgers[1].record_authentication(1, secrets.token_bytes(32), winner.pid)
            except RevokedNode as exc:
                report.revoked_revert = exc.revert_name or ""
            report.note(
                console,
                f"MSRP revoked the RN on chain: it is refused with HTTP {report.revoked_status} "
                f"{report.revoked_code}; RSMSLedger → {report.revoked_revert}",
            )
            msrp_peer = await find_msrp(msrp_registry)
            async with AgentClient(throwaway_key()) as outsider:
                refused = await _attempt(
                    outsider.call(msrp_peer.endpoint, msrp_peer.address, APPROVE, Wire.of(b"\x01"), Wire)
                )
                report.outsider_report_status = refused.status if refused else 200
            report.note(
                console, f"a report from outside RSC's pool managers → HTTP {report.outsider_report_status}"
            )
            members = []
            for i in range(group_size + 1):  # one more than the group: it joins later
                node, key = world.register_rn(1 + i % 2, b"rsms-demo-member-%d-" % i + tag), throwaway_key()
                await rn_authenticate(node, 1 + i % 2, msrp_registry, initial=True, key=key)
                members.append((node, key))
            history = msrp_ledger.history(first_block)
            report.records = len(history)
            for record in history:
                report.writers.setdefault(record.pool_id, set()).add(record.writer or "")
            report.note(
                console,
                f"{group_size + 1} more RNs authenticated over HTTP; {report.records} records on chain, each "
                "written by its pool's RPM",
            )
            reader = RegistryClient(contract(w3, deployments, "RSC"))
            await _group(world, desk, members, group_size, reader, tag, report, console)
    finally:
        for client in clients:
            await client.close()
    return report


async def _group(
    world: World,
    desk: GroupDesk,
    members: list[tuple[ResourceNode, KeyPair]],
    size: int,
    registry: RegistryClient,
    tag: bytes,
    report: FlowReport,
    console: Console,
) -> None:
    """The group protocol between network services: each RN serves as a party agent under the key it
    authenticated with and announces its pseudonym to its RPM; the User finds the MSRP and the RPMs in RSC,
    asks the MSRP for a group, finds the RNs through the RPMs and relays the rounds; then an RN leaves, a
    new one joins, and the MSRP revokes a member (the User fetches the key update)."""
    from offchain.resource_auth.group_agents import serve_party
    from offchain.resource_auth.group_service import GroupUser, announce

    credentials = world.register_user(b"rsms-demo-user-" + tag)
    agents = []
    for i, (node, key) in enumerate(members):
        agent = Agent(key, name=f"rsms-rn-{i}", role="resource-node")
        serve_party(agent, world.party_for_rn(node))
        agents.append(agent)
    async with AsyncExitStack() as stack:
        for agent in agents:
            await stack.enter_async_context(agent)
        for (node, key), agent in zip(members, agents, strict=True):
            assert node.pool_id is not None
            async with AgentClient(key) as rn_client:
                await announce(rn_client, await find_rpm(registry, node.pool_id), node.pid, agent.endpoint)
        report.note(
            console,
            f"{len(members)} RN party agents announced their pseudonyms to their RPMs (RNs stay out of RSC)",
        )
        client = await stack.enter_async_context(AgentClient(throwaway_key()))
        user = GroupUser(credentials, world.party_for_user(credentials), registry, client)
        group_key = await user.open(size)
        if group_key != desk.manager.sessions[user.session].s_serv:
            raise RuntimeError("the User's group key is not the MSRP's")
        group = user.members()
        answers = [await user.exchange(pid, b"hello group") for pid in group]
        if answers != [b"ack hello group"] * len(group):
            raise RuntimeError("an RN did not answer under the group key")
        report.group_size = len(group)
        report.note(
            console,
            f"User found the MSRP and the RPMs in RSC, got a group of {len(group)} RNs from the MSRP over "
            "HTTP and the RNs' endpoints from their RPMs: membership checked, one session key",
        )
        leaving = group[-1]
        await user.leave([leaving])
        staying = user.members()
        answers = [await user.exchange(pid, b"after the RN left") for pid in staying]
        if answers != [b"ack after the RN left"] * len(staying):
            raise RuntimeError("the remaining RNs disagree on the new key")
        refused = await _attempt(user.exchange(leaving, b"after the RN left"))
        if refused is None or refused.code != "decryption-failed":
            raise RuntimeError(f"the departed RN read traffic under the new key: {refused}")
        report.departed_refused = True
        report.note(
            console,
            f"an RN left: the MSRP's key update (epoch {user.party.epoch}) relayed over HTTP; the departed "
            f"RN → HTTP {refused.status} {refused.code} on new traffic",
        )
        await user.replace([], 1)
        joined = [pid for pid in user.members() if pid not in staying]
        answers = [await user.exchange(pid, b"after the join") for pid in user.members()]
        if len(joined) != 1 or answers != [b"ack after the join"] * len(user.members()):
            raise RuntimeError("the join did not give every member the fresh key")
        report.joined = len(joined)
        report.note(
            console,
            f"a new RN joined (found through its RPM): fresh polynomial and key, epoch {user.party.epoch}",
        )
        revoked = user.members()[0]
        desk.revoke(world.msrp.trace(revoked))
        if await user.poll() is None:
            raise RuntimeError("no key update after revoking a member")
        answers = [await user.exchange(pid, b"after the revocation") for pid in user.members()]
        if revoked in user.members() or answers != [b"ack after the revocation"] * len(user.members()):
            raise RuntimeError("the revocation did not re-key the group")
        refused = await _attempt(user.exchange(revoked, b"after the revocation"))
        if refused is None or refused.code != "decryption-failed":
            raise RuntimeError(f"the revoked RN read traffic under the new key: {refused}")
        report.revoked_member_refused = True
        report.note(
            console,
            f"the MSRP revoked a member: the User fetched the key update (epoch {user.party.epoch}) over "
            f"HTTP; the revoked RN → HTTP {refused.status} {refused.code}",
        )

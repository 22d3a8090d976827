"""The group protocol between network services (spec 002 §3.5): the MSRP's group routes, the RPMs' rosters
of anonymous RNs, and the User's client that discovers everything through RSC.

**MSRP** (its agent, role ``RESOURCE_PROVIDER`` in RSC) serves, to Users holding an MSRP-issued
``(PID_U, sk_U)``, every request Schnorr-signed under ``sk_U`` over ``(action, PID_U, session, size, nonce,
leaving…)``:

* ``rsms-group-open``: allocate ``size`` pool-authenticated, unrevoked RNs and answer the signed set-ups
  (GMA steps 1–2) of every party;
* ``rsms-group-leave``: evict RNs of the User's session (GSKU) → the key updates of every remaining party;
* ``rsms-group-replace``: evict RNs and allocate ``size`` new ones → fresh set-ups of the next epoch (join);
* ``rsms-group-pending``: the key updates the MSRP issued on its own (revocation of a member).

A request signed by another key, for another User's session, or tampered is refused with 403
``unauthorized-sender``; a request whose nonce the MSRP has served already with 409 ``replay-detected``
(the agent layer refuses a re-sent envelope before that); a malformed one with 400.

**RPM** rosters (served on each RPM agent next to the pool-authentication routes): an RN that the RPM
admitted announces ``(PID, endpoint)`` through ``rsms-announce``, accepted only from the envelope address
that ran the authentication (the RN's throw-away key, which it keeps for its party agent), so no one else
can point a pseudonym elsewhere; ``rsms-members`` answers, to whoever presents an MSRP-signed set-up, the
endpoints of the members of that group that this pool admitted, and only those. RNs never appear in RSC:
the User finds the MSRP and the RPMs there, and the RNs through the RPMs.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, Field, field_validator

from offchain.agents.client import AgentClient
from offchain.agents.discovery import Peer
from offchain.agents.errors import AgentError
from offchain.agents.service import Agent
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.resource_auth import schnorr
from offchain.resource_auth.agents import HEX_DATA, Wire, agent_error, find_msrp
from offchain.resource_auth.errors import (
    MalformedMessage,
    NotAllocatable,
    OutOfOrder,
    ReplayDetected,
    RSMSError,
    UnauthorizedSender,
)
from offchain.resource_auth.group import Point
from offchain.resource_auth.group_agents import Frames, GroupRelay, PartyPeer
from offchain.resource_auth.group_auth import GroupManager, GroupParty
from offchain.resource_auth.hashes import encode
from offchain.resource_auth.messages import GroupSetup, KeyUpdate
from offchain.resource_auth.parties import RPM, UserCredentials

OPEN = "rsms-group-open"
LEAVE = "rsms-group-leave"
REPLACE = "rsms-group-replace"
PENDING = "rsms-group-pending"
ANNOUNCE = "rsms-announce"
MEMBERS = "rsms-members"
NONCE_BYTES = 16
POOL_PREFIX = b"rsms-pool-"


def _hex(value: str, limit: int = 256) -> str:
    if len(value) > 2 + 2 * limit or not HEX_DATA.match(value):
        raise ValueError(f"0x-prefixed hex of at most {limit} bytes expected")
    return value


def _raw(value: str) -> bytes:
    return bytes.fromhex(value[2:])


class GroupRequest(BaseModel):
    """A User's request to the MSRP, signed under the User's key."""

    user: str
    session: str = "0x"
    leaving: list[str] = Field(default_factory=list, max_length=256)
    size: int = Field(default=0, ge=0, le=256)
    nonce: str
    signature: str

    @field_validator("user", "session", "nonce", "signature")
    @classmethod
    def _hex_field(cls, value: str) -> str:
        return _hex(value)

    @field_validator("leaving")
    @classmethod
    def _hex_list(cls, values: list[str]) -> list[str]:
        return [_hex(value) for value in values]

    def signed_part(self, action: str) -> bytes:
        return request_bytes(
            action,
            _raw(self.user),
            _raw(self.session),
            [_raw(pid) for pid in self.leaving],
            self.size,
            _raw(self.nonce),
        )


def request_bytes(
    action: str, user: bytes, session: bytes, leaving: Sequence[bytes], size: int, nonce: bytes
) -> bytes:
    return b"RSMS-group-request" + encode(action, user, session, size, nonce, *leaving)


def sign_request(
    user: UserCredentials,
    action: str,
    *,
    session: bytes = b"",
    leaving: Sequence[bytes] = (),
    size: int = 0,
) -> GroupRequest:
    nonce = secrets.token_bytes(NONCE_BYTES)
    message = request_bytes(action, user.pid, session, leaving, size, nonce)
    signature = schnorr.sign(user.sk, user.pk, message).to_bytes()
    return GroupRequest(
        user="0x" + user.pid.hex(),
        session="0x" + session.hex(),
        leaving=["0x" + pid.hex() for pid in leaving],
        size=size,
        nonce="0x" + nonce.hex(),
        signature="0x" + signature.hex(),
    )


def signed_by_msrp(setup: GroupSetup, pk_pub: Point) -> bool:
    """Whether a set-up carries the MSRP's signature over (session, epoch, List_PID, Q, H4(s_serv))."""
    try:
        signature = schnorr.Signature.from_bytes(setup.signature)
    except MalformedMessage:
        return False
    return schnorr.verify(pk_pub, setup.signed_part(), signature)


# --------------------------------------------------------------------------------------------- MSRP


@dataclass
class GroupDesk:
    """The MSRP's group service: who owns each session, the nonces served, the key updates to fetch."""

    manager: GroupManager
    owners: dict[bytes, bytes] = field(default_factory=dict)
    nonces: set[bytes] = field(default_factory=set)
    pending: dict[bytes, list[KeyUpdate]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # routes run in worker threads

    def _check(self, action: str, request: GroupRequest, *, needs_session: bool) -> tuple[bytes, bytes]:
        user = _raw(request.user)
        credentials = self.manager.msrp.users.get(user)
        if credentials is None:
            raise UnauthorizedSender("unknown User")
        try:
            signature = schnorr.Signature.from_bytes(_raw(request.signature))
        except MalformedMessage as exc:
            raise UnauthorizedSender("request signature malformed") from exc
        if not schnorr.verify(credentials.pk, request.signed_part(action), signature):
            raise UnauthorizedSender("request not signed by this User (tampered or another party's)")
        nonce = _raw(request.nonce)
        if len(nonce) != NONCE_BYTES:
            raise MalformedMessage(f"nonce must be {NONCE_BYTES} bytes")
        if nonce in self.nonces:
            raise ReplayDetected("group request already served (nonce seen)")
        session = _raw(request.session)
        if needs_session:
            owner = self.owners.get(session)
            if owner is None:
                raise NotAllocatable("unknown session")
            if owner != user:
                raise UnauthorizedSender("not the User of this session")
        self.nonces.add(nonce)
        return user, session

    def allocate(self, size: int, exclude: set[bytes]) -> list[bytes]:
        """The first ``size`` pool-authenticated, unrevoked RNs outside ``exclude`` (allocation policy is
        out of the paper's scope; this one is deterministic)."""
        chosen: list[bytes] = []
        for pid in self.manager.msrp.authenticated_pids():
            if len(chosen) == size:
                break
            if pid in exclude:
                continue
            try:
                self.manager._rn_party(pid)
            except NotAllocatable:
                continue
            chosen.append(pid)
        if len(chosen) < size:
            raise NotAllocatable(f"only {len(chosen)} allocatable RNs, {size} asked")
        return chosen

    def open(self, request: GroupRequest) -> list[GroupSetup]:
        with self.lock:
            return self._open(request)

    def _open(self, request: GroupRequest) -> list[GroupSetup]:
        user, _ = self._check(OPEN, request, needs_session=False)
        if request.size < 1:
            raise NotAllocatable("a group needs N ≥ 1 RNs")
        setups = self.manager.start_group(user, self.allocate(request.size, set()))
        self.owners[setups[0].session] = user
        return setups

    def leave(self, request: GroupRequest) -> list[KeyUpdate]:
        with self.lock:
            return self._leave(request)

    def _leave(self, request: GroupRequest) -> list[KeyUpdate]:
        _, session = self._check(LEAVE, request, needs_session=True)
        updates = self.pending.pop(session, [])
        leaving = [_raw(pid) for pid in request.leaving]
        if leaving:
            updates += self.manager.update_group(session, leaving)
        return updates

    def replace(self, request: GroupRequest) -> list[GroupSetup]:
        with self.lock:
            return self._replace(request)

    def _replace(self, request: GroupRequest) -> list[GroupSetup]:
        _, session = self._check(REPLACE, request, needs_session=True)
        if self.pending.get(session):
            raise OutOfOrder("fetch the pending key updates first")
        group = self.manager.sessions[session]
        leaving = [_raw(pid) for pid in request.leaving]
        joining = self.allocate(request.size, set(group.pids) | group.evicted | set(leaving))
        return self.manager.replace_members(session, leaving, joining)

    def take_pending(self, request: GroupRequest) -> list[KeyUpdate]:
        with self.lock:
            return self._take_pending(request)

    def _take_pending(self, request: GroupRequest) -> list[KeyUpdate]:
        _, session = self._check(PENDING, request, needs_session=True)
        return self.pending.pop(session, [])

    def revoke(self, rid: bytes) -> list[bytes]:
        """Revoke an RN (ledger, chain) and evict it from every group it is in; the key updates wait for
        each group's User. Returns the sessions re-keyed."""
        with self.lock:
            return self._revoke(rid)

    def _revoke(self, rid: bytes) -> list[bytes]:
        msrp = self.manager.msrp
        record = msrp.rns[rid]
        pids = {pid for pid in (record.last_pid, record.pid) if pid is not None}
        msrp.revoke_rn(rid)
        touched = []
        for session, group in self.manager.sessions.items():
            members = [pid for pid in group.pids[1:] if pid in pids]
            if members:
                self.pending.setdefault(session, []).extend(self.manager.update_group(session, members))
                touched.append(session)
        return touched


def serve_msrp_groups(agent: Agent, desk: GroupDesk) -> None:
    """Register the MSRP's group routes; every refusal is a 4xx with the rejection's name and reason."""

    def frames_route(
        answer: Callable[[GroupRequest], Sequence[GroupSetup | KeyUpdate]], *, threaded: bool = True
    ) -> Callable[[str, GroupRequest], Awaitable[Frames]]:
        async def handle(sender: str, request: GroupRequest) -> Frames:
            try:
                items = await asyncio.to_thread(answer, request) if threaded else answer(request)
            except RSMSError as exc:
                raise agent_error(exc) from exc
            return Frames.of([item.to_bytes() for item in items])

        return handle

    agent.route(OPEN, GroupRequest, frames_route(desk.open))
    agent.route(LEAVE, GroupRequest, frames_route(desk.leave))
    agent.route(REPLACE, GroupRequest, frames_route(desk.replace))
    agent.route(PENDING, GroupRequest, frames_route(desk.take_pending, threaded=False))


# ---------------------------------------------------------------------------------------------- RPM


class Announcement(BaseModel):
    """An admitted RN's party agent: its pseudonym and where it serves."""

    pid: str
    endpoint: str = Field(min_length=8, max_length=256, pattern=r"^https?://")

    @field_validator("pid")
    @classmethod
    def _pid(cls, value: str) -> str:
        return _hex(value, 64)


class Member(BaseModel):
    pid: str
    endpoint: str
    address: str


class MemberList(BaseModel):
    members: list[Member] = Field(max_length=256)


@dataclass
class Roster:
    """An RPM's view of its admitted RNs: the envelope address that authenticated each pseudonym, and the
    party agent each announced."""

    rpm: RPM
    admitted: dict[bytes, str] = field(default_factory=dict)
    announced: dict[bytes, tuple[str, str]] = field(default_factory=dict)


def serve_roster(agent: Agent, rpm: RPM) -> Roster:
    """Register ``rsms-announce`` and ``rsms-members`` on an RPM agent; returns the roster to fill."""
    roster = Roster(rpm)

    async def on_announce(sender: str, request: Announcement) -> Wire:
        pid = _raw(request.pid)
        if pid not in rpm.members or roster.admitted.get(pid) != sender:
            raise AgentError(403, "not-admitted", "this pseudonym was not admitted here by this sender")
        roster.announced[pid] = (request.endpoint, sender)
        return Wire.of(b"")

    async def members(sender: str, request: Wire) -> MemberList:
        try:
            setup = GroupSetup.from_bytes(request.raw())
        except RSMSError as exc:
            raise agent_error(exc) from exc
        if not signed_by_msrp(setup, rpm.params.pk_pub):
            raise agent_error(UnauthorizedSender("set-up not signed by the MSRP"))
        listed = [
            Member(pid="0x" + pid.hex(), endpoint=roster.announced[pid][0], address=roster.announced[pid][1])
            for pid in setup.pids
            if pid in roster.announced and pid in rpm.members
        ]
        return MemberList(members=listed)

    agent.route(ANNOUNCE, Announcement, on_announce)
    agent.route(MEMBERS, Wire, members)
    return roster


async def announce(client: AgentClient, rpm_peer: Peer, pid: bytes, endpoint: str) -> None:
    """RN → its RPM: serve my pseudonym at ``endpoint`` (``client`` must hold the authenticating key)."""
    await client.call(
        rpm_peer.endpoint,
        rpm_peer.address,
        ANNOUNCE,
        Announcement(pid="0x" + pid.hex(), endpoint=endpoint),
        Wire,
    )


# --------------------------------------------------------------------------------------------- User


class GroupUser:
    """The User of a group as a client of the network: the MSRP and the RPMs found in RSC, the RNs through
    the RPMs, the group's broadcast relayed by :class:`GroupRelay`."""

    def __init__(
        self,
        credentials: UserCredentials,
        party: GroupParty,
        registry: RegistryClient,
        client: AgentClient,
    ) -> None:
        self.credentials = credentials
        self.registry = registry
        self.client = client
        self.relay = GroupRelay(party, [], client)
        self.session = b""
        self._members: list[bytes] = []

    @property
    def party(self) -> GroupParty:
        return self.relay.user

    def peer(self, pid: bytes) -> PartyPeer:
        return self.relay.peers[pid]

    async def _ask(self, action: str, *, leaving: Sequence[bytes] = (), size: int = 0) -> list[bytes]:
        msrp = await find_msrp(self.registry)
        request = sign_request(self.credentials, action, session=self.session, leaving=leaving, size=size)
        answer = await self.client.call(msrp.endpoint, msrp.address, action, request, Frames)
        return answer.raw()

    async def discover(self, setup: GroupSetup) -> None:
        """Find the RNs of ``setup`` not known yet, asking each RPM in RSC with the MSRP-signed set-up."""
        wanted = {pid for pid in setup.pids if pid != self.party.pid and pid not in self.relay.peers}
        records = await asyncio.to_thread(self.registry.discover, ActorRole.POOL_MANAGER)
        for record in records:
            if not wanted:
                break
            if not record.provider.startswith(POOL_PREFIX):
                continue
            answer = await self.client.call(
                record.endpoint, record.address, MEMBERS, Wire.of(setup.to_bytes()), MemberList
            )
            for member in answer.members:
                pid = _raw(member.pid)
                if pid in wanted:
                    self.relay.peers[pid] = PartyPeer(pid, member.endpoint, member.address)
                    wanted.discard(pid)
        if wanted:
            raise LookupError(f"{len(wanted)} RN(s) of the group announced at no RPM")

    async def _agree(self, frames: list[bytes]) -> int:
        setups = [GroupSetup.from_bytes(frame) for frame in frames]
        mine = next(setup for setup in setups if setup.recipient == self.party.pid)
        self.session = mine.session
        await self.discover(mine)
        key = await self.relay.agree(setups)
        self._members = [pid for pid in mine.pids if pid != self.party.pid]
        return key

    async def _update(self, updates: list[KeyUpdate]) -> int:
        key = await self.relay.update(updates)
        last = max(update.epoch for update in updates)
        self._members = [u.recipient for u in updates if u.epoch == last and u.recipient != self.party.pid]
        return key

    async def open(self, size: int) -> int:
        """GMA + GSKA with ``size`` RNs the MSRP allocates; returns the session key."""
        self.session = b""
        return await self._agree(await self._ask(OPEN, size=size))

    async def leave(self, pids: Sequence[bytes]) -> int:
        """GSKU: the RNs ``pids`` leave (any pending MSRP update first); returns the new key."""
        updates = [KeyUpdate.from_bytes(frame) for frame in await self._ask(LEAVE, leaving=pids)]
        if not updates:
            raise LookupError("the MSRP sent no key update")
        return await self._update(updates)

    async def replace(self, leaving: Sequence[bytes], size: int) -> int:
        """Join/replace: ``leaving`` go, ``size`` new RNs come; fresh key of the next epoch."""
        return await self._agree(await self._ask(REPLACE, leaving=leaving, size=size))

    async def poll(self) -> int | None:
        """Fetch and deliver the key updates the MSRP issued on its own (revocation); None if none."""
        updates = [KeyUpdate.from_bytes(frame) for frame in await self._ask(PENDING)]
        return await self._update(updates) if updates else None

    async def exchange(self, pid: bytes, text: bytes) -> bytes:
        return await self.relay.exchange(self.relay.peers[pid], text)

    def members(self) -> list[bytes]:
        """The RNs of the current epoch, in the group's order."""
        return list(self._members)

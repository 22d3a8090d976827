"""Group authentication of a User and N RNs over HTTP (spec 002 §3.5): each RN is a party agent, the User
relays the group's broadcast channel.

Each RN of a group serves, as an agent of the platform (signed envelopes, replay cache, 4xx with reasons):

* ``rsms-group-setup``: the MSRP's signed set-up for this RN (GMA step 2) → its ``f(x_i)·P`` and ``C_i``;
* ``rsms-group-points``: every party's points → membership check ``∑ C_i = Q`` (step 5), then its masked
  shares (GSKA);
* ``rsms-group-shares``: the masked shares addressed to it → the key and its check ``H4(s') = H4(s_serv)``;
* ``rsms-group-update``: the MSRP's key update (GSKU), accepted only if
  ``s^new·P = Q + H5(Q, PK_pub)·PK_pub``;
* ``rsms-group-data``: a service frame under the current group key → the RN's sealed acknowledgement.

The User relays: the paper assumes a broadcast channel among the parties, and every message relayed is
either MSRP-authenticated (the signed set-up, the key update checked against PK_pub) or bound by the
membership check, so a relay that drops or alters one makes the honest parties refuse (named error, 4xx)
and never agree on a wrong key. RN agents sign their envelopes with throw-away keys (RNs stay
anonymous); the User finds them through their RPMs (:mod:`offchain.resource_auth.group_service`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field, field_validator

from offchain.agents.client import AgentClient
from offchain.agents.service import Agent
from offchain.resource_auth.agents import HEX_DATA, Wire, agent_error
from offchain.resource_auth.errors import RSMSError
from offchain.resource_auth.group_auth import GroupParty
from offchain.resource_auth.messages import GroupSetup, KeyUpdate, MaskedShare, PartyPoint

SETUP = "rsms-group-setup"
POINTS = "rsms-group-points"
SHARES = "rsms-group-shares"
UPDATE = "rsms-group-update"
DATA = "rsms-group-data"


class Frames(BaseModel):
    """Several RSMS group messages in their byte encodings, as 0x-hex."""

    frames: list[str] = Field(max_length=2 * 1024)

    @field_validator("frames")
    @classmethod
    def _hex(cls, values: list[str]) -> list[str]:
        for value in values:
            if len(value) > 2 + 2 * 4096 or not HEX_DATA.match(value):
                raise ValueError("each frame is 0x-prefixed hex of at most 4096 bytes")
        return values

    @classmethod
    def of(cls, frames: Sequence[bytes]) -> Frames:
        return cls(frames=["0x" + frame.hex() for frame in frames])

    def raw(self) -> list[bytes]:
        return [bytes.fromhex(frame[2:]) for frame in self.frames]


def serve_party(agent: Agent, party: GroupParty) -> None:
    """Register an RN's group routes on ``agent``; every refusal is a 4xx with the rejection's name."""

    async def setup(sender: str, request: Wire) -> Frames:
        try:
            points = party.on_setup(GroupSetup.from_bytes(request.raw()))
        except RSMSError as exc:
            raise agent_error(exc) from exc
        return Frames.of([point.to_bytes() for point in points])

    async def points(sender: str, request: Frames) -> Frames:
        try:
            messages = [PartyPoint.from_bytes(frame) for frame in request.raw()]
            for message in sorted(messages, key=lambda m: m.kind != "share"):
                if message.sender != party.index:
                    party.on_point(message)
            party.verify_membership()
            shares = party.masked_shares()
        except RSMSError as exc:
            raise agent_error(exc) from exc
        return Frames.of([share.to_bytes() for share in shares])

    async def shares(sender: str, request: Frames) -> Wire:
        try:
            for frame in request.raw():
                party.on_masked_share(MaskedShare.from_bytes(frame))
            party.finish_key_agreement()
        except RSMSError as exc:
            raise agent_error(exc) from exc
        return Wire.of(b"")

    async def update(sender: str, request: Wire) -> Wire:
        try:
            party.on_key_update(KeyUpdate.from_bytes(request.raw()))
        except RSMSError as exc:
            raise agent_error(exc) from exc
        return Wire.of(b"")

    async def data(sender: str, request: Wire) -> Wire:
        try:
            channel = party.channel()
            plaintext = channel.open(request.raw())
        except RSMSError as exc:
            raise agent_error(exc) from exc
        return Wire.of(channel.seal(b"ack " + plaintext))

    agent.route(SETUP, Wire, setup)
    agent.route(POINTS, Frames, points)
    agent.route(SHARES, Frames, shares)
    agent.route(UPDATE, Wire, update)
    agent.route(DATA, Wire, data)


@dataclass(frozen=True)
class PartyPeer:
    """Where the User reaches an RN of its group: the RN's pseudonym, endpoint and envelope address."""

    pid: bytes
    endpoint: str
    address: str


class GroupRelay:
    """The User's side of a group over HTTP: its own :class:`GroupParty` and the relay of every round."""

    def __init__(self, user: GroupParty, peers: Sequence[PartyPeer], client: AgentClient) -> None:
        self.user = user
        self.peers = {peer.pid: peer for peer in peers}
        self.client = client

    async def agree(self, setups: Sequence[GroupSetup]) -> int:
        """GMA + GSKA: deliver the MSRP's set-ups, relay every party's points to every RN, then the masked
        shares to their receivers; returns the User's key (each RN has checked the same key)."""
        user_setup = next(setup for setup in setups if setup.recipient == self.user.pid)
        points = list(self.user.on_setup(user_setup))
        for setup in setups:
            if setup.recipient != self.user.pid:
                peer = self.peers[setup.recipient]
                answer = await self.client.call(
                    peer.endpoint, peer.address, SETUP, Wire.of(setup.to_bytes()), Frames
                )
                points.extend(PartyPoint.from_bytes(frame) for frame in answer.raw())
        ordered = sorted(points, key=lambda m: m.kind != "share")
        for message in ordered:
            if message.sender != self.user.index:
                self.user.on_point(message)
        self.user.verify_membership()
        masked = list(self.user.masked_shares())
        broadcast = Frames.of([message.to_bytes() for message in ordered])
        for peer in self._members():
            answer = await self.client.call(peer.endpoint, peer.address, POINTS, broadcast, Frames)
            masked.extend(MaskedShare.from_bytes(frame) for frame in answer.raw())
        for share in masked:
            if share.receiver == self.user.index:
                self.user.on_masked_share(share)
        key = self.user.finish_key_agreement()
        for peer in self._members():
            index = self.user.pids.index(peer.pid) + 1
            mine = [share.to_bytes() for share in masked if share.receiver == index]
            await self.client.call(peer.endpoint, peer.address, SHARES, Frames.of(mine), Wire)
        return key

    async def update(self, updates: Sequence[KeyUpdate]) -> int:
        """GSKU: deliver the MSRP's key updates (the User's own in process); returns the User's new key."""
        key = 0
        for message in updates:
            if message.recipient == self.user.pid:
                key = self.user.on_key_update(message)
            else:
                peer = self.peers[message.recipient]
                await self.client.call(peer.endpoint, peer.address, UPDATE, Wire.of(message.to_bytes()), Wire)
        return key

    async def exchange(self, peer: PartyPeer, text: bytes) -> bytes:
        """Send one service frame under the current group key to an RN and open its sealed answer."""
        channel = self.user.channel()
        answer = await self.client.call(peer.endpoint, peer.address, DATA, Wire.of(channel.seal(text)), Wire)
        return channel.open(answer.raw())

    def _members(self) -> list[PartyPeer]:
        """The RNs of the current epoch, in the group's order."""
        return [self.peers[pid] for pid in self.user.pids if pid != self.user.pid]

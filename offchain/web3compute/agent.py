"""Channel updates over HTTP on the agent base: a party serves ``channel-update``, its peer pushes to it.

The request is a signed envelope (``offchain.agents``) carrying one or more consecutive proposals (state,
proposer's signature, payload); the answer, signed by the serving agent, carries its countersignatures,
released only after the co-signed state is durable. Refusals are 4xx with the reason (400 malformed, 401
bad signature, 403 not the channel's counterparty, 404 unknown channel, 409 stale nonce or final channel).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pydantic import BaseModel, Field

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentError
from offchain.agents.service import Agent
from offchain.web3compute.channel import ChannelError, ChannelParty
from offchain.web3compute.state import ChannelState, MalformedState
from offchain.web3compute.store import SignedState

ACTION = "channel-update"
LATEST_ACTION = "channel-latest"
MAX_PAYLOAD_HEX = 2 * 256 * 1024  # 256 KiB of payload per proposal


class Proposed(BaseModel):
    """One proposal: the state (``ChannelState.to_json``), the proposer's signature, the payload."""

    state: dict[str, object]
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")
    payload: str | None = Field(default=None, pattern=r"^0x([0-9a-fA-F]{2})*$", max_length=MAX_PAYLOAD_HEX)


class UpdateRequest(BaseModel):
    channel_id: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    proposals: list[Proposed] = Field(min_length=1, max_length=256)


class UpdateResponse(BaseModel):
    signatures: list[str]


class LatestRequest(BaseModel):
    channel_id: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")


class LatestResponse(BaseModel):
    """The newest co-signed state (``state`` None while only the implicit initial state exists)."""

    state: dict[str, object] | None
    sig_a: str | None = None
    sig_b: str | None = None


def serve_channels(
    agent: Agent,
    parties: Mapping[bytes, ChannelParty],
    *,
    received: Callable[[bytes], bool] | None = None,
) -> None:
    """Serve ``channel-update`` for the channels in ``parties`` (by channel id; the mapping may grow).

    ``received(payload)``, when given, says whether this host really received ``payload`` (e.g. its
    sandbox Exit saw that envelope): a proposal committing to anything else is refused (409
    ``not-received``), so a party only countersigns transmissions that reached it.
    """

    async def on_update(sender: str, request: UpdateRequest) -> UpdateResponse:
        party = parties.get(bytes.fromhex(request.channel_id[2:]))
        if party is None:
            raise AgentError(404, "unknown-channel", f"no channel {request.channel_id} here")
        if sender != party.counterparty:
            raise AgentError(403, "not-counterparty", f"{sender} is not a party of this channel")
        try:
            items = [
                (
                    ChannelState.from_json(dict(p.state)),
                    bytes.fromhex(p.signature[2:]),
                    None if p.payload is None else bytes.fromhex(p.payload[2:]),
                )
                for p in request.proposals
            ]
        except MalformedState as exc:
            raise AgentError(400, "malformed-state", str(exc)) from exc
        if received is not None:
            for _, _, payload in items:
                if payload is not None and not received(payload):
                    raise AgentError(409, "not-received", "this host never received that payload")
        try:
            signatures = party.countersign_many(items)
        except ChannelError as exc:
            raise AgentError(exc.status, exc.code, exc.reason) from exc
        return UpdateResponse(signatures=["0x" + s.hex() for s in signatures])

    async def on_latest(sender: str, request: LatestRequest) -> LatestResponse:
        party = parties.get(bytes.fromhex(request.channel_id[2:]))
        if party is None:
            raise AgentError(404, "unknown-channel", f"no channel {request.channel_id} here")
        if sender != party.counterparty:
            raise AgentError(403, "not-counterparty", f"{sender} is not a party of this channel")
        signed = party.latest_signed
        if signed is None:
            return LatestResponse(state=None)
        return LatestResponse(
            state=dict(signed.state.to_json()),
            sig_a="0x" + signed.sig_a.hex(),
            sig_b="0x" + signed.sig_b.hex(),
        )

    agent.route(ACTION, UpdateRequest, on_update)
    agent.route(LATEST_ACTION, LatestRequest, on_latest)


async def push_updates(
    client: AgentClient,
    endpoint: str,
    party: ChannelParty,
    payloads: list[bytes | None],
    *,
    pay: int = 0,
) -> SignedState:
    """Propose one state per payload (at most ``party.window``), have the counterparty at ``endpoint``
    countersign them, and persist the newest co-signed state. Refusals raise ``AgentCallError``."""
    proposals = [party.propose(payload, pay=pay) for payload in payloads]
    request = UpdateRequest(
        channel_id="0x" + party.channel_id.hex(),
        proposals=[
            Proposed(
                state=dict(p.state.to_json()),
                signature="0x" + p.signature.hex(),
                payload=None if payload is None else "0x" + payload.hex(),
            )
            for p, payload in zip(proposals, payloads, strict=True)
        ],
    )
    try:
        answer = await client.call(endpoint, party.counterparty, ACTION, request, UpdateResponse)
    except Exception:
        party.abandon()
        raise
    signatures = [bytes.fromhex(s[2:]) for s in answer.signatures]
    return party.accept_many([(p.state, s) for p, s in zip(proposals, signatures, strict=True)])


async def push_final(
    client: AgentClient, endpoint: str, party: ChannelParty, result_hash: bytes
) -> SignedState:
    """Agree the final state (carrying the task result hash) with the counterparty."""
    proposal = party.propose_final(result_hash)
    request = UpdateRequest(
        channel_id="0x" + party.channel_id.hex(),
        proposals=[Proposed(state=dict(proposal.state.to_json()), signature="0x" + proposal.signature.hex())],
    )
    try:
        answer = await client.call(endpoint, party.counterparty, ACTION, request, UpdateResponse)
    except Exception:
        party.abandon()
        raise
    return party.accept(proposal.state, bytes.fromhex(answer.signatures[0][2:]))


async def resync(client: AgentClient, endpoint: str, party: ChannelParty) -> bool:
    """After a restart, fetch the counterparty's newest co-signed state and adopt it if it is newer than
    mine (both signatures checked). Returns whether my latest state moved forward."""
    answer = await client.call(
        endpoint,
        party.counterparty,
        LATEST_ACTION,
        LatestRequest(channel_id="0x" + party.channel_id.hex()),
        LatestResponse,
    )
    if answer.state is None or answer.sig_a is None or answer.sig_b is None:
        return False
    try:
        state = ChannelState.from_json(dict(answer.state))
        signed = SignedState(state, bytes.fromhex(answer.sig_a[2:]), bytes.fromhex(answer.sig_b[2:]))
    except (MalformedState, ValueError) as exc:
        raise ChannelError("malformed-state", f"the counterparty sent a malformed state: {exc}") from exc
    return party.adopt(signed)

"""Every RSMS message decoder turns any malformed byte string into MalformedMessage, never another error."""

from __future__ import annotations

import random

import pytest

from offchain.resource_auth.agents import sign_directory
from offchain.resource_auth.errors import MalformedMessage
from offchain.resource_auth.flows import World
from offchain.resource_auth.group_auth import GroupManager
from offchain.resource_auth.messages import (
    AuthAck,
    AuthReport,
    AuthResponse,
    DirectoryEntry,
    GroupSetup,
    InitialAuthRequest,
    KeyUpdate,
    MaskedShare,
    PartyPoint,
    ReauthRequest,
)

DECODERS = [
    AuthAck,
    AuthReport,
    AuthResponse,
    DirectoryEntry,
    GroupSetup,
    InitialAuthRequest,
    KeyUpdate,
    MaskedShare,
    PartyPoint,
    ReauthRequest,
]


@pytest.fixture(scope="module")
def valid() -> dict[type, bytes]:
    world = World.create(pools=2)
    rn = world.register_rn(1, b"rn-1")
    world.initial_auth(rn, 1)
    world.reauth(rn, 2)
    frames = {name: data for name, data in world.transcript.frames}
    user = world.register_user(b"alice")
    manager = GroupManager(world.msrp)
    setups = manager.start_group(user.pid, [rn.pid])
    party = world.party_for_user(user)
    share, _ = party.on_setup(setups[0])
    update = manager.update_group(setups[0].session, [])[0]
    return {
        AuthAck: frames["ack"],
        AuthReport: frames["report"],
        AuthResponse: frames["response"],
        DirectoryEntry: sign_directory(world.msrp, 1).to_bytes(),
        GroupSetup: setups[0].to_bytes(),
        InitialAuthRequest: frames["init-request"],
        KeyUpdate: update.to_bytes(),
        MaskedShare: MaskedShare(share.session, 1, 1, 2, bytes(32)).to_bytes(),
        PartyPoint: share.to_bytes(),
        ReauthRequest: frames["reauth-request"],
    }


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: d.__name__)
def test_round_trip_and_malformed_inputs(decoder: type, valid: dict[type, bytes]) -> None:
    data = valid[decoder]
    assert decoder.from_bytes(data).to_bytes() == data  # type: ignore[attr-defined]
    rng = random.Random(decoder.__name__)
    candidates = [b"", data[:-1], data + b"\x00", bytes(len(data)), b"\xff" * len(data)]
    candidates += [data[: rng.randrange(len(data))] for _ in range(20)]
    candidates += [rng.randbytes(rng.randrange(1, 2 * len(data))) for _ in range(40)]
    for _ in range(40):
        flipped = bytearray(data)
        flipped[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        candidates.append(bytes(flipped))
    for candidate in candidates:
        try:
            decoded = decoder.from_bytes(candidate)  # type: ignore[attr-defined]
        except MalformedMessage:
            continue
        assert decoded.to_bytes() == candidate  # whatever decodes is canonical

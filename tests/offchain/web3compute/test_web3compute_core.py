"""The pure seed 004 core: channel states (EIP-712 digest, JSON, transcript chain) and server selection."""

from __future__ import annotations

import pytest

from offchain.chain.registry import NodeRecord, NodeStatus, Resources
from offchain.chain.roles import ActorRole
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import derive
from offchain.crypto.signing import recover_typed_data_signer
from offchain.web3compute.state import (
    STATE_TYPES,
    ChannelDomain,
    ChannelState,
    MalformedState,
    next_transcript,
    sign_state,
    sorted_parties,
    state_signer,
)
from offchain.web3compute.tasks import NotEnoughServers, Requirements, select_servers

DOMAIN = ChannelDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
ALICE, BOB = derive(b"core", 1), derive(b"core", 2)


def a_state(**changes: object) -> ChannelState:
    base = ChannelState(keccak256(b"c"), keccak256(b"t"), 3, 40, 60, 3, keccak256(b"T3"))
    return ChannelState(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_signatures_verify_with_the_generic_eip712_code_and_recover_the_signer() -> None:
    state = a_state()
    signature = sign_state(ALICE, DOMAIN, state)
    assert state_signer(DOMAIN, state, signature) == ALICE.address
    assert recover_typed_data_signer(DOMAIN.as_dict(), STATE_TYPES, "State", state.message(), signature) == (
        ALICE.address
    )
    # Any field change, or another domain, recovers someone else.
    assert state_signer(DOMAIN, a_state(nonce=4), signature) != ALICE.address
    other = ChannelDomain(1, DOMAIN.manager)
    assert state_signer(other, state, signature) != ALICE.address
    with pytest.raises(MalformedState):
        state_signer(DOMAIN, state, signature[:64])


def test_json_round_trip_and_malformed_input() -> None:
    state = a_state(result_hash=keccak256(b"r"), is_final=True)
    assert ChannelState.from_json(state.to_json()) == state
    for key, value in (("nonce", "-1"), ("nonce", 1.5), ("isFinal", "yes"), ("channelId", "0x12")):
        bad = {**state.to_json(), key: value}
        with pytest.raises(MalformedState):
            ChannelState.from_json(bad)
    with pytest.raises(MalformedState):
        ChannelState.from_json({"nonce": "1"})
    with pytest.raises(MalformedState):
        a_state(nonce=2**256)
    with pytest.raises(MalformedState):
        a_state(channel_id=b"short")


def test_advance_keeps_the_escrow_and_refuses_to_pass_a_final_state() -> None:
    state = a_state()
    following = state.advance(balance_a=10, messages=1)
    assert (following.nonce, following.msg_count, following.escrow) == (4, 4, 100)
    assert following.balance_b == 90
    with pytest.raises(MalformedState):
        state.advance(balance_a=101)
    with pytest.raises(MalformedState):
        state.advance(is_final=True).advance()


def test_transcript_chain_commits_to_order_and_content() -> None:
    a, b = ALICE.address, BOB.address
    t1 = next_transcript(bytes(32), keccak256(b"m1"), a, b, 1)
    t2 = next_transcript(t1, keccak256(b"m2"), b, a, 2)
    swapped = next_transcript(
        next_transcript(bytes(32), keccak256(b"m2"), b, a, 1), keccak256(b"m1"), a, b, 2
    )
    assert t2 != swapped
    assert t1 == keccak256(
        bytes(32) + keccak256(b"m1") + bytes.fromhex(a[2:]) + bytes.fromhex(b[2:]) + (1).to_bytes(32, "big")
    )


def test_parties_are_ordered_numerically_and_must_differ() -> None:
    a, b = sorted_parties(BOB.address, ALICE.address)
    assert int(a, 16) < int(b, 16)
    with pytest.raises(MalformedState):
        sorted_parties(a, a.lower())
    assert DOMAIN.channel_id(keccak256(b"t"), a, b) == DOMAIN.channel_id(keccak256(b"t"), b, a)


def _node(
    index: int, roles: ActorRole, cores: int, storage: int = 0, status: NodeStatus = NodeStatus.ACTIVE
) -> NodeRecord:
    key = derive(b"node", index)
    return NodeRecord(
        key.address,
        status,
        roles,
        ActorRole(0),
        0,
        b"",
        b"",
        b"",
        "",
        Resources("", cores, 0, storage, 1_000),
    )


def test_selection_prefers_more_cores_then_lower_addresses() -> None:
    nodes = [
        _node(1, ActorRole.COMPUTE_SERVER, 4),
        _node(2, ActorRole.COMPUTE_SERVER, 8),
        _node(3, ActorRole.COMPUTE_SERVER, 4),
        _node(4, ActorRole.COMPUTE_SERVER, 16, status=NodeStatus.DEREGISTERED),
        _node(5, ActorRole.COMPUTE_SERVER, 2),
        _node(6, ActorRole.STORAGE_SERVER, 1, storage=100),
        _node(7, ActorRole.STORAGE_SERVER, 1, storage=10),
    ]
    req = Requirements(
        nodes[0].address, keccak256(b"p"), min_cpu_cores=4, min_storage_gib=50, compute_nodes=3
    )
    picked = select_servers(nodes, req)
    fours = sorted([nodes[0].address, nodes[2].address], key=lambda a: int(a, 16))
    assert picked.compute == [nodes[1].address, *fours]
    assert picked.global_node == nodes[1].address
    assert picked.storage == [nodes[5].address]
    busy = select_servers(
        nodes,
        Requirements(nodes[0].address, keccak256(b"p"), min_cpu_cores=4, compute_nodes=2),
        busy=[nodes[1].address],
    )
    assert busy.compute == fours
    with pytest.raises(NotEnoughServers):
        select_servers(nodes, req, busy=[nodes[1].address])
    with pytest.raises(NotEnoughServers):
        select_servers(nodes, req, storage_candidates=[nodes[6].address])


def test_the_reusable_signer_and_the_raw_address_check_match_the_module_functions() -> None:
    from offchain.crypto.signing import DigestSigner, is_hash_signer, recover_hash_signer, sign_hash

    digest = keccak256(b"digest")
    signature = DigestSigner(ALICE).sign(digest)
    assert signature == sign_hash(ALICE, digest)
    assert recover_hash_signer(digest, signature) == ALICE.address
    assert is_hash_signer(digest, signature, ALICE.address)
    assert is_hash_signer(digest, signature, ALICE.address.lower())
    assert not is_hash_signer(digest, signature, BOB.address)
    assert not is_hash_signer(digest, signature[:64], ALICE.address)
    assert not is_hash_signer(digest, signature, "not an address")

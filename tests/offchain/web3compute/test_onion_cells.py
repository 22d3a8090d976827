"""The pure onion format: layering in inverse order, one layer per key, constant sizes, tamper detection."""

from __future__ import annotations

import pytest

from offchain.crypto.keys import KeyPair, derive
from offchain.web3compute.onion.cells import (
    SLOT_SIZE,
    CellFormat,
    Command,
    Hop,
    MalformedCell,
    build_onion,
    peel,
    unwrap_reply,
    wrap_reply,
)
from offchain.web3compute.onion.e2e import (
    max_request_size,
    open_reply,
    open_request,
    seal_reply,
    seal_request,
)

FMT = CellFormat(max_hops=6, payload_size=1024)
EXIT = "127.0.0.3:7000"


def keys(count: int, seed: bytes = b"onion-cells") -> list[KeyPair]:
    return [derive(seed, index) for index in range(count)]


def path_of(routers: list[KeyPair]) -> list[Hop]:
    return [Hop(f"127.0.0.{11 + i}:{9000 + i}", key.compressed_public_key) for i, key in enumerate(routers)]


def payload_for(exit_key: KeyPair, data: bytes) -> bytes:
    payload, _ = seal_request(exit_key.compressed_public_key, data, FMT.payload_size)
    return payload


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_k_hop_onion_peels_to_the_exit_payload(k: int) -> None:
    routers, exit_key = keys(k), derive(b"exit", 0)
    path = path_of(routers)
    payload = payload_for(exit_key, b"model update")
    onion = build_onion(path, EXIT, payload, FMT)
    assert onion.first_hop == path[0].address
    cell = onion.cell
    for index, router in enumerate(routers):
        assert len(cell) == FMT.cell_size  # every router receives the same number of bytes
        layer = peel(router, cell, FMT)
        if index < k - 1:
            assert layer.command is Command.RELAY
            assert layer.next_hop == path[index + 1].address
        else:
            assert layer.command is Command.DELIVER
            assert layer.next_hop == EXIT
        cell = layer.outgoing
    assert cell == payload
    data, _ = open_request(exit_key, cell)
    assert data == b"model update"


def test_layers_are_built_in_inverse_order() -> None:
    """The outermost layer opens only with OR_1's key; OR_2's and OR_3's keys fail on it (spec S8 b, d)."""
    routers = keys(3)
    onion = build_onion(path_of(routers), EXIT, payload_for(derive(b"exit", 0), b"x"), FMT)
    for other in routers[1:]:
        with pytest.raises(MalformedCell, match="does not authenticate"):
            peel(other, onion.cell, FMT)
    second = peel(routers[0], onion.cell, FMT).outgoing
    with pytest.raises(MalformedCell):
        peel(routers[2], second, FMT)
    assert peel(routers[1], second, FMT).next_hop == path_of(routers)[2].address


def test_no_hop_can_read_the_payload() -> None:
    routers, exit_key = keys(3), derive(b"exit", 0)
    secret = b"plaintext training data " * 8
    onion = build_onion(path_of(routers), EXIT, payload_for(exit_key, secret), FMT)
    cell = onion.cell
    seen = [cell]
    for router in routers:
        cell = peel(router, cell, FMT).outgoing
        seen.append(cell)
    assert all(secret not in blob for blob in seen)
    assert len({blob[-FMT.payload_size :] for blob in seen}) == len(seen)  # unlinkable by content


@pytest.mark.parametrize("where", ["routing", "later-slot", "payload", "ephemeral-key"])
def test_tampered_cells_are_rejected(where: str) -> None:
    routers = keys(3)
    onion = build_onion(path_of(routers), EXIT, payload_for(derive(b"exit", 0), b"x"), FMT)
    cell = bytearray(onion.cell)
    offset = {"routing": 40, "later-slot": SLOT_SIZE + 40, "payload": FMT.header_size + 7, "ephemeral-key": 5}
    cell[offset[where]] ^= 0x01
    if where == "later-slot":  # OR_1 cannot see the change; OR_2 rejects it
        relayed = peel(routers[0], bytes(cell), FMT).outgoing
        with pytest.raises(MalformedCell, match="does not authenticate"):
            peel(routers[1], relayed, FMT)
        return
    with pytest.raises(MalformedCell) as info:
        peel(routers[0], bytes(cell), FMT)
    expected = {"routing": "authenticate", "payload": "MAC", "ephemeral-key": "ephemeral|authenticate"}
    assert info.match(expected[where])


def test_wrong_sizes_and_garbage_are_rejected() -> None:
    router = keys(1)[0]
    with pytest.raises(MalformedCell, match="expected"):
        peel(router, b"\x00" * (FMT.cell_size - 1), FMT)
    with pytest.raises(MalformedCell):
        peel(router, b"\x02" * FMT.cell_size, FMT)
    with pytest.raises(MalformedCell, match="expected"):
        unwrap_reply((), b"short", FMT)


def test_build_rejects_bad_paths_and_payloads() -> None:
    routers = keys(7)
    payload = payload_for(derive(b"exit", 0), b"x")
    with pytest.raises(ValueError, match="hops"):
        build_onion(path_of(routers), EXIT, payload, FMT)
    with pytest.raises(ValueError, match="hops"):
        build_onion([], EXIT, payload, FMT)
    with pytest.raises(ValueError, match="payload must be"):
        build_onion(path_of(routers[:3]), EXIT, payload[:-1], FMT)
    with pytest.raises(ValueError, match="ASCII"):
        build_onion(path_of(routers[:3]), "h" * 60 + ":1", payload, FMT)


def test_replies_come_back_through_every_layer() -> None:
    routers, exit_key = keys(3), derive(b"exit", 0)
    payload, reply_key = seal_request(exit_key.compressed_public_key, b"ping", FMT.payload_size)
    onion = build_onion(path_of(routers), EXIT, payload, FMT)
    cell, layers = onion.cell, []
    for router in routers:
        layer = peel(router, cell, FMT)
        layers.append(layer)
        cell = layer.outgoing
    data, exit_reply_key = open_request(exit_key, cell)
    reply = seal_reply(exit_reply_key, data + b" pong", FMT.payload_size)
    for layer in reversed(layers):
        reply = wrap_reply(layer.reply_key, reply)
    assert open_reply(reply_key, unwrap_reply(onion.reply_keys, reply, FMT)) == b"ping pong"
    forged = bytearray(reply)
    forged[3] ^= 0x80
    with pytest.raises(MalformedCell, match="reply does not authenticate"):
        open_reply(reply_key, unwrap_reply(onion.reply_keys, bytes(forged), FMT))


def test_end_to_end_layer_binds_the_exit_and_the_size() -> None:
    exit_key, other = derive(b"exit", 0), derive(b"exit", 1)
    payload, _ = seal_request(exit_key.compressed_public_key, b"data", FMT.payload_size)
    assert len(payload) == FMT.payload_size
    with pytest.raises(MalformedCell, match="not sealed to this Exit"):
        open_request(other, payload)
    biggest = b"z" * max_request_size(FMT.payload_size)
    assert open_request(exit_key, seal_request(exit_key.compressed_public_key, biggest, FMT.payload_size)[0])[
        0
    ] == (biggest)
    with pytest.raises(ValueError, match="does not fit"):
        seal_request(exit_key.compressed_public_key, biggest + b"z", FMT.payload_size)

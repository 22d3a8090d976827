"""The market's encodings (offchain/modexp/encoding.py): widths, round trips, commitments, bad input."""

from __future__ import annotations

import random

import pytest
from eth_abi.abi import encode as abi_encode

from offchain.crypto.hashing import keccak256
from offchain.modexp import core
from offchain.modexp.encoding import (
    Opening,
    decode_pairs,
    decode_values,
    encode_exponent,
    encode_pairs,
    encode_value,
    encode_values,
    pairs_commitment,
    width_of,
)
from offchain.modexp.params import MalformedTask


def test_widths_are_multiples_of_32_bytes() -> None:
    assert width_of(143) == 32
    assert width_of(2**1023 + 1) == 128
    assert width_of(2**1024 + 1) == 160
    with pytest.raises(MalformedTask):
        width_of(2)


def test_values_and_pairs_round_trip() -> None:
    rng = random.Random(5)
    N = core.random_prime(256, rng)
    params, rk, _ = core.setup((3, 5), N, p_bits=256, rng=rng)
    kg = core.keygen((7, 11), params, rk, rng=rng)
    task = core.server_task(kg.tk, kg.vk, kg.secret, params.L)
    assert decode_pairs(encode_pairs(task), params.L) == task
    outputs = core.compute(task)
    assert decode_values(encode_values(outputs, params.L), params.L) == outputs
    assert len(encode_values(outputs, params.L)) == len(outputs) * width_of(params.L)


def test_opening_commitment_is_the_abi_encoding() -> None:
    rng = random.Random(6)
    N = core.random_prime(256, rng)
    params, rk, _ = core.setup((3,), N, p_bits=256, rng=rng)
    kg = core.keygen((7,), params, rk, rng=rng)
    salt = bytes(range(32))
    opening = Opening.build(kg.aux, kg.secret, params.L, salt)
    assert opening.perm == bytes(kg.secret.permutation)
    assert int.from_bytes(opening.delta1, "big") == kg.aux.delta1
    expected = keccak256(
        abi_encode(["bytes", "bytes", "bytes", "bytes", "bytes", "bytes32"], list(opening.as_tuple()))
    )
    assert opening.commitment() == expected
    assert pairs_commitment(b"ab", salt) == keccak256(abi_encode(["bytes", "bytes32"], [b"ab", salt]))


def test_bad_input_is_refused() -> None:
    with pytest.raises(MalformedTask):
        encode_value(256, 1)
    with pytest.raises(MalformedTask):
        encode_value(-1, 32)
    with pytest.raises(MalformedTask):
        encode_exponent(-1)
    assert encode_exponent(0) == b"\0"
    with pytest.raises(MalformedTask):
        decode_values(bytes(33), 143)
    with pytest.raises(MalformedTask):
        decode_pairs(bytes(96), 143)  # three values: not pairs
    with pytest.raises(MalformedTask):
        decode_pairs((200).to_bytes(32, "big") + bytes(32) * 7, 143)  # a base not below L
    assert len(decode_pairs((100).to_bytes(32, "big") + bytes(32) * 7, 143).pairs) == 4
    with pytest.raises(MalformedTask):
        pairs_commitment(b"", b"short")

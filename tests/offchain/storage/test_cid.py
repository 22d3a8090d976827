"""CIDs: text and binary forms, parsing errors, the canonical on-chain reference."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.crypto.hashing import keccak256
from offchain.storage.cid import (
    DAG_PB,
    RAW,
    Cid,
    b58decode,
    b58encode,
    canonical_reference,
    cid_from_bytes,
    decode_varint,
    encode_varint,
    parse_cid,
    reference_hash,
)
from offchain.storage.errors import MalformedCid

# `ipfs add` of an empty file (Kubo 0.22 printed these in tests/offchain/storage/test_kubo_compat.py too)
EMPTY_V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
EMPTY_RAW_V1 = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_varint_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded) == (value, len(encoded))


def test_varint_known_bytes_and_truncation() -> None:
    assert encode_varint(300) == b"\xac\x02"
    with pytest.raises(ValueError, match="truncated"):
        decode_varint(b"\x80\x80")


@given(st.binary(max_size=64))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


def test_v0_parses_and_prints_back() -> None:
    cid = parse_cid(EMPTY_V0)
    assert (cid.version, cid.codec, cid.hash_code) == (0, DAG_PB, 0x12)
    assert cid.encode() == EMPTY_V0
    assert cid_from_bytes(cid.to_bytes()) == cid


def test_raw_v1_of_empty_bytes_is_sha256_of_nothing() -> None:
    cid = parse_cid(EMPTY_RAW_V1)
    assert (cid.version, cid.codec) == (1, RAW)
    assert cid.digest == hashlib.sha256(b"").digest()
    assert cid.verify(b"")
    assert not cid.verify(b"x")
    assert Cid.for_block(b"", RAW, 1).encode() == EMPTY_RAW_V1


def test_v1_other_multibases_parse_to_the_same_cid() -> None:
    cid = parse_cid(EMPTY_V0).to_v1()
    raw = cid.to_bytes()
    assert parse_cid(cid.encode().upper()) == cid  # "B" base32 upper
    assert parse_cid("z" + b58encode(raw)) == cid
    assert parse_cid("f" + raw.hex()) == cid
    assert cid.encode().startswith("bafybei")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "Qm" + "0" * 44,  # 0 is outside base58
        "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQ",  # one character short
        "bafy!!!",
        "x" + "a" * 40,  # unknown multibase
        "f0170",  # truncated v1
        "f02701220" + "00" * 32,  # version 2
        "f01701220" + "00" * 31,  # short digest
        "f01701221" + "00" * 33,  # sha2-256 with a 33-byte digest
    ],
)
def test_malformed_cids_raise_a_named_error(text: str) -> None:
    with pytest.raises(MalformedCid):
        parse_cid(text)


def test_v0_must_be_dag_pb_sha256() -> None:
    with pytest.raises(MalformedCid, match="dag-pb"):
        Cid(0, RAW, bytes([0x12, 0x20]) + bytes(32))


def test_canonical_reference_normalises_every_spelling() -> None:
    expected = "ipfs://" + parse_cid(EMPTY_V0).to_v1().encode()
    spellings = [
        EMPTY_V0,
        f"ipfs://{EMPTY_V0}",
        f"/ipfs/{EMPTY_V0}",
        f"https://ipfs.io/ipfs/{EMPTY_V0}",
        f"http://127.0.0.1:8080/ipfs/{EMPTY_V0}/",
        parse_cid(EMPTY_V0).to_v1().encode().upper(),
        expected,
    ]
    assert {canonical_reference(text) for text in spellings} == {expected}
    assert reference_hash(EMPTY_V0) == keccak256(expected.encode())
    with pytest.raises(MalformedCid, match="path"):
        canonical_reference(f"ipfs://{EMPTY_V0}/readme.txt")

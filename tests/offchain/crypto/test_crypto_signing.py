"""EIP-191 and EIP-712 signatures, and canonical JSON."""

import math

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from offchain.crypto import (
    KeyPair,
    SignatureError,
    TypedDataError,
    canonical_json,
    derive,
    keccak256,
    message_hash,
    recover_message_signer,
    recover_typed_data_signer,
    sign_message,
    sign_typed_data,
    typed_data_hash,
)
from offchain.crypto.keys import SECP256K1_N

# The example of the EIP-712 specification (https://eips.ethereum.org/EIPS/eip-712).
MAIL_DOMAIN = {
    "name": "Ether Mail",
    "version": "1",
    "chainId": 1,
    "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
}
MAIL_TYPES = {
    "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
    "Mail": [
        {"name": "from", "type": "Person"},
        {"name": "to", "type": "Person"},
        {"name": "contents", "type": "string"},
    ],
}
MAIL_MESSAGE = {
    "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
    "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
    "contents": "Hello, Bob!",
}
MAIL_DIGEST = "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
# The spec's signer is keccak256("cow").
COW = KeyPair(keccak256(b"cow"))
COW_ADDRESS = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
MAIL_SIGNATURE_RS = (
    0x4355C47D63924E8A72E509B65029052EB6C299D53A04E167C5775FD466751C9D,
    0x07299936D304C153F6443DFA05F40FF007D72911B6F72307F996231605B91562,
)


@pytest.fixture
def keys() -> KeyPair:
    return derive(b"signing-tests", 0)


def test_message_round_trip_matches_eth_account(keys: KeyPair) -> None:
    signature = sign_message(keys, b"hello agents")
    assert len(signature) == 65
    assert signature[64] in (27, 28)
    assert (
        signature
        == Account.sign_message(encode_defunct(primitive=b"hello agents"), keys.private_key).signature
    )
    assert recover_message_signer(b"hello agents", signature) == keys.address
    assert (
        Account.recover_message(encode_defunct(primitive=b"hello agents"), signature=signature)
        == keys.address
    )


def test_message_hash_is_personal_sign_prefix() -> None:
    assert message_hash(b"abc") == keccak256(b"\x19Ethereum Signed Message:\n3abc")


def test_other_data_recovers_another_address(keys: KeyPair) -> None:
    signature = sign_message(keys, b"one")
    assert recover_message_signer(b"two", signature) != keys.address


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda s: s[:64], id="too-short"),
        pytest.param(lambda s: s + b"\x00", id="too-long"),
        pytest.param(lambda s: b"", id="empty"),
        pytest.param(lambda s: s[:64] + b"\x05", id="bad-v"),
        pytest.param(lambda s: b"\x00" * 32 + s[32:], id="zero-r"),
        pytest.param(lambda s: b"\xff" * 32 + s[32:], id="r-out-of-range"),
        pytest.param(lambda s: s[:32] + b"\x00" * 32 + s[64:], id="zero-s"),
        pytest.param(
            lambda s: s[:32] + (SECP256K1_N - int.from_bytes(s[32:64], "big")).to_bytes(32, "big") + s[64:],
            id="high-s",
        ),
    ],
)
def test_malformed_signatures_raise_signature_error(keys: KeyPair, mutate: "object") -> None:
    signature = sign_message(keys, b"data")
    bad = mutate(signature)  # type: ignore[operator]
    with pytest.raises(SignatureError):
        recover_message_signer(b"data", bad)
    with pytest.raises(ValueError, match=r"signature|recovery|out of range"):
        recover_message_signer(b"data", bad)


def test_unrecoverable_signature_raises_signature_error() -> None:
    field_prime = 2**256 - 2**32 - 977
    # The smallest r that is the x coordinate of no point of secp256k1 (x^3 + 7 is not a square).
    r = next(x for x in range(1, 100) if pow(x**3 + 7, (field_prime - 1) // 2, field_prime) != 1)
    signature = r.to_bytes(32, "big") + (1).to_bytes(32, "big") + bytes([27])
    with pytest.raises(SignatureError):
        recover_message_signer(b"x", signature)


def test_v_zero_one_is_accepted(keys: KeyPair) -> None:
    signature = sign_message(keys, b"data")
    assert recover_message_signer(b"data", signature[:64] + bytes([signature[64] - 27])) == keys.address


def test_eip712_mail_digest_matches_the_spec() -> None:
    assert typed_data_hash(MAIL_DOMAIN, MAIL_TYPES, "Mail", MAIL_MESSAGE).hex() == MAIL_DIGEST


def test_eip712_mail_signature_matches_the_spec() -> None:
    assert COW.address == COW_ADDRESS
    signature = sign_typed_data(COW, MAIL_DOMAIN, MAIL_TYPES, "Mail", MAIL_MESSAGE)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
    assert (r, s) == MAIL_SIGNATURE_RS
    assert signature[64] == 28
    assert recover_typed_data_signer(MAIL_DOMAIN, MAIL_TYPES, "Mail", MAIL_MESSAGE, signature) == COW_ADDRESS


def test_eip712_explicit_domain_type_and_unrelated_types_are_accepted() -> None:
    types = {
        **MAIL_TYPES,
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Unrelated": [{"name": "x", "type": "uint256"}],
    }
    assert typed_data_hash(MAIL_DOMAIN, types, "Mail", MAIL_MESSAGE).hex() == MAIL_DIGEST
    person = MAIL_MESSAGE["from"]
    expected = encode_typed_data(MAIL_DOMAIN, {"Person": MAIL_TYPES["Person"]}, person)
    digest = keccak256(b"\x19\x01" + expected.header + expected.body)
    assert typed_data_hash(MAIL_DOMAIN, types, "Person", person) == digest


def test_eip712_round_trip_with_arrays_and_bytes(keys: KeyPair) -> None:
    domain = {"name": "metatrust", "version": "1", "chainId": 31337, "verifyingContract": keys.address}
    types = {
        "Task": [
            {"name": "id", "type": "uint256"},
            {"name": "digest", "type": "bytes32"},
            {"name": "workers", "type": "address[]"},
        ]
    }
    message = {"id": 7, "digest": b"\x11" * 32, "workers": [keys.address]}
    signature = sign_typed_data(keys, domain, types, "Task", message)
    assert recover_typed_data_signer(domain, types, "Task", message, signature) == keys.address
    tampered = {**message, "id": 8}
    assert recover_typed_data_signer(domain, types, "Task", tampered, signature) != keys.address
    with pytest.raises(SignatureError):
        recover_typed_data_signer(domain, types, "Task", message, signature[:-1])


@pytest.mark.parametrize(
    ("domain", "primary_type", "message"),
    [
        pytest.param(MAIL_DOMAIN, "Letter", MAIL_MESSAGE, id="unknown-primary-type"),
        pytest.param({**MAIL_DOMAIN, "color": "red"}, "Mail", MAIL_MESSAGE, id="bad-domain-key"),
        pytest.param(MAIL_DOMAIN, "Mail", {**MAIL_MESSAGE, "to": "Bob"}, id="bad-message"),
    ],
)
def test_eip712_malformed_data_raises_typed_data_error(
    domain: dict[str, object], primary_type: str, message: dict[str, object]
) -> None:
    with pytest.raises(TypedDataError):
        typed_data_hash(domain, MAIL_TYPES, primary_type, message)


def test_canonical_json_is_deterministic() -> None:
    a = {"b": [1, 2, {"z": None, "a": True}], "a": "é", "big": 2**80, "f": 1.5}
    b = {"f": 1.5, "big": 2**80, "a": "é", "b": (1, 2, {"a": True, "z": None})}
    expected = '{"a":"é","b":[1,2,{"a":true,"z":null}],"big":1208925819614629174706176,"f":1.5}'
    assert canonical_json(a) == canonical_json(b) == expected.encode("utf-8")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, {"x": [math.nan]}, {1: "int key"}])
def test_canonical_json_rejects_non_json_numbers_and_keys(value: object) -> None:
    with pytest.raises(ValueError, match=r"NaN|keys"):
        canonical_json(value)


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, object()])
def test_canonical_json_rejects_unknown_types(value: object) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)

"""ECIES over secp256k1."""

import pytest

from offchain.crypto import DecryptionError, InvalidPublicKey, KeyPair, decrypt, derive, encrypt
from offchain.crypto.ecies import OVERHEAD, parse_public_key


@pytest.fixture
def recipient() -> KeyPair:
    return derive(b"ecies-tests", 0)


@pytest.fixture
def stranger() -> KeyPair:
    return derive(b"ecies-tests", 1)


def test_round_trip_with_every_public_key_form(recipient: KeyPair) -> None:
    forms = [recipient.compressed_public_key, recipient.public_key, b"\x04" + recipient.public_key]
    for public_key in forms:
        blob = encrypt(public_key, b"edge task #7", b"context")
        assert decrypt(recipient, blob, b"context") == b"edge task #7"
        assert decrypt(recipient.private_key, blob, b"context") == b"edge task #7"


def test_wire_format(recipient: KeyPair) -> None:
    blob = encrypt(recipient.public_key, b"hello")
    assert len(blob) == OVERHEAD + len(b"hello")
    assert blob[0] == 0x01
    assert blob[1] in (2, 3)
    assert parse_public_key(blob[1:34]) == blob[1:34]


def test_empty_and_large_plaintexts(recipient: KeyPair) -> None:
    for plaintext in (b"", bytes(range(256)) * 4096):
        assert decrypt(recipient, encrypt(recipient.public_key, plaintext)) == plaintext


def test_encryption_is_randomized(recipient: KeyPair) -> None:
    assert encrypt(recipient.public_key, b"same") != encrypt(recipient.public_key, b"same")


def test_tampering_any_byte_fails(recipient: KeyPair) -> None:
    blob = encrypt(recipient.public_key, b"secret payload", b"aad")
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt(recipient, bytes(tampered), b"aad")


def test_truncation_fails(recipient: KeyPair) -> None:
    blob = encrypt(recipient.public_key, b"secret payload")
    for length in (0, 1, 34, OVERHEAD - 1, len(blob) - 1):
        with pytest.raises(DecryptionError):
            decrypt(recipient, blob[:length])


def test_wrong_key_fails(recipient: KeyPair, stranger: KeyPair) -> None:
    blob = encrypt(recipient.public_key, b"for the recipient only")
    with pytest.raises(DecryptionError):
        decrypt(stranger, blob)


def test_associated_data_mismatch_fails(recipient: KeyPair) -> None:
    blob = encrypt(recipient.public_key, b"bound", b"task-1")
    with pytest.raises(DecryptionError):
        decrypt(recipient, blob, b"task-2")
    with pytest.raises(DecryptionError):
        decrypt(recipient, blob)


@pytest.mark.parametrize(
    "public_key",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x02" * 32, id="32-bytes"),
        pytest.param(b"\x05" + b"\x01" * 32, id="bad-prefix"),
        pytest.param(b"\x02" + b"\xff" * 32, id="x-not-in-field"),
        pytest.param(b"\x04" + b"\x01" * 64, id="not-on-curve"),
        pytest.param(b"\x01" * 64, id="raw-not-on-curve"),
    ],
)
def test_invalid_public_key_is_rejected(public_key: bytes) -> None:
    with pytest.raises(InvalidPublicKey):
        encrypt(public_key, b"x")
    with pytest.raises(ValueError, match="public key"):
        encrypt(public_key, b"x")

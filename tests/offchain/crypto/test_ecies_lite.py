"""ECIES-lite (spec §4.3 of seed 001): round trips, slot binding, the disputing party's recomputation."""

from __future__ import annotations

import coincurve
import pytest

from offchain.crypto import ecies_lite
from offchain.crypto.errors import InvalidPrivateKey

URL = b"ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
CONTEXT = ecies_lite.context_digest(31337, "0x" + "11" * 20, 7)


def test_round_trip_and_wrong_key() -> None:
    key = coincurve.PrivateKey()
    secret = int.from_bytes(key.secret, "big")
    ct = ecies_lite.encrypt(key.public_key.format(), URL, CONTEXT)
    assert len(ct.body) == len(URL)
    assert ct.ephemeral_x < ecies_lite.CURVE_ORDER
    assert ecies_lite.decrypt(secret, ct, CONTEXT) == URL
    other = int.from_bytes(coincurve.PrivateKey().secret, "big")
    assert ecies_lite.decrypt(other, ct, CONTEXT) != URL
    assert ecies_lite.decrypt(secret, ct, ecies_lite.context_digest(31337, "0x" + "11" * 20, 8)) != URL


def test_revealing_the_ephemeral_scalar_reproduces_the_ciphertext() -> None:
    """What DC checks in a dispute: the worker reveals (URL, e) and the ciphertext is recomputed."""
    recipient = coincurve.PrivateKey().public_key.format(compressed=False)
    e = ecies_lite.draw_ephemeral()
    first = ecies_lite.encrypt(recipient, URL, CONTEXT, ephemeral=e)
    assert ecies_lite.reencrypt_with_ephemeral(e, recipient, URL, CONTEXT) == first
    assert ecies_lite.reencrypt_with_ephemeral(e, recipient, URL + b"x", CONTEXT) != first


def test_long_messages_use_several_keystream_blocks() -> None:
    key = coincurve.PrivateKey()
    message = bytes(range(256)) * 2
    ct = ecies_lite.encrypt(key.public_key.format(), message, CONTEXT)
    assert ecies_lite.decrypt(int.from_bytes(key.secret, "big"), ct, CONTEXT) == message


def test_bad_inputs() -> None:
    key = coincurve.PrivateKey().public_key.format()
    with pytest.raises(InvalidPrivateKey):
        ecies_lite.encrypt(key, URL, CONTEXT, ephemeral=0)
    with pytest.raises(InvalidPrivateKey):
        ecies_lite.encrypt(key, URL, CONTEXT, ephemeral=ecies_lite.CURVE_ORDER)
    with pytest.raises(ValueError, match="32-byte"):
        ecies_lite.encrypt(key, URL, b"short")
    with pytest.raises(ValueError, match="20 bytes"):
        ecies_lite.context_digest(1, b"\1" * 19, 0)


def test_point_address_is_the_ethereum_address_of_the_key() -> None:
    key = coincurve.PrivateKey()
    x, y = key.public_key.point()
    from eth_account import Account

    expected = Account.from_key(key.secret).address
    assert "0x" + ecies_lite.point_address(x, y).hex() == expected.lower()

"""Key pairs, deterministic derivation and keystores."""

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from offchain.crypto import (
    InvalidPrivateKey,
    KeystoreError,
    derive,
    from_private_key,
    generate,
    keccak256,
    load_keystore,
    save_keystore,
    sha256,
)
from offchain.crypto.keys import SECP256K1_N

# Hardhat/anvil account #0 of the "test test … junk" mnemonic.
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_from_private_key_matches_eth_account() -> None:
    keys = from_private_key(ANVIL_KEY)
    assert keys.address == ANVIL_ADDRESS == Account.from_key(ANVIL_KEY).address
    assert keys == from_private_key(bytes.fromhex(ANVIL_KEY[2:])) == from_private_key(ANVIL_KEY[2:])
    assert len(keys.public_key) == 64
    assert len(keys.compressed_public_key) == 33
    assert keys.compressed_public_key[0] == 2 + (keys.public_key[-1] & 1)
    assert keys.compressed_public_key[1:] == keys.public_key[:32]
    assert keccak256(keys.public_key)[-20:].hex() == ANVIL_ADDRESS[2:].lower()


def test_repr_hides_the_private_key() -> None:
    keys = from_private_key(ANVIL_KEY)
    assert ANVIL_KEY[2:] not in repr(keys)
    assert ANVIL_ADDRESS in repr(keys)


def test_keypair_is_frozen() -> None:
    keys = generate()
    with pytest.raises(AttributeError):
        keys.private_key = b"\x01" * 32  # type: ignore[misc]


def test_generate_gives_distinct_valid_keys() -> None:
    first, second = generate(), generate()
    assert first != second
    assert Account.from_key(first.private_key).address == first.address


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(b"\x01" * 31, id="short"),
        pytest.param(b"\x00" * 32, id="zero"),
        pytest.param(SECP256K1_N.to_bytes(32, "big"), id="order"),
        pytest.param("0xzz", id="not-hex"),
        pytest.param("", id="empty"),
    ],
)
def test_invalid_private_keys(key: str | bytes) -> None:
    with pytest.raises(InvalidPrivateKey):
        from_private_key(key)


def test_derive_is_deterministic_and_keccak_based() -> None:
    assert derive(b"seed", 3) == derive(b"seed", 3)
    assert derive(b"seed", 3) != derive(b"seed", 4)
    assert derive(b"seed", 3).private_key == keccak256(b"seed" + (3).to_bytes(32, "big"))
    with pytest.raises(ValueError, match="index"):
        derive(b"seed", -1)


def test_hashes() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert sha256(b"").hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_keystore_round_trip_with_owner_only_permissions(tmp_path: Path) -> None:
    keys = derive(b"keystore", 0)
    path = save_keystore(keys, tmp_path / "agent.json", "correct horse", kdf="pbkdf2", iterations=1000)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keystore(path, "correct horse") == keys
    assert list(tmp_path.iterdir()) == [path]


def test_keystore_default_kdf_and_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text("old")
    path.chmod(0o644)
    keys = derive(b"keystore", 1)
    save_keystore(keys, path, "pw")
    assert json.loads(path.read_text())["crypto"]["kdf"] == "scrypt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keystore(path, "pw") == keys


def test_keystore_wrong_password(tmp_path: Path) -> None:
    path = save_keystore(derive(b"keystore", 2), tmp_path / "k.json", "right", kdf="pbkdf2", iterations=1000)
    with pytest.raises(KeystoreError, match="wrong password"):
        load_keystore(path, "wrong")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"[]", id="array"),
        pytest.param(b"{}", id="empty-object"),
        pytest.param(b'{"crypto": {}, "version": 3}', id="empty-crypto"),
        pytest.param(b'{"crypto": {"kdf": "md5"}, "version": 3}', id="unknown-kdf"),
    ],
)
def test_keystore_malformed_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(content)
    with pytest.raises(KeystoreError):
        load_keystore(path, "pw")


def test_keystore_address_mismatch(tmp_path: Path) -> None:
    path = save_keystore(derive(b"keystore", 3), tmp_path / "k.json", "pw", kdf="pbkdf2", iterations=1000)
    document = json.loads(path.read_text())
    document["address"] = derive(b"keystore", 4).address[2:].lower()
    path.write_text(json.dumps(document))
    with pytest.raises(KeystoreError, match="address"):
        load_keystore(path, "pw")


def test_keystore_missing_file_is_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_keystore(tmp_path / "absent.json", "pw")

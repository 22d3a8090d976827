"""secp256k1 key pairs: generation, import, deterministic derivation and encrypted keystore files.

eth-keys picks its coincurve (libsecp256k1) backend automatically when coincurve is installed, so every
key operation here runs in native code.
"""

import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address

from offchain.crypto.errors import InvalidPrivateKey, KeystoreError
from offchain.crypto.hashing import keccak256

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""The order of the secp256k1 group; a private key is an integer in ``[1, SECP256K1_N - 1]``."""

KEYSTORE_FILE_MODE = 0o600


def _validate_private_key(private_key: bytes) -> None:
    if len(private_key) != 32:
        raise InvalidPrivateKey(f"a private key is 32 bytes, got {len(private_key)}")
    if not 0 < int.from_bytes(private_key, "big") < SECP256K1_N:
        raise InvalidPrivateKey("private key is outside the secp256k1 range [1, n - 1]")


@dataclass(frozen=True)
class KeyPair:
    """A secp256k1 key pair with its Ethereum address.

    Only ``private_key`` is given; the public forms are derived once at construction. The private key is
    kept out of ``repr`` so a logged key pair shows only its address.
    """

    private_key: bytes = field(repr=False)
    address: str = field(init=False, compare=False)
    """The EIP-55 checksummed address."""
    public_key: bytes = field(init=False, repr=False, compare=False)
    """The uncompressed public key ``x || y`` (64 bytes, without the ``0x04`` prefix)."""
    compressed_public_key: bytes = field(init=False, repr=False, compare=False)
    """The SEC1 compressed public key (33 bytes, ``0x02``/``0x03`` prefix)."""

    def __post_init__(self) -> None:
        _validate_private_key(self.private_key)
        public = PrivateKey(self.private_key).public_key
        object.__setattr__(self, "address", public.to_checksum_address())
        object.__setattr__(self, "public_key", public.to_bytes())
        object.__setattr__(self, "compressed_public_key", public.to_compressed_bytes())


def generate() -> KeyPair:
    """Return a new key pair from the operating system's CSPRNG."""
    while True:
        candidate = secrets.token_bytes(32)
        if 0 < int.from_bytes(candidate, "big") < SECP256K1_N:
            return KeyPair(candidate)


def from_private_key(private_key: str | bytes) -> KeyPair:
    """Return the key pair of ``private_key``, given as 32 bytes or as hex (with or without ``0x``).

    Raises :class:`InvalidPrivateKey` when the key is not 32 bytes of valid hex or is out of range.
    """
    if isinstance(private_key, str):
        text = private_key.removeprefix("0x").removeprefix("0X")
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise InvalidPrivateKey("private key is not valid hex") from exc
    else:
        raw = bytes(private_key)
    return KeyPair(raw)


def derive(seed: bytes, index: int) -> KeyPair:
    """Return the deterministic key pair number ``index`` of ``seed``, for tests and demos only.

    The key is ``keccak256(seed || uint256(index))`` (re-hashed in the negligible case that it falls out of
    range), i.e. what Solidity computes as ``keccak256(abi.encodePacked(seed, uint256(index)))``. Anyone
    who knows the seed knows every key, so never derive keys holding value this way.
    """
    if not 0 <= index < 2**256:
        raise ValueError("index must be in [0, 2**256)")
    candidate = keccak256(seed + index.to_bytes(32, "big"))
    while not 0 < int.from_bytes(candidate, "big") < SECP256K1_N:
        candidate = keccak256(candidate)
    return KeyPair(candidate)


def save_keystore(
    keypair: KeyPair,
    path: str | os.PathLike[str],
    password: str,
    *,
    kdf: Literal["scrypt", "pbkdf2"] = "scrypt",
    iterations: int | None = None,
) -> Path:
    """Write ``keypair`` as an encrypted Web3 Secret Storage (v3) keystore file readable only by its owner.

    The file is written atomically (a temporary file in the same directory, then a rename) with mode
    ``0o600``; an existing file at ``path`` is replaced. ``kdf`` and ``iterations`` are passed to
    :meth:`eth_account.Account.encrypt` (the defaults are the slow, safe ones; tests may lower them).
    Returns the path written.
    """
    target = Path(path)
    document = Account.encrypt(keypair.private_key, password, kdf=kdf, iterations=iterations)
    data = json.dumps(document, indent=2, sort_keys=True).encode("utf-8")
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, KEYSTORE_FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def load_keystore(path: str | os.PathLike[str], password: str) -> KeyPair:
    """Read and decrypt the keystore file at ``path``.

    Raises :class:`KeystoreError` when the file is not a valid keystore or the password is wrong, and
    :class:`OSError` (e.g. :class:`FileNotFoundError`) when the file cannot be read.
    """
    raw = Path(path).read_bytes()
    try:
        document: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeystoreError(f"keystore {path} is not valid JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("crypto", document.get("Crypto")), dict):
        raise KeystoreError(f"keystore {path} is not a Web3 Secret Storage document")
    try:
        private_key = bytes(Account.decrypt(document, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise KeystoreError(f"wrong password for keystore {path}") from exc
        raise KeystoreError(f"keystore {path} is malformed: {exc}") from exc
    except (KeyError, TypeError, AttributeError, NotImplementedError) as exc:
        raise KeystoreError(f"keystore {path} is malformed: {exc!r}") from exc
    try:
        keypair = KeyPair(private_key)
    except InvalidPrivateKey as exc:
        raise KeystoreError(f"keystore {path} holds an invalid private key") from exc
    stored_address = document.get("address")
    if isinstance(stored_address, str) and stored_address:
        try:
            matches = to_checksum_address(stored_address) == keypair.address
        except ValueError:
            matches = False
        if not matches:
            raise KeystoreError(f"keystore {path} address does not match its private key")
    return keypair

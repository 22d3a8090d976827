"""The hash functions of the platform, in one place."""

import hashlib

from eth_hash.auto import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data`` (Ethereum's ``keccak256``, not NIST SHA3-256)."""
    return _keccak(data)


def sha256(data: bytes) -> bytes:
    """Return the 32-byte SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()

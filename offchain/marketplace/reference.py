"""Keyed references: the (URL ‖ K) payload of spec §4.3's recommended extension.

Items are stored encrypted (AES-256-GCM, :mod:`offchain.storage.encrypted`) with a random content key K.
What a listing hashes (H_s), what the seller encrypts to the buyer (URL_s) and what a data worker encrypts
to the requester (Sub_j) is ``ipfs://<CIDv1>#key=<64 hex>``: the canonical reference of the ciphertext and
K. Whoever decrypts it can fetch and open the item; a dispute that reveals it proves the content too.
"""

from __future__ import annotations

import re

from offchain.crypto.hashing import keccak256
from offchain.storage.cid import canonical_reference
from offchain.storage.errors import StorageError

_PATTERN = re.compile(rb"^(ipfs://[a-z2-7]+)#key=([0-9a-f]{64})$")


def keyed_reference(cid: str, content_key: bytes) -> bytes:
    """``ipfs://<CIDv1 base32>#key=<hex K>`` as bytes (what is hashed and encrypted)."""
    if len(content_key) != 32:
        raise ValueError("a content key is 32 bytes")
    return f"{canonical_reference(cid)}#key={content_key.hex()}".encode("ascii")


def parse_keyed_reference(reference: bytes) -> tuple[str, bytes]:
    """``(cid, K)`` of a keyed reference; :class:`ValueError` when it is not one in canonical form."""
    match = _PATTERN.fullmatch(reference)
    if match is None:
        raise ValueError("not a keyed reference ipfs://<cid>#key=<64 hex>")
    url = match.group(1).decode("ascii")
    try:
        canonical = canonical_reference(url)
    except (StorageError, ValueError) as exc:
        raise ValueError(f"not a valid IPFS reference: {exc}") from exc
    if canonical != url:
        raise ValueError("the reference is not in canonical form")
    return url.removeprefix("ipfs://"), bytes.fromhex(match.group(2).decode("ascii"))


def reference_hash(reference: bytes) -> bytes:
    """H_s = keccak256 of the keyed reference."""
    return keccak256(reference)

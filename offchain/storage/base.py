"""The storage interface every backend implements, and the Kubo-style block layout they share."""

from __future__ import annotations

import base64
from typing import Protocol, runtime_checkable

from offchain.storage.cid import Cid


@runtime_checkable
class ContentStore(Protocol):
    """Content-addressed storage of immutable byte strings.

    ``put`` returns the CID (text form) of the stored bytes; the same bytes with the same import options
    give the same CID on every backend (and in Kubo). ``get`` returns exactly the bytes stored and checks
    them against the CID. Errors are :mod:`offchain.storage.errors` types: ``MalformedCid`` for a string
    that is no CID, ``UnknownCid`` when the content is not there, ``CorruptedBlock`` when what comes back
    does not hash to its CID, ``BackendUnreachable`` when a remote backend cannot be reached.
    """

    def put(self, data: bytes) -> str:
        """Store ``data`` (pinned) and return its CID."""
        ...

    def get(self, cid: str) -> bytes:
        """Return the bytes named by ``cid``, verified."""
        ...

    def has(self, cid: str) -> bool:
        """Whether the root block of ``cid`` is held locally (no network search)."""
        ...

    def pin(self, cid: str) -> None:
        """Keep ``cid`` and every block below it from garbage collection."""
        ...

    def unpin(self, cid: str) -> None:
        """Drop the pin of ``cid`` (no error if it was not pinned)."""
        ...


def flatfs_key(cid: Cid) -> str:
    """Kubo's datastore key of a block: base32 (upper case, no padding) of its multihash.

    Kubo (since 0.12) keys blocks by multihash, so a block named by a CIDv0 and by a CIDv1 is stored once.
    """
    return base64.b32encode(cid.multihash).decode("ascii").rstrip("=")


def flatfs_relative_path(cid: Cid) -> str:
    """``<shard>/<key>.data`` with Kubo's default shard function ``/repo/flatfs/shard/v1/next-to-last/2``."""
    key = flatfs_key(cid)
    return f"{key[-3:-1]}/{key}.data"

"""The one ledger interface of RSMS (spec 002 §4, requirement R17) and its in-memory implementation.

The record ``(H4(a), PID)`` of every successful (re-)authentication goes on a shared ledger through an
atomic check-and-set: a one-time secret's tag or a pseudonym is accepted once, ever, even when two pool
managers race (spec §8 items 11, 13, 14). RPMs read it during authentication; revocation is a flag per
pseudonym (§8 item 40); Bloom-filter batch digests are anchored per pool with versions 1, 2, … (E5).

Two implementations keep exactly the semantics written down in :class:`Ledger`:

* :class:`InMemoryLedger` here, the fast backend of the pure-protocol tests and the bench;
* :class:`~offchain.resource_auth.ledger.ChainLedger`, the client of
  ``contracts/resource_auth/RSMSLedger.sol``, which maps the contract's ``SecretAlreadyUsed`` /
  ``PseudonymAlreadyUsed`` / ``PseudonymIsRevoked`` reverts to the same exceptions.

Both refuse in the contract's order: a revoked pseudonym first (:class:`RevokedNode`), then a used tag
(:class:`ReplayDetected`), then a used pseudonym (:class:`PseudonymReused`); a refused call writes nothing.
Malformed inputs (a tag that is not 32 non-zero bytes, a pseudonym outside 1..96 bytes, a pool id outside
uint32) raise :class:`ValueError` in both, before anything is sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from eth_hash.auto import keccak

from offchain.resource_auth.errors import PseudonymReused, ReplayDetected, RevokedNode

__all__ = [
    "MAX_PSEUDONYM_LENGTH",
    "SECRET_TAG_LENGTH",
    "AuthRecord",
    "InMemoryLedger",
    "Ledger",
    "PseudonymReused",
    "ReplayDetected",
    "RevokedNode",
    "check_digest",
    "check_pool",
    "check_pseudonym",
    "check_tag",
    "pid_key",
]

SECRET_TAG_LENGTH = 32
"""Bytes of a secret tag H4(a) (a SHA-256-based hash into Z_q, 32-byte big-endian)."""
MAX_PSEUDONYM_LENGTH = 96
"""Longest pseudonym the ledger accepts (PID_1 is a 48-byte point, later PIDs 32-byte scalars)."""


def check_tag(tag: bytes) -> bytes:
    """``tag`` as bytes if it is a valid H4(a) (32 bytes, not all zero), else :class:`ValueError`."""
    if not isinstance(tag, bytes | bytearray) or len(tag) != SECRET_TAG_LENGTH:
        raise ValueError(f"a secret tag H4(a) is {SECRET_TAG_LENGTH} bytes, got {tag!r:.80}")
    if not any(tag):
        raise ValueError("the all-zero secret tag is reserved (it marks 'no record' on chain)")
    return bytes(tag)


def check_pseudonym(pid: bytes) -> bytes:
    """``pid`` as bytes if it is 1 to :data:`MAX_PSEUDONYM_LENGTH` bytes, else :class:`ValueError`."""
    if not isinstance(pid, bytes | bytearray) or not 0 < len(pid) <= MAX_PSEUDONYM_LENGTH:
        raise ValueError(f"a pseudonym is 1 to {MAX_PSEUDONYM_LENGTH} bytes, got {pid!r:.80}")
    return bytes(pid)


def check_pool(pool_id: int) -> int:
    """``pool_id`` if it fits the contract's uint32, else :class:`ValueError`."""
    if not 0 <= int(pool_id) < 2**32:
        raise ValueError(f"pool ids are uint32, got {pool_id}")
    return int(pool_id)


def check_digest(digest: bytes) -> bytes:
    """A Bloom batch digest: 32 non-zero bytes (e.g. SHA-256 of the signed filter)."""
    if not isinstance(digest, bytes | bytearray) or len(digest) != 32 or not any(digest):
        raise ValueError("a Bloom-filter digest is 32 non-zero bytes (e.g. SHA-256 of the filter)")
    return bytes(digest)


def pid_key(pid: bytes) -> bytes:
    """The ledger's key of a pseudonym: keccak256(PID) (the full PID travels in the event)."""
    return bytes(keccak(check_pseudonym(pid)))


@dataclass(frozen=True)
class AuthRecord:
    """One authentication record. ``writer`` and ``block_number`` are known on chain only."""

    index: int
    pool_id: int
    tag: bytes
    pid: bytes
    writer: str | None = None
    block_number: int | None = None


@runtime_checkable
class Ledger(Protocol):
    """What the RSMS protocol core needs from the shared ledger (spec 002 §4)."""

    def record_authentication(self, pool_id: int, tag: bytes, pid: bytes) -> int:
        """Atomically mark ``tag`` and ``pid`` used and store the record; returns its index (0, 1, …).

        Raises :class:`RevokedNode` (pid revoked), :class:`ReplayDetected` (tag used) or
        :class:`PseudonymReused` (pid used), in that order, and then writes nothing."""
        ...

    def revoke(self, pid: bytes) -> None:
        """Revoke a pseudonym for good (idempotent); it is never recorded afterwards."""
        ...

    def is_tag_used(self, tag: bytes) -> bool:
        """Whether the secret tag H4(a) was recorded."""
        ...

    def is_pid_used(self, pid: bytes) -> bool:
        """Whether the pseudonym was recorded."""
        ...

    def is_revoked(self, pid: bytes) -> bool:
        """Whether the pseudonym is revoked."""
        ...

    def tag_of_pseudonym(self, pid: bytes) -> bytes | None:
        """The tag recorded with ``pid`` (binds PID_k to H4(a_k), spec §8 item 15), or None."""
        ...

    def anchor_bloom_digest(self, pool_id: int, digest: bytes) -> int:
        """Anchor a Bloom batch's digest; returns its version (1, 2, … per pool)."""
        ...

    def bloom_digest_at(self, pool_id: int, version: int) -> bytes | None:
        """The digest anchored for ``pool_id`` under ``version``, or None."""
        ...

    def records(self) -> list[AuthRecord]:
        """Every record in recording order."""
        ...


class InMemoryLedger:
    """A thread-safe in-memory :class:`Ledger` with the contract's semantics (pools are not modelled:
    any caller may write any pool, as the MSRP may on chain)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[AuthRecord] = []
        self._tags: dict[bytes, bytes] = {}  # tag -> pid
        self._pids: dict[bytes, bytes] = {}  # pid key -> tag
        self._revoked: set[bytes] = set()
        self._digests: dict[int, list[bytes]] = {}

    def record_authentication(self, pool_id: int, tag: bytes, pid: bytes) -> int:
        pool, tag, key = check_pool(pool_id), check_tag(tag), pid_key(pid)
        with self._lock:
            if key in self._revoked:
                raise RevokedNode(f"pseudonym {pid.hex()[:16]}… is revoked")
            if tag in self._tags:
                raise ReplayDetected(f"tag {tag.hex()[:16]}… is already on the ledger")
            if key in self._pids:
                raise PseudonymReused(f"pseudonym {pid.hex()[:16]}… is already on the ledger")
            self._tags[tag] = bytes(pid)
            self._pids[key] = tag
            record = AuthRecord(len(self._records), pool, tag, bytes(pid))
            self._records.append(record)
            return record.index

    def revoke(self, pid: bytes) -> None:
        key = pid_key(pid)
        with self._lock:
            self._revoked.add(key)

    def is_tag_used(self, tag: bytes) -> bool:
        return check_tag(tag) in self._tags

    def is_pid_used(self, pid: bytes) -> bool:
        return pid_key(pid) in self._pids

    def is_revoked(self, pid: bytes) -> bool:
        return pid_key(pid) in self._revoked

    def tag_of_pseudonym(self, pid: bytes) -> bytes | None:
        return self._pids.get(pid_key(pid))

    def anchor_bloom_digest(self, pool_id: int, digest: bytes) -> int:
        pool, digest = check_pool(pool_id), check_digest(digest)
        with self._lock:
            versions = self._digests.setdefault(pool, [])
            versions.append(digest)
            return len(versions)

    def bloom_digest_at(self, pool_id: int, version: int) -> bytes | None:
        versions = self._digests.get(check_pool(pool_id), [])
        return versions[version - 1] if 1 <= version <= len(versions) else None

    def records(self) -> list[AuthRecord]:
        with self._lock:
            return list(self._records)


_: type[Ledger] = InMemoryLedger  # mypy checks that InMemoryLedger implements the interface

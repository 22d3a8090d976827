"""The ledger the protocols talk to (spec 002 §4, requirement R17), as a small interface.

The MSRP writes one record ``(H4(a), PID)`` per successful (re-)authentication through an atomic
check-and-set: a tag or a pseudonym is accepted once, ever, even when two RPMs race (spec §8 items 11,
13, 14). RPMs read it during authentication; revocation is a flag per pseudonym (§8 item 40); Bloom-filter
batch digests are anchored per pool (E5).

:class:`InMemoryLedger` is the fast backend for the pure-protocol tests and the bench. The on-chain
backend (``RSMSLedger``, written by the ledger work in ``offchain/resource_auth/ledger.py``) implements the
same methods, mapping ``SecretAlreadyUsed``/``PseudonymAlreadyUsed``/``PseudonymIsRevoked`` to
:class:`ReplayDetected`/:class:`PseudonymReused`/:class:`RevokedNode`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from eth_hash.auto import keccak

from offchain.resource_auth.errors import PseudonymReused, ReplayDetected, RevokedNode


def pid_key(pid: bytes) -> bytes:
    """The ledger's key of a pseudonym: keccak256(PID) (the full PID travels in the event)."""
    return bytes(keccak(pid))


@dataclass(frozen=True)
class AuthRecord:
    index: int
    pool_id: int
    tag: bytes
    pid: bytes


class Ledger(Protocol):
    def record_authentication(self, pool_id: int, tag: bytes, pid: bytes) -> int:
        """Atomically mark ``tag`` and ``pid`` used and store the record; returns its index.

        Raises :class:`ReplayDetected` (tag used), :class:`PseudonymReused` (pid used) or
        :class:`RevokedNode` (pid revoked), and then writes nothing."""
        ...

    def revoke(self, pid: bytes) -> None: ...
    def is_tag_used(self, tag: bytes) -> bool: ...
    def is_pid_used(self, pid: bytes) -> bool: ...
    def is_revoked(self, pid: bytes) -> bool: ...
    def tag_of_pseudonym(self, pid: bytes) -> bytes | None: ...
    def anchor_bloom_digest(self, pool_id: int, digest: bytes) -> int:
        """Anchor a Bloom batch's digest; returns its version (1, 2, … per pool)."""
        ...

    def bloom_digest_at(self, pool_id: int, version: int) -> bytes | None: ...
    def records(self) -> list[AuthRecord]: ...


class InMemoryLedger:
    """A thread-safe in-memory ledger with the contract's semantics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[AuthRecord] = []
        self._tags: dict[bytes, bytes] = {}  # tag -> pid
        self._pids: dict[bytes, bytes] = {}  # pid key -> tag
        self._revoked: set[bytes] = set()
        self._digests: dict[int, list[bytes]] = {}

    def record_authentication(self, pool_id: int, tag: bytes, pid: bytes) -> int:
        key = pid_key(pid)
        with self._lock:
            if tag in self._tags:
                raise ReplayDetected(f"tag {tag.hex()[:16]}… is already on the ledger")
            if key in self._pids:
                raise PseudonymReused(f"pseudonym {pid.hex()[:16]}… is already on the ledger")
            if key in self._revoked:
                raise RevokedNode(f"pseudonym {pid.hex()[:16]}… is revoked")
            self._tags[tag] = pid
            self._pids[key] = tag
            record = AuthRecord(len(self._records), pool_id, tag, pid)
            self._records.append(record)
            return record.index

    def revoke(self, pid: bytes) -> None:
        with self._lock:
            self._revoked.add(pid_key(pid))

    def is_tag_used(self, tag: bytes) -> bool:
        return tag in self._tags

    def is_pid_used(self, pid: bytes) -> bool:
        return pid_key(pid) in self._pids

    def is_revoked(self, pid: bytes) -> bool:
        return pid_key(pid) in self._revoked

    def tag_of_pseudonym(self, pid: bytes) -> bytes | None:
        return self._pids.get(pid_key(pid))

    def anchor_bloom_digest(self, pool_id: int, digest: bytes) -> int:
        with self._lock:
            versions = self._digests.setdefault(pool_id, [])
            versions.append(digest)
            return len(versions)

    def bloom_digest_at(self, pool_id: int, version: int) -> bytes | None:
        versions = self._digests.get(pool_id, [])
        return versions[version - 1] if 1 <= version <= len(versions) else None

    def records(self) -> list[AuthRecord]:
        return list(self._records)

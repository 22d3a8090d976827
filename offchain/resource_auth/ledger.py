"""The RSMS ledger: the interface the protocol core talks to, and its client for ``RSMSLedger`` on chain.

RSMS keeps, for every successful (re-)authentication of a resource node, the record ``(H4(a), PID)``
on "a shared blockchain" maintained by the pool managers (spec 002 §4). The protocol core needs five
operations, written down as the :class:`Ledger` protocol; an in-memory implementation serves fast
unit tests, and :class:`ChainLedger` here is the one backed by ``contracts/resource_auth/RSMSLedger.sol``
through the shared chain layer (:mod:`offchain.chain`).

Semantics every implementation keeps:

* ``record_authentication`` is an atomic check-and-set: when the secret tag or the pseudonym was ever
  recorded it raises :class:`ReplayDetected` and records nothing; of two concurrent submissions of the
  same tag or pseudonym (two pool managers at once) exactly one succeeds;
* a revoked pseudonym is never recorded (:class:`PseudonymRevoked`); revoking is idempotent;
* ``anchor_bloom_digest`` appends a new version of a pool's Bloom-filter digest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3

from offchain.chain.errors import ContractRevert, TransactionFailed
from offchain.chain.events import get_events

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.types import BlockIdentifier, TxReceipt

    from offchain.chain.deployments import Deployments
    from offchain.chain.sender import ContractCall, TransactionSender

__all__ = [
    "MAX_PSEUDONYM_LENGTH",
    "SECRET_TAG_LENGTH",
    "AuthRecord",
    "ChainLedger",
    "Ledger",
    "LedgerCheck",
    "LedgerError",
    "PoolInfo",
    "PseudonymRevoked",
    "ReplayDetected",
]

SECRET_TAG_LENGTH = 32
"""Bytes of a secret tag H4(a) (a SHA-256-based hash into Z_q, 32-byte big-endian)."""
MAX_PSEUDONYM_LENGTH = 96
"""Longest pseudonym the contract accepts (PID_1 is a 48-byte point, later PIDs 32-byte scalars)."""

CONTRACT_NAME = "RSMSLedger"


class LedgerError(Exception):
    """Base class of the ledger's refusals (inputs that the ledger will never accept)."""


class ReplayDetected(LedgerError):  # noqa: N818 (name fixed by the interface shared with the protocol core)
    """The one-time secret (its tag H4(a)) or the pseudonym was already recorded: a replay or a race lost.

    ``what`` is ``"secret"`` or ``"pseudonym"``; ``key`` is the tag, or keccak256 of the pseudonym.
    """

    def __init__(self, what: str, key: bytes) -> None:
        self.what = what
        self.key = key
        super().__init__(f"replay detected: this {what} was already recorded (key 0x{key.hex()})")


class PseudonymRevoked(LedgerError):  # noqa: N818 (reads as a state, like ReplayDetected)
    """The pseudonym is revoked; the ledger never records it."""

    def __init__(self, pid_key: bytes) -> None:
        self.pid_key = pid_key
        super().__init__(f"pseudonym revoked (key 0x{pid_key.hex()})")


@runtime_checkable
class Ledger(Protocol):
    """What the RSMS protocol core needs from the shared ledger (spec 002 §4)."""

    def record_authentication(self, pool_id: int, secret_tag: bytes, pseudonym: bytes) -> None:
        """Record ``(H4(a), PID)``; raises :class:`ReplayDetected` when either was recorded before."""
        ...

    def is_recorded(self, secret_tag: bytes) -> bool:
        """Whether the secret tag H4(a) was recorded."""
        ...

    def is_revoked(self, pseudonym: bytes) -> bool:
        """Whether the pseudonym is revoked."""
        ...

    def revoke(self, pseudonym: bytes) -> None:
        """Revoke a pseudonym for good (idempotent)."""
        ...

    def anchor_bloom_digest(self, pool_id: int, digest: bytes) -> None:
        """Anchor the digest of a Bloom-filter batch delivered to a pool (a new version each time)."""
        ...


@dataclass(frozen=True)
class LedgerCheck:
    """The three facts an RPM checks before accepting: tag recorded, pseudonym recorded, revoked."""

    tag_used: bool
    pid_used: bool
    revoked: bool


@dataclass(frozen=True)
class AuthRecord:
    """One authentication record as the ``AuthenticationRecorded`` events hold it."""

    secret_tag: bytes
    pseudonym: bytes
    pool_id: int
    writer: ChecksumAddress
    index: int
    block_number: int


@dataclass(frozen=True)
class PoolInfo:
    """A pool as the contract holds it (manager zero and ``open`` false when never opened)."""

    manager: ChecksumAddress
    open: bool
    bloom_version: int
    bloom_digest: bytes


def pseudonym_key(pseudonym: bytes) -> bytes:
    """The contract's key of a pseudonym: keccak256 of its bytes."""
    return bytes(keccak(_check_pseudonym(pseudonym)))


def _check_tag(secret_tag: bytes) -> bytes:
    if not isinstance(secret_tag, bytes | bytearray) or len(secret_tag) != SECRET_TAG_LENGTH:
        raise ValueError(f"a secret tag H4(a) is {SECRET_TAG_LENGTH} bytes, got {secret_tag!r:.80}")
    if not any(secret_tag):
        raise ValueError("the all-zero secret tag is reserved (it marks 'no record' on chain)")
    return bytes(secret_tag)


def _check_pseudonym(pseudonym: bytes) -> bytes:
    if not isinstance(pseudonym, bytes | bytearray) or not 0 < len(pseudonym) <= MAX_PSEUDONYM_LENGTH:
        raise ValueError(f"a pseudonym is 1 to {MAX_PSEUDONYM_LENGTH} bytes, got {pseudonym!r:.80}")
    return bytes(pseudonym)


def _check_pool(pool_id: int) -> int:
    if not 0 <= int(pool_id) < 2**32:
        raise ValueError(f"pool ids are uint32, got {pool_id}")
    return int(pool_id)


def _revert_name(exc: ContractRevert | TransactionFailed) -> tuple[str | None, dict[str, Any]]:
    if isinstance(exc, ContractRevert):
        return exc.error_name, exc.error_args
    if exc.revert is not None:
        return exc.revert.error_name, exc.revert.error_args
    return None, {}


class ChainLedger:
    """:class:`Ledger` on the ``RSMSLedger`` contract: reads with calls, writes through the sender.

    A pool manager's client records authentications of its own pool; the MSRP's client also opens pools,
    revokes and anchors Bloom-filter digests. Reverts of the contract come back as :class:`ReplayDetected`
    and :class:`PseudonymRevoked`; any other refusal (wrong writer, closed pool) as the chain layer's
    :class:`~offchain.chain.errors.ContractRevert` with the contract's error name.
    """

    def __init__(self, contract: Contract, sender: TransactionSender | None = None) -> None:
        self.contract = contract
        self.sender = sender

    @classmethod
    def from_deployments(
        cls, w3: Web3, deployments: Deployments, sender: TransactionSender | None = None
    ) -> ChainLedger:
        """The client of the ``RSMSLedger`` listed in ``deployments``."""
        from offchain.chain.connection import contract

        return cls(contract(w3, deployments, CONTRACT_NAME), sender)

    # ------------------------------------------------------------------ the Ledger interface

    def record_authentication(self, pool_id: int, secret_tag: bytes, pseudonym: bytes) -> None:
        tag, pid = _check_tag(secret_tag), _check_pseudonym(pseudonym)
        call = self.contract.functions.recordAuthentication(_check_pool(pool_id), tag, pid)
        with self._translated():
            self._send(call)

    def is_recorded(self, secret_tag: bytes) -> bool:
        return bool(self.contract.functions.isTagUsed(_check_tag(secret_tag)).call())

    def is_revoked(self, pseudonym: bytes) -> bool:
        return bool(self.contract.functions.isRevoked(_check_pseudonym(pseudonym)).call())

    def revoke(self, pseudonym: bytes) -> None:
        call = self.contract.functions.revoke(_check_pseudonym(pseudonym))
        try:
            self._send(call)
        except (ContractRevert, TransactionFailed) as exc:
            if _revert_name(exc)[0] != "AlreadyRevoked":
                raise

    def anchor_bloom_digest(self, pool_id: int, digest: bytes) -> None:
        if len(digest) != 32 or not any(digest):
            raise ValueError("a Bloom-filter digest is 32 non-zero bytes (e.g. SHA-256 of the filter)")
        self._send(self.contract.functions.anchorBloomDigest(_check_pool(pool_id), bytes(digest)))

    # ------------------------------------------------------------------ more reads

    def is_pseudonym_used(self, pseudonym: bytes) -> bool:
        """Whether the pseudonym was recorded (re-authentication requires PID_{k+1} not to be)."""
        return bool(self.contract.functions.isPidUsed(_check_pseudonym(pseudonym)).call())

    def check(self, secret_tag: bytes, pseudonym: bytes) -> LedgerCheck:
        """The RPM's three checks in one call."""
        tag_used, pid_used, revoked = self.contract.functions.checkAuthentication(
            _check_tag(secret_tag), _check_pseudonym(pseudonym)
        ).call()
        return LedgerCheck(bool(tag_used), bool(pid_used), bool(revoked))

    def tag_of_pseudonym(self, pseudonym: bytes) -> bytes | None:
        """The tag recorded with a pseudonym (binds PID_k to H4(a_k), spec §8 item 15), or None."""
        tag = bytes(self.contract.functions.tagOfPseudonym(_check_pseudonym(pseudonym)).call())
        return tag if any(tag) else None

    def pool(self, pool_id: int) -> PoolInfo:
        manager, is_open, version, digest = self.contract.functions.poolInfo(_check_pool(pool_id)).call()
        return PoolInfo(Web3.to_checksum_address(manager), bool(is_open), int(version), bytes(digest))

    def bloom_digest(self, pool_id: int, version: int) -> bytes | None:
        """The digest anchored for ``pool_id`` under ``version`` (from 1), or None."""
        digest = bytes(self.contract.functions.bloomDigestAt(_check_pool(pool_id), int(version)).call())
        return digest if any(digest) else None

    def record_count(self) -> int:
        return int(self.contract.functions.recordCount().call())

    def history(self, from_block: BlockIdentifier = 0) -> list[AuthRecord]:
        """Every record, rebuilt from the ``AuthenticationRecorded`` events (tracing, audits)."""
        return [
            AuthRecord(
                secret_tag=bytes(event["args"]["tag"]),
                pseudonym=bytes(event["args"]["pid"]),
                pool_id=int(event["args"]["poolId"]),
                writer=Web3.to_checksum_address(event["args"]["writer"]),
                index=int(event["args"]["index"]),
                block_number=int(event["blockNumber"]),
            )
            for event in get_events(self.contract, "AuthenticationRecorded", from_block)
        ]

    # ------------------------------------------------------------------ MSRP writes

    def open_pool(self, pool_id: int, manager: str) -> None:
        """MSRP only: open (or reopen) a pool under a manager holding POOL_MANAGER in RSC."""
        self._send(self.contract.functions.openPool(_check_pool(pool_id), Web3.to_checksum_address(manager)))

    def set_pool_manager(self, pool_id: int, manager: str) -> None:
        """MSRP only: hand a pool to another manager."""
        self._send(
            self.contract.functions.setPoolManager(_check_pool(pool_id), Web3.to_checksum_address(manager))
        )

    def close_pool(self, pool_id: int) -> None:
        """MSRP only: stop a pool from taking records."""
        self._send(self.contract.functions.closePool(_check_pool(pool_id)))

    # ------------------------------------------------------------------ internals

    def _send(self, call: ContractCall) -> TxReceipt:
        if self.sender is None:
            raise RuntimeError("this ChainLedger is read-only: give it a TransactionSender to write")
        return self.sender.send(call)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Map the contract's replay and revocation errors to the interface's exceptions."""
        try:
            yield
        except (ContractRevert, TransactionFailed) as exc:
            name, args = _revert_name(exc)
            if name == "SecretAlreadyUsed":
                raise ReplayDetected("secret", bytes(args["tag"])) from exc
            if name == "PseudonymAlreadyUsed":
                raise ReplayDetected("pseudonym", bytes(args["pidKey"])) from exc
            if name == "PseudonymIsRevoked":
                raise PseudonymRevoked(bytes(args["pidKey"])) from exc
            raise

"""The client of ``contracts/resource_auth/RSMSLedger.sol``: the RSMS :class:`Ledger` on chain.

The interface, its semantics and the exceptions live in :mod:`offchain.resource_auth.ledger_api` (the one
definition the protocol core uses); :class:`ChainLedger` implements exactly that interface through the
shared chain layer (:mod:`offchain.chain`), and adds the pool administration the MSRP needs (open, hand
over, close pools) and a few reads (pool state, one-call check, history from events).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_typing import ChecksumAddress
from web3 import Web3

from offchain.chain.contract_client import ContractClient
from offchain.chain.errors import ContractRevert, TransactionFailed
from offchain.chain.events import get_events
from offchain.resource_auth.ledger_api import (
    AuthRecord,
    Ledger,
    PseudonymReused,
    ReplayDetected,
    RevokedNode,
    check_digest,
    check_pool,
    check_pseudonym,
    check_tag,
)

if TYPE_CHECKING:
    from web3.types import BlockIdentifier

    from offchain.chain.deployments import Deployments
    from offchain.chain.sender import TransactionSender

__all__ = ["ChainLedger", "LedgerCheck", "PoolInfo"]

CONTRACT_NAME = "RSMSLedger"


@dataclass(frozen=True)
class LedgerCheck:
    """The three facts an RPM checks before accepting: tag recorded, pseudonym recorded, revoked."""

    tag_used: bool
    pid_used: bool
    revoked: bool


@dataclass(frozen=True)
class PoolInfo:
    """A pool as the contract holds it (manager zero and ``open`` false when never opened)."""

    manager: ChecksumAddress
    open: bool
    bloom_version: int
    bloom_digest: bytes


def _revert_name(exc: ContractRevert | TransactionFailed) -> tuple[str | None, dict[str, Any]]:
    if isinstance(exc, ContractRevert):
        return exc.error_name, exc.error_args
    if exc.revert is not None:
        return exc.revert.error_name, exc.revert.error_args
    return None, {}


class ChainLedger(ContractClient):
    """:class:`~offchain.resource_auth.ledger_api.Ledger` on the ``RSMSLedger`` contract: reads with calls,
    writes through the sender.

    A pool manager's client records authentications of its own pool; the MSRP's client also opens pools,
    revokes and anchors Bloom-filter digests. The contract's ``PseudonymIsRevoked``, ``SecretAlreadyUsed``
    and ``PseudonymAlreadyUsed`` come back as :class:`RevokedNode`, :class:`ReplayDetected` and
    :class:`PseudonymReused` (each with ``revert_name`` set to the contract's error); any other refusal
    (wrong writer, closed pool) as the chain layer's :class:`~offchain.chain.errors.ContractRevert` with the
    contract's error name.
    """

    @classmethod
    def from_deployments(
        cls, w3: Web3, deployments: Deployments, sender: TransactionSender | None = None
    ) -> ChainLedger:
        """The client of the ``RSMSLedger`` listed in ``deployments``."""
        from offchain.chain.connection import contract

        return cls(contract(w3, deployments, CONTRACT_NAME), sender)

    # ------------------------------------------------------------------ the Ledger interface

    def record_authentication(self, pool_id: int, tag: bytes, pid: bytes) -> int:
        call = self.contract.functions.recordAuthentication(
            check_pool(pool_id), check_tag(tag), check_pseudonym(pid)
        )
        with self._translated():
            receipt = self._send(call)
        events = self.contract.events.AuthenticationRecorded().process_receipt(receipt)
        return int(events[0]["args"]["index"])

    def revoke(self, pid: bytes) -> None:
        call = self.contract.functions.revoke(check_pseudonym(pid))
        try:
            self._send(call)
        except (ContractRevert, TransactionFailed) as exc:
            if _revert_name(exc)[0] != "AlreadyRevoked":
                raise

    def is_tag_used(self, tag: bytes) -> bool:
        return bool(self.contract.functions.isTagUsed(check_tag(tag)).call())

    def is_pid_used(self, pid: bytes) -> bool:
        return bool(self.contract.functions.isPidUsed(check_pseudonym(pid)).call())

    def is_revoked(self, pid: bytes) -> bool:
        return bool(self.contract.functions.isRevoked(check_pseudonym(pid)).call())

    def tag_of_pseudonym(self, pid: bytes) -> bytes | None:
        tag = bytes(self.contract.functions.tagOfPseudonym(check_pseudonym(pid)).call())
        return tag if any(tag) else None

    def anchor_bloom_digest(self, pool_id: int, digest: bytes) -> int:
        call = self.contract.functions.anchorBloomDigest(check_pool(pool_id), check_digest(digest))
        receipt = self._send(call)
        events = self.contract.events.BloomDigestAnchored().process_receipt(receipt)
        return int(events[0]["args"]["version"])

    def bloom_digest_at(self, pool_id: int, version: int) -> bytes | None:
        if not 0 <= int(version) < 2**64:
            return None
        digest = bytes(self.contract.functions.bloomDigestAt(check_pool(pool_id), int(version)).call())
        return digest if any(digest) else None

    def records(self) -> list[AuthRecord]:
        return self.history(0)

    # ------------------------------------------------------------------ more reads

    def check(self, tag: bytes, pid: bytes) -> LedgerCheck:
        """The RPM's three checks in one call."""
        tag_used, pid_used, revoked = self.contract.functions.checkAuthentication(
            check_tag(tag), check_pseudonym(pid)
        ).call()
        return LedgerCheck(bool(tag_used), bool(pid_used), bool(revoked))

    def pool(self, pool_id: int) -> PoolInfo:
        manager, is_open, version, digest = self.contract.functions.poolInfo(check_pool(pool_id)).call()
        return PoolInfo(Web3.to_checksum_address(manager), bool(is_open), int(version), bytes(digest))

    def record_count(self) -> int:
        return int(self.contract.functions.recordCount().call())

    def history(self, from_block: BlockIdentifier = 0) -> list[AuthRecord]:
        """Every record from ``from_block`` on, rebuilt from the ``AuthenticationRecorded`` events."""
        return [
            AuthRecord(
                index=int(event["args"]["index"]),
                pool_id=int(event["args"]["poolId"]),
                tag=bytes(event["args"]["tag"]),
                pid=bytes(event["args"]["pid"]),
                writer=Web3.to_checksum_address(event["args"]["writer"]),
                block_number=int(event["blockNumber"]),
            )
            for event in get_events(self.contract, "AuthenticationRecorded", from_block)
        ]

    # ------------------------------------------------------------------ MSRP writes

    def open_pool(self, pool_id: int, manager: str) -> None:
        """MSRP only: open (or reopen) a pool under a manager holding POOL_MANAGER in RSC."""
        self._send(self.contract.functions.openPool(check_pool(pool_id), Web3.to_checksum_address(manager)))

    def set_pool_manager(self, pool_id: int, manager: str) -> None:
        """MSRP only: hand a pool to another manager."""
        self._send(
            self.contract.functions.setPoolManager(check_pool(pool_id), Web3.to_checksum_address(manager))
        )

    def close_pool(self, pool_id: int) -> None:
        """MSRP only: stop a pool from taking records."""
        self._send(self.contract.functions.closePool(check_pool(pool_id)))

    # ------------------------------------------------------------------ internals

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Map the contract's replay and revocation errors to the interface's exceptions."""
        try:
            yield
        except (ContractRevert, TransactionFailed) as exc:
            name, args = _revert_name(exc)
            refusal: ReplayDetected | PseudonymReused | RevokedNode
            if name == "SecretAlreadyUsed":
                refusal = ReplayDetected(
                    f"SecretAlreadyUsed: tag 0x{bytes(args['tag']).hex()} is on the ledger"
                )
            elif name == "PseudonymAlreadyUsed":
                refusal = PseudonymReused(
                    f"PseudonymAlreadyUsed: pseudonym key 0x{bytes(args['pidKey']).hex()} is on the ledger"
                )
            elif name == "PseudonymIsRevoked":
                refusal = RevokedNode(f"PseudonymIsRevoked: pseudonym key 0x{bytes(args['pidKey']).hex()}")
            else:
                raise
            refusal.revert_name = name
            raise refusal from exc


_: type[Ledger] = ChainLedger  # mypy checks that ChainLedger implements the one Ledger interface

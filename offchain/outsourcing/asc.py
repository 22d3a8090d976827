"""The messages the execution environment signs for ASC, and the SSC's reward ledger (pure, no I/O).

ASC (``contracts/outsourcing/ASC.sol``) accepts three messages, each only with the environment's aggregate
signature (checked by an ``IEnvironmentVerifier``, i.e. MSC):

* the schedule anchor ``(taskId, groupCommitment)``: ``groupCommitment = keccak(tag ‖ salt ‖ Group_C)`` hides
  the group (a 32-byte random salt), so nothing on chain names a task's CSNs or their indices;
* the settlement ``(taskId, MList, Σ R·T_i, SSC state root)``;
* a CSN's reward voucher ``(csn, cumulative credit)``: the SSC keeps each CSN's credit across tasks
  (:class:`RewardLedger`), and the CSN claims the difference whenever it likes, so payments are not tied to
  a task on chain.

The digests here equal ``ASC.anchorDigest`` / ``settlementDigest`` / ``claimDigest`` (a test checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address

from offchain.crypto.hashing import keccak256
from offchain.outsourcing.incentives import Settlement

ANCHOR_TAG = keccak256(b"metatrust/bmeoc/ASC/anchor/v1")
SETTLE_TAG = keccak256(b"metatrust/bmeoc/ASC/settle/v1")
CLAIM_TAG = keccak256(b"metatrust/bmeoc/ASC/claim/v1")
GROUP_TAG = b"metatrust/bmeoc/Group_C/v1"
STATE_TAG = b"metatrust/bmeoc/SSC/state/v1"


def id_tasks_hash(subtask_ids: Sequence[bytes]) -> bytes:
    """``H(ID_t)``: the MTD's commitment to its m subtask ids ``ID_Tj`` (in index order)."""
    if not subtask_ids or any(len(item) != 32 for item in subtask_ids):
        raise ValueError("ID_t must be a non-empty list of 32-byte ids")
    return keccak256(b"".join(subtask_ids))


def group_commitment(group: Sequence[str], salt: bytes) -> bytes:
    """``H(Group_C ‖ salt)`` over the CSNs in index order; the salt (32 random bytes, kept by the enclaves
    and the MTD) makes it hiding."""
    if len(salt) != 32:
        raise ValueError("the salt must be 32 bytes")
    return keccak256(GROUP_TAG + salt + b"".join(bytes.fromhex(a[2:]) for a in group))


def task_id(chain_id: int, asc: str, mtd: str, tasks_hash: bytes) -> bytes:
    """The id ASC gives a task: ``keccak(abi.encode(chainid, ASC, MTD, H(ID_t)))``."""
    return keccak256(encode(["uint256", "address", "address", "bytes32"], [chain_id, asc, mtd, tasks_hash]))


def anchor_digest(chain_id: int, asc: str, env_id: bytes, task: bytes, commitment: bytes) -> bytes:
    """``ASC.anchorDigest``."""
    return keccak256(
        encode(
            ["bytes32", "uint256", "address", "bytes32", "bytes32", "bytes32"],
            [ANCHOR_TAG, chain_id, asc, env_id, task, commitment],
        )
    )


def sorted_mlist(malicious: Iterable[str]) -> list[str]:
    """MList as ASC wants it: checksummed, strictly ascending by address value."""
    unique = {to_checksum_address(a) for a in malicious}
    return sorted(unique, key=lambda a: int(a, 16))


def settlement_digest(
    chain_id: int,
    asc: str,
    env_id: bytes,
    task: bytes,
    malicious: Sequence[str],
    bonus: int,
    state_root: bytes,
) -> bytes:
    """``ASC.settlementDigest`` (``malicious`` in the order submitted: use :func:`sorted_mlist`)."""
    # abi.encodePacked(address[]) pads every element to 32 bytes
    packed = keccak256(b"".join(bytes(12) + bytes.fromhex(a[2:]) for a in malicious))
    return keccak256(
        encode(
            ["bytes32", "uint256", "address", "bytes32", "bytes32", "bytes32", "uint256", "bytes32"],
            [SETTLE_TAG, chain_id, asc, env_id, task, packed, bonus, state_root],
        )
    )


def claim_digest(chain_id: int, asc: str, env_id: bytes, csn: str, cumulative: int) -> bytes:
    """``ASC.claimDigest``."""
    return keccak256(
        encode(
            ["bytes32", "uint256", "address", "bytes32", "address", "uint256"],
            [CLAIM_TAG, chain_id, asc, env_id, csn, cumulative],
        )
    )


@dataclass
class RewardLedger:
    """The SSC's private state: each CSN's cumulative credit and its reputation T_i (consecutive honest
    tasks). Addresses are lower-case. Its root is anchored on chain at each settlement; the content is not."""

    credits: dict[str, int] = field(default_factory=dict)
    reputation: dict[str, int] = field(default_factory=dict)

    def apply(self, settlement: Settlement) -> None:
        """Adds a settlement's (or a default payout's) credits and takes its new reputations."""
        for csn, amount in settlement.credits.items():
            self.credits[csn] = self.credits.get(csn, 0) + amount
        self.reputation.update(settlement.reputation)

    def cumulative(self, csn: str) -> int:
        """What a voucher for ``csn`` carries."""
        return self.credits.get(csn.lower(), 0)

    def reputation_of(self, group: Iterable[str]) -> Mapping[str, int]:
        """T_i of each CSN of ``group`` (0 when new)."""
        return {csn.lower(): self.reputation.get(csn.lower(), 0) for csn in group}

    def root(self) -> bytes:
        """A commitment to the whole state (sorted entries), as anchored by ``settle``."""
        entries = b"".join(
            bytes.fromhex(csn[2:]) + self.credits.get(csn, 0).to_bytes(32, "big") + rep.to_bytes(8, "big")
            for csn, rep in sorted(
                {c: self.reputation.get(c, 0) for c in self.credits | self.reputation}.items()
            )
        )
        return keccak256(STATE_TAG + entries)

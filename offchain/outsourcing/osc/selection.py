"""RSSC's selection rule in Python (the reference the contract is tested against; spec 000 §2.5, §3.10 (c)).

Given the Leader's seed, the task id and the candidates (address, provider id, eligible):

1. keep the eligible candidates that SSC has not blacklisted;
2. order them by ``keccak256(abi.encode(seed, taskId, csn))`` ascending;
3. take them in that order, skipping a candidate whose provider already has ``t`` members, until ``m`` are
   chosen (at most t per provider: fewer than t+1 colluding CSNs of one provider learn nothing);
4. the index of a CSN is its position + 1.

This replaces :func:`offchain.outsourcing.client.select_group` (a random shuffle with the same diversity
rule) inside the environment: the choice must be the same in every enclave, so it is a function of a seed.
"""

from __future__ import annotations

import hmac
import itertools
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from eth_abi.abi import encode
from eth_utils.address import is_address, to_checksum_address

from offchain.chain.registry import NodeRecord
from offchain.crypto.hashing import keccak256
from offchain.outsourcing.errors import InvalidParameters
from offchain.outsourcing.osc.errors import OscRequestError

SALT_TAG = keccak256(b"metatrust/bmeoc/RSSC/salt/v1")
SEED_TAG = b"metatrust/bmeoc/RSSC/seed/v1"
MAX_CANDIDATES = 512


@dataclass(frozen=True)
class Candidate:
    """A CSN the Leader offers RSSC: checksummed address, 32-byte provider id, eligibility (registered,
    active, bonded, not unbonding, idle: read from RSC and ASC by the Leader)."""

    address: str
    provider: bytes
    eligible: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.address, str) or not is_address(self.address):
            raise OscRequestError(f"candidate address {self.address!r} is not an address")
        object.__setattr__(self, "address", to_checksum_address(self.address))
        if not isinstance(self.provider, bytes) or len(self.provider) > 32:
            raise OscRequestError("a candidate's provider id is at most 32 bytes")
        object.__setattr__(self, "provider", self.provider.ljust(32, b"\0"))
        if not isinstance(self.eligible, bool):
            raise OscRequestError("a candidate's eligible flag is a bool")

    @classmethod
    def of(cls, record: NodeRecord, eligible: bool = True) -> Candidate:
        """A candidate from an RSC record (eligible only when also active in RSC)."""
        return cls(record.address, record.provider, eligible and record.active)


def candidates_from_records(
    records: Sequence[NodeRecord], is_eligible: Callable[[NodeRecord], bool] | None = None
) -> tuple[Candidate, ...]:
    """Candidates from RSC records, ``is_eligible`` adding the Leader's checks (e.g. ``ASC.isEligible``)."""
    return tuple(Candidate.of(r, is_eligible(r) if is_eligible is not None else True) for r in records)


def canonical_candidates(candidates: Sequence[Candidate]) -> tuple[Candidate, ...]:
    """Sorted by address value (the order RSSC requires); raises on a duplicate."""
    ordered = tuple(sorted(candidates, key=lambda c: int(c.address, 16)))
    for before, after in itertools.pairwise(ordered):
        if before.address == after.address:
            raise OscRequestError(f"candidate {after.address} appears twice")
    if len(ordered) > MAX_CANDIDATES:
        raise OscRequestError(f"at most {MAX_CANDIDATES} candidates, got {len(ordered)}")
    return ordered


def selection_key(seed: bytes, task_id: bytes, csn: str) -> int:
    """``keccak256(abi.encode(seed, taskId, csn))`` as an integer (``RSSC.selectionKey``)."""
    return int.from_bytes(keccak256(encode(["bytes32", "bytes32", "address"], [seed, task_id, csn])), "big")


def selection_salt(seed: bytes, task_id: bytes) -> bytes:
    """The group commitment's salt, ``keccak256(abi.encode(SALT_TAG, seed, taskId))``: secret while the seed
    is."""
    return keccak256(encode(["bytes32", "bytes32", "bytes32"], [SALT_TAG, seed, task_id]))


def derive_seed(leader_secret: bytes, task_id: bytes) -> bytes:
    """A selection seed the Leader derives from its secret and the task id (HMAC-SHA-256), then sends to every
    enclave of the environment with the ScheduleTask request."""
    if len(leader_secret) < 16 or len(task_id) != 32:
        raise InvalidParameters("the Leader's secret is at least 16 bytes and the task id 32 bytes")
    return hmac.new(leader_secret, SEED_TAG + task_id, "sha256").digest()


def select_group(
    candidates: Sequence[Candidate],
    m: int,
    t: int,
    seed: bytes,
    task_id: bytes,
    blacklisted: Collection[str] = (),
) -> list[str]:
    """Group_C by RSSC's rule (index j = position + 1); raises :class:`InvalidParameters` when fewer than m
    candidates can be chosen with at most t per provider."""
    if t < 1:
        raise InvalidParameters("t must be at least 1")
    barred = {to_checksum_address(a) for a in blacklisted}
    usable = [c for c in canonical_candidates(candidates) if c.eligible and c.address not in barred]
    usable.sort(key=lambda c: selection_key(seed, task_id, c.address))
    chosen: list[str] = []
    per_provider: Counter[bytes] = Counter()
    for candidate in usable:
        if len(chosen) == m:
            break
        if per_provider[candidate.provider] >= t:
            continue
        per_provider[candidate.provider] += 1
        chosen.append(candidate.address)
    if len(chosen) < m:
        raise InvalidParameters(
            f"need m = {m} CSNs with at most t = {t} per provider; the candidates offer {len(chosen)}"
        )
    return chosen

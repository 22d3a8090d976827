"""The MetaAICM committee election (seed 001, §4.5.4.2, Algorithm 4.3) as pure functions.

Mirrors ``contracts/crowdsourcing/CommitteeManager.sol`` bit for bit, so that any verifier can recompute an
election from the VRF proof, the candidates and their reputations (read from RC at the election's block):

* candidates with reputation r get ⌊r / unit⌋ units (none when r ≤ 0); the eligible ones are ordered by
  address (as 160-bit integers) and their units laid end to end, K in total;
* φ₁ = keccak256(π), φᵢ₊₁ = keccak256(φᵢ);
* **fixed (default)**: draw Idx = ⌊K'·φᵢ / 2²⁵⁶⌋ over the units still in the pool, elect their owner and
  remove its units (K' shrinks), until min(M, n) distinct nodes are elected — sampling without replacement,
  which has the same distribution as the spec's rejection loop but a bounded number of draws;
* **literal** (the thesis): M draws Idx = ⌊K·φᵢ / (2²⁵⁶ − 1)⌋ with replacement; a node drawn twice takes one
  seat, so seats stay empty, and φᵢ = 2²⁵⁶ − 1 gives Idx = K, one past the last unit;
* seats left empty go to the trusted seed nodes, in their order, skipping those already elected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address

from offchain.crypto.hashing import keccak256

TWO_256 = 2**256


class LiteralIndexOutOfRangeError(ValueError):
    """The literal Algorithm 4.3 indexed one past the last reputation unit (φ = 2²⁵⁶ − 1)."""


@dataclass(frozen=True)
class Candidate:
    """A candidate node and its reputation (RC fixed point, 1e18 = 1.0)."""

    address: str
    reputation: int


def units_of(reputation: int, unit: int) -> int:
    """⌊r / unit⌋ for r > 0, else 0."""
    if unit <= 0:
        raise ValueError("unit must be positive")
    return reputation // unit if reputation > 0 else 0


def eligible(candidates: Sequence[Candidate], unit: int) -> list[tuple[str, int]]:
    """Candidates with at least one unit, in canonical (address) order, with their units."""
    pairs = [(to_checksum_address(c.address), units_of(c.reputation, unit)) for c in candidates]
    return sorted(((a, u) for a, u in pairs if u > 0), key=lambda pair: int(pair[0], 16))


def next_phi(phi: int) -> int:
    """φᵢ₊₁ = keccak256(φᵢ as 32 bytes)."""
    return int.from_bytes(keccak256(phi.to_bytes(32, "big")), "big")


def _owner(units: Sequence[int], index: int) -> int:
    cumulative = 0
    for i, u in enumerate(units):
        cumulative += u
        if index < cumulative:
            return i
    raise LiteralIndexOutOfRangeError(f"index {index} is past the last of {cumulative} units")


def elect(
    candidates: Sequence[Candidate],
    seats: int,
    unit: int,
    phi: bytes,
    seeds: Sequence[str] = (),
    *,
    literal: bool = False,
) -> list[str]:
    """The dynamic partition φ₁ = ``phi`` elects (checksummed addresses, draw order, then seed nodes)."""
    if len(phi) != 32:
        raise ValueError("phi is 32 bytes")
    pool = eligible(candidates, unit)
    nodes = [a for a, _ in pool]
    units = [u for _, u in pool]
    total = sum(units)
    draw = int.from_bytes(phi, "big")
    members: list[str] = []
    if literal:
        if total:
            for _ in range(seats):
                node = nodes[_owner(units, total * draw // (TWO_256 - 1))]
                if node not in members:
                    members.append(node)
                draw = next_phi(draw)
    else:
        while len(members) < min(seats, len(nodes)):
            owner = _owner(units, total * draw // TWO_256)
            members.append(nodes[owner])
            total -= units[owner]
            units[owner] = 0
            draw = next_phi(draw)
    for seed in seeds:
        if len(members) >= seats:
            break
        seed = to_checksum_address(seed)
        if seed not in members:
            members.append(seed)
    return members


def literal_draws(candidates: Sequence[Candidate], seats: int, unit: int, phi: bytes) -> list[str]:
    """The thesis's N with duplicates: the owners of the M literal draws (raises on Idx = K)."""
    pool = eligible(candidates, unit)
    units = [u for _, u in pool]
    total = sum(units)
    draw = int.from_bytes(phi, "big")
    drawn = []
    for _ in range(seats):
        drawn.append(pool[_owner(units, total * draw // (TWO_256 - 1))][0])
        draw = next_phi(draw)
    return drawn


def election_seed(chain_id: int, contract: str, term: int, anchor_hash: bytes) -> bytes:
    """keccak256(abi.encode(chainid, contract, term, blockhash(anchor))), as ``electionSeed``."""
    return keccak256(
        encode(["uint256", "address", "uint256", "bytes32"], [chain_id, contract, term, anchor_hash])
    )


@dataclass(frozen=True)
class Schedule:
    """Rounds and terms (``roundBlocks`` blocks per round, W bootstrap rounds, k rounds per term)."""

    genesis_block: int
    round_blocks: int
    bootstrap_rounds: int
    term_rounds: int

    def round_at(self, block: int) -> int:
        return (block - self.genesis_block) // self.round_blocks + 1

    def term_of(self, round_: int) -> int:
        if round_ <= self.bootstrap_rounds:
            return 0
        return (round_ - self.bootstrap_rounds - 1) // self.term_rounds + 1

    def term_start_round(self, term: int) -> int:
        return 1 if term == 0 else self.bootstrap_rounds + 1 + (term - 1) * self.term_rounds

    def anchor_block(self, term: int) -> int:
        return self.genesis_block + (self.term_start_round(term) - 1) * self.round_blocks - 1

    def first_block_of_term(self, term: int) -> int:
        return self.anchor_block(term) + 1

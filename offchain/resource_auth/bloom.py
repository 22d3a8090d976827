"""The Bloom filter of RSMS (spec 002 §2.3, §8 item 19; requirement R3), deterministic and serialisable.

* ``Init(N, ε)``: ``m = ceil(1.44·ε·N)`` bits and ``k = ceil(ε)`` positions, which gives a false-positive
  rate of about ``2^-ε`` (the paper's sizing rule; the optimal k for it is ε).
* Positions: Kirsch–Mitzenmacher double hashing ``h1 + i·h2 mod m`` from one SHA-256 of the element, so
  the filter is the same on every machine and its bytes can be digested and anchored on chain.
* ``to_bytes``: ``"RSMSBF1" ‖ m (8) ‖ k (1) ‖ count (8) ‖ bits``. A :class:`SignedBloom` carries the pool,
  the batch number and the MSRP's Schnorr signature over ``(pool, batch, filter bytes)``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Final

from offchain.resource_auth import schnorr
from offchain.resource_auth.costs import COUNTER
from offchain.resource_auth.errors import BloomSignatureInvalid, MalformedMessage
from offchain.resource_auth.group import Point

MAGIC: Final = b"RSMSBF1"
HEADER: Final = len(MAGIC) + 8 + 1 + 8


class BloomFilter:
    def __init__(self, m_bits: int, k_hashes: int) -> None:
        if m_bits < 1 or not 1 <= k_hashes <= 255:
            raise ValueError("a Bloom filter needs m ≥ 1 bits and 1 ≤ k ≤ 255 hash positions")
        self.m = m_bits
        self.k = k_hashes
        self.count = 0
        self._bits = bytearray((m_bits + 7) // 8)

    @classmethod
    def init(cls, n_items: int, epsilon: float) -> BloomFilter:
        """``Init(N, ε)``: ``ceil(1.44·ε·N)`` bits, ``ceil(ε)`` positions, FPR ≈ 2^-ε."""
        if n_items < 1 or epsilon <= 0:
            raise ValueError("Init needs N ≥ 1 and ε > 0")
        return cls(math.ceil(1.44 * epsilon * n_items), math.ceil(epsilon))

    def pos(self, item: bytes) -> list[int]:
        """``Pos(m)``: the bit positions of ``item``."""
        digest = hashlib.sha256(b"RSMS-BF" + item).digest()
        h1 = int.from_bytes(digest[:16], "big")
        h2 = int.from_bytes(digest[16:], "big") | 1
        return [(h1 + i * h2) % self.m for i in range(self.k)]

    def insert(self, item: bytes) -> None:
        for position in self.pos(item):
            self._bits[position >> 3] |= 1 << (position & 7)
        self.count += 1

    def check(self, item: bytes) -> bool:
        """``Check(m)``: True when every position is set (no false negatives; FPR ≈ 2^-ε). Counts T_BF."""
        COUNTER.bf += 1
        bits = self._bits
        return all(bits[position >> 3] >> (position & 7) & 1 for position in self.pos(item))

    def __contains__(self, item: bytes) -> bool:
        return self.check(item)

    def expected_fpr(self) -> float:
        n = max(self.count, 1)
        return float((1 - math.exp(-self.k * n / self.m)) ** self.k)

    def to_bytes(self) -> bytes:
        return (
            MAGIC
            + self.m.to_bytes(8, "big")
            + bytes([self.k])
            + self.count.to_bytes(8, "big")
            + bytes(self._bits)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> BloomFilter:
        if len(data) < HEADER or not data.startswith(MAGIC):
            raise MalformedMessage("not a serialised RSMS Bloom filter")
        m = int.from_bytes(data[7:15], "big")
        k = data[15]
        if m < 1 or k < 1 or len(data) != HEADER + (m + 7) // 8:
            raise MalformedMessage("Bloom filter length does not match its header")
        bloom = cls(m, k)
        bloom.count = int.from_bytes(data[16:24], "big")
        bloom._bits = bytearray(data[HEADER:])
        return bloom

    def digest(self) -> bytes:
        return hashlib.sha256(self.to_bytes()).digest()


@dataclass(frozen=True)
class SignedBloom:
    """A Bloom-filter batch of one pool, signed by the MSRP (delivered to the pool's RPM)."""

    pool_id: int
    batch: int
    filter_bytes: bytes
    signature: bytes

    def signed_message(self) -> bytes:
        return signed_message(self.pool_id, self.batch, self.filter_bytes)

    def digest(self) -> bytes:
        """``sha256(pool ‖ batch ‖ filter)``: the value anchored on chain."""
        return hashlib.sha256(self.signed_message()).digest()

    def open(self, msrp_public_key: Point) -> BloomFilter:
        """Verify the MSRP's signature and decode the filter; :class:`BloomSignatureInvalid` otherwise."""
        try:
            signature = schnorr.Signature.from_bytes(self.signature)
        except MalformedMessage as exc:
            raise BloomSignatureInvalid(str(exc)) from exc
        if not schnorr.verify(msrp_public_key, self.signed_message(), signature):
            raise BloomSignatureInvalid(f"pool {self.pool_id} batch {self.batch}: MSRP signature invalid")
        return BloomFilter.from_bytes(self.filter_bytes)


def signed_message(pool_id: int, batch: int, filter_bytes: bytes) -> bytes:
    return b"RSMS-BF-BATCH" + pool_id.to_bytes(4, "big") + batch.to_bytes(8, "big") + filter_bytes

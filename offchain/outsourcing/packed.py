"""Vectors of F_q packed into one Python integer, for the MTD's task processing at large k.

A vector ``(a_0, ..., a_{k-1})`` is the integer whose big-endian bytes are the fixed-width encodings of the
``a_i`` (:meth:`Field.encode_vector`): slot i holds ``a_i`` in ``8 * width`` bits. Linear combinations with
small scalars (``v = x + Σ j^i r_i``) are then a handful of big-integer operations in C instead of k Python
operations each, and the packed integer's bytes are directly the encoding that ``ID_Tj`` hashes.

Slot-wise reduction mod q works for pseudo-Mersenne primes ``q = 2^e + c`` with ``0 < c < 2^(e/2)``
(the default q = 2^128 + 51 is one): ``a = hi·2^e + lo ≡ lo − c·hi``, then one conditional subtraction of
q per slot, flagged by a carry bit. :func:`packer_for` returns None for other primes (the callers then use
the per-element path).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from offchain.outsourcing.field import Field


def _repeat(pattern: int, slot_bits: int, count: int) -> int:
    """``pattern`` placed in each of ``count`` slots of ``slot_bits`` bits (a multiple of 8)."""
    return int.from_bytes(pattern.to_bytes(slot_bits // 8, "big") * count, "big")


@dataclass(frozen=True)
class Packer:
    """Packing constants for k slots of F_q with q = 2^e + c."""

    field: Field
    k: int
    e: int
    c: int
    slot_bits: int
    low_mask: int
    high_mask: int
    ones: int
    q_all: int
    flag_offset: int
    random_mask: int

    @property
    def max_input_bits(self) -> int:
        """Slot values below ``2^max_input_bits`` reduce correctly (``c·hi < q``, no slot overflow)."""
        return min(self.slot_bits - 1, 2 * self.e - self.c.bit_length() - 1)

    def pack(self, values: list[int] | tuple[int, ...]) -> int:
        return int.from_bytes(self.field.encode_vector(values), "big")

    def to_bytes(self, packed: int) -> bytes:
        return packed.to_bytes(self.k * self.field.width, "big")

    def unpack(self, packed: int) -> tuple[int, ...]:
        return self.field.decode_vector(self.to_bytes(packed))

    def reduce(self, packed: int) -> int:
        """Every slot mod q, for slot values below ``2^max_input_bits``."""
        lo = packed & self.low_mask
        hi = (packed >> self.e) & self.high_mask
        value = lo + self.q_all - self.c * hi  # per slot in (0, 2q): c·hi < q and lo < 2^e < q
        flags = ((value + self.flag_offset) >> (self.e + 1)) & self.ones  # 1 where the slot is >= q
        return value - ((flags << self.e) + self.c * flags)  # q·flags without a multi-limb product

    def combine(self, points: list[int] | range, base: int, coefficients: list[int]) -> list[int]:
        """``base + Σ_i j^i coefficients[i-1]`` reduced, for every j in ``points`` (Horner, packed).

        ``base`` and the ``coefficients`` are packed vectors of reduced elements.
        """
        q = self.field.q
        limit = 1 << self.max_input_bits
        out = []
        for j in points:
            value, bound = coefficients[-1], q
            for coefficient in (*reversed(coefficients[:-1]), base):
                if bound * j + q >= limit:
                    value, bound = self.reduce(value), q
                value, bound = value * j + coefficient, bound * j + q
            out.append(self.reduce(value))
        return out

    def random(self, rng_bytes: bytes | None = None) -> int:
        """k uniform elements (statistical distance below ``q / 2^max_input_bits`` each), packed."""
        raw = rng_bytes if rng_bytes is not None else os.urandom(self.k * self.field.width)
        return self.reduce(int.from_bytes(raw, "big") & self.random_mask)


@lru_cache(maxsize=64)
def packer_for(field: Field, k: int) -> Packer | None:
    """The packer for k slots of ``field``, or None when q is not of the form 2^e + c with small c > 0."""
    q = field.q
    e = q.bit_length() - 1
    c = q - (1 << e)
    slot_bits = 8 * field.width
    if c <= 0 or c.bit_length() > e // 2 or e + 3 > slot_bits or k < 1:
        return None
    return Packer(
        field=field,
        k=k,
        e=e,
        c=c,
        slot_bits=slot_bits,
        low_mask=_repeat((1 << e) - 1, slot_bits, k),
        high_mask=_repeat((1 << (slot_bits - e)) - 1, slot_bits, k),
        ones=_repeat(1, slot_bits, k),
        q_all=_repeat(q, slot_bits, k),
        flag_offset=_repeat((1 << (e + 1)) - q, slot_bits, k),
        random_mask=_repeat((1 << min(slot_bits - 1, 2 * e - c.bit_length() - 1)) - 1, slot_bits, k),
    )

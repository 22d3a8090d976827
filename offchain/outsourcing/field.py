"""The prime field F_q of Meta-BMEOC (spec 000 §3.1, R1): q = 2^128 + 51 by default, any prime accepted.

:class:`Field` checks that ``q`` is prime on construction (FLINT's primality test), samples field elements
from the OS CSPRNG (or from a seeded ``random.Random`` given explicitly, for tests and benchmarks only), and
encodes elements as fixed-width big-endian bytes (at least 32 bytes, so an element below 2^256 is a Solidity
``uint256``).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from functools import lru_cache

import flint

from offchain.outsourcing.errors import InvalidParameters

DEFAULT_Q = 2**128 + 51
"""The paper's modulus (λ = 128, §VI.A); prime."""

MAX_Q_BITS = 4096
"""Largest modulus accepted (bounds the primality test a peer can make an agent run)."""

_SAMPLE_SLACK_BYTES = 16
"""Extra random bytes per element drawn from the CSPRNG: the reduction bias is below 2^-128."""


@dataclass(frozen=True)
class Field:
    """F_q for a prime ``q`` (checked). Use :func:`get_field` to share one instance per modulus."""

    q: int
    ctx: flint.fmpz_mod_ctx = field(init=False, repr=False, compare=False)
    width: int = field(init=False, repr=False, compare=False)
    """Bytes of one encoded element: ``max(32, ceil(bits(q) / 8))``."""

    def __post_init__(self) -> None:
        if isinstance(self.q, bool) or not isinstance(self.q, int):
            raise InvalidParameters(f"q must be an int, got {type(self.q).__name__}")
        if self.q < 3:
            raise InvalidParameters(f"q = {self.q} is too small (need an odd prime)")
        if self.q.bit_length() > MAX_Q_BITS:
            raise InvalidParameters(f"q has more than {MAX_Q_BITS} bits")
        if not flint.fmpz(self.q).is_prime():
            raise InvalidParameters(f"q = {self.q} is not prime")
        object.__setattr__(self, "ctx", flint.fmpz_mod_ctx(self.q))
        object.__setattr__(self, "width", max(32, (self.q.bit_length() + 7) // 8))

    # --- sampling -------------------------------------------------------------------------------

    def random_elements(self, count: int, rng: random.Random | None = None) -> list[int]:
        """``count`` uniform elements of F_q.

        ``rng=None`` (real use) reads the OS CSPRNG in one call and reduces ``width + 16`` bytes per element
        (statistical distance below 2^-128); a seeded ``random.Random`` gives exact uniform samples and is
        for tests and benchmarks only.
        """
        if count < 0:
            raise ValueError("count must be non-negative")
        if rng is not None:
            return [rng.randrange(self.q) for _ in range(count)]
        size = self.width + _SAMPLE_SLACK_BYTES
        raw = os.urandom(count * size)
        q = self.q
        return [int.from_bytes(raw[i : i + size], "big") % q for i in range(0, count * size, size)]

    def random_nonzero(self, rng: random.Random | None = None) -> int:
        """A uniform element of F_q^* (rejection of 0)."""
        while True:
            value = self.random_elements(1, rng)[0]
            if value:
                return value

    # --- arithmetic helpers -----------------------------------------------------------------------

    def inv(self, value: int) -> int:
        """The inverse of a nonzero element."""
        if value % self.q == 0:
            raise ZeroDivisionError("0 has no inverse in F_q")
        return pow(value, -1, self.q)

    def check(self, name: str, value: object) -> int:
        """``value`` as an element of F_q (an ``int`` in ``[0, q)``), else :class:`InvalidParameters`."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameters(f"{name} must be an int, got {type(value).__name__}")
        if not 0 <= value < self.q:
            raise InvalidParameters(f"{name} is not an element of F_q (0 <= value < q)")
        return value

    # --- encoding ---------------------------------------------------------------------------------

    def encode(self, value: int) -> bytes:
        """One element as ``width`` big-endian bytes."""
        return value.to_bytes(self.width, "big")

    def encode_vector(self, values: list[int] | tuple[int, ...]) -> bytes:
        """A vector as the concatenation of its encoded elements."""
        width = self.width
        return b"".join(value.to_bytes(width, "big") for value in values)

    def decode_vector(self, data: bytes) -> tuple[int, ...]:
        """The inverse of :meth:`encode_vector`; every element must be below q."""
        width = self.width
        if len(data) % width:
            raise InvalidParameters(f"a vector encoding is a multiple of {width} bytes, got {len(data)}")
        values = tuple(int.from_bytes(data[i : i + width], "big") for i in range(0, len(data), width))
        q = self.q
        if any(value >= q for value in values):
            raise InvalidParameters("a vector element is not below q")
        return values


@lru_cache(maxsize=32)
def get_field(q: int = DEFAULT_Q) -> Field:
    """The (cached) field of a prime ``q``; raises :class:`InvalidParameters` when ``q`` is not prime."""
    return Field(q)

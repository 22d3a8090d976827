"""The prime-order group of RSMS (spec 002 §2.1): G1 of BLS12-381, through a native binding.

``Point`` wraps one element of a pluggable backend:

* ``blst`` (default): the ``pyblst`` binding of supranational's blst. Measured on the project machine it
  is about twice as fast as arkworks for scalar multiplication (≈0.1 ms against ≈0.2 ms); decompression
  checks the encoding, the curve equation and membership of the prime-order subgroup.
* ``arkworks``: ``py-arkworks-bls12381``, kept as a cross-check and for the bench's backend comparison.

No pairing is used anywhere: BLS12-381 only serves as a 128-bit prime-order group. Every scalar
multiplication and point addition is counted in :mod:`offchain.resource_auth.costs` (T_ECPSM, T_ECPA).

Encoding: the ZCash compressed form, 48 bytes (both backends produce identical bytes).
"""

from __future__ import annotations

import random
import secrets
from typing import Any, Final, Protocol

import py_arkworks_bls12381 as _ark  # no stubs: mypy override in pyproject.toml
import pyblst as _blst  # no stubs: mypy override in pyproject.toml

from offchain.resource_auth.costs import COUNTER
from offchain.resource_auth.errors import InvalidPoint

Q: Final = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""The prime order q (= r) of G1, 255 bits."""
P_FIELD: Final = int(
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab", 16
)
"""The base-field prime p, 381 bits."""
POINT_BYTES: Final = 48
SCALAR_BYTES: Final = 32
GENERATOR_BYTES: Final = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
)
IDENTITY_BYTES: Final = bytes([0xC0]) + bytes(47)


class Backend(Protocol):
    """What the protocols need from a G1 implementation."""

    name: str

    def decode(self, data: bytes) -> Any: ...
    def encode(self, element: Any) -> bytes: ...
    def mul(self, element: Any, scalar: int) -> Any: ...
    def add(self, left: Any, right: Any) -> Any: ...
    def neg(self, element: Any) -> Any: ...
    def equal(self, left: Any, right: Any) -> bool: ...
    def hash_to_curve(self, message: bytes, dst: bytes) -> Any: ...


class BlstBackend:
    name = "blst"

    def decode(self, data: bytes) -> Any:
        return _blst.BlstP1Element().uncompress(data)

    def encode(self, element: Any) -> bytes:
        return bytes(element.compress())

    def mul(self, element: Any, scalar: int) -> Any:
        return element.scalar_mul(scalar)

    def add(self, left: Any, right: Any) -> Any:
        return left + right

    def neg(self, element: Any) -> Any:
        return -element

    def equal(self, left: Any, right: Any) -> bool:
        return bool(left == right)

    def hash_to_curve(self, message: bytes, dst: bytes) -> Any:
        return _blst.BlstP1Element.hash_to_group(message, dst)


class ArkworksBackend:
    name = "arkworks"

    def decode(self, data: bytes) -> Any:
        return _ark.G1Point.from_compressed_bytes(data)

    def encode(self, element: Any) -> bytes:
        return bytes(element.to_compressed_bytes())

    def mul(self, element: Any, scalar: int) -> Any:
        return element * _ark.Scalar(scalar % Q)

    def add(self, left: Any, right: Any) -> Any:
        return left + right

    def neg(self, element: Any) -> Any:
        return -element

    def equal(self, left: Any, right: Any) -> bool:
        return bool(left == right)

    def hash_to_curve(self, message: bytes, dst: bytes) -> Any:
        return _ark.G1Point.hash_to_curve(message, dst)


BACKENDS: Final[dict[str, Backend]] = {"blst": BlstBackend(), "arkworks": ArkworksBackend()}
_default: Backend = BACKENDS["blst"]


def set_default_backend(name: str) -> None:
    """Choose the backend of points built without an explicit one (``blst`` or ``arkworks``)."""
    global _default
    if name not in BACKENDS:
        raise ValueError(f"unknown group backend {name!r}; known: {sorted(BACKENDS)}")
    _default = BACKENDS[name]


def default_backend() -> Backend:
    return _default


class Point:
    """An element of G1 (immutable). ``k * P`` and ``P * k`` take Python ints (reduced mod q)."""

    __slots__ = ("_backend", "_element")

    def __init__(self, backend: Backend, element: Any) -> None:
        self._backend = backend
        self._element = element

    @classmethod
    def from_bytes(cls, data: bytes, backend: Backend | None = None) -> Point:
        """Decode a compressed point; raises :class:`InvalidPoint` for a bad encoding, a point off the curve
        or outside the prime-order subgroup."""
        chosen = backend or _default
        if len(data) != POINT_BYTES:
            raise InvalidPoint(f"a G1 point is {POINT_BYTES} bytes compressed, got {len(data)}")
        try:
            return cls(chosen, chosen.decode(bytes(data)))
        except (ValueError, TypeError) as exc:
            raise InvalidPoint("not the encoding of a point of the prime-order subgroup of G1") from exc

    def to_bytes(self) -> bytes:
        return self._backend.encode(self._element)

    @property
    def backend(self) -> Backend:
        return self._backend

    def __mul__(self, scalar: int) -> Point:
        if not isinstance(scalar, int):
            return NotImplemented
        COUNTER.ecpsm += 1
        return Point(self._backend, self._backend.mul(self._element, scalar % Q))

    __rmul__ = __mul__

    def __add__(self, other: Point) -> Point:
        if not isinstance(other, Point):
            return NotImplemented
        COUNTER.ecpa += 1
        return Point(self._backend, self._backend.add(self._element, other._element))

    def __neg__(self) -> Point:
        return Point(self._backend, self._backend.neg(self._element))

    def __sub__(self, other: Point) -> Point:
        return self + (-other)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Point):
            return NotImplemented
        if other._backend is self._backend:
            return self._backend.equal(self._element, other._element)
        return self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def is_identity(self) -> bool:
        return self.to_bytes() == IDENTITY_BYTES

    def __repr__(self) -> str:
        return f"Point({self.to_bytes().hex()[:16]}…)"


def generator(backend: Backend | None = None) -> Point:
    """The standard G1 generator P."""
    chosen = backend or _default
    return Point(chosen, chosen.decode(GENERATOR_BYTES))


def identity(backend: Backend | None = None) -> Point:
    chosen = backend or _default
    return Point(chosen, chosen.decode(IDENTITY_BYTES))


def hash_to_curve(message: bytes, dst: bytes, backend: Backend | None = None) -> Point:
    """RFC 9380 ``BLS12381G1_XMD:SHA-256_SSWU_RO_`` with domain separation tag ``dst``."""
    chosen = backend or _default
    return Point(chosen, chosen.hash_to_curve(message, dst))


def random_scalar(rng: random.Random | None = None) -> int:
    """A uniform element of Z_q* (the OS CSPRNG unless a seeded ``rng`` is given, for tests only)."""
    if rng is None:
        return secrets.randbelow(Q - 1) + 1
    return rng.randrange(1, Q)


def scalar_to_bytes(value: int) -> bytes:
    """32-byte big-endian encoding of an element of Z_q."""
    if not 0 <= value < Q:
        raise ValueError("scalar outside [0, q)")
    return value.to_bytes(SCALAR_BYTES, "big")


def scalar_from_bytes(data: bytes) -> int:
    """Decode a 32-byte big-endian scalar; values ≥ q are rejected (no silent reduction)."""
    if len(data) != SCALAR_BYTES:
        raise ValueError(f"a scalar is {SCALAR_BYTES} bytes, got {len(data)}")
    value = int.from_bytes(data, "big")
    if value >= Q:
        raise ValueError("scalar encoding ≥ q")
    return value


def inverse(value: int) -> int:
    """Modular inverse in Z_q (T_MIO)."""
    COUNTER.mio += 1
    return pow(value, -1, Q)

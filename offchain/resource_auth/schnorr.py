"""Schnorr signatures over G1 (spec 002 §8 item 32: the paper's unspecified signature scheme).

``sign(sk, msg)``: ``k ←$ Z_q*``, ``R = k·P``, ``c = H("SIG", R, PK, msg)``, ``s = k + c·sk``;
``verify``: ``s·P == R + c·PK``. Used by the MSRP for Bloom-filter batches and group set-up messages, and
by RPMs for their reports to the MSRP (an RPM's verifying key is its implicit-certificate key
``PK_RPM + H2(PID_RPM)·PK_pub``, so no extra key is distributed). Signature: R (48) ‖ s (32) = 80 bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from offchain.resource_auth.errors import InvalidPoint, MalformedMessage
from offchain.resource_auth.group import (
    POINT_BYTES,
    Point,
    Q,
    generator,
    random_scalar,
    scalar_from_bytes,
    scalar_to_bytes,
)
from offchain.resource_auth.hashes import hash_to_scalar

SIGNATURE_BYTES: Final = POINT_BYTES + 32


@dataclass(frozen=True)
class Signature:
    r: Point
    s: int

    def to_bytes(self) -> bytes:
        return self.r.to_bytes() + scalar_to_bytes(self.s)

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        if len(data) != SIGNATURE_BYTES:
            raise MalformedMessage(f"a signature is {SIGNATURE_BYTES} bytes, got {len(data)}")
        try:
            return cls(Point.from_bytes(data[:POINT_BYTES]), scalar_from_bytes(data[POINT_BYTES:]))
        except (InvalidPoint, ValueError) as exc:
            raise MalformedMessage(f"bad signature encoding: {exc}") from exc


def sign(secret_key: int, public_key: Point, message: bytes, rng: random.Random | None = None) -> Signature:
    k = random_scalar(rng)
    r = generator() * k
    c = hash_to_scalar("SIG", r, public_key, message)
    return Signature(r, (k + c * secret_key) % Q)


def verify(public_key: Point, message: bytes, signature: Signature) -> bool:
    c = hash_to_scalar("SIG", signature.r, public_key, message)
    return generator() * signature.s == signature.r + public_key * c

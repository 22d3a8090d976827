# ruff: noqa: N803  (L is the spec's name: spec 003 §2.2)
"""How MExpm values travel to ``MExpmMarket`` (an extension, spec 003 §4.3): fixed-width big-endian
encodings, the two commitments and the opening. Pure functions, bit for bit what the contract computes.

* every value mod ``L`` is encoded with the modulus' width: ``ceil(bits(L) / 256) · 32`` bytes;
* ``outputs``: the server's 2n+2 results, concatenated in the order the pairs were received;
* ``pairs``: the 2n+2 shuffled (base, exponent) pairs, ``base_j ‖ exponent_j`` each of the width;
* ``auxCommit = keccak256(abi.encode(rv3, v4, δ1, δ2, perm, salt))`` (``bytes`` ×5, ``bytes32``);
* ``pairsCommit = keccak256(abi.encode(pairs, salt))``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import encode as abi_encode

from offchain.crypto.hashing import keccak256
from offchain.modexp.params import Aux, IVSecret, MalformedTask, ServerTask

#: Largest batch size the market accepts (``MExpmMarket.MAX_N``).
MAX_N = 32


def width_of(L: int) -> int:
    """Bytes per value for modulus ``L``: a positive multiple of 32."""
    if L < 3:
        raise MalformedTask("L must be at least 3")
    return max(32, -(-L.bit_length() // 256) * 32)


def encode_value(value: int, width: int) -> bytes:
    """``value`` as ``width`` big-endian bytes."""
    if value < 0 or value.bit_length() > 8 * width:
        raise MalformedTask(f"value does not fit {width} bytes")
    return value.to_bytes(width, "big")


def encode_exponent(value: int) -> bytes:
    """An exponent in its shortest big-endian form (at least one byte)."""
    if value < 0:
        raise MalformedTask("exponents are non-negative")
    return value.to_bytes(max(1, -(-value.bit_length() // 8)), "big")


def encode_values(values: Sequence[int], L: int) -> bytes:
    """Values mod ``L`` concatenated at the modulus' width."""
    width = width_of(L)
    return b"".join(encode_value(value, width) for value in values)


def decode_values(data: bytes, L: int) -> tuple[int, ...]:
    """Inverse of :func:`encode_values`; a ragged length raises :class:`MalformedTask`."""
    width = width_of(L)
    if len(data) % width:
        raise MalformedTask(f"{len(data)} bytes is not a multiple of the width {width}")
    return tuple(int.from_bytes(data[i : i + width], "big") for i in range(0, len(data), width))


def encode_pairs(task: ServerTask) -> bytes:
    """The shuffled pairs as committed: ``base_j ‖ exponent_j`` at the modulus' width."""
    width = width_of(task.L)
    return b"".join(encode_value(b, width) + encode_value(e, width) for b, e in task.pairs)


def decode_pairs(data: bytes, L: int) -> ServerTask:
    """Inverse of :func:`encode_pairs` (checks every base is below ``L``)."""
    values = decode_values(data, L)
    if len(values) % 2:
        raise MalformedTask("pairs must hold an even number of values")
    return ServerTask(L=L, pairs=tuple(zip(values[0::2], values[1::2], strict=True)))


def pairs_commitment(pairs: bytes, salt: bytes) -> bytes:
    """``keccak256(abi.encode(pairs, salt))`` (``MExpmMarket.pairsCommitment``)."""
    return keccak256(abi_encode(["bytes", "bytes32"], [pairs, _salt(salt)]))


@dataclass(frozen=True)
class Opening:
    """The opening of ``auxCommit``: the contract's ``Opening`` struct, already encoded."""

    rv3: bytes
    v4: bytes
    delta1: bytes
    delta2: bytes
    perm: bytes
    salt: bytes

    @classmethod
    def build(cls, aux: Aux, secret: IVSecret, L: int, salt: bytes) -> Opening:
        """Encode Aux and the permutation of ``secret`` for modulus ``L``."""
        width = width_of(L)
        if len(secret.permutation) > 2 * MAX_N + 2:
            raise MalformedTask(f"a batch of {len(secret.permutation)} outputs exceeds the market's bound")
        return cls(
            rv3=encode_value(aux.rv3, width),
            v4=encode_value(aux.v4, width),
            delta1=encode_exponent(aux.delta1),
            delta2=encode_exponent(aux.delta2),
            perm=bytes(secret.permutation),
            salt=_salt(salt),
        )

    def as_tuple(self) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes]:
        """The struct as web3 passes it."""
        return (self.rv3, self.v4, self.delta1, self.delta2, self.perm, self.salt)

    def commitment(self) -> bytes:
        """``auxCommit`` (``MExpmMarket.auxCommitment``)."""
        return keccak256(
            abi_encode(
                ["bytes", "bytes", "bytes", "bytes", "bytes", "bytes32"],
                [self.rv3, self.v4, self.delta1, self.delta2, self.perm, self.salt],
            )
        )


def new_salt() -> bytes:
    """32 random bytes from the OS CSPRNG."""
    return secrets.token_bytes(32)


def _salt(salt: bytes) -> bytes:
    if len(salt) != 32:
        raise MalformedTask("a salt has 32 bytes")
    return salt

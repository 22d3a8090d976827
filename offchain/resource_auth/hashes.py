# ruff: noqa: N802  (H1..H6 are the paper's names, spec 002 §2.2)
"""H1–H6 of RSMS on SHA-256 with domain separation (spec 002 §2.2, §8 items 2–8; requirement R2).

* Every input is encoded canonically and unambiguously (:func:`encode`): one type byte and a 4-byte length
  before each part; points are compressed (48 bytes), scalars 32 bytes big-endian, strings UTF-8. The
  number of parts is part of the encoding, so ``H4(a)`` and ``H4(a, sk)`` are domain-separated (item 4).
* ``Z_q*`` outputs: RFC 9380 ``expand_message_xmd`` (SHA-256) to 48 bytes, reduced mod q (bias < 2^-128);
  a zero result is re-hashed with a counter, so the output is never 0.
* H1 → G1: RFC 9380 hash-to-curve ``BLS12381G1_XMD:SHA-256_SSWU_RO_``.
* H3 is an XOF: its output length is the length of the operand it masks (32 bytes in initial
  authentication, 64 in re-authentication; item 8).

Each call counts one T_HF (H1 counts one T_HF too: the paper treats it as a hash).
"""

from __future__ import annotations

from typing import Final

from offchain.crypto.hashing import expand_message_xmd
from offchain.resource_auth.costs import COUNTER
from offchain.resource_auth.group import POINT_BYTES, Point, Q, hash_to_curve, scalar_to_bytes

DST_PREFIX: Final = b"RSMS-V01-"
SUITE: Final = b"_XMD:SHA-256_"
Part = Point | int | bytes | str


def encode(*parts: Part) -> bytes:
    """Canonical, injective encoding of a tuple of parts (points, scalars, bytes, strings)."""
    out = bytearray(len(parts).to_bytes(2, "big"))
    for part in parts:
        if isinstance(part, Point):
            kind, body = b"P", part.to_bytes()
        elif isinstance(part, bool):
            raise TypeError("booleans are not hash inputs")
        elif isinstance(part, int):
            kind, body = b"S", scalar_to_bytes(part % Q)
        elif isinstance(part, bytes | bytearray):
            kind, body = b"B", bytes(part)
        elif isinstance(part, str):
            kind, body = b"U", part.encode()
        else:
            raise TypeError(f"cannot hash a {type(part).__name__}")
        out += kind + len(body).to_bytes(4, "big") + body
    return bytes(out)


def _dst(name: str) -> bytes:
    return DST_PREFIX + name.encode() + SUITE


def hash_to_scalar(name: str, *parts: Part) -> int:
    """A nonzero element of Z_q from ``parts`` under the domain ``name`` (counts one T_HF)."""
    COUNTER.hf += 1
    message = encode(*parts)
    dst = _dst(name)
    counter = 0
    while True:
        value = int.from_bytes(expand_message_xmd(message + counter.to_bytes(4, "big"), dst, 48), "big") % Q
        if value:
            return value
        counter += 1  # probability 2^-255: unreachable in practice, kept for the "never 0" guarantee


def H1(data: bytes) -> Point:
    """``{0,1}* → G``: pseudonyms PID = H1(PK_pub ⊕ RID)."""
    COUNTER.hf += 1
    return hash_to_curve(encode(data), DST_PREFIX + b"H1_BLS12381G1_XMD:SHA-256_SSWU_RO_")


def H2(*parts: Part) -> int:
    """``{0,1}* → Z_q*``: H2(PID_RPM), x_i = H2(PID_i), s_serv = H2(r ‖ msk ‖ PID_1 ‖ …)."""
    return hash_to_scalar("H2", *parts)


def H3(point: Point, pid: bytes, length: int) -> bytes:
    """``G × {0,1}* → {0,1}^{8·length}``: the XOF mask H3(U, PID) of the one-time secret."""
    COUNTER.hf += 1
    return expand_message_xmd(encode(point, pid, length), _dst("H3"), length)


def H4(*scalars: int) -> int:
    """``Z_q*^{1 or 2} → Z_q*``: the ledger tag H4(a), the chain step H4(a_k, sk), the key check H4(s)."""
    if len(scalars) not in (1, 2):
        raise ValueError("H4 takes one or two scalars")
    return hash_to_scalar("H4", *scalars)


def H5(q_point: Point, pk_pub: Point) -> int:
    """``G × G → Z_q*``: H5(Q, PK_pub) of the group session key update."""
    return hash_to_scalar("H5", q_point, pk_pub)


def H6(pid: bytes, a_next: int) -> int:
    """``{0,1}* × {0,1}* → Z_q*``: the pseudonym chain PID_{k+1} = H6(PID_k, a_{k+1})."""
    return hash_to_scalar("H6", pid, a_next)


def xor(left: bytes, right: bytes) -> bytes:
    if len(left) != len(right):
        raise ValueError("xor of byte strings of different lengths")
    return (int.from_bytes(left, "big") ^ int.from_bytes(right, "big")).to_bytes(len(left), "big")


def mask_rid(pk_pub: Point, rid: bytes) -> bytes:
    """``PK_pub ⊕ RID`` (spec §8 item 6): RID (SHA-256-expanded to 48 bytes when longer), zero-padded to the
    48-byte compressed PK_pub, XORed with it."""
    if len(rid) > POINT_BYTES:
        rid = expand_message_xmd(rid, _dst("RID"), POINT_BYTES)
    return xor(pk_pub.to_bytes(), rid.ljust(POINT_BYTES, b"\x00"))


def tag_bytes(a: int) -> bytes:
    """The ledger tag of a one-time secret as 32 bytes: H4(a)."""
    return scalar_to_bytes(H4(a))

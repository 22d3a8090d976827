"""The committee election's VRF: a BLS signature over BLS12-381 used as a verifiable random function.

Secret key sk ∈ [1, r); public key pk = sk·G2; proof π = sk·H(m) in G1 with H the RFC 9380 hash to G1
(``BLS12381G1_XMD:SHA-256_SSWU_RO_``, tag :data:`DST`); output φ = keccak256(π in EIP-2537 encoding). The
group arithmetic, hashing to the curve and the pairing check come from blst (``pyblst``); py_ecc only
decompresses points into the affine coordinates the EIP-2537 precompiles take. ``contracts/crowdsourcing/
BlsVrf.sol`` verifies the same proofs on chain (pairing precompile 0x0f).

Security: uniqueness is unconditional (for a valid pk ≠ O exactly one σ passes the pairing check, and the
uncompressed encoding is canonical), so the prover cannot choose among outputs; pseudorandomness holds in
the random-oracle model under the co-CDH assumption on BLS12-381 (the argument behind BLS-based random
beacons such as drand). Keys must be fixed before the seed is known (the contract only accepts keys set
before the term's anchor block).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from py_ecc.bls import point_compression
from py_ecc.bls.typing import G1Compressed, G2Compressed
from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.optimized_bls12_381 import optimized_curve as bls
from pyblst import BlstP1Element, BlstP2Element, final_verify, miller_loop

from offchain.crypto.hashing import keccak256

#: Domain separation tag (must equal ``BlsVrf.DST``).
DST = b"METATRUST-COMMITTEE-VRF-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_"
#: Order of the BLS12-381 groups.
CURVE_ORDER = int(bls.curve_order)
G1_LENGTH = 128
G2_LENGTH = 256


def _fp(value: int) -> bytes:
    return int(value).to_bytes(64, "big")


def _g2_generator() -> BlstP2Element:
    z1, z2 = point_compression.compress_G2(bls.G2)
    return BlstP2Element().uncompress(int(z1).to_bytes(48, "big") + int(z2).to_bytes(48, "big"))


def encode_g1(point: BlstP1Element) -> bytes:
    """EIP-2537 encoding (x ‖ y, 64 bytes each) of a G1 point."""
    x, y = bls.normalize(
        point_compression.decompress_G1(G1Compressed(int.from_bytes(point.compress(), "big")))
    )
    return _fp(int(x)) + _fp(int(y))


def encode_g2(point: BlstP2Element) -> bytes:
    """EIP-2537 encoding (x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1) of a G2 point."""
    raw = point.compress()
    z = G2Compressed((int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big")))
    x, y = bls.normalize(point_compression.decompress_G2(z))
    return b"".join(_fp(int(c)) for c in (*x.coeffs, *y.coeffs))


def _decode_g1(data: bytes) -> BlstP1Element:
    if len(data) != G1_LENGTH:
        raise ValueError("a G1 point is 128 bytes")
    x, y = int.from_bytes(data[:64], "big"), int.from_bytes(data[64:], "big")
    point = (FQ(x), FQ(y), FQ.one())
    if not bls.is_on_curve(point, bls.b):
        raise ValueError("not on the curve")
    return BlstP1Element().uncompress(int(point_compression.compress_G1(point)).to_bytes(48, "big"))


def _decode_g2(data: bytes) -> BlstP2Element:
    if len(data) != G2_LENGTH:
        raise ValueError("a G2 point is 256 bytes")
    c = [int.from_bytes(data[i : i + 64], "big") for i in range(0, 256, 64)]
    point = (FQ2([c[0], c[1]]), FQ2([c[2], c[3]]), FQ2.one())
    if not bls.is_on_curve(point, bls.b2):
        raise ValueError("not on the curve")
    z1, z2 = point_compression.compress_G2(point)
    return BlstP2Element().uncompress(int(z1).to_bytes(48, "big") + int(z2).to_bytes(48, "big"))


@dataclass(frozen=True)
class VrfKey:
    """A committee node's VRF key pair."""

    secret: int

    def __post_init__(self) -> None:
        if not 0 < self.secret < CURVE_ORDER:
            raise ValueError("secret key out of range")

    @classmethod
    def generate(cls) -> VrfKey:
        """A fresh random key."""
        return cls(secrets.randbelow(CURVE_ORDER - 1) + 1)

    @property
    def public_key(self) -> bytes:
        """pk = sk·G2 in EIP-2537 encoding (256 bytes), as ``CommitteeManager.setVrfKey`` takes it."""
        return encode_g2(_g2_generator().scalar_mul(self.secret))

    def prove(self, message: bytes) -> bytes:
        """π = sk·H(message) in EIP-2537 encoding (128 bytes)."""
        return encode_g1(BlstP1Element().hash_to_group(message, DST).scalar_mul(self.secret))


def output(proof: bytes) -> bytes:
    """φ = keccak256(π)."""
    return keccak256(proof)


def verify(public_key: bytes, message: bytes, proof: bytes) -> bool:
    """Whether ``proof`` is the VRF proof of ``message`` under ``public_key`` (twin of ``BlsVrf.verify``)."""
    try:
        sigma = _decode_g1(proof)
        pk = _decode_g2(public_key)
    except ValueError:
        return False
    if not any(proof) or not any(public_key):
        return False
    h = BlstP1Element().hash_to_group(message, DST)
    return bool(final_verify(miller_loop(sigma, _g2_generator()), miller_loop(h, pk)))

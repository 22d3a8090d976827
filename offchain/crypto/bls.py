"""BLS signatures over BLS12-381 (min-sig), byte-compatible with ``contracts/platform/BLS12381.sol``.

Signatures are in G1, public keys in G2, both in the EIP-2537 encoding the precompiles take (a G1 point is
128 bytes: x and y, each a 48-byte big-endian integer left-padded to 64 bytes; a G2 point is 256 bytes:
x.c0, x.c1, y.c0, y.c1). Hash-to-curve is RFC 9380 ``BLS12381G1_XMD:SHA-256_SSWU_RO_``; same-message
aggregation is made safe against rogue keys by a proof of possession (a signature on the key's own
256-byte encoding under :data:`DST_POP`).

Every curve operation and every pairing runs in ``pyblst`` (supranational's blst). ``py-arkworks-bls12381``
only converts between blst's compressed form and the affine coordinates of EIP-2537 (a change of
encoding, with its own curve and subgroup checks). Nothing here is hand-rolled; the contract's
``expand_message_xmd`` intermediate is cross-tested against
:func:`offchain.crypto.hashing.expand_message_xmd`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from typing import Any, Final

import py_arkworks_bls12381 as _ark  # no stubs: mypy override in pyproject.toml
import pyblst as _blst  # no stubs: mypy override in pyproject.toml

from offchain.crypto.errors import InvalidPrivateKey, InvalidPublicKey, SignatureError

R: Final = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""The prime order r of G1 and G2."""
P: Final = int(
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab", 16
)
"""The base-field prime p."""
G1_LENGTH: Final = 128
G2_LENGTH: Final = 256
DST_SIG: Final = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_"
DST_POP: Final = b"BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_"

_G1_GENERATOR: Final = _blst.BlstP1Element().uncompress(
    bytes.fromhex(
        "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
    )
)
_G2_GENERATOR: Final = _blst.BlstP2Element().uncompress(
    bytes.fromhex(
        "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
        "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
    )
)


# ------------------------------------------------------------------------------------------ encoding


def _pad(coordinates: bytes) -> bytes:
    """48-byte big-endian field elements -> 64-byte EIP-2537 field elements."""
    return b"".join(bytes(16) + coordinates[i : i + 48] for i in range(0, len(coordinates), 48))


def _unpad(encoded: bytes) -> bytes:
    """64-byte EIP-2537 field elements -> 48-byte ones; the 16-byte padding must be zero."""
    out = bytearray()
    for i in range(0, len(encoded), 64):
        if encoded[i : i + 16] != bytes(16):
            raise ValueError("non-zero padding of a field element")
        element = encoded[i + 16 : i + 64]
        if int.from_bytes(element, "big") >= P:
            raise ValueError("field element not below p")
        out += element
    return bytes(out)


def encode_g1(point: Any) -> bytes:
    """The EIP-2537 encoding (128 bytes) of a blst G1 point."""
    affine = _ark.G1Point.from_compressed_bytes(bytes(point.compress()))
    return _pad(bytes(affine.to_xy_bytes_be()))


def encode_g2(point: Any) -> bytes:
    """The EIP-2537 encoding (256 bytes) of a blst G2 point."""
    affine = _ark.G2Point.from_compressed_bytes(bytes(point.compress()))
    return _pad(bytes(affine.to_xy_bytes_be()))


def decode_g1(encoded: bytes) -> Any:
    """A blst G1 point from its EIP-2537 encoding; checks length, padding, curve and subgroup."""
    if len(encoded) != G1_LENGTH:
        raise SignatureError(f"a G1 point is {G1_LENGTH} bytes, got {len(encoded)}")
    try:
        affine = _ark.G1Point.from_xy_bytes_be(_unpad(encoded))
        return _blst.BlstP1Element().uncompress(bytes(affine.to_compressed_bytes()))
    except Exception as exc:  # the bindings raise their own types
        raise SignatureError(f"not a point of G1: {exc}") from exc


def decode_g2(encoded: bytes) -> Any:
    """A blst G2 point from its EIP-2537 encoding; checks length, padding, curve and subgroup."""
    if len(encoded) != G2_LENGTH:
        raise InvalidPublicKey(f"a G2 point is {G2_LENGTH} bytes, got {len(encoded)}")
    try:
        affine = _ark.G2Point.from_xy_bytes_be(_unpad(encoded))
        return _blst.BlstP2Element().uncompress(bytes(affine.to_compressed_bytes()))
    except Exception as exc:
        raise InvalidPublicKey(f"not a point of G2: {exc}") from exc


def is_infinity(encoded: bytes) -> bool:
    """True for the all-zero EIP-2537 encoding of the point at infinity."""
    return not any(encoded)


# ------------------------------------------------------------------------------------------ hashing


def hash_to_g1_point(message: bytes, dst: bytes) -> Any:
    """RFC 9380 hash_to_curve to G1 (random oracle), as a blst point."""
    return _blst.BlstP1Element.hash_to_group(message, dst)


def hash_to_g1(message: bytes, dst: bytes = DST_SIG) -> bytes:
    """RFC 9380 hash_to_curve to G1 in the EIP-2537 encoding (what ``BLS12381.hashToG1`` returns)."""
    return encode_g1(hash_to_g1_point(message, dst))


# ------------------------------------------------------------------------------------------ keys


def _check_secret(secret: int) -> None:
    if not 0 < secret < R:
        raise InvalidPrivateKey("a BLS secret key is an integer in [1, r - 1]")


def generate_secret() -> int:
    """A fresh secret key from the operating system's CSPRNG."""
    return secrets.randbelow(R - 1) + 1


def derive_secret(seed: bytes) -> int:
    """A deterministic secret key from a seed (tests, demos): SHA-256 with a counter, reduced mod r."""
    counter = 0
    while True:
        digest = hashlib.sha512(b"metatrust-bls-keygen" + seed + counter.to_bytes(4, "big")).digest()
        secret = int.from_bytes(digest, "big") % R
        if secret:
            return secret
        counter += 1


def public_key(secret: int) -> bytes:
    """The G2 public key g2^secret, EIP-2537-encoded (256 bytes)."""
    _check_secret(secret)
    return encode_g2(_G2_GENERATOR.scalar_mul(secret))


# ------------------------------------------------------------------------------------------ signatures


def sign(secret: int, message: bytes, dst: bytes = DST_SIG) -> bytes:
    """The BLS signature H(message)^secret in G1, EIP-2537-encoded (128 bytes)."""
    _check_secret(secret)
    return encode_g1(hash_to_g1_point(message, dst).scalar_mul(secret))


def prove_possession(secret: int) -> bytes:
    """The proof of possession of ``secret``: its signature on its own public key's encoding under DST_POP."""
    return sign(secret, public_key(secret), DST_POP)


def _pairing_check(public_key_point: Any, hashed: Any, signature_point: Any) -> bool:
    """e(signature, g2) == e(hashed, public_key)."""
    return bool(
        _blst.final_verify(
            _blst.miller_loop(signature_point, _G2_GENERATOR), _blst.miller_loop(hashed, public_key_point)
        )
    )


def verify(public_key_bytes: bytes, message: bytes, signature: bytes, dst: bytes = DST_SIG) -> bool:
    """Verify one signature, or a same-message aggregate under the sum of the keys. Malformed input: False."""
    try:
        key = decode_g2(public_key_bytes)
        sig = decode_g1(signature)
    except (InvalidPublicKey, SignatureError):
        return False
    if is_infinity(public_key_bytes):
        return False
    return _pairing_check(key, hash_to_g1_point(message, dst), sig)


def verify_pop(public_key_bytes: bytes, proof: bytes) -> bool:
    """Verify a proof of possession (as ``BLS12381.verifyPop``)."""
    return verify(public_key_bytes, public_key_bytes, proof, DST_POP)


def aggregate_signatures(signatures: Iterable[bytes]) -> bytes:
    """The sum of G1 signatures (EIP-2537 in and out)."""
    points = [decode_g1(sig) for sig in signatures]
    if not points:
        raise SignatureError("nothing to aggregate")
    total = points[0]
    for point in points[1:]:
        total = total + point
    return encode_g1(total)


def aggregate_public_keys(keys: Iterable[bytes]) -> bytes:
    """The sum of G2 public keys (EIP-2537 in and out)."""
    points = [decode_g2(key) for key in keys]
    if not points:
        raise InvalidPublicKey("nothing to aggregate")
    total = points[0]
    for point in points[1:]:
        total = total + point
    return encode_g2(total)


def verify_aggregate(keys: Sequence[bytes], message: bytes, aggregate: bytes, dst: bytes = DST_SIG) -> bool:
    """Same-message aggregate verification: e(σ_agg, g2) == e(H(m), Σ pk_i). The keys must carry PoPs."""
    if not keys:
        return False
    try:
        return verify(aggregate_public_keys(keys), message, aggregate, dst)
    except InvalidPublicKey:
        return False


def g1_generator() -> Any:
    """The G1 generator as a blst point (for the Eq. (13) demonstration tests)."""
    return _G1_GENERATOR


def g2_generator() -> Any:
    """The G2 generator as a blst point."""
    return _G2_GENERATOR

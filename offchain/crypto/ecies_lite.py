"""ECIES-lite over secp256k1: deterministic, EVM-checkable URL encryption (MetaAICM, seed 001, spec §4.3).

MetaAICM's marketplace and data-crowdsourcing disputes need the contract to *re-encrypt* a revealed plaintext
and compare it with a stored ciphertext, which randomized ECIES cannot do. This scheme makes every value the
contract needs recomputable from what the disputing party reveals:

1. the encryptor draws ``e`` in ``[1, n-1]`` with ``(e·G).x < n`` (resampling otherwise), ``E = e·G``;
2. the shared point ``S = e·Q`` for the recipient key ``Q = d·G`` (so ``S = d·E``);
3. ``k = keccak256("MetaAICM/v1" || addr(S) || context)`` where ``addr(P)`` is the last 20 bytes of
   ``keccak256(P.x || P.y)`` (an Ethereum address) and ``context`` a 32-byte digest that binds the ciphertext
   to its slot (chain id, contract, purchase or task id, index);
4. keystream block ``i`` is ``keccak256(k || uint256(i))``; ``c = m XOR keystream[:len(m)]``.

The ciphertext is ``(E, c)``. On chain, ``addr(x·P)`` is ``ecrecover(0, 27 + P.y mod 2, P.x, x·P.x mod n)``
(``contracts/crowdsourcing/EciesLite.sol``). This is a one-time encryption: ``c`` hides ``m`` only while the
scalar behind ``S`` stays secret, and it has no integrity tag (the contract's hash commitments provide that).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from coincurve import PrivateKey as _CurvePrivateKey
from coincurve import PublicKey as _CurvePublicKey
from eth_hash.auto import keccak

from offchain.crypto.ecies import parse_public_key
from offchain.crypto.errors import InvalidPrivateKey

#: secp256k1 group order n.
CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: Domain tag hashed in front of every key.
DOMAIN = b"MetaAICM/v1"


@dataclass(frozen=True)
class Ciphertext:
    """``(E, c)``: the ephemeral point and the masked message."""

    ephemeral_x: int
    ephemeral_y: int
    body: bytes


def point_address(x: int, y: int) -> bytes:
    """``addr(P)``: the last 20 bytes of keccak256(P.x || P.y)."""
    return bytes(keccak(x.to_bytes(32, "big") + y.to_bytes(32, "big")))[12:]


def public_point(public_key: bytes) -> tuple[int, int]:
    """The affine coordinates of a secp256k1 public key given in any form :func:`parse_public_key` takes."""
    x, y = _CurvePublicKey(parse_public_key(public_key)).point()
    return int(x), int(y)


def _scalar(value: int) -> bytes:
    if not 0 < value < CURVE_ORDER:
        raise InvalidPrivateKey("a secp256k1 scalar must lie in [1, n-1]")
    return value.to_bytes(32, "big")


def _multiply(scalar: int, x: int, y: int) -> tuple[int, int]:
    point = _CurvePublicKey.from_point(x, y).multiply(_scalar(scalar))
    px, py = point.point()
    return int(px), int(py)


def context_digest(chain_id: int, contract: str | bytes, slot_id: int, index: int = 0) -> bytes:
    """The 32-byte context ``keccak256(abi.encode(chainId, contract, slotId, index))`` the contracts use."""
    address = bytes.fromhex(contract[2:]) if isinstance(contract, str) else bytes(contract)
    if len(address) != 20:
        raise ValueError("a contract address is 20 bytes")
    encoded = (
        chain_id.to_bytes(32, "big")
        + address.rjust(32, b"\0")
        + slot_id.to_bytes(32, "big")
        + index.to_bytes(32, "big")
    )
    return bytes(keccak(encoded))


def _keystream_xor(shared: tuple[int, int], context: bytes, data: bytes) -> bytes:
    if len(context) != 32:
        raise ValueError("the context is a 32-byte digest")
    key = bytes(keccak(DOMAIN + point_address(*shared) + context))
    stream = b"".join(
        bytes(keccak(key + block.to_bytes(32, "big"))) for block in range((len(data) + 31) // 32)
    )
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


def draw_ephemeral() -> int:
    """A random scalar ``e`` whose point ``e·G`` has ``x < n`` (what the contracts accept)."""
    while True:
        candidate = secrets.randbelow(CURVE_ORDER - 1) + 1
        x, _ = _CurvePrivateKey(_scalar(candidate)).public_key.point()
        if int(x) < CURVE_ORDER:
            return candidate


def encrypt(
    recipient_public_key: bytes, message: bytes, context: bytes, ephemeral: int | None = None
) -> Ciphertext:
    """Encrypt ``message`` to ``recipient_public_key`` for the slot ``context``.

    ``ephemeral`` is the scalar ``e``; a data worker keeps it to reveal in a dispute. Drawn at random when
    omitted.
    """
    e = draw_ephemeral() if ephemeral is None else ephemeral
    ex, ey = (int(v) for v in _CurvePrivateKey(_scalar(e)).public_key.point())
    if ex >= CURVE_ORDER:
        raise ValueError("the ephemeral point's x must be below n (draw another e)")
    shared = _multiply(e, *public_point(recipient_public_key))
    return Ciphertext(ex, ey, _keystream_xor(shared, context, message))


def decrypt(private_key: int, ciphertext: Ciphertext, context: bytes) -> bytes:
    """Recover the message with the recipient's secret scalar ``d`` (S = d·E)."""
    shared = _multiply(private_key, ciphertext.ephemeral_x, ciphertext.ephemeral_y)
    return _keystream_xor(shared, context, ciphertext.body)


def reencrypt_with_ephemeral(
    ephemeral: int, recipient_public_key: bytes, message: bytes, context: bytes
) -> Ciphertext:
    """What the data contract recomputes in a dispute from the revealed ``(message, e)``."""
    return encrypt(recipient_public_key, message, context, ephemeral=ephemeral)

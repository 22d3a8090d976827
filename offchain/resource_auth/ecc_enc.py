"""``Enc_PK(m)`` / ``Dec_sk`` of RSMS: ECIES over G1 of BLS12-381 (spec 002 §2.5 and §8 item 32; R5).

1. ``k ←$ Z_q*``, ``R = k·P``, shared point ``K = k·PK`` (the recipient computes ``sk·R``);
2. ``key = HKDF-SHA256(ikm = ser(K), salt = ser(R), info = "RSMS-ECIES-v1")``, 32 bytes;
3. AES-256-GCM with a random 12-byte nonce; ``aad`` is authenticated (binds the context: who, which pool).

Wire format: ``R (48) ‖ nonce (12) ‖ ciphertext ‖ tag (16)``: 76 bytes on top of the plaintext.
Encryption costs 2 T_ECPSM, decryption 1.
"""

from __future__ import annotations

import random
import secrets
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from offchain.resource_auth.errors import DecryptionFailed, InvalidPoint
from offchain.resource_auth.group import POINT_BYTES, Point, generator, random_scalar

INFO: Final = b"RSMS-ECIES-v1"
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
OVERHEAD: Final = POINT_BYTES + NONCE_BYTES + TAG_BYTES


def _key(shared: Point, ephemeral: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=ephemeral, info=INFO).derive(shared.to_bytes())


def encrypt(public_key: Point, plaintext: bytes, aad: bytes = b"", rng: random.Random | None = None) -> bytes:
    k = random_scalar(rng)
    ephemeral = (generator() * k).to_bytes()
    nonce = secrets.token_bytes(NONCE_BYTES) if rng is None else rng.randbytes(NONCE_BYTES)
    sealed = AESGCM(_key(public_key * k, ephemeral)).encrypt(nonce, plaintext, aad)
    return ephemeral + nonce + sealed


def decrypt(secret_key: int, blob: bytes, aad: bytes = b"") -> bytes:
    if len(blob) < OVERHEAD:
        raise DecryptionFailed("ciphertext too short")
    ephemeral, nonce, sealed = (
        blob[:POINT_BYTES],
        blob[POINT_BYTES : POINT_BYTES + NONCE_BYTES],
        blob[POINT_BYTES + NONCE_BYTES :],
    )
    try:
        point = Point.from_bytes(ephemeral)
    except InvalidPoint as exc:
        raise DecryptionFailed("ciphertext does not decrypt") from exc
    try:
        return AESGCM(_key(point * secret_key, ephemeral)).decrypt(nonce, sealed, aad)
    except InvalidTag as exc:
        raise DecryptionFailed("ciphertext does not decrypt") from exc

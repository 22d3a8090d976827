"""ECIES over secp256k1: encrypt to an Ethereum key pair's public key.

Scheme (version 1), for anyone re-implementing it:

1. an ephemeral key pair ``(e, E)`` is drawn per message;
2. ``shared = SHA-256(compressed(e · P))``, libsecp256k1's standard ECDH, where ``P`` is the recipient's
   public key;
3. ``key = HKDF-SHA256(ikm=shared, salt=compressed(E), info=b"metatrust-ecies-v1", length=32)``;
4. ``ciphertext || tag = AES-256-GCM(key, nonce, plaintext, associated_data)`` with a random 12-byte nonce.

Wire format: ``0x01 || compressed(E) (33) || nonce (12) || ciphertext || tag (16)``.
"""

import secrets

from coincurve import PrivateKey as _CurvePrivateKey
from coincurve import PublicKey as _CurvePublicKey
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from offchain.crypto.errors import DecryptionError, InvalidPublicKey
from offchain.crypto.keys import KeyPair, from_private_key

VERSION = 0x01
HKDF_INFO = b"metatrust-ecies-v1"
PUBLIC_KEY_LENGTH = 33
NONCE_LENGTH = 12
TAG_LENGTH = 16
HEADER_LENGTH = 1 + PUBLIC_KEY_LENGTH + NONCE_LENGTH
OVERHEAD = HEADER_LENGTH + TAG_LENGTH
"""Bytes a ciphertext has on top of its plaintext."""


def parse_public_key(public_key: bytes) -> bytes:
    """Validate a secp256k1 public key and return it compressed (33 bytes).

    Accepts the compressed (33 bytes), raw ``x || y`` (64 bytes, as :attr:`KeyPair.public_key`) and
    uncompressed SEC1 (65 bytes, ``0x04`` prefix) forms. Raises :class:`InvalidPublicKey` otherwise or when
    the point is not on the curve.
    """
    if len(public_key) == 64:
        public_key = b"\x04" + public_key
    if len(public_key) not in (33, 65):
        raise InvalidPublicKey(f"a public key is 33, 64 or 65 bytes, got {len(public_key)}")
    try:
        return bytes(_CurvePublicKey(bytes(public_key)).format(compressed=True))
    except (ValueError, TypeError) as exc:
        raise InvalidPublicKey("public key is not a valid point on secp256k1") from exc


def _derive_key(shared_secret: bytes, ephemeral_public_key: bytes) -> bytes:
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=ephemeral_public_key, info=HKDF_INFO)
    return hkdf.derive(shared_secret)


def encrypt(recipient_public_key: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """Encrypt ``plaintext`` to ``recipient_public_key`` (33, 64 or 65 bytes).

    ``associated_data`` is authenticated but not encrypted; :func:`decrypt` must be given the same bytes.
    Raises :class:`InvalidPublicKey` for an invalid recipient key.
    """
    recipient = parse_public_key(recipient_public_key)
    ephemeral = _CurvePrivateKey(secrets.token_bytes(32))
    ephemeral_public = bytes(ephemeral.public_key.format(compressed=True))
    key = _derive_key(bytes(ephemeral.ecdh(recipient)), ephemeral_public)
    nonce = secrets.token_bytes(NONCE_LENGTH)
    sealed = AESGCM(key).encrypt(nonce, plaintext, associated_data)
    return bytes([VERSION]) + ephemeral_public + nonce + sealed


def decrypt(private_key: KeyPair | bytes, blob: bytes, associated_data: bytes = b"") -> bytes:
    """Decrypt a :func:`encrypt` ciphertext with the recipient's private key (a :class:`KeyPair` or 32 bytes).

    Raises :class:`DecryptionError` for a wrong key, any tampering or truncation, an unknown version or an
    associated data mismatch, and :class:`InvalidPrivateKey` when ``private_key`` itself is invalid.
    """
    keypair = private_key if isinstance(private_key, KeyPair) else from_private_key(private_key)
    if len(blob) < OVERHEAD:
        raise DecryptionError("ciphertext is truncated")
    if blob[0] != VERSION:
        raise DecryptionError(f"unsupported ciphertext version {blob[0]}")
    ephemeral_public = bytes(blob[1 : 1 + PUBLIC_KEY_LENGTH])
    nonce = bytes(blob[1 + PUBLIC_KEY_LENGTH : HEADER_LENGTH])
    try:
        shared = bytes(_CurvePrivateKey(keypair.private_key).ecdh(ephemeral_public))
    except (ValueError, TypeError) as exc:
        raise DecryptionError("ciphertext carries an invalid ephemeral public key") from exc
    key = _derive_key(shared, ephemeral_public)
    try:
        return AESGCM(key).decrypt(nonce, bytes(blob[HEADER_LENGTH:]), associated_data)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext does not authenticate (wrong key, tampered or wrong AAD)") from exc

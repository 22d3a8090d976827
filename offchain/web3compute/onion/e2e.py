"""The end-to-end layer between the onion proxy and the Exit (the sandbox endpoint), pure.

The last router sees only this layer's ciphertext, never the data (the paper says the last OR "obtains the
data"; we seal it to the Exit first, spec §2.10 step 3). The same ECDH gives the key of the Exit's reply,
so only the proxy that sent the request can read and authenticate the answer.

Request: ``E (33) || ChaCha20-Poly1305(k_req, frame(data))``; reply: ``ChaCha20-Poly1305(k_resp,
frame(reply))``; ``frame(x) = len(x) (4, big-endian) || x || zero padding`` to the fixed payload size.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from coincurve import PrivateKey as _CurvePrivateKey
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from offchain.crypto.ecies import parse_public_key
from offchain.crypto.errors import InvalidPublicKey
from offchain.crypto.keys import KeyPair
from offchain.web3compute.onion.cells import PUBLIC_KEY_SIZE, TAG_SIZE, ZERO_NONCE_12, MalformedCell

E2E_INFO = b"metatrust-onion-e2e-v1"
REQUEST_AAD = b"metatrust-onion-request"
REPLY_AAD = b"metatrust-onion-reply"
LENGTH_SIZE = 4


@dataclass(frozen=True)
class ReplyKey:
    """The key of one request's reply (held by the proxy and, after opening, by the Exit)."""

    key: bytes = field(repr=False)


def max_request_size(payload_size: int) -> int:
    """Largest message that fits one cell of ``payload_size`` payload bytes."""
    return payload_size - PUBLIC_KEY_SIZE - TAG_SIZE - LENGTH_SIZE


def max_reply_size(payload_size: int) -> int:
    return payload_size - TAG_SIZE - LENGTH_SIZE


def _frame(data: bytes, size: int) -> bytes:
    if len(data) > size - LENGTH_SIZE:
        raise ValueError(f"message of {len(data)} bytes does not fit (at most {size - LENGTH_SIZE})")
    return len(data).to_bytes(LENGTH_SIZE, "big") + data + bytes(size - LENGTH_SIZE - len(data))


def _unframe(frame: bytes) -> bytes:
    length = int.from_bytes(frame[:LENGTH_SIZE], "big")
    if length > len(frame) - LENGTH_SIZE:
        raise MalformedCell("end-to-end frame length out of range")
    return frame[LENGTH_SIZE : LENGTH_SIZE + length]


def _keys(shared: bytes, ephemeral_public: bytes, exit_public: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(algorithm=SHA256(), length=64, salt=ephemeral_public + exit_public, info=E2E_INFO).derive(
        shared
    )
    return okm[:32], okm[32:]


def seal_request(exit_public_key: bytes, data: bytes, payload_size: int) -> tuple[bytes, ReplyKey]:
    """Seal ``data`` to the Exit; returns the fixed-size payload and the key to open the reply."""
    exit_public = parse_public_key(exit_public_key)
    ephemeral = _CurvePrivateKey(secrets.token_bytes(32))
    ephemeral_public = bytes(ephemeral.public_key.format(compressed=True))
    request_key, reply_key = _keys(bytes(ephemeral.ecdh(exit_public)), ephemeral_public, exit_public)
    body = _frame(data, payload_size - PUBLIC_KEY_SIZE - TAG_SIZE)
    sealed = ChaCha20Poly1305(request_key).encrypt(ZERO_NONCE_12, body, REQUEST_AAD)
    return ephemeral_public + sealed, ReplyKey(reply_key)


def open_request(exit_keypair: KeyPair, payload: bytes) -> tuple[bytes, ReplyKey]:
    """The Exit opens a request; raises :class:`MalformedCell` when it is not sealed to this Exit."""
    ephemeral_public = payload[:PUBLIC_KEY_SIZE]
    try:
        parse_public_key(ephemeral_public)
        shared = bytes(_CurvePrivateKey(exit_keypair.private_key).ecdh(ephemeral_public))
    except (InvalidPublicKey, ValueError, TypeError):
        raise MalformedCell("request carries an invalid ephemeral key") from None
    request_key, reply_key = _keys(shared, ephemeral_public, exit_keypair.compressed_public_key)
    try:
        frame = ChaCha20Poly1305(request_key).decrypt(ZERO_NONCE_12, payload[PUBLIC_KEY_SIZE:], REQUEST_AAD)
    except InvalidTag:
        raise MalformedCell("request does not authenticate (not sealed to this Exit, or tampered)") from None
    return _unframe(frame), ReplyKey(reply_key)


def seal_reply(key: ReplyKey, reply: bytes, payload_size: int) -> bytes:
    return ChaCha20Poly1305(key.key).encrypt(ZERO_NONCE_12, _frame(reply, payload_size - TAG_SIZE), REPLY_AAD)


def open_reply(key: ReplyKey, sealed: bytes) -> bytes:
    """The proxy opens the Exit's reply; raises :class:`MalformedCell` on any tampering."""
    try:
        frame = ChaCha20Poly1305(key.key).decrypt(ZERO_NONCE_12, sealed, REPLY_AAD)
    except InvalidTag:
        raise MalformedCell("reply does not authenticate (tampered on the way back)") from None
    return _unframe(frame)

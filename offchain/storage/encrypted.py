"""Encryption before storage: whatever leaves the owner is ciphertext.

A blob is sealed with a fresh 256-bit content key ``K`` under AES-256-GCM; ``K`` is wrapped to the
recipient's secp256k1 public key with :mod:`offchain.crypto.ecies`, with the ciphertext's canonical CID as
associated data (a wrapped key opens only the blob it was made for). The store sees, and the chain
may carry, only the ciphertext's CID, its hash and wrapped keys.

Sealed blob (what the backend stores): ``b"MTS1" || nonce (12) || AES-GCM(K, nonce, plaintext, aad) || tag``
with ``aad = b"MTS1" || associated_data``. Overhead: 32 bytes on the blob, plus 94 bytes (an ECIES
ciphertext of the 32-byte key) per recipient.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from offchain.crypto import ecies
from offchain.crypto.errors import DecryptionError
from offchain.crypto.keys import KeyPair
from offchain.storage.base import ContentStore
from offchain.storage.cid import canonical_reference, parse_cid, reference_hash
from offchain.storage.errors import CorruptedBlock

MAGIC = b"MTS1"
NONCE_LENGTH = 12
KEY_LENGTH = 32
KEY_WRAP_INFO = b"metatrust-storage-key-v1|"
BLOB_OVERHEAD = len(MAGIC) + NONCE_LENGTH + 16


@dataclass(frozen=True, slots=True)
class SealedRef:
    """What a recipient needs to fetch and open a sealed blob: its CID and the content key wrapped to them."""

    cid: str
    wrapped_key: bytes
    size: int
    """Plaintext bytes (for display; not secret-bearing)."""

    @property
    def reference(self) -> str:
        """The canonical ``ipfs://<CIDv1>`` of the ciphertext (what goes on chain, spec §4.2)."""
        return canonical_reference(self.cid)

    @property
    def reference_hash(self) -> bytes:
        """``keccak256`` of :attr:`reference` (H_s of a marketplace listing)."""
        return reference_hash(self.cid)

    def to_json(self) -> str:
        """Serialise as JSON (hex for bytes)."""
        return json.dumps({"cid": self.cid, "wrapped_key": "0x" + self.wrapped_key.hex(), "size": self.size})

    @classmethod
    def from_json(cls, text: str) -> SealedRef:
        """Inverse of :meth:`to_json`; raises ``ValueError`` on a malformed document."""
        try:
            document = json.loads(text)
            return cls(
                cid=parse_cid(str(document["cid"])).encode(),
                wrapped_key=bytes.fromhex(str(document["wrapped_key"]).removeprefix("0x")),
                size=int(document["size"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a sealed reference: {exc}") from None


def _key_aad(cid: str) -> bytes:
    return KEY_WRAP_INFO + canonical_reference(cid).encode("ascii")


def seal(plaintext: bytes, content_key: bytes, associated_data: bytes = b"") -> bytes:
    """AES-256-GCM-encrypt ``plaintext`` into the sealed blob format."""
    if len(content_key) != KEY_LENGTH:
        raise ValueError("a content key is 32 bytes")
    nonce = secrets.token_bytes(NONCE_LENGTH)
    return MAGIC + nonce + AESGCM(content_key).encrypt(nonce, bytes(plaintext), MAGIC + associated_data)


def unseal(blob: bytes, content_key: bytes, associated_data: bytes = b"") -> bytes:
    """Open a sealed blob; :class:`DecryptionError` for a wrong key, tampering or another format."""
    if len(blob) < BLOB_OVERHEAD or not blob.startswith(MAGIC):
        raise DecryptionError("not a sealed blob (format MTS1)")
    nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_LENGTH]
    try:
        return AESGCM(content_key).decrypt(nonce, blob[len(MAGIC) + NONCE_LENGTH :], MAGIC + associated_data)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("sealed blob does not authenticate (wrong key, tampered or wrong AAD)") from exc


class EncryptedStore:
    """Seal-then-store on top of any :class:`ContentStore` backend."""

    def __init__(self, backend: ContentStore) -> None:
        self.backend = backend

    def put(
        self, plaintext: bytes, recipient_public_key: bytes, associated_data: bytes = b""
    ) -> tuple[SealedRef, bytes]:
        """Seal ``plaintext``, store the ciphertext, wrap the key to the recipient.

        Returns the reference and the content key (the owner keeps it, or wraps it again later with
        :meth:`share`; a marketplace may deliver it next to the URL, spec §4.3 extension).
        """
        content_key = AESGCM.generate_key(bit_length=256)
        cid = self.backend.put(seal(plaintext, content_key, associated_data))
        return SealedRef(
            cid, self.wrap_key(cid, content_key, recipient_public_key), len(plaintext)
        ), content_key

    @staticmethod
    def wrap_key(cid: str, content_key: bytes, recipient_public_key: bytes) -> bytes:
        """ECIES-wrap ``content_key`` to a recipient, bound to the blob ``cid``."""
        return ecies.encrypt(recipient_public_key, content_key, _key_aad(cid))

    @staticmethod
    def unwrap_key(ref: SealedRef, private_key: KeyPair | bytes) -> bytes:
        """Recover the content key; :class:`DecryptionError` if the key was not wrapped to ``private_key``."""
        content_key = ecies.decrypt(private_key, ref.wrapped_key, _key_aad(ref.cid))
        if len(content_key) != KEY_LENGTH:
            raise DecryptionError("wrapped content key has the wrong length")
        return content_key

    def share(self, ref: SealedRef, private_key: KeyPair | bytes, recipient_public_key: bytes) -> SealedRef:
        """Re-wrap the content key of ``ref`` (readable with ``private_key``) to another recipient."""
        return SealedRef(
            ref.cid, self.wrap_key(ref.cid, self.unwrap_key(ref, private_key), recipient_public_key), ref.size
        )

    def get(self, ref: SealedRef, private_key: KeyPair | bytes, associated_data: bytes = b"") -> bytes:
        """Fetch (verified against the CID) and open a sealed blob."""
        return self.get_with_key(ref.cid, self.unwrap_key(ref, private_key), associated_data)

    def get_with_key(self, cid: str, content_key: bytes, associated_data: bytes = b"") -> bytes:
        """Fetch and open a sealed blob when the content key arrived another way."""
        blob = self.backend.get(cid)
        if not blob.startswith(MAGIC):
            raise CorruptedBlock(f"{cid} is not a sealed blob (no MTS1 header)")
        return unseal(blob, content_key, associated_data)

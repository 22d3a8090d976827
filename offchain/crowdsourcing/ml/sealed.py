"""Encrypted blobs addressed to several recipients, behind one ``ipfs://`` reference.

A model (or D_val) is sealed once with AES-256-GCM by :class:`~offchain.storage.EncryptedStore`; its
content key is ECIES-wrapped to each recipient's registered encryption key (the committee members and the
requester). A small JSON *envelope* lists the ciphertext's CID and the wrapped keys by recipient address;
it is stored too, and its ``ipfs://`` URI is what goes on chain. The store and the chain only ever see
ciphertexts, wrapped keys and CIDs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from eth_utils.address import is_address, to_checksum_address

from offchain.crypto.errors import DecryptionError
from offchain.crypto.keys import KeyPair
from offchain.storage import EncryptedStore, SealedRef, canonical_reference, parse_cid
from offchain.storage.errors import StorageError

FORMAT = "metatrust/sealed-multi/v1"
MAX_ENVELOPE_BYTES = 64 << 10
MAX_RECIPIENTS = 64
_PREFIX = "ipfs://"


class SealedBlobError(Exception):
    """A sealed reference could not be fetched or opened; ``code`` names why."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class SealedEnvelope:
    """The stored JSON: ciphertext CID, plaintext size, content-key wraps by recipient address."""

    cid: str
    size: int
    keys: Mapping[str, bytes]
    kind: str

    def to_bytes(self) -> bytes:
        body = {
            "format": FORMAT,
            "kind": self.kind,
            "cid": self.cid,
            "size": self.size,
            "keys": {address: "0x" + wrapped.hex() for address, wrapped in sorted(self.keys.items())},
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedEnvelope:
        if len(data) > MAX_ENVELOPE_BYTES:
            raise SealedBlobError("envelope-too-large", f"envelope is {len(data)} bytes")
        try:
            body = json.loads(data)
            if body.get("format") != FORMAT:
                raise ValueError(f"format {body.get('format')!r}")
            keys: dict[str, bytes] = {
                str(to_checksum_address(address)): bytes.fromhex(str(wrapped).removeprefix("0x"))
                for address, wrapped in dict(body["keys"]).items()
                if is_address(address)
            }
            return cls(parse_cid(str(body["cid"])).encode(), int(body["size"]), keys, str(body["kind"]))
        except (ValueError, KeyError, TypeError, AttributeError, StorageError) as exc:
            raise SealedBlobError("bad-envelope", f"not a sealed envelope: {exc}") from None


def cid_of(uri: str) -> str:
    """The CID in an ``ipfs://`` URI (or a bare CID); :class:`SealedBlobError` when malformed."""
    try:
        return parse_cid(uri.removeprefix(_PREFIX)).encode()
    except StorageError as exc:
        raise SealedBlobError("bad-reference", f"{uri!r} is not an ipfs:// reference: {exc}") from None


def publish_sealed(
    store: EncryptedStore, plaintext: bytes, recipients: Mapping[str, bytes], kind: str
) -> str:
    """Seal ``plaintext`` for every ``address → encryption public key``; return the envelope's URI."""
    if not recipients or len(recipients) > MAX_RECIPIENTS:
        raise ValueError(f"between 1 and {MAX_RECIPIENTS} recipients, got {len(recipients)}")
    items = iter(recipients.items())
    first_address, first_key = next(items)
    ref, content_key = store.put(plaintext, first_key, associated_data=kind.encode())
    keys: dict[str, bytes] = {str(to_checksum_address(first_address)): ref.wrapped_key}
    for address, public_key in items:
        keys[to_checksum_address(address)] = store.wrap_key(ref.cid, content_key, public_key)
    envelope = SealedEnvelope(ref.cid, ref.size, keys, kind)
    return canonical_reference(store.backend.put(envelope.to_bytes()))


def open_sealed(
    store: EncryptedStore, uri: str, reader: str, decryption_key: KeyPair, kind: str, max_bytes: int
) -> bytes:
    """Fetch and open a sealed blob as ``reader`` (an address listed in its envelope)."""
    try:
        envelope = SealedEnvelope.from_bytes(store.backend.get(cid_of(uri)))
        if envelope.kind != kind:
            raise SealedBlobError("wrong-kind", f"{uri} holds a {envelope.kind!r}, expected {kind!r}")
        if envelope.size > max_bytes:
            raise SealedBlobError("too-large", f"{uri} holds {envelope.size} bytes, the cap is {max_bytes}")
        wrapped = envelope.keys.get(to_checksum_address(reader))
        if wrapped is None:
            raise SealedBlobError("not-a-recipient", f"{uri} was not sealed for {reader}")
        ref = SealedRef(envelope.cid, wrapped, envelope.size)
        plaintext = store.get(ref, decryption_key, associated_data=kind.encode())
        if len(plaintext) > max_bytes:  # the envelope's size field is the sender's claim
            raise SealedBlobError("too-large", f"{uri} holds {len(plaintext)} bytes, the cap is {max_bytes}")
        return plaintext
    except StorageError as exc:
        raise SealedBlobError("storage", f"cannot fetch {uri}: {exc}") from None
    except DecryptionError as exc:
        raise SealedBlobError("cannot-decrypt", f"cannot open {uri}: {exc}") from None

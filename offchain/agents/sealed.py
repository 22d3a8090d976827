"""Sealed notes: the platform's own agent action, and the round trip ``make demo`` shows.

A client encrypts a note to the agent's encryption key read from the registry (ECIES, bound to the
client's address as associated data) and signs the envelope; the agent decrypts it, and answers with the
note's SHA-256 plus a reply encrypted to the client's registered key. Neither side trusts a key that did
not come from the chain, and no plaintext crosses the wire.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from offchain.agents.discovery import lookup_peer
from offchain.agents.errors import AgentError
from offchain.agents.service import Agent
from offchain.chain.registry import RegistryClient
from offchain.crypto import ecies
from offchain.crypto.errors import DecryptionError
from offchain.crypto.hashing import sha256
from offchain.crypto.keys import KeyPair

ACTION = "sealed-note"
MAX_NOTE_BYTES = 64 * 1024
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})+$")


def _address_bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:])


class SealedNote(BaseModel):
    """An ECIES ciphertext (0x-hex) for the agent's registered encryption key."""

    ciphertext: str = Field(max_length=2 * (MAX_NOTE_BYTES + ecies.OVERHEAD) + 2)

    @field_validator("ciphertext")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _HEX.match(value):
            raise ValueError("ciphertext must be 0x-prefixed hex with an even number of digits")
        return value


class SealedReceipt(BaseModel):
    """The note's SHA-256 and a reply (0x-hex ECIES ciphertext) for the sender's registered key."""

    digest: str
    reply: str


def seal(recipient_encryption_key: bytes, sender_address: str, note: bytes) -> SealedNote:
    """Encrypt ``note`` for the agent, bound to the sender's address."""
    blob = ecies.encrypt(recipient_encryption_key, note, associated_data=_address_bytes(sender_address))
    return SealedNote(ciphertext="0x" + blob.hex())


def open_reply(encryption_key: KeyPair, agent_address: str, receipt: SealedReceipt) -> bytes:
    """Decrypt the agent's reply with the client's encryption key."""
    blob = bytes.fromhex(receipt.reply[2:])
    return ecies.decrypt(encryption_key, blob, associated_data=_address_bytes(agent_address))


def serve_sealed_notes(agent: Agent, encryption_key: KeyPair, registry: RegistryClient) -> None:
    """Add the ``sealed-note`` action to ``agent``."""

    async def on_note(sender: str, request: SealedNote) -> SealedReceipt:
        try:
            note = ecies.decrypt(
                encryption_key, bytes.fromhex(request.ciphertext[2:]), associated_data=_address_bytes(sender)
            )
        except DecryptionError as exc:
            raise AgentError(
                422, "undecryptable", f"the note does not decrypt with this agent's key: {exc}"
            ) from exc
        peer = await lookup_peer(registry, sender)
        if peer is None:
            raise AgentError(403, "unregistered-sender", f"{sender} is not an active node of the registry")
        digest = sha256(note)
        reply = ecies.encrypt(
            peer.encryption_key, b"received " + digest, associated_data=_address_bytes(agent.address)
        )
        return SealedReceipt(digest="0x" + digest.hex(), reply="0x" + reply.hex())

    agent.route(ACTION, SealedNote, on_note)

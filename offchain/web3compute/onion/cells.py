"""Onion cells: the pure format and the layered encryption, with no I/O.

One forward cell is ``header || payload`` and has the same size at every hop, so a router cannot tell its
position on the circuit from the length of what it receives.

* The **header** is ``max_hops`` slots of ``SLOT_SIZE`` bytes. The slot at the front belongs to the router
  that receives the cell: ``E (33, compressed secp256k1) || ChaCha20-Poly1305(routing)``, where
  ``routing = command (1) || address length (1) || next-hop address (ADDRESS_SIZE) || payload MAC (32)``.
  The router derives its keys from ``ECDH(its key, E)``, opens the routing block, drops the front slot,
  decrypts the remaining slots with its header key stream and appends a random slot at the end, so the
  header keeps its size and the next router finds its own slot at the front.
* The **payload** (``payload_size`` bytes, already end-to-end sealed to the Exit, see :mod:`.e2e`) is
  ChaCha20-encrypted once per hop. The routing block of every hop carries an HMAC-SHA256 of the payload as
  that hop receives it, so a router detects any change to the payload made before it.
* **Replies** travel back on the same connections: every router XORs the reply with its reply key stream,
  and the onion proxy (which knows every hop's keys) removes all of them; the Exit's reply is sealed
  under a key only the onion proxy shares (:mod:`.e2e`).

Keys of one hop: ``HKDF-SHA256(ECDH(e, P), salt = E || P, info = "metatrust-onion-layer-v1")`` split into
routing (AEAD), header stream, payload stream, payload MAC and reply stream keys. Every ephemeral key is
fresh per message and per hop, so the zero nonces never repeat under one key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import IntEnum

from coincurve import PrivateKey as _CurvePrivateKey
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from offchain.crypto.ecies import parse_public_key
from offchain.crypto.errors import InvalidPublicKey
from offchain.crypto.keys import KeyPair

LAYER_INFO = b"metatrust-onion-layer-v1"
ROUTING_AAD = b"metatrust-onion-routing"
PUBLIC_KEY_SIZE = 33
TAG_SIZE = 16
MAC_SIZE = 32
ADDRESS_SIZE = 48
"""Bytes reserved for the next hop's ``host:port`` (ASCII)."""
ROUTING_SIZE = 1 + 1 + ADDRESS_SIZE + MAC_SIZE
SLOT_SIZE = PUBLIC_KEY_SIZE + ROUTING_SIZE + TAG_SIZE
ZERO_NONCE_12 = bytes(12)
ZERO_NONCE_16 = bytes(16)


class Command(IntEnum):
    """What a router does with the cell after peeling its layer."""

    RELAY = 1
    """Forward the re-formed cell to the next onion router."""
    DELIVER = 2
    """Deliver the payload to the Exit (the sandbox endpoint)."""


class MalformedCell(ValueError):  # noqa: N818 (a cell is malformed, not an "error")
    """A cell that a router must drop; ``reason`` says why (never anything secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CellFormat:
    """Sizes every router of one overlay agrees on."""

    max_hops: int = 6
    payload_size: int = 4096

    def __post_init__(self) -> None:
        if not 1 <= self.max_hops <= 16:
            raise ValueError("max_hops must be in [1, 16]")
        if self.payload_size < 128:
            raise ValueError("payload_size must be at least 128 bytes")

    @property
    def header_size(self) -> int:
        return self.max_hops * SLOT_SIZE

    @property
    def cell_size(self) -> int:
        """Bytes of a forward cell on every link between the onion proxy and the last router."""
        return self.header_size + self.payload_size

    @property
    def reply_size(self) -> int:
        """Bytes of a reply on every link back."""
        return self.payload_size


DEFAULT_FORMAT = CellFormat()


@dataclass(frozen=True)
class HopKeys:
    """The symmetric keys one hop shares with the onion proxy for one message."""

    routing: bytes = field(repr=False)
    header_stream: bytes = field(repr=False)
    payload_stream: bytes = field(repr=False)
    mac: bytes = field(repr=False)
    reply_stream: bytes = field(repr=False)


@dataclass(frozen=True)
class Hop:
    """One router of a path as the onion proxy sees it: where it listens and its public key."""

    address: str
    """``host:port`` of the router's TCP listener."""
    public_key: bytes
    """Its secp256k1 encryption key (compressed, 33 bytes; as registered in RSC)."""


@dataclass(frozen=True)
class Onion:
    """A built forward cell, where to send it, and what the proxy needs to read the reply."""

    first_hop: str
    cell: bytes
    reply_keys: tuple[bytes, ...] = field(repr=False)


@dataclass(frozen=True)
class PeeledLayer:
    """What a router learns from its layer: the command, the next hop, and what to send there."""

    command: Command
    next_hop: str
    outgoing: bytes
    """The re-formed cell for ``RELAY``; the payload (end-to-end sealed to the Exit) for ``DELIVER``."""
    reply_key: bytes = field(repr=False)
    replay_tag: bytes = field(repr=False)
    """Identifies the layer (hash of its ephemeral key) for the router's replay cache."""


# ---------------------------------------------------------------------------------------- primitives


def _stream(key: bytes, length: int) -> bytes:
    """``length`` bytes of ChaCha20 key stream (zero nonce: every key is used for one message only)."""
    return Cipher(algorithms.ChaCha20(key, ZERO_NONCE_16), mode=None).encryptor().update(bytes(length))


def xor_stream(key: bytes, data: bytes) -> bytes:
    """``data`` XOR the ChaCha20 key stream of ``key`` (its own inverse)."""
    return Cipher(algorithms.ChaCha20(key, ZERO_NONCE_16), mode=None).encryptor().update(data)


def _xor(left: bytes, right: bytes) -> bytes:
    size = len(left)
    return (int.from_bytes(left, "big") ^ int.from_bytes(right[:size], "big")).to_bytes(size, "big")


def derive_hop_keys(shared_secret: bytes, ephemeral_public: bytes, router_public: bytes) -> HopKeys:
    okm = HKDF(algorithm=SHA256(), length=160, salt=ephemeral_public + router_public, info=LAYER_INFO).derive(
        shared_secret
    )
    return HopKeys(okm[0:32], okm[32:64], okm[64:96], okm[96:128], okm[128:160])


def payload_mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def encode_address(address: str) -> bytes:
    """``host:port`` as the fixed-size address field; raises ``ValueError`` if it does not fit."""
    raw = address.encode("ascii")
    if not raw or len(raw) > ADDRESS_SIZE:
        raise ValueError(f"a hop address is 1..{ADDRESS_SIZE} ASCII bytes, got {address!r}")
    return raw


def split_address(address: str) -> tuple[str, int]:
    """``"127.0.0.1:9000"`` → ``("127.0.0.1", 9000)``; ``[::1]:9000`` for IPv6."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"not a host:port address: {address!r}")
    return host.strip("[]"), int(port_text)


def _routing_block(command: Command, next_hop: str, mac: bytes) -> bytes:
    raw = encode_address(next_hop)
    return bytes([command, len(raw)]) + raw.ljust(ADDRESS_SIZE, b"\0") + mac


def _parse_routing(block: bytes) -> tuple[Command, str, bytes]:
    try:
        command = Command(block[0])
    except ValueError:
        raise MalformedCell(f"unknown command {block[0]}") from None
    length = block[1]
    if not 1 <= length <= ADDRESS_SIZE:
        raise MalformedCell("next-hop address length out of range")
    try:
        address = block[2 : 2 + length].decode("ascii")
        split_address(address)
    except (UnicodeDecodeError, ValueError):
        raise MalformedCell("next-hop address is not host:port") from None
    return command, address, block[2 + ADDRESS_SIZE :]


# ---------------------------------------------------------------------------------------- build (proxy)


def build_onion(
    path: list[Hop], exit_address: str, payload: bytes, fmt: CellFormat = DEFAULT_FORMAT
) -> Onion:
    """Wrap ``payload`` for ``path`` (OR_1 first) so that OR_k delivers it to ``exit_address``.

    ``payload`` must be exactly ``fmt.payload_size`` bytes and should already be sealed to the Exit
    (:func:`.e2e.seal_request`). Layers are built in the paper's inverse order: OR_k's first.
    """
    k = len(path)
    if not 1 <= k <= fmt.max_hops:
        raise ValueError(f"a path has 1..{fmt.max_hops} hops, got {k}")
    if len(payload) != fmt.payload_size:
        raise ValueError(f"payload must be {fmt.payload_size} bytes, got {len(payload)}")
    encode_address(exit_address)
    ephemeral_publics: list[bytes] = []
    keys: list[HopKeys] = []
    for hop in path:
        router_public = parse_public_key(hop.public_key)
        ephemeral = _CurvePrivateKey(secrets.token_bytes(32))
        ephemeral_public = bytes(ephemeral.public_key.format(compressed=True))
        shared = bytes(ephemeral.ecdh(router_public))
        ephemeral_publics.append(ephemeral_public)
        keys.append(derive_hop_keys(shared, ephemeral_public, router_public))

    # Payload layers, innermost (OR_k) first; each hop's MAC covers the payload as that hop receives it.
    macs: list[bytes] = [b""] * k
    layer = payload
    for index in reversed(range(k)):
        layer = xor_stream(keys[index].payload_stream, layer)
        macs[index] = payload_mac(keys[index].mac, layer)

    slots: list[bytes] = []
    for index in range(k):
        last = index == k - 1
        command = Command.DELIVER if last else Command.RELAY
        next_hop = exit_address if last else path[index + 1].address
        routing = _routing_block(command, next_hop, macs[index])
        sealed = ChaCha20Poly1305(keys[index].routing).encrypt(ZERO_NONCE_12, routing, ROUTING_AAD)
        slots.append(ephemeral_publics[index] + sealed)

    # Slot j sits at position j of the first header, pre-encrypted with the header streams of the hops
    # before it (hop i decrypts positions 1.. with its stream, then shifts left by one slot).
    tail_length = (fmt.max_hops - 1) * SLOT_SIZE
    streams = [_stream(key.header_stream, tail_length) for key in keys]
    header = bytearray(secrets.token_bytes(fmt.header_size))
    for j in range(k):
        slot = slots[j]
        for i in range(j):
            offset = (j - 1 - i) * SLOT_SIZE
            slot = _xor(slot, streams[i][offset : offset + SLOT_SIZE])
        header[j * SLOT_SIZE : (j + 1) * SLOT_SIZE] = slot
    return Onion(path[0].address, bytes(header) + layer, tuple(key.reply_stream for key in keys))


# ---------------------------------------------------------------------------------------- peel (router)


def peel(keypair: KeyPair, cell: bytes, fmt: CellFormat = DEFAULT_FORMAT) -> PeeledLayer:
    """Remove this router's layer from ``cell``; raise :class:`MalformedCell` with a reason to drop it."""
    if len(cell) != fmt.cell_size:
        raise MalformedCell(f"cell is {len(cell)} bytes, expected {fmt.cell_size}")
    header, payload = cell[: fmt.header_size], cell[fmt.header_size :]
    ephemeral_public = header[:PUBLIC_KEY_SIZE]
    try:
        parse_public_key(ephemeral_public)
        shared = bytes(_CurvePrivateKey(keypair.private_key).ecdh(ephemeral_public))
    except (InvalidPublicKey, ValueError, TypeError):
        raise MalformedCell("layer carries an invalid ephemeral key") from None
    keys = derive_hop_keys(shared, ephemeral_public, keypair.compressed_public_key)
    try:
        routing = ChaCha20Poly1305(keys.routing).decrypt(
            ZERO_NONCE_12, header[PUBLIC_KEY_SIZE:SLOT_SIZE], ROUTING_AAD
        )
    except InvalidTag:
        raise MalformedCell("routing block does not authenticate (wrong key or tampered header)") from None
    command, next_hop, mac = _parse_routing(routing)
    if not hmac.compare_digest(mac, payload_mac(keys.mac, payload)):
        raise MalformedCell("payload MAC mismatch (tampered payload)")
    inner_payload = xor_stream(keys.payload_stream, payload)
    tag = hashlib.sha256(ephemeral_public).digest()
    if command is Command.DELIVER:
        return PeeledLayer(command, next_hop, inner_payload, keys.reply_stream, tag)
    next_header = xor_stream(keys.header_stream, header[SLOT_SIZE:]) + secrets.token_bytes(SLOT_SIZE)
    return PeeledLayer(command, next_hop, next_header + inner_payload, keys.reply_stream, tag)


# ---------------------------------------------------------------------------------------- replies


def wrap_reply(reply_key: bytes, reply: bytes) -> bytes:
    """A router's layer on the way back (XOR with its reply stream)."""
    return xor_stream(reply_key, reply)


def unwrap_reply(reply_keys: tuple[bytes, ...], reply: bytes, fmt: CellFormat = DEFAULT_FORMAT) -> bytes:
    """The proxy removes every router's reply layer; raises :class:`MalformedCell` on a wrong size."""
    if len(reply) != fmt.reply_size:
        raise MalformedCell(f"reply is {len(reply)} bytes, expected {fmt.reply_size}")
    for key in reply_keys:
        reply = xor_stream(key, reply)
    return reply

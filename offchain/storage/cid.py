"""Content identifiers (CIDs): the binary and text forms Kubo prints, parsing, and the canonical reference.

Only what this package needs, written out so it can be checked against the specs
(https://github.com/multiformats/cid, multihash, multibase, unsigned-varint):

* CIDv0: the bare sha2-256 multihash ``0x12 0x20 <digest>`` of a dag-pb block, printed in base58btc
  (``Qm…``, 46 characters);
* CIDv1: ``varint(1) varint(codec) multihash``, printed with a multibase prefix; we print base32
  lower case (``b…``, Kubo's default for v1) and also read base58btc (``z``), base32 upper (``B``) and
  base16 (``f``).

The canonical on-chain reference (spec 001 §4.2) is ``ipfs://<CIDv1 base32>``: a CIDv0 is converted to the
CIDv1 of the same dag-pb block, so two spellings of one file never hash differently.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from offchain.storage.errors import MalformedCid

DAG_PB = 0x70
RAW = 0x55
SHA2_256 = 0x12
SHA2_256_LENGTH = 32
KNOWN_CODECS = {DAG_PB: "dag-pb", RAW: "raw"}

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}
_MAX_VARINT_BYTES = 9


# ------------------------------------------------------------------------------------ varint, bases


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128 varint (multiformats unsigned-varint and protobuf varint alike)."""
    if value < 0:
        raise ValueError("a varint is unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes | memoryview, offset: int = 0) -> tuple[int, int]:
    """Read a varint at ``offset``; return ``(value, next offset)``. ``ValueError`` if truncated."""
    value = 0
    shift = 0
    for index in range(offset, min(len(data), offset + _MAX_VARINT_BYTES + 1)):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    raise ValueError("truncated or overlong varint")


def b58encode(data: bytes) -> str:
    """Bitcoin base58 (the ``base58btc`` multibase)."""
    number = int.from_bytes(data, "big")
    chars = []
    while number:
        number, remainder = divmod(number, 58)
        chars.append(_B58_ALPHABET[remainder])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(chars))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; raises ``ValueError`` on a character outside the alphabet."""
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + _B58_INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _b32decode(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))


# ------------------------------------------------------------------------------------ the CID


@dataclass(frozen=True, slots=True)
class Cid:
    """A CID: version (0 or 1), content codec (dag-pb ``0x70`` or raw ``0x55``) and multihash bytes."""

    version: int
    codec: int
    multihash: bytes

    def __post_init__(self) -> None:
        if self.version not in (0, 1):
            raise MalformedCid(f"CID version {self.version} is not 0 or 1")
        if self.version == 0 and self.codec != DAG_PB:
            raise MalformedCid("a CIDv0 always names a dag-pb block")
        _split_multihash(self.multihash)
        if self.version == 0 and not self.multihash.startswith(bytes([SHA2_256, SHA2_256_LENGTH])):
            raise MalformedCid("a CIDv0 is always a sha2-256 multihash")

    @classmethod
    def for_block(cls, block: bytes, codec: int, version: int) -> Cid:
        """The CID of ``block`` (sha2-256, as Kubo's default)."""
        return cls(version, codec, bytes([SHA2_256, SHA2_256_LENGTH]) + hashlib.sha256(block).digest())

    @property
    def hash_code(self) -> int:
        """The multihash function code (``0x12`` for sha2-256)."""
        return _split_multihash(self.multihash)[0]

    @property
    def digest(self) -> bytes:
        """The raw digest inside the multihash."""
        return _split_multihash(self.multihash)[1]

    def to_bytes(self) -> bytes:
        """Binary CID, as dag-pb links carry it (a CIDv0 is its bare multihash)."""
        if self.version == 0:
            return self.multihash
        return encode_varint(1) + encode_varint(self.codec) + self.multihash

    def encode(self) -> str:
        """Text form as Kubo prints it: base58btc for v0, base32 (``b`` prefix) for v1."""
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + _b32encode(self.to_bytes())

    def to_v1(self) -> Cid:
        """The CIDv1 naming the same block (identity for a v1)."""
        return Cid(1, self.codec, self.multihash)

    def verify(self, block: bytes) -> bool:
        """Whether ``block`` hashes to this CID (sha2-256 only; other hash functions are refused)."""
        code, digest = _split_multihash(self.multihash)
        if code != SHA2_256:
            raise MalformedCid(f"multihash function 0x{code:x} is not supported here (only sha2-256)")
        return hashlib.sha256(block).digest() == digest

    def __str__(self) -> str:
        return self.encode()


def _split_multihash(multihash: bytes) -> tuple[int, bytes]:
    try:
        code, offset = decode_varint(multihash)
        length, offset = decode_varint(multihash, offset)
    except ValueError as exc:
        raise MalformedCid(f"malformed multihash: {exc}") from None
    digest = multihash[offset:]
    if len(digest) != length:
        raise MalformedCid(f"multihash announces {length} digest bytes but carries {len(digest)}")
    if code == SHA2_256 and length != SHA2_256_LENGTH:
        raise MalformedCid("a sha2-256 digest is 32 bytes")
    return code, bytes(digest)


def cid_from_bytes(data: bytes) -> Cid:
    """Parse a binary CID (as found in a dag-pb link)."""
    if len(data) == 34 and data[0] == SHA2_256 and data[1] == SHA2_256_LENGTH:
        return Cid(0, DAG_PB, bytes(data))
    try:
        version, offset = decode_varint(data)
        codec, offset = decode_varint(data, offset)
    except ValueError as exc:
        raise MalformedCid(f"malformed binary CID: {exc}") from None
    if version != 1:
        raise MalformedCid(f"binary CID has version {version}")
    return Cid(1, codec, bytes(data[offset:]))


def parse_cid(text: str | Cid) -> Cid:
    """Parse a CID's text form (v0 base58btc; v1 in base32, base32 upper, base58btc or base16).

    Raises :class:`MalformedCid` with the reason for anything else.
    """
    if isinstance(text, Cid):
        return text
    if not isinstance(text, str) or not text:
        raise MalformedCid("a CID is a non-empty string")
    text = text.strip()
    if len(text) == 46 and text.startswith("Qm"):
        try:
            return Cid(0, DAG_PB, b58decode(text))
        except ValueError as exc:
            raise MalformedCid(f"{text!r} is not a CIDv0: {exc}") from None
    prefix, body = text[0], text[1:]
    try:
        if prefix in "bB":
            raw = _b32decode(body)
        elif prefix == "z":
            raw = b58decode(body)
        elif prefix == "f":
            raw = bytes.fromhex(body)
        else:
            raise MalformedCid(f"{text!r} is not a CID (unknown multibase prefix {prefix!r})")
    except (ValueError, binascii.Error) as exc:
        raise MalformedCid(f"{text!r} is not a CID: bad {prefix!r} multibase body ({exc})") from None
    return cid_from_bytes(raw)


def canonical_reference(reference: str | Cid) -> str:
    """Normalise a CID or IPFS URL to the canonical on-chain form ``ipfs://<CIDv1 base32>`` (spec §4.2).

    Accepts a bare CID (v0 or v1, any supported multibase), ``ipfs://<cid>``, ``/ipfs/<cid>`` and a
    path-style gateway URL ``http(s)://host/ipfs/<cid>``. A path below the CID is refused (references
    name whole files).
    """
    if isinstance(reference, Cid):
        return "ipfs://" + reference.to_v1().encode()
    text = reference.strip()
    for prefix in ("ipfs://", "/ipfs/"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        if text.startswith(("http://", "https://")) and "/ipfs/" in text:
            text = text.split("/ipfs/", 1)[1]
    text = text.rstrip("/")
    if "/" in text or "?" in text or "#" in text:
        raise MalformedCid(f"{reference!r} names a path or query below a CID; a reference is a whole CID")
    return "ipfs://" + parse_cid(text).to_v1().encode()


def reference_hash(reference: str | Cid) -> bytes:
    """``keccak256`` of the canonical reference's UTF-8 bytes: the H_s a listing puts on chain (spec §4.2)."""
    from offchain.crypto.hashing import keccak256

    return keccak256(canonical_reference(reference).encode("utf-8"))

"""Signatures: EIP-191 ``personal_sign`` messages, EIP-712 typed data, and canonical JSON payloads.

Signatures are 65 bytes ``r || s || v`` with ``v`` in ``{27, 28}``, the form OpenZeppelin's ``ECDSA.recover``
accepts. Recovery rejects malleable high-``s`` signatures exactly like OpenZeppelin does, so whatever
verifies off-chain also verifies on-chain.
"""

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from coincurve import PrivateKey as _CurvePrivateKey
from coincurve import PublicKey as _CurvePublicKey
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils.address import to_checksum_address

from offchain.crypto.errors import SignatureError, TypedDataError
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import SECP256K1_N, KeyPair

SIGNATURE_LENGTH = 65
_HALF_N = SECP256K1_N // 2
_ARRAY_SUFFIX = re.compile(r"(\[\d*\])+$")


def _signable_digest(message: SignableMessage) -> bytes:
    """The EIP-191 digest ``keccak256(0x19 || version || header || body)`` of a signable message."""
    return keccak256(b"\x19" + bytes(message.version) + bytes(message.header) + bytes(message.body))


def sign_hash(keypair: KeyPair, digest: bytes) -> bytes:
    """Sign a 32-byte ``digest`` as is and return ``r || s || v`` (``v`` in ``{27, 28}``, low ``s``).

    Only sign digests built by this module (or by an equivalent domain-separated scheme): signing an
    arbitrary hash may sign a transaction or a message the key owner never saw.
    """
    # libsecp256k1 directly (eth-keys would rebuild key objects and checksums on every call).
    return _sign_digest(_CurvePrivateKey(keypair.private_key), digest)


def _sign_digest(key: _CurvePrivateKey, digest: bytes) -> bytes:
    if len(digest) != 32:
        raise ValueError(f"a digest is 32 bytes, got {len(digest)}")
    raw = key.sign_recoverable(digest, hasher=None)
    r, s, v = int.from_bytes(raw[0:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if s > _HALF_N:  # libsecp256k1 always yields low s; normalise anyway so the output is canonical.
        s, v = SECP256K1_N - s, v ^ 1
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v + 27])


class DigestSigner:
    """:func:`sign_hash` for many digests with one key: keeps libsecp256k1's key object, whose
    construction (it derives the public key) costs about as much as a signature."""

    __slots__ = ("_key", "address")

    def __init__(self, keypair: KeyPair) -> None:
        self._key = _CurvePrivateKey(keypair.private_key)
        self.address = keypair.address

    def sign(self, digest: bytes) -> bytes:
        """Same output as ``sign_hash(keypair, digest)``."""
        return _sign_digest(self._key, digest)


def recover_hash_signer(digest: bytes, signature: bytes) -> str:
    """Return the checksummed address that produced ``signature`` over the 32-byte ``digest``.

    Accepts ``v`` in ``{27, 28}`` or ``{0, 1}``; rejects any other length or ``v``, ``r``/``s`` out of range
    and high-``s`` (malleable) signatures with :class:`SignatureError`.
    """
    return to_checksum_address(_recover_address_bytes(digest, signature))


def is_hash_signer(digest: bytes, signature: bytes, address: str) -> bool:
    """Whether ``signature`` over ``digest`` comes from ``address`` (False for a malformed signature).

    The checks of :func:`recover_hash_signer`, compared as 20 raw bytes (no checksum encoding).
    """
    try:
        return _recover_address_bytes(digest, signature) == bytes.fromhex(address.removeprefix("0x"))
    except (SignatureError, ValueError):
        return False


def _recover_address_bytes(digest: bytes, signature: bytes) -> bytes:
    if len(digest) != 32:
        raise ValueError(f"a digest is 32 bytes, got {len(digest)}")
    if not isinstance(signature, bytes | bytearray) or len(signature) != SIGNATURE_LENGTH:
        raise SignatureError(f"a signature is {SIGNATURE_LENGTH} bytes")
    r = int.from_bytes(signature[0:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v in (27, 28):
        v -= 27
    if v not in (0, 1):
        raise SignatureError(f"invalid recovery id v={signature[64]}")
    if not 0 < r < SECP256K1_N or not 0 < s <= _HALF_N:
        raise SignatureError("signature r or s is out of range (or s is not in the lower half order)")
    try:
        public = _CurvePublicKey.from_signature_and_message(
            signature[0:64] + bytes([v]), digest, hasher=None
        ).format(compressed=False)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"no signer can be recovered from the signature: {exc}") from exc
    return keccak256(public[1:])[12:]


# --- EIP-191 ----------------------------------------------------------------------------------------


def message_hash(data: bytes) -> bytes:
    """The EIP-191 ``personal_sign`` digest of ``data``.

    Solidity computes the same with ``MessageHashUtils.toEthSignedMessageHash(data)``.
    """
    return keccak256(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)


def sign_message(keypair: KeyPair, data: bytes) -> bytes:
    """Sign ``data`` the ``personal_sign`` way (EIP-191 version ``0x45``) and return the 65-byte signature."""
    return sign_hash(keypair, message_hash(data))


def recover_message_signer(data: bytes, signature: bytes) -> str:
    """Return the checksummed address that signed ``data`` with :func:`sign_message`.

    Raises :class:`SignatureError` for a malformed signature. A well-formed signature by another key (or
    over other data) recovers *some other* address: compare the result with the expected signer.
    """
    return recover_hash_signer(message_hash(data), signature)


# --- EIP-712 ----------------------------------------------------------------------------------------


def _base_type(type_name: str) -> str:
    return _ARRAY_SUFFIX.sub("", type_name)


def _reachable_types(
    types: Mapping[str, Sequence[Mapping[str, str]]], primary_type: str
) -> dict[str, list[dict[str, str]]]:
    """The struct types ``primary_type`` depends on (itself included); EIP712Domain never is."""
    if primary_type not in types or primary_type == "EIP712Domain":
        raise TypedDataError(f"primary type {primary_type!r} is not defined in types")
    selected: dict[str, list[dict[str, str]]] = {}
    pending = [primary_type]
    while pending:
        name = pending.pop()
        if name in selected:
            continue
        try:
            fields = [{"name": str(f["name"]), "type": str(f["type"])} for f in types[name]]
        except (KeyError, TypeError) as exc:
            raise TypedDataError(f"type {name!r} has a malformed field list") from exc
        selected[name] = fields
        pending.extend(
            base for f in fields if (base := _base_type(f["type"])) in types and base != "EIP712Domain"
        )
    return selected


def typed_data_hash(
    domain: Mapping[str, Any],
    types: Mapping[str, Sequence[Mapping[str, str]]],
    primary_type: str,
    message: Mapping[str, Any],
) -> bytes:
    """Return the EIP-712 digest ``keccak256(0x19 0x01 || domainSeparator || hashStruct(message))``.

    This is exactly what OpenZeppelin's ``EIP712._hashTypedDataV4(structHash)`` computes. The
    ``EIP712Domain`` type is derived from the keys present in ``domain`` (in the canonical order ``name,
    version, chainId, verifyingContract, salt``), so ``types`` need not list it; types unrelated to
    ``primary_type`` are ignored. Raises :class:`TypedDataError` when the data cannot be encoded.
    """
    selected = _reachable_types(types, primary_type)
    full_message = {
        "types": selected,
        "primaryType": primary_type,
        "domain": dict(domain),
        "message": dict(message),
    }
    try:
        signable = encode_typed_data(full_message=full_message)
    except Exception as exc:  # eth-account raises a wide mix of types for malformed data.
        raise TypedDataError(f"cannot encode typed data: {exc}") from exc
    return _signable_digest(signable)


def sign_typed_data(
    keypair: KeyPair,
    domain: Mapping[str, Any],
    types: Mapping[str, Sequence[Mapping[str, str]]],
    primary_type: str,
    message: Mapping[str, Any],
) -> bytes:
    """Sign EIP-712 typed data (see :func:`typed_data_hash`) and return the 65-byte signature."""
    return sign_hash(keypair, typed_data_hash(domain, types, primary_type, message))


def recover_typed_data_signer(
    domain: Mapping[str, Any],
    types: Mapping[str, Sequence[Mapping[str, str]]],
    primary_type: str,
    message: Mapping[str, Any],
    signature: bytes,
) -> str:
    """Return the checksummed address that signed the typed data; see :func:`recover_message_signer`."""
    return recover_hash_signer(typed_data_hash(domain, types, primary_type, message), signature)


# --- canonical JSON ---------------------------------------------------------------------------------

MAX_JSON_DEPTH = 256
"""Deepest nesting :func:`canonical_json` accepts (deeper input could exhaust the C stack of the encoder)."""


def _check_json_value(value: object, path: str, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{path}: nested deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: NaN and infinities have no JSON representation")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: object keys must be strings, got {type(key).__name__}")
            _check_json_value(item, f"{path}.{key}", depth + 1)
        return
    if isinstance(value, list | tuple):
        for position, item in enumerate(value):
            _check_json_value(item, f"{path}[{position}]", depth + 1)
        return
    raise TypeError(f"{path}: {type(value).__name__} is not a JSON value")


def canonical_json(obj: object) -> bytes:
    """Serialise ``obj`` deterministically for signing: sorted keys, no whitespace, UTF-8, no escapes.

    Accepted values are ``None``, ``bool``, ``int`` (any size, written as an integer), finite ``float``,
    ``str``, lists/tuples and mappings with ``str`` keys; keys are sorted by code point. Anything else
    raises :class:`TypeError`, and NaN, infinities, non-string keys and nesting deeper than
    :data:`MAX_JSON_DEPTH` raise :class:`ValueError`.
    """
    _check_json_value(obj, "$")
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")

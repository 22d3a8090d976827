"""The envelope of every sandbox input and output: sign, then encrypt (spec §3.1, G9, G19), pure.

``seal(signer, recipient_pk, task_id, program_hash, name, data)``:

* ``digest = keccak256(DOMAIN || task_id || program_hash || compressed(recipient_pk) || len(name) || name
  || keccak256(data))``: the signature binds the data to the task, the registered program and the
  recipient key, so an envelope cannot be replayed into another task or forwarded to another key;
* ``sig = ECDSA-secp256k1(signer, digest)`` (65 bytes, low ``s``, the form ``ecrecover`` accepts);
* ``blob = ECIES(recipient_pk, len(name) (2) || name || sig (65) || data, aad = DOMAIN || task_id)``.

Data owners and the SP seal inputs to the sandbox's task key; the sandbox seals outputs to the task key
(for member sandboxes) or to the requester's key (the result, paper step 8).
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.crypto import ecies
from offchain.crypto.errors import CryptoError
from offchain.crypto.hashing import keccak256, sha256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import SIGNATURE_LENGTH, recover_hash_signer, sign_hash
from offchain.web3compute.sandbox.errors import InputRejected

DOMAIN = b"metatrust-sandbox-envelope-v1"
MAX_NAME = 64


def program_hash(program: bytes) -> bytes:
    """The registered measurement of a program: SHA-256 of its bytes (32 bytes, a ``bytes32`` on chain)."""
    return sha256(bytes(program))


def _check_name(name: str) -> bytes:
    raw = name.encode("utf-8")
    if not 0 < len(raw) <= MAX_NAME or not name.isprintable():
        raise ValueError(f"an envelope name is 1..{MAX_NAME} printable bytes, got {name!r}")
    return raw


def _check32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{what} is 32 bytes, got {len(value)}")
    return bytes(value)


def digest(task_id: bytes, prog_hash: bytes, recipient_pk: bytes, name: str, data: bytes) -> bytes:
    """What the envelope's signature covers (see the module docstring)."""
    raw = _check_name(name)
    recipient = ecies.parse_public_key(recipient_pk)
    return keccak256(
        DOMAIN
        + _check32(task_id, "task_id")
        + _check32(prog_hash, "program_hash")
        + recipient
        + len(raw).to_bytes(2, "big")
        + raw
        + keccak256(data)
    )


def seal(
    signer: KeyPair,
    recipient_pk: bytes,
    task_id: bytes,
    prog_hash: bytes,
    name: str,
    data: bytes,
) -> bytes:
    """Sign ``data`` under ``name`` and encrypt it to ``recipient_pk``."""
    raw = _check_name(name)
    signature = sign_hash(signer, digest(task_id, prog_hash, recipient_pk, name, data))
    body = len(raw).to_bytes(2, "big") + raw + signature + bytes(data)
    return ecies.encrypt(recipient_pk, body, DOMAIN + task_id)


@dataclass(frozen=True)
class Opened:
    """A decrypted, verified envelope; ``signer`` is the recovered address (the caller checks it)."""

    name: str
    data: bytes
    signer: str


def open_envelope(recipient: KeyPair | bytes, blob: bytes, task_id: bytes, prog_hash: bytes) -> Opened:
    """Decrypt and verify an envelope; :class:`InputRejected` for anything that does not check out.

    The caller must still compare :attr:`Opened.signer` with the key it expects (the SP compares it with
    the sandbox address registered on chain; the sandbox with its authorised input signers).
    """
    keypair = recipient if isinstance(recipient, KeyPair) else KeyPair(bytes(recipient))
    try:
        body = ecies.decrypt(keypair, blob, DOMAIN + _check32(task_id, "task_id"))
    except CryptoError as exc:
        raise InputRejected(f"envelope does not decrypt for this task and key: {exc}") from None
    if len(body) < 2:
        raise InputRejected("envelope body is truncated")
    size = int.from_bytes(body[:2], "big")
    if not 0 < size <= MAX_NAME or len(body) < 2 + size + SIGNATURE_LENGTH:
        raise InputRejected("envelope body is malformed")
    try:
        name = body[2 : 2 + size].decode("utf-8")
        _check_name(name)
    except ValueError:
        raise InputRejected("envelope name is not valid") from None
    signature = body[2 + size : 2 + size + SIGNATURE_LENGTH]
    data = body[2 + size + SIGNATURE_LENGTH :]
    try:
        signer = recover_hash_signer(
            digest(task_id, prog_hash, keypair.compressed_public_key, name, data), signature
        )
    except CryptoError as exc:
        raise InputRejected(f"envelope signature is invalid: {exc}") from None
    return Opened(name, data, signer)


MEMBERS_DOMAIN = b"metatrust-sandbox-members-v1"


def members_digest(task_id: bytes, prog_hash: bytes, member_keys: list[bytes] | tuple[bytes, ...]) -> bytes:
    """What the global sandbox signs (with the task key) when it admits the member sandboxes' keys: the
    only keys the task private key may ever be wrapped to. Order-independent (keys sorted)."""
    keys = sorted(ecies.parse_public_key(key) for key in member_keys)
    return keccak256(
        MEMBERS_DOMAIN + _check32(task_id, "task_id") + _check32(prog_hash, "program_hash") + b"".join(keys)
    )

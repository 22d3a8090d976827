"""Host ↔ sandbox messages and their framing, pure (no sockets here).

A frame is ``length (4 bytes, big-endian) || JSON``; bytes travel as ``0x``-hex strings. A request is
``{"op": ..., fields}``; a reply is ``{"ok": true, fields}`` or
``{"ok": false, "error": code, "detail": text}``.
The ops, in lifecycle order:

========================  ================================================  ===============================
op                        request fields                                    reply fields
========================  ================================================  ===============================
(greeting, unsolicited)   —                                                 ``member_key``
``configure``             ``task_id``, ``program_hash``, ``requester_key``,  ``member_key``
                          ``input_signers`` (addresses)
``load``                  ``program``                                       ``program_hash``
``new_task_key``          —                                                 ``public_key``, ``address``
``admit_members``         ``member_keys`` (once)                            ``signature`` (task key)
``wrap_task_key``         ``member_key`` (an admitted one)                  ``wrapped``
``import_task_key``       ``wrapped``                                       ``public_key``, ``address``
``inject``                ``ciphertext`` (an envelope)                      ``name``, ``signer``
``run``                   —                                                 ``outputs`` (names)
``seal``                  ``name``, ``to`` (``task`` / ``requester``)       ``ciphertext``
``destroy``               —                                                 ``public_keys``, ``zeroised``
========================  ================================================  ===============================

Nothing in a reply is plaintext data or a private key: the host API is ciphertext in, ciphertext out.
"""

from __future__ import annotations

import json
from typing import Any

from offchain.web3compute.sandbox.errors import ERRORS, ProtocolError, ResourceLimitExceeded, SandboxError

LENGTH_SIZE = 4
MAX_FRAME = 64 * 1024 * 1024
OPS = (
    "configure",
    "load",
    "new_task_key",
    "admit_members",
    "wrap_task_key",
    "import_task_key",
    "inject",
    "run",
    "seal",
    "destroy",
)
RECIPIENTS = ("task", "requester")

Message = dict[str, Any]


def encode(message: Message) -> bytes:
    """One frame for ``message``; ``bytes`` values become ``0x``-hex."""

    def convert(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return "0x" + bytes(value).hex()
        if isinstance(value, list | tuple):
            return [convert(item) for item in value]
        return value

    body = json.dumps({key: convert(value) for key, value in message.items()}, separators=(",", ":"))
    raw = body.encode("utf-8")
    if len(raw) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(raw)} bytes exceeds {MAX_FRAME}")
    return len(raw).to_bytes(LENGTH_SIZE, "big") + raw


def frame_length(header: bytes) -> int:
    if len(header) != LENGTH_SIZE:
        raise ProtocolError("truncated frame header")
    length = int.from_bytes(header, "big")
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes exceeds {MAX_FRAME}")
    return length


def decode(body: bytes) -> Message:
    """The message of one frame body (without its length prefix)."""
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a JSON object")
    return message


def get_bytes(message: Message, key: str, size: int | None = None) -> bytes:
    value = message.get(key)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ProtocolError(f"field {key!r} must be 0x-hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise ProtocolError(f"field {key!r} is not valid hex") from None
    if size is not None and len(raw) != size:
        raise ProtocolError(f"field {key!r} must be {size} bytes, got {len(raw)}")
    return raw


def get_str(message: Message, key: str) -> str:
    value = message.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"field {key!r} must be a string")
    return value


def ok(**fields: Any) -> Message:
    return {"ok": True, **fields}


def error_reply(exc: SandboxError) -> Message:
    detail = exc.kind if isinstance(exc, ResourceLimitExceeded) else str(exc)
    return {"ok": False, "error": exc.code, "detail": detail}


def raise_for(reply: Message) -> Message:
    """Return a successful reply, or raise the named error it carries."""
    if reply.get("ok") is True:
        return reply
    cls = ERRORS.get(str(reply.get("error")), SandboxError)
    raise cls(str(reply.get("detail", "")))

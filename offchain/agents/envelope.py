"""Signed envelopes: the wire format of every agent request and response (pure logic, no I/O).

An envelope is ``{"sender", "nonce", "timestamp", "action", "payload", "signature"}``. The signature is
EIP-191 (:func:`offchain.crypto.sign_message`) over ``canonical_json`` of ``{"action", "nonce", "payload",
"recipient", "sender", "timestamp"}``, where ``recipient`` is the address of the party the envelope is
meant for. The recipient is not transmitted: it is implied, so an envelope for one agent does not verify
at another one.

A response is signed the same way by the agent, with ``action = "<route>:response"``, ``recipient`` = the
requester and the request's ``nonce``, which binds each answer to its request.
"""

import re
import secrets
import time
from collections.abc import Mapping
from typing import Annotated, Any

from eth_utils.address import is_checksum_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from offchain.agents.errors import EnvelopeError
from offchain.crypto import KeyPair, SignatureError, canonical_json, recover_message_signer, sign_message

DEFAULT_MAX_SKEW = 60
"""Seconds an envelope's timestamp may differ from the verifier's clock."""

RESPONSE_SUFFIX = ":response"
ROUTE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""What a route (action) name may look like: letters, digits, ``.``, ``_``, ``-``; at most 64 characters."""
ACTION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(:response)?$"
NONCE_BYTES = 16

_ROUTE_NAME = re.compile(ROUTE_NAME_PATTERN)

Payload = dict[str, Any]


class Envelope(BaseModel):
    """A signed request or response. Validation is strict: no type coercion, no unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    sender: str
    """EIP-55 checksummed address of the signer."""
    nonce: Annotated[str, StringConstraints(pattern=rf"^[0-9a-f]{{{2 * NONCE_BYTES}}}$")]
    """16 random bytes as 32 lowercase hex digits, unique per sender."""
    timestamp: Annotated[int, Field(ge=0)]
    """Unix time in seconds at signing."""
    action: Annotated[str, StringConstraints(pattern=ACTION_PATTERN)]
    payload: Payload
    signature: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{130}$")]
    """65-byte ``r || s || v`` EIP-191 signature, 0x-prefixed hex."""

    @field_validator("sender")
    @classmethod
    def _sender_is_checksummed(cls, value: str) -> str:
        if not is_checksum_address(value):
            raise ValueError("sender must be an EIP-55 checksummed address")
        return value

    def to_json(self) -> bytes:
        """The envelope as canonical JSON bytes, the form it travels in."""
        return canonical_json(self.model_dump())


def new_nonce() -> str:
    """A fresh random nonce (16 bytes from the CSPRNG, as hex)."""
    return secrets.token_hex(NONCE_BYTES)


def is_route_name(action: str) -> bool:
    """Whether ``action`` is a valid route name (see :data:`ROUTE_NAME_PATTERN`)."""
    return _ROUTE_NAME.fullmatch(action) is not None


def payload_to_dict(payload: BaseModel | Mapping[str, Any]) -> Payload:
    """A payload as a JSON-ready dict (a pydantic model is dumped in JSON mode)."""
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json")
    return dict(payload)


def signing_bytes(
    sender: str, recipient: str, nonce: str, timestamp: int, action: str, payload: Payload
) -> bytes:
    """The exact bytes an envelope's signature covers.

    Raises :class:`ValueError`/:class:`TypeError` when ``payload`` is not plain JSON (see ``canonical_json``)
    or ``recipient`` is not an address.
    """
    return canonical_json(
        {
            "action": action,
            "nonce": nonce,
            "payload": payload,
            "recipient": to_checksum_address(recipient),
            "sender": sender,
            "timestamp": timestamp,
        }
    )


def build_envelope(
    keypair: KeyPair,
    recipient: str,
    action: str,
    payload: BaseModel | Mapping[str, Any],
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> Envelope:
    """Build and sign an envelope from ``keypair`` to ``recipient`` (an address).

    ``now`` defaults to the current time and ``nonce`` to :func:`new_nonce`; pass them only in tests.
    Raises :class:`ValueError`/:class:`TypeError` for an invalid action, recipient or non-JSON payload.
    """
    body = payload_to_dict(payload)
    timestamp = int(time.time() if now is None else now)
    nonce = new_nonce() if nonce is None else nonce
    message = signing_bytes(keypair.address, recipient, nonce, timestamp, action, body)
    return Envelope(
        sender=keypair.address,
        nonce=nonce,
        timestamp=timestamp,
        action=action,
        payload=body,
        signature="0x" + sign_message(keypair, message).hex(),
    )


def verify_envelope(
    envelope: Envelope,
    recipient: str,
    now: float,
    max_skew: float = DEFAULT_MAX_SKEW,
    *,
    action: str | None = None,
) -> str:
    """Check ``envelope`` was signed by its sender for ``recipient`` within ``±max_skew`` s of ``now``.

    When ``action`` is given the envelope must be for that action (e.g. the route it was posted to).
    Returns the sender's address; raises :class:`EnvelopeError` with code ``action-mismatch``,
    ``stale-timestamp`` or ``bad-signature`` (status 401), or ``invalid-envelope`` (status 400) when the
    payload cannot be encoded. A wrong recipient shows as ``bad-signature``, since the recipient is only
    implied by the signature.
    """
    if action is not None and envelope.action != action:
        raise EnvelopeError("action-mismatch", f"envelope is for action {envelope.action!r}, not {action!r}")
    if abs(now - envelope.timestamp) > max_skew:
        raise EnvelopeError(
            "stale-timestamp",
            f"timestamp {envelope.timestamp} is more than {max_skew}s away from now ({int(now)})",
        )
    try:
        message = signing_bytes(
            envelope.sender, recipient, envelope.nonce, envelope.timestamp, envelope.action, envelope.payload
        )
    except (ValueError, TypeError) as exc:
        raise EnvelopeError("invalid-envelope", f"payload is not plain JSON: {exc}", status=400) from exc
    try:
        signer = recover_message_signer(message, bytes.fromhex(envelope.signature[2:]))
    except SignatureError as exc:
        raise EnvelopeError("bad-signature", f"malformed signature: {exc}") from exc
    if signer != envelope.sender:
        raise EnvelopeError(
            "bad-signature", "signature is not the sender's over this action, payload and recipient"
        )
    return envelope.sender


def build_response(keypair: KeyPair, request: Envelope, payload: BaseModel | Mapping[str, Any]) -> Envelope:
    """Sign ``payload`` as the answer of ``keypair`` (the agent) to ``request``."""
    return build_envelope(
        keypair, request.sender, request.action + RESPONSE_SUFFIX, payload, nonce=request.nonce
    )


def verify_response(
    response: Envelope,
    request: Envelope,
    agent_address: str,
    now: float,
    max_skew: float = DEFAULT_MAX_SKEW,
) -> None:
    """Check ``response`` is ``agent_address``'s signed answer to ``request`` (same nonce, matching action).

    Raises :class:`EnvelopeError` (codes ``wrong-responder``, ``nonce-mismatch``, and those of
    :func:`verify_envelope`).
    """
    if response.sender != to_checksum_address(agent_address):
        raise EnvelopeError(
            "wrong-responder", f"response is signed by {response.sender}, not {agent_address}"
        )
    if response.nonce != request.nonce:
        raise EnvelopeError("nonce-mismatch", "response does not answer this request (nonce differs)")
    verify_envelope(response, request.sender, now, max_skew, action=request.action + RESPONSE_SUFFIX)


def format_validation_error(error: ValidationError, prefix: str = "") -> tuple[str, list[str]]:
    """A pydantic error as ``("field.path: message; …", ["field.path", …])`` for error bodies."""
    reasons: list[str] = []
    fields: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "") or "$"
        fields.append(location)
        reasons.append(f"{location}: {item['msg']}")
    return "; ".join(reasons), fields

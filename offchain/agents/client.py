"""The client side of the agent protocol: signed calls, verified answers."""

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

import aiohttp
from eth_utils.address import is_address, to_checksum_address
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from offchain.agents.envelope import (
    DEFAULT_MAX_SKEW,
    Envelope,
    Payload,
    build_envelope,
    format_validation_error,
    verify_response,
)
from offchain.agents.errors import (
    AgentCallError,
    AgentUnreachableError,
    EnvelopeError,
    ResponseVerificationError,
)
from offchain.crypto import KeyPair

ResponseT = TypeVar("ResponseT", bound=BaseModel)

DEFAULT_MAX_RESPONSE_BYTES = 4 << 20


class AgentClient:
    """Calls agents as ``keypair``, over one reused :class:`aiohttp.ClientSession`.

    Every answer must be an envelope signed by the called agent for this very request; anything else
    raises :class:`ResponseVerificationError`. Use it as ``async with AgentClient(keypair) as client:``
    or call :meth:`close` when done.
    """

    def __init__(
        self,
        keypair: KeyPair,
        *,
        timeout: float = 10.0,
        max_skew: float = DEFAULT_MAX_SKEW,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keypair = keypair
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.max_skew = max_skew
        self.max_response_bytes = max_response_bytes
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    @property
    def address(self) -> str:
        """The address the client signs as."""
        return self.keypair.address

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (a later call opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> "AgentClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @overload
    async def call(
        self,
        endpoint_url: str,
        recipient_address: str,
        action: str,
        payload: BaseModel | Mapping[str, Any],
        response_model: type[ResponseT],
    ) -> ResponseT: ...

    @overload
    async def call(
        self,
        endpoint_url: str,
        recipient_address: str,
        action: str,
        payload: BaseModel | Mapping[str, Any],
        response_model: None = None,
    ) -> Payload: ...

    async def call(
        self,
        endpoint_url: str,
        recipient_address: str,
        action: str,
        payload: BaseModel | Mapping[str, Any],
        response_model: type[ResponseT] | None = None,
    ) -> ResponseT | Payload:
        """Call ``action`` of the agent at ``endpoint_url`` whose address is ``recipient_address``.

        Returns the verified response payload, validated by ``response_model`` when given. Raises
        :class:`AgentCallError` with the server's status, code and reason on an error answer,
        :class:`AgentUnreachableError` when no answer arrives in time, and
        :class:`ResponseVerificationError` when the answer is not the agent's signed response.
        """
        if not is_address(recipient_address):
            raise ValueError(f"recipient {recipient_address!r} is not an address")
        agent = to_checksum_address(recipient_address)
        request = build_envelope(self.keypair, agent, action, payload)
        url = f"{endpoint_url.rstrip('/')}/rpc/{action}"
        status, body = await self._post(url, request.to_json())
        if status >= 400:
            code, reason = _error_of(status, body)
            raise AgentCallError(status, code, reason)
        response = _parse_response(status, body)
        try:
            verify_response(response, request, agent, self.clock(), self.max_skew)
        except EnvelopeError as exc:
            raise ResponseVerificationError(status, exc.code, exc.reason) from exc
        if response_model is None:
            return response.payload
        try:
            return response_model.model_validate(response.payload)
        except ValidationError as exc:
            reason, _ = format_validation_error(exc, prefix="payload")
            raise ResponseVerificationError(status, "invalid-response-payload", reason) from exc

    async def _post(self, url: str, body: bytes) -> tuple[int, bytes]:
        try:
            async with self._get_session().post(
                url, data=body, headers={"Content-Type": "application/json"}
            ) as answer:
                chunks: list[bytes] = []
                size = 0
                async for chunk in answer.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise ResponseVerificationError(
                            answer.status,
                            "response-too-large",
                            f"answer exceeds {self.max_response_bytes} bytes",
                        )
                    chunks.append(chunk)
                return answer.status, b"".join(chunks)
        except TimeoutError as exc:
            raise AgentUnreachableError(
                0, "timeout", f"no answer from {url} within {self.timeout.total}s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise AgentUnreachableError(0, "unreachable", f"{url}: {exc}") from exc


def _error_of(status: int, body: bytes) -> tuple[str, str]:
    """The ``(code, reason)`` of an error answer, tolerating non-JSON bodies (e.g. from a proxy)."""
    try:
        document = from_json(body, allow_inf_nan=False)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return document["error"], str(document.get("reason", ""))
    return f"http-{status}", body[:200].decode("utf-8", errors="replace")


def _parse_response(status: int, body: bytes) -> Envelope:
    try:
        return Envelope.model_validate_json(body)
    except ValidationError as exc:
        reason, _ = format_validation_error(exc)
        raise ResponseVerificationError(
            status, "invalid-response", f"answer is not an envelope: {reason}"
        ) from exc

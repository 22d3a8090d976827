"""Exception types of :mod:`offchain.agents`: what handlers raise, what verification and clients raise."""

from typing import Any


class AgentError(Exception):
    """An expected failure of a request, answered with ``status`` and ``{"error": code, "reason": reason}``.

    Handlers raise it for business-level refusals (``AgentError(404, "no-such-task", "task 7 is unknown")``);
    the service raises it for protocol violations. ``status`` is an HTTP error status (4xx or 5xx).
    """

    def __init__(self, status: int, code: str, reason: str, **extra: Any) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"an AgentError status is 4xx or 5xx, got {status}")
        super().__init__(f"{status} {code}: {reason}")
        self.status = status
        self.code = code
        self.reason = reason
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        """The JSON error body: ``{"error": code, "reason": reason, **extra}``."""
        return {**self.extra, "error": self.code, "reason": self.reason}


class EnvelopeError(Exception):
    """An envelope does not verify: bad signature, wrong action or recipient, timestamp outside the window.

    ``status`` is the HTTP status a service answers with (401, or 400 for an envelope that cannot even be
    encoded for verification).
    """

    def __init__(self, code: str, reason: str, status: int = 401) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.status = status


class ReplayCacheFullError(Exception):
    """The replay cache holds its maximum of unexpired nonces; new requests are refused until some expire."""


class AgentCallError(Exception):
    """A call to an agent failed; ``status``, ``code`` and ``reason`` are the server's when it answered.

    ``status`` is the HTTP status, or 0 when no HTTP response was received
    (see :class:`AgentUnreachableError`).
    """

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(f"{status} {code}: {reason}")
        self.status = status
        self.code = code
        self.reason = reason


class AgentUnreachableError(AgentCallError):
    """No HTTP response: connection refused or reset, DNS failure, or timeout (``status`` is 0)."""


class ResponseVerificationError(AgentCallError):
    """The agent's answer is not a valid envelope signed by the expected agent for this very request."""

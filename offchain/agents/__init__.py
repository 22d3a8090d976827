"""The base of every off-chain agent: signed envelopes, an HTTP service and its client.

Pure logic (:mod:`~offchain.agents.envelope`, :mod:`~offchain.agents.replay`) is separate from I/O
(:mod:`~offchain.agents.service`, :mod:`~offchain.agents.client`).
"""

from offchain.agents.client import AgentClient
from offchain.agents.envelope import (
    DEFAULT_MAX_SKEW,
    RESPONSE_SUFFIX,
    Envelope,
    build_envelope,
    build_response,
    new_nonce,
    signing_bytes,
    verify_envelope,
    verify_response,
)
from offchain.agents.errors import (
    AgentCallError,
    AgentError,
    AgentUnreachableError,
    EnvelopeError,
    ReplayCacheFullError,
    ResponseVerificationError,
)
from offchain.agents.replay import ReplayCache
from offchain.agents.service import Agent, Authorizer, Handler, Route

__all__ = [
    "DEFAULT_MAX_SKEW",
    "RESPONSE_SUFFIX",
    "Agent",
    "AgentCallError",
    "AgentClient",
    "AgentError",
    "AgentUnreachableError",
    "Authorizer",
    "Envelope",
    "EnvelopeError",
    "Handler",
    "ReplayCache",
    "ReplayCacheFullError",
    "ResponseVerificationError",
    "Route",
    "build_envelope",
    "build_response",
    "new_nonce",
    "signing_bytes",
    "verify_envelope",
    "verify_response",
]

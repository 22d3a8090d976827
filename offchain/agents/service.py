"""The HTTP service every off-chain agent runs on (aiohttp.web, loopback by default).

``POST /rpc/<action>`` takes a signed :class:`~offchain.agents.envelope.Envelope` and answers with an
envelope signed by the agent; ``GET /health`` is unsigned. Every error is a JSON body
``{"error": "<code>", "reason": "<text>", …}``:

=====  =========================================================================================
400    body is not JSON, not an envelope, or the payload does not fit the route's model
401    bad signature, envelope for another action or recipient, timestamp outside the skew window
403    the authorizer refused the sender for this action
404    unknown action or path;  405: wrong method
409    nonce already seen from this sender
413    body larger than ``max_body_bytes``
500    the handler failed unexpectedly (logged with its traceback; the agent keeps serving)
503    the replay cache is full
=====  =========================================================================================

A handler may raise :class:`~offchain.agents.errors.AgentError` to answer with its own status and code.
"""

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Generic, TypeVar, overload

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from offchain.agents.envelope import (
    DEFAULT_MAX_SKEW,
    ROUTE_NAME_PATTERN,
    Envelope,
    build_response,
    format_validation_error,
    is_route_name,
    verify_envelope,
)
from offchain.agents.errors import AgentError, EnvelopeError, ReplayCacheFullError
from offchain.agents.replay import ReplayCache
from offchain.crypto import KeyPair

RequestT = TypeVar("RequestT", bound=BaseModel)

Handler = Callable[[str, RequestT], Awaitable[BaseModel | Mapping[str, Any]]]
"""``async (sender_address, request) -> response``; the response is a model or a JSON-ready mapping."""

Authorizer = Callable[[str, str], Awaitable[bool]]
"""``async (sender_address, action) -> allowed``, asked after the signature verified."""

DEFAULT_MAX_BODY_BYTES = 1 << 20
_MAX_REASON_CHARS = 2000
_SENDER_KEY = web.RequestKey("sender", str)
_ACTION_KEY = web.RequestKey("action", str)

_STATUS_CODES = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
}


def _error_response(status: int, code: str, reason: str, **extra: Any) -> web.Response:
    body = {**extra, "error": code, "reason": reason[:_MAX_REASON_CHARS]}
    return web.json_response(body, status=status)


@dataclass(frozen=True)
class Route(Generic[RequestT]):
    """A registered action: the pydantic model of its payload and its handler."""

    action: str
    request_model: type[RequestT]
    handler: Handler[RequestT]


class Agent:
    """An off-chain agent: a key pair, a name and role, and signed RPC routes served over HTTP.

    Register routes with :meth:`route`, then ``async with agent:`` (or :meth:`start`/:meth:`stop`, or
    :meth:`run_forever` in a process of its own). With ``port=0`` the OS picks a free port; read
    :attr:`port` and :attr:`endpoint` after start.
    """

    def __init__(
        self,
        keypair: KeyPair,
        name: str,
        role: str = "agent",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        authorizer: Authorizer | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_skew: float = DEFAULT_MAX_SKEW,
        replay_cache_size: int = 100_000,
        shutdown_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        self.keypair = keypair
        self.name = name
        self.role = role
        self.host = host
        self.authorizer = authorizer
        self.max_body_bytes = max_body_bytes
        self.max_skew = max_skew
        self.shutdown_timeout = shutdown_timeout
        self.clock = clock
        self.logger = logger or logging.getLogger(__name__)
        self.replay_cache = ReplayCache(ttl=2 * max_skew, max_entries=replay_cache_size)
        self._requested_port = port
        self._bound_port: int | None = None
        self._routes: dict[str, Route[Any]] = {}
        self._runner: web.AppRunner | None = None
        self._started_at = 0.0
        self._shutdown = asyncio.Event()

    # --- registration -------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The agent's checksummed address: requests must be signed for it, responses are signed by it."""
        return self.keypair.address

    @property
    def actions(self) -> list[str]:
        """The registered action names, sorted."""
        return sorted(self._routes)

    @overload
    def route(
        self, action: str, request_model: type[RequestT], handler: Handler[RequestT]
    ) -> Handler[RequestT]: ...

    @overload
    def route(
        self, action: str, request_model: type[RequestT], handler: None = None
    ) -> Callable[[Handler[RequestT]], Handler[RequestT]]: ...

    def route(
        self, action: str, request_model: type[RequestT], handler: Handler[RequestT] | None = None
    ) -> Handler[RequestT] | Callable[[Handler[RequestT]], Handler[RequestT]]:
        """Serve ``handler`` at ``POST /rpc/<action>``, its payload validated by ``request_model``.

        Call it directly (``agent.route("ping", Ping, on_ping)``) or use it as a decorator
        (``@agent.route("ping", Ping)``). Raises :class:`ValueError` for an invalid or duplicate action.
        """
        if not is_route_name(action):
            raise ValueError(f"invalid action name {action!r} (must match {ROUTE_NAME_PATTERN})")
        if action in self._routes:
            raise ValueError(f"action {action!r} is already registered")

        def register(function: Handler[RequestT]) -> Handler[RequestT]:
            self._routes[action] = Route(action, request_model, function)
            return function

        return register if handler is None else register(handler)

    # --- lifecycle ----------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        """Whether the agent is listening."""
        return self._runner is not None

    @property
    def port(self) -> int:
        """The port the agent listens on (the OS-assigned one when constructed with ``port=0``)."""
        if self._bound_port is None:
            raise RuntimeError("the agent is not started")
        return self._bound_port

    @property
    def endpoint(self) -> str:
        """The base URL of the running agent, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=self.max_body_bytes)
        app.router.add_get("/health", self._handle_health)
        app.router.add_post("/rpc/{action}", self._handle_rpc)
        return app

    async def start(self) -> None:
        """Start listening on ``host:port``. Raises :class:`RuntimeError` if already started."""
        if self._runner is not None:
            raise RuntimeError("the agent is already started")
        runner = web.AppRunner(
            self._build_app(), access_log=None, handle_signals=False, shutdown_timeout=self.shutdown_timeout
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._bound_port = int(runner.addresses[0][1])
        self._started_at = time.monotonic()
        self.logger.info(
            "agent %s (%s, %s) listening on %s", self.name, self.role, self.address, self.endpoint
        )

    async def stop(self) -> None:
        """Stop gracefully: stop accepting connections, let in-flight requests finish, then close.

        In-flight requests get up to ``shutdown_timeout`` seconds. Does nothing if the agent is not running.
        """
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await runner.cleanup()
        self._bound_port = None
        self.logger.info("agent %s stopped", self.name)

    async def __aenter__(self) -> "Agent":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def request_shutdown(self) -> None:
        """Make :meth:`run_forever` stop the agent and return (what SIGINT and SIGTERM do)."""
        self._shutdown.set()

    async def run_forever(self) -> None:
        """Start (unless running), serve until SIGINT/SIGTERM or :meth:`request_shutdown`, then stop.

        The signal handlers are installed on the running loop for the duration of the call only; the
        previous handlers are restored afterwards.
        """
        loop = asyncio.get_running_loop()
        previous: dict[signal.Signals, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            try:
                loop.add_signal_handler(signum, self._on_signal, signum)
            except (NotImplementedError, RuntimeError):  # not the main thread, or no signal support
                continue
            previous[signum] = handler
        try:
            if not self.is_running:
                await self.start()
            await self._shutdown.wait()
        finally:
            for signum, handler in previous.items():
                loop.remove_signal_handler(signum)
                if handler is not None:  # asyncio resets to the default; restore the embedding program's
                    signal.signal(signum, handler)
            await self.stop()
            self._shutdown.clear()

    def _on_signal(self, signum: signal.Signals) -> None:
        self.logger.info("agent %s received %s, shutting down", self.name, signum.name)
        self.request_shutdown()

    # --- request handling ---------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.perf_counter()
        response: web.StreamResponse
        try:
            response = await handler(request)
        except AgentError as exc:
            response = web.json_response(exc.to_body(), status=exc.status)
        except web.HTTPException as exc:  # routing (404, 405) and body size (413) errors from aiohttp
            code = _STATUS_CODES.get(exc.status, "http-error")
            response = _error_response(exc.status, code, HTTPStatus(exc.status).phrase)
        except Exception:
            self.logger.exception(
                "agent %s: unhandled error in action %s", self.name, request.get(_ACTION_KEY, "-")
            )
            response = _error_response(500, "internal-error", "the agent failed to process the request")
        elapsed_ms = (time.perf_counter() - started) * 1000
        action = request.get(_ACTION_KEY, request.path)
        sender = request.get(_SENDER_KEY, "-")
        self.logger.info(
            "%s %s action=%s sender=%s status=%d ms=%.1f",
            self.name,
            request.method,
            action,
            sender,
            response.status,
            elapsed_ms,
            extra={
                "agent": self.name,
                "action": action,
                "sender": sender,
                "status": response.status,
                "duration_ms": elapsed_ms,
            },
        )
        return response

    async def _handle_health(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "name": self.name,
                "address": self.address,
                "role": self.role,
                "actions": self.actions,
                "uptime": round(time.monotonic() - self._started_at, 3),
            }
        )

    async def _read_envelope(self, request: web.Request) -> Envelope:
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise AgentError(413, "too-large", f"body exceeds {self.max_body_bytes} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise AgentError(413, "too-large", f"body exceeds {self.max_body_bytes} bytes") from exc
        try:
            # jiter (Rust) bounds the nesting depth itself: the stdlib parser could overflow the C stack on
            # hostile input when the recursion limit is raised (as under Ape), crashing the process.
            document = from_json(body, allow_inf_nan=False)
        except ValueError as exc:
            raise AgentError(400, "invalid-json", f"body is not JSON: {exc}") from exc
        try:
            return Envelope.model_validate(document)
        except ValidationError as exc:
            reason, fields = format_validation_error(exc)
            raise AgentError(400, "invalid-envelope", reason, fields=fields) from exc

    async def _handle_rpc(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        request[_ACTION_KEY] = action
        route = self._routes.get(action)
        if route is None:
            raise AgentError(404, "unknown-action", f"this agent has no action {action!r}")
        envelope = await self._read_envelope(request)
        request[_SENDER_KEY] = envelope.sender
        now = self.clock()
        try:
            sender = verify_envelope(envelope, self.address, now, self.max_skew, action=action)
        except EnvelopeError as exc:
            raise AgentError(exc.status, exc.code, exc.reason) from exc
        if self.authorizer is not None and not await self.authorizer(sender, action):
            raise AgentError(403, "forbidden", f"{sender} is not authorized for action {action!r}")
        try:
            fresh = self.replay_cache.check_and_store(sender, envelope.nonce, now)
        except ReplayCacheFullError as exc:
            raise AgentError(503, "busy", "too many requests in the replay window") from exc
        if not fresh:
            raise AgentError(409, "replayed-nonce", f"nonce {envelope.nonce} was already used by {sender}")
        try:
            payload = route.request_model.model_validate(envelope.payload)
        except ValidationError as exc:
            reason, fields = format_validation_error(exc, prefix="payload")
            raise AgentError(400, "invalid-payload", reason, fields=fields) from exc
        result = await route.handler(sender, payload)
        return web.Response(
            body=build_response(self.keypair, envelope, result).to_json(), content_type="application/json"
        )

"""The CSN agent: serves ``bmeoc-compute`` on the platform's agent base (signed envelopes over HTTP).

A request carries TX_t, the index j, the share ∂_j sealed to the CSN's registered encryption key and F (or
only F's digest when the CSN has F cached). The CSN answers with its signed R_j, or with a 4xx and a reason:

=====  ======================  ===============================================================
400    invalid-payload / ...   malformed TX_t, F or share
403    forbidden / wrong-mtd   sender not an active MTD in RSC, or not the MTD TX_t names
409    replayed-task           this (task id, j) was already computed (also 409 replayed-nonce)
422    undecryptable           the share does not decrypt with this CSN's key for (task, j)
422    <TaskRejected code>     bad-mtd-signature, share-mismatch, wrong-polynomial, bad-index
422    unknown-polynomial      F omitted and not in the cache
=====  ======================  ===============================================================

Nothing is computed for a refused task. The computation runs in a worker thread, so one agent serves
concurrent tasks. :class:`CSNBehaviour` lets demos and tests make an agent cheat (it then returns a wrong
``c_j`` with a consistent ``b_j = c_j'·w(j)`` and a valid signature: exactly what accountability must catch).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from offchain.agents.discovery import registry_authorizer
from offchain.agents.errors import AgentError
from offchain.agents.service import Agent
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.crypto.errors import DecryptionError
from offchain.crypto.keys import KeyPair
from offchain.outsourcing.csn import CSNResult, check_task, compute_share, sign_result
from offchain.outsourcing.errors import InvalidParameters, MalformedMessage, TaskRejected
from offchain.outsourcing.polynomial import AnyPolynomial, polynomial_from_wire
from offchain.outsourcing.task import TaskShare
from offchain.outsourcing.wire import ACTION, ComputeRequest, ComputeResponse, open_share

CSN_MAX_BODY_BYTES = 64 * 1024 * 1024
"""A request carries F (k = 200, d = 2: about 1.3 MB of hex)."""


@dataclass
class CSNBehaviour:
    """How the agent answers: honestly (default) or with a wrong (c_j, b_j)."""

    cheat: bool = False


@dataclass
class CSNState:
    """What a CSN remembers: prepared polynomials by digest, (task id, j) pairs already computed."""

    max_polynomials: int = 8
    max_tasks: int = 100_000
    polynomials: OrderedDict[bytes, AnyPolynomial] = field(default_factory=OrderedDict)
    tasks: OrderedDict[tuple[bytes, int], None] = field(default_factory=OrderedDict)
    computed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember_polynomial(self, polynomial: AnyPolynomial) -> None:
        with self.lock:
            self.polynomials[polynomial.digest()] = polynomial
            self.polynomials.move_to_end(polynomial.digest())
            while len(self.polynomials) > self.max_polynomials:
                self.polynomials.popitem(last=False)

    def claim_task(self, task_id: bytes, j: int) -> bool:
        """Record (task id, j); False when it was already recorded (a replay)."""
        with self.lock:
            if (task_id, j) in self.tasks:
                return False
            self.tasks[(task_id, j)] = None
            while len(self.tasks) > self.max_tasks:
                self.tasks.popitem(last=False)
            return True


def _load_polynomial(request: ComputeRequest, state: CSNState, digest: bytes) -> AnyPolynomial:
    cached = state.polynomials.get(digest)
    if cached is not None:
        return cached
    if request.polynomial is None:
        raise AgentError(422, "unknown-polynomial", "F is not attached and not cached: send it with the task")
    try:
        polynomial = polynomial_from_wire(request.polynomial)
    except (MalformedMessage, InvalidParameters) as exc:
        raise AgentError(400, "invalid-polynomial", str(exc)) from exc
    if polynomial.digest() != digest:
        raise AgentError(422, "wrong-polynomial", "H(F) differs from the digest TX_t commits to")
    polynomial.prepare()
    state.remember_polynomial(polynomial)
    return polynomial


def serve_csn(
    agent: Agent,
    encryption_key: KeyPair,
    *,
    behaviour: CSNBehaviour | None = None,
    state: CSNState | None = None,
) -> CSNState:
    """Add the ``bmeoc-compute`` action to ``agent``; returns the agent's state (for inspection)."""
    behaviour = behaviour or CSNBehaviour()
    state = state or CSNState()
    signer: KeyPair = agent.keypair

    async def on_compute(sender: str, request: ComputeRequest) -> ComputeResponse:
        try:
            tx = request.transaction.to_core()
        except MalformedMessage as exc:
            raise AgentError(400, "invalid-transaction", str(exc)) from exc
        if tx.mtd != sender:
            raise AgentError(403, "wrong-mtd", f"TX_t names {tx.mtd}, the request comes from {sender}")
        if request.j > tx.m:
            raise AgentError(422, "bad-index", f"index j = {request.j} is outside 1..{tx.m}")
        field_ = tx.params.field
        try:
            share = open_share(
                field_,
                encryption_key,
                request.sealed_share,
                tx.params.k,
                tx.task_id,
                request.j,
                agent.address,
                sender,
            )
        except DecryptionError as exc:
            raise AgentError(
                422, "undecryptable", f"the share does not decrypt for this CSN and task: {exc}"
            ) from exc
        except (MalformedMessage, InvalidParameters) as exc:
            raise AgentError(400, "invalid-share", str(exc)) from exc
        polynomial = await asyncio.to_thread(_load_polynomial, request, state, tx.polynomial_digest)
        task = TaskShare(tx, share)
        try:
            id_tj = check_task(task, polynomial, sender)
        except TaskRejected as exc:
            raise AgentError(422, exc.code, exc.reason) from exc
        if not state.claim_task(tx.task_id, request.j):
            raise AgentError(
                409, "replayed-task", f"task 0x{tx.task_id.hex()} index {request.j} was already computed"
            )

        def compute() -> CSNResult:
            c, b = compute_share(polynomial, share)
            if behaviour.cheat:
                c = (c + 1) % field_.q
                b = c * share.w % field_.q
            return sign_result(signer, field_, tx.task_id, request.j, id_tj, c, b)

        result = await asyncio.to_thread(compute)
        state.computed += 1
        return ComputeResponse.of(result)

    agent.route(ACTION, ComputeRequest, on_compute)
    return state


def csn_agent(
    keypair: KeyPair,
    encryption_key: KeyPair,
    registry: RegistryClient,
    *,
    name: str = "csn",
    behaviour: CSNBehaviour | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> tuple[Agent, CSNState]:
    """A CSN agent that accepts ``bmeoc-compute`` only from active MTDs of the registry."""
    agent = Agent(
        keypair,
        name=name,
        role="csn",
        host=host,
        port=port,
        authorizer=registry_authorizer(registry, {ACTION: ActorRole.MTD}),
        max_body_bytes=CSN_MAX_BODY_BYTES,
    )
    state = serve_csn(agent, encryption_key, behaviour=behaviour)
    return agent, state


def install_csn_service(agent: Agent, registry: RegistryClient, encryption_key: KeyPair) -> None:
    """``ROLE_SERVICES`` installer for ``metatrust agent run csn``: ``bmeoc-compute`` only for active MTDs."""
    agent.max_body_bytes = max(agent.max_body_bytes, CSN_MAX_BODY_BYTES)
    base = agent.authorizer
    mtd_only = registry_authorizer(registry, {ACTION: ActorRole.MTD})

    async def authorize(sender: str, action: str) -> bool:
        if action == ACTION:
            return await mtd_only(sender, action)
        return await base(sender, action) if base is not None else True

    agent.authorizer = authorize
    serve_csn(agent, encryption_key)

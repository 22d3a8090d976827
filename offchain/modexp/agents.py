# ruff: noqa: N806  (L, N are the spec's names: spec 003 §2.2)
"""MExpm's agents (spec 003 §1 actors) as HTTP services on the agent base, discovered through RSC.

* :class:`ServiceAgency` (SA, role SERVICE_AGENCY): owns the 512-bit prime N and the bases; action
  ``mexpm-setup`` runs Setup and answers with the public Params and the recovery key RK sealed (ECIES) to
  the vehicle's registered encryption key.
* :class:`MecServer` (role MEC_SERVER): action ``mexpm-offer`` receives a task id and the shuffled pairs
  sealed to its key, checks them against the task's ``pairsCommit`` on chain, accepts (collateral),
  computes with :func:`offchain.modexp.core.compute` and submits the outputs on chain, directly or through
  an RSU. A watcher disputes any rejection of an honest result (the malicious-IV case).
* :class:`RoadsideUnit` (RSU): action ``mexpm-relay`` relays a server-signed submission on chain.
* :class:`Vehicle` (IV, role VEHICLE): a pure client; asks the SA for Setup, runs KeyGen, creates the task
  with escrow, offers it to a server, reveals Aux once the outputs are on chain and recovers the result.

Every request is a signed envelope; bad, undecryptable, unauthorised or replayed requests get a 4xx with a
reason, and the agents keep serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from eth_account import Account
from pydantic import BaseModel, Field, ValidationError, field_validator
from web3 import Web3

from offchain.agents.client import AgentClient
from offchain.agents.discovery import Peer, lookup_peer, registry_authorizer
from offchain.agents.errors import AgentError
from offchain.agents.runner import ROLE_SERVICES
from offchain.agents.service import Agent
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.errors import ChainError, ContractRevert
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto import ecies
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.errors import DecryptionError
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import recover_typed_data_signer
from offchain.modexp import core
from offchain.modexp.encoding import (
    MAX_N,
    Opening,
    decode_pairs,
    encode_pairs,
    encode_values,
    new_salt,
    pairs_commitment,
)
from offchain.modexp.market import SUBMISSION_TYPES, MarketClient, TaskStatus
from offchain.modexp.params import KeyGenOutput, MalformedTask, PublicParams, RecoveryKey

log = logging.getLogger(__name__)

SETUP = "mexpm-setup"
OFFER = "mexpm-offer"
RELAY = "mexpm-relay"
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")
_MAX_SEALED_HEX = 2 * (2 * (2 * MAX_N + 2) * 512 + 4096 + ecies.OVERHEAD) + 2


def _hex_field(value: str) -> str:
    if not _HEX.match(value):
        raise ValueError("must be 0x-prefixed hex with an even number of digits")
    return value


def _unhex(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _address_bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:])


# ---------------------------------------------------------------------------------------- messages


class SetupRequest(BaseModel):
    """Vehicle → SA: Setup for a batch of ``n`` bases."""

    n: int = Field(ge=1, le=MAX_N)


class SetupReply(BaseModel):
    """SA → vehicle: the public Params and RK = {N} (plus the bases, for the vehicle's own check) sealed
    to the vehicle's registered encryption key."""

    L: str
    ys: list[str]
    sealed_rk: str

    @field_validator("L", "sealed_rk")
    @classmethod
    def _hex(cls, value: str) -> str:
        return _hex_field(value)


class TaskOffer(BaseModel):
    """Vehicle → server: the task id and the shuffled pairs with their salt, sealed to the server."""

    task_id: int = Field(ge=0)
    sealed_task: str = Field(max_length=_MAX_SEALED_HEX)

    @field_validator("sealed_task")
    @classmethod
    def _hex(cls, value: str) -> str:
        return _hex_field(value)


class OfferReply(BaseModel):
    """Server → vehicle: the task was accepted and its outputs submitted (``outputs_hash``)."""

    task_id: int
    outputs_hash: str
    relayed_by: str | None = None


class RelayRequest(BaseModel):
    """Server → RSU: outputs and the server's EIP-712 signature, to be submitted on chain."""

    task_id: int = Field(ge=0)
    outputs: str = Field(max_length=2 * (2 * MAX_N + 2) * 512 + 2)
    signature: str = Field(max_length=2 * 65 + 2)

    @field_validator("outputs", "signature")
    @classmethod
    def _hex(cls, value: str) -> str:
        return _hex_field(value)


class RelayReply(BaseModel):
    """RSU → server: the relayed transaction."""

    task_id: int
    tx_hash: str


# ---------------------------------------------------------------------------------------- shared


@dataclass
class Node:
    """One actor's chain access: its key, sender, registry client and market client."""

    key: KeyPair
    w3: Web3
    deployments: Deployments
    sender: TransactionSender = field(init=False)
    registry: RegistryClient = field(init=False)
    market: MarketClient = field(init=False)
    encryption: KeyPair = field(init=False)

    def __post_init__(self) -> None:
        self.sender = TransactionSender(
            self.w3, Account.from_key(self.key.private_key), deployments=self.deployments
        )
        self.registry = RegistryClient(contract(self.w3, self.deployments, "RSC"), self.sender)
        self.market = MarketClient(self.w3, self.deployments, self.sender)
        self.encryption = encryption_keypair(self.key)

    @property
    def address(self) -> str:
        return self.key.address


def _chain_refusal(exc: ChainError) -> AgentError:
    if isinstance(exc, ContractRevert):
        return AgentError(409, "chain-refused", f"the market refused: {exc.error_name}")
    return AgentError(503, "chain-unavailable", f"the chain did not take the transaction: {exc}")


# ---------------------------------------------------------------------------------------- SA


class ServiceAgency:
    """The SA: holds N and a catalogue of bases, runs Setup for registered vehicles (spec §3.1)."""

    def __init__(self, node: Node, *, n_bits: int = 512, agent: Agent | None = None) -> None:
        self.node = node
        self.N = core.random_prime(n_bits)
        self.catalogue = tuple(secrets.randbelow(self.N - 2) + 2 for _ in range(MAX_N))
        self.agent = agent or Agent(
            node.key,
            name="mexpm-sa",
            role="service_agency",
            authorizer=registry_authorizer(node.registry, {SETUP: ActorRole.VEHICLE}),
        )
        self.agent.route(SETUP, SetupRequest, self.on_setup)

    async def on_setup(self, sender: str, request: SetupRequest) -> SetupReply:
        peer = await lookup_peer(self.node.registry, sender)
        if peer is None or ActorRole.VEHICLE not in peer.roles:
            raise AgentError(403, "not-a-vehicle", f"{sender} is not an active vehicle of the registry")
        bases = self.catalogue[: request.n]
        params, rk, _ = await asyncio.to_thread(core.setup, bases, self.N)
        secret = json.dumps({"N": hex(rk.N), "bases": [hex(u) for u in bases]}).encode()
        sealed = ecies.encrypt(peer.encryption_key, secret, associated_data=_address_bytes(self.node.address))
        return SetupReply(L=hex_even(params.L), ys=[hex(y) for y in params.ys], sealed_rk="0x" + sealed.hex())


def hex_even(value: int) -> str:
    """``value`` as 0x-hex with an even number of digits."""
    digits = f"{value:x}"
    return "0x" + ("0" + digits if len(digits) % 2 else digits)


# ---------------------------------------------------------------------------------------- server


class MecServer:
    """The MEC server: checks, accepts, computes, submits; disputes a rejection of an honest result.

    ``cheat=True`` makes it forge (it doubles its first output mod L) and never dispute: the demo of a
    cheating server being rejected. ``via_rsu`` relays its submissions through a registered RSU."""

    def __init__(
        self,
        node: Node,
        *,
        cheat: bool = False,
        via_rsu: bool = False,
        min_payment: int = 0,
        watch_interval: float = 0.3,
        agent: Agent | None = None,
    ) -> None:
        self.node = node
        self.cheat = cheat
        self.via_rsu = via_rsu
        self.min_payment = min_payment
        self.watch_interval = watch_interval
        self.agent = agent or Agent(
            node.key,
            name="mexpm-server",
            role="mec_server",
            authorizer=registry_authorizer(node.registry, {OFFER: ActorRole.VEHICLE}),
        )
        self.agent.route(OFFER, TaskOffer, self.on_offer)
        # task id -> (outputs, pairs, salt) of honest submissions, kept for a dispute
        self.evidence: dict[int, tuple[bytes, bytes, bytes]] = {}
        self.disputes: dict[int, bool] = {}
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MecServer:
        await self.agent.start()
        self._watcher = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.agent.stop()

    def _open(self, sender: str, request: TaskOffer) -> tuple[bytes, bytes]:
        try:
            blob = ecies.decrypt(self.node.encryption, _unhex(request.sealed_task), _address_bytes(sender))
        except DecryptionError as exc:
            raise AgentError(
                422, "undecryptable", f"the task does not decrypt with this server's key: {exc}"
            ) from exc
        try:
            document = json.loads(blob)
            pairs, salt = _unhex(_hex_field(document["pairs"])), _unhex(_hex_field(document["salt"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise AgentError(
                400, "invalid-task", f"the sealed task is not {{pairs, salt}} hex JSON: {exc}"
            ) from exc
        if len(salt) != 32:
            raise AgentError(400, "invalid-task", "the salt must have 32 bytes")
        return pairs, salt

    async def on_offer(self, sender: str, request: TaskOffer) -> OfferReply:
        pairs, salt = self._open(sender, request)
        async with self._lock:  # one offer at a time: a replayed offer sees the task taken
            market = self.node.market
            try:
                task = await asyncio.to_thread(market.task, request.task_id)
                L = await asyncio.to_thread(market.modulus, request.task_id)
            except ContractRevert as exc:
                raise AgentError(404, "unknown-task", f"task {request.task_id}: {exc.error_name}") from exc
            if task.status is not TaskStatus.CREATED:
                raise AgentError(
                    409, "task-not-open", f"task {request.task_id} is {task.status.name.lower()}"
                )
            if task.iv != Web3.to_checksum_address(sender):
                raise AgentError(403, "not-the-task-owner", f"task {request.task_id} belongs to {task.iv}")
            if pairs_commitment(pairs, salt) != task.pairs_commit:
                raise AgentError(
                    422, "pairs-mismatch", "the pairs do not match the task's pairsCommit on chain"
                )
            try:
                server_task = decode_pairs(pairs, L)
            except MalformedTask as exc:
                raise AgentError(422, "malformed-pairs", str(exc)) from exc
            if len(server_task.pairs) != 2 * task.n + 2:
                raise AgentError(422, "malformed-pairs", f"{len(server_task.pairs)} pairs for n = {task.n}")
            if task.payment < self.min_payment:
                raise AgentError(
                    402, "payment-too-low", f"payment {task.payment} is below {self.min_payment}"
                )
            try:
                await asyncio.to_thread(market.accept, request.task_id)
            except ChainError as exc:
                raise _chain_refusal(exc) from exc
        outputs = list(await asyncio.to_thread(core.compute, server_task))
        if self.cheat:
            outputs[0] = outputs[0] * 2 % L
        encoded = encode_values(outputs, L)
        relayed_by = await self._submit(request.task_id, encoded)
        if not self.cheat:
            self.evidence[request.task_id] = (encoded, pairs, salt)
        return OfferReply(
            task_id=request.task_id, outputs_hash="0x" + keccak256(encoded).hex(), relayed_by=relayed_by
        )

    async def _submit(self, task_id: int, outputs: bytes) -> str | None:
        if not self.via_rsu:
            try:
                await asyncio.to_thread(self.node.market.submit, task_id, outputs)
            except ChainError as exc:
                raise _chain_refusal(exc) from exc
            return None
        from offchain.agents.discovery import find_peers

        rsus = await find_peers(self.node.registry, ActorRole.RSU)
        if not rsus:
            raise AgentError(503, "no-rsu", "no RSU is registered to relay the submission")
        signature = self.node.market.sign_submission(self.node.key, task_id, outputs)
        relay = RelayRequest(task_id=task_id, outputs="0x" + outputs.hex(), signature="0x" + signature.hex())
        async with AgentClient(self.node.key, timeout=60) as rpc:
            await rpc.call(rsus[0].endpoint, rsus[0].address, RELAY, relay, RelayReply)
        return rsus[0].address

    async def check_rejections(self) -> None:
        """Dispute every rejected task whose honest outputs this server holds."""
        for task_id, (outputs, pairs, salt) in list(self.evidence.items()):
            task = await asyncio.to_thread(self.node.market.task, task_id)
            if task.status is TaskStatus.REJECTED:
                won, _ = await asyncio.to_thread(self.node.market.dispute, task_id, outputs, pairs, salt)
                self.disputes[task_id] = won
                log.info("task %d: dispute %s", task_id, "won" if won else "lost")
            if task.status is not TaskStatus.SUBMITTED:
                self.evidence.pop(task_id, None)

    async def _watch(self) -> None:
        while True:
            try:
                await self.check_rejections()
            except ChainError as exc:  # keep watching: the chain may be back at the next round
                log.warning("rejection watcher: %s", exc)
            await asyncio.sleep(self.watch_interval)


# ---------------------------------------------------------------------------------------- RSU


class RoadsideUnit:
    """The RSU: relays a submission signed by the task's server (spec §7 #20)."""

    def __init__(self, node: Node, *, agent: Agent | None = None) -> None:
        self.node = node
        self.agent = agent or Agent(
            node.key,
            name="mexpm-rsu",
            role="rsu",
            authorizer=registry_authorizer(node.registry, {RELAY: ActorRole.MEC_SERVER}),
        )
        self.agent.route(RELAY, RelayRequest, self.on_relay)

    async def on_relay(self, sender: str, request: RelayRequest) -> RelayReply:
        market = self.node.market
        outputs, signature = _unhex(request.outputs), _unhex(request.signature)
        try:
            task = await asyncio.to_thread(market.task, request.task_id)
        except ContractRevert as exc:
            raise AgentError(404, "unknown-task", f"task {request.task_id}: {exc.error_name}") from exc
        message = {"taskId": request.task_id, "outputsHash": keccak256(outputs)}
        try:
            signer = recover_typed_data_signer(
                market.submission_domain(), SUBMISSION_TYPES, "Submission", message, signature
            )
        except Exception as exc:  # malformed signatures raise a variety of errors
            raise AgentError(400, "bad-signature", f"the signature does not recover: {exc}") from exc
        if signer != task.server or signer != Web3.to_checksum_address(sender):
            raise AgentError(
                403, "not-the-server", f"the submission is not signed by task {request.task_id}'s server"
            )
        if task.status is not TaskStatus.ACCEPTED:
            raise AgentError(
                409, "task-not-accepted", f"task {request.task_id} is {task.status.name.lower()}"
            )
        try:
            receipt = await asyncio.to_thread(market.submit_signed, request.task_id, outputs, signature)
        except ChainError as exc:
            raise _chain_refusal(exc) from exc
        return RelayReply(task_id=request.task_id, tx_hash=receipt["transactionHash"].to_0x_hex())


# ---------------------------------------------------------------------------------------- vehicle


@dataclass(frozen=True)
class Outcome:
    """What one offloaded task ended as, from the vehicle's side."""

    task_id: int
    accepted: bool
    result: int | None
    expected: int
    status: TaskStatus


class Vehicle:
    """The IV: Setup through the SA, KeyGen, escrow, offer, reveal, Recovery and the local check."""

    def __init__(self, node: Node, *, timeout: float = 60.0) -> None:
        self.node = node
        self.timeout = timeout

    async def setup(self, sa: Peer, n: int) -> tuple[PublicParams, RecoveryKey, tuple[int, ...]]:
        """Ask the SA for Setup; open the sealed RK (and bases)."""
        async with AgentClient(self.node.key, timeout=self.timeout) as rpc:
            reply = await rpc.call(sa.endpoint, sa.address, SETUP, SetupRequest(n=n), SetupReply)
        blob = ecies.decrypt(self.node.encryption, _unhex(reply.sealed_rk), _address_bytes(sa.address))
        try:
            document: dict[str, Any] = json.loads(blob)
            N = int(document["N"], 16)
            bases = tuple(int(u, 16) for u in document["bases"])
            params = PublicParams(L=int(reply.L, 16), ys=tuple(int(y, 16) for y in reply.ys))
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise MalformedTask(f"the SA's answer is malformed: {exc}") from exc
        if params.L % N or len(bases) != n or params.n != n:
            raise MalformedTask("the SA's Params do not match its recovery key")
        return params, RecoveryKey(N), bases

    async def offload(
        self,
        sa: Peer,
        server: Peer,
        exponents: tuple[int, ...],
        *,
        payment: int,
        collateral: int,
        reveal_window: int,
        submit_window: int = 600,
        corrupt_aux: bool = False,
    ) -> tuple[Outcome, KeyGenOutput]:
        """The whole task: Setup, KeyGen, escrow, offer, reveal, Recovery. ``corrupt_aux`` plays the
        malicious IV that commits a wrong δ1 to have a correct result rejected."""
        params, rk, bases = await self.setup(sa, len(exponents))
        keys = await asyncio.to_thread(core.keygen, exponents, params, rk)
        task = core.server_task(keys.tk, keys.vk, keys.secret, params.L)
        opening = Opening.build(keys.aux, keys.secret, params.L, new_salt())
        if corrupt_aux:
            delta1 = int.from_bytes(opening.delta1, "big") + 2
            opening = replace(opening, delta1=delta1.to_bytes(len(opening.delta1), "big"))
        pairs, salt = encode_pairs(task), new_salt()
        market = self.node.market
        task_id, _ = await asyncio.to_thread(
            lambda: market.create_task(
                params.L,
                len(task.pairs) // 2 - 1,
                payment=payment,
                collateral=collateral,
                aux_commit=opening.commitment(),
                pairs_commit=pairs_commitment(pairs, salt),
                submit_deadline=market.now() + submit_window,
                reveal_window=reveal_window,
            )
        )
        sealed = ecies.encrypt(
            server.encryption_key,
            json.dumps({"pairs": "0x" + pairs.hex(), "salt": "0x" + salt.hex()}).encode(),
            associated_data=_address_bytes(self.node.address),
        )
        offer = TaskOffer(task_id=task_id, sealed_task="0x" + sealed.hex())
        async with AgentClient(self.node.key, timeout=self.timeout) as rpc:
            reply = await rpc.call(server.endpoint, server.address, OFFER, offer, OfferReply)
        outputs = await asyncio.to_thread(market.submitted_outputs, task_id)
        if outputs is None or "0x" + keccak256(outputs).hex() != reply.outputs_hash:
            raise MalformedTask(f"task {task_id}: the server's answer does not match the outputs on chain")
        verdict = await asyncio.to_thread(market.reveal, task_id, outputs, opening)
        expected = core.local_product(bases, exponents, rk.N)
        result = None if verdict.sigma is None else core.recovery(verdict.sigma, rk, keys.secret, params.L)
        status = (await asyncio.to_thread(market.task, task_id)).status
        return Outcome(task_id, verdict.ok, result, expected, status), keys


# ---------------------------------------------------------------------------------------- agent runner


def _node_of(agent: Agent, registry: RegistryClient) -> Node:
    sender = registry.sender
    if sender is None or sender.deployments is None:
        raise RuntimeError("MExpm agents need a registry client with a sender and deployments")
    return Node(agent.keypair, sender.w3, sender.deployments)


def _install_agency(agent: Agent, registry: RegistryClient, encryption_key: KeyPair) -> None:
    ServiceAgency(_node_of(agent, registry), agent=agent)


def _install_server(agent: Agent, registry: RegistryClient, encryption_key: KeyPair) -> None:
    server = MecServer(_node_of(agent, registry), agent=agent)
    # ``metatrust agent run`` installs services inside its event loop: the watcher runs beside the agent.
    server._watcher = asyncio.get_running_loop().create_task(server._watch())


def _install_rsu(agent: Agent, registry: RegistryClient, encryption_key: KeyPair) -> None:
    RoadsideUnit(_node_of(agent, registry), agent=agent)


ROLE_SERVICES.update(
    {
        ActorRole.SERVICE_AGENCY: _install_agency,
        ActorRole.MEC_SERVER: _install_server,
        ActorRole.RSU: _install_rsu,
    }
)

"""The Leader Enclave's coordination (spec §3.8 B.3-B.5): distribute, collect, compare, aggregate, anchor.

For a schedule the Leader first gathers every member's share of RSSC's seed (``seed``: the seed is keccak256
of their aggregate, which no member chooses). For an installation the Leader sends the configuration to every
member, collects each member's BLS signature on ``install_message`` and confirms with one aggregate on
``MSC.confirmInstall``. For a request it executes the step itself, has the Execution Enclave execute it and
the Monitoring Enclaves re-execute it, requires every state root to be equal, aggregates every member's
signatures on MSC's execution message and on ASC's digest, and anchors (``MSC.confirmExecution``; the ASC call
is the caller's).

A member that does not answer within ``member_timeout`` is challenged on MSC. If it answers the challenge
(``respond``) it is asked once more; if the response window passes, the Leader calls ``timeoutChallenge``:
MSC removes and slashes it and recomputes the aggregate key, and the Leader aggregates the signatures of
the remaining members under the new key (the signed messages do not name the members, so signatures
already collected stay valid). A member whose state root differs is never signed with: the step is
refused and nothing is anchored (see docs/outsourcing-enclaves.md for why and what follows).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from offchain.agents.client import AgentClient
from offchain.agents.errors import (
    AgentCallError,
    AgentError,
    AgentUnreachableError,
    ResponseVerificationError,
)
from offchain.chain.errors import ContractRevert
from offchain.crypto import bls
from offchain.crypto.hashing import keccak256
from offchain.outsourcing.chain_clients import EnclaveStatus, EnvironmentInfo
from offchain.outsourcing.enclave.chain import EnclaveChain
from offchain.outsourcing.enclave.contracts import Step, request_hash
from offchain.outsourcing.enclave.seed import aggregate_seed, check_seed, seed_message, seed_of
from offchain.outsourcing.enclave.wire import (
    EXECUTE,
    INSTALL,
    REEXECUTE,
    SEED,
    SIGN,
    ExecuteRequest,
    ExecuteResponse,
    InstallRequest,
    InstallResponse,
    SeedRequest,
    SeedResponse,
    SignRequest,
    SignResponse,
    from_hex,
    to_hex,
)
from offchain.outsourcing.msc_messages import (
    encode_environment_signature,
    environment_message,
    execution_message,
    install_message,
)

ResponseT = TypeVar("ResponseT", bound=BaseModel)
log = logging.getLogger(__name__)


class StepRefused(Exception):  # noqa: N818 (reads as the outcome)
    """The environment could not confirm a step (a divergent state root, or a member removed mid-way that
    left the environment below its minimum)."""


@dataclass
class Collected:
    """What the Leader gathered for one step."""

    seq: int
    state_root: bytes
    execution: dict[str, bytes] = field(default_factory=dict)
    asc: dict[str, bytes] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)


class Leader:
    """The coordination a Leader Enclave runs; ``endpoint_of`` resolves a member's endpoint (from RSC)."""

    def __init__(
        self,
        chain: EnclaveChain,
        rpc: AgentClient,
        endpoint_of: Callable[[str], Awaitable[str]],
        *,
        member_timeout: float = 4.0,
        challenge_poll: float = 0.25,
        challenge_wait: float = 180.0,
    ) -> None:
        self.chain = chain
        self.rpc = rpc
        self.endpoint_of = endpoint_of
        self.member_timeout = member_timeout
        self.challenge_poll = challenge_poll
        self.challenge_wait = challenge_wait
        self.address = chain.address

    # ------------------------------------------------------------------------------------------ calls

    async def _call(
        self, member: str, action: str, request: BaseModel, model: type[ResponseT]
    ) -> ResponseT | None:
        """The member's answer, or None when it does not answer in time (a liveness fault)."""
        endpoint = await self.endpoint_of(member)
        try:
            return await asyncio.wait_for(
                self.rpc.call(endpoint, member, action, request, model), timeout=self.member_timeout
            )
        except (TimeoutError, AgentUnreachableError):
            return None

    async def _environment(self, env_id: int) -> EnvironmentInfo:
        return await asyncio.to_thread(self.chain.msc.environment, env_id)

    async def _challenge_until_resolved(self, env_id: int, member: str, about: bytes) -> bool:
        """Challenge ``member`` on MSC and wait for the outcome: True when it was removed, False when it
        answered in time."""
        opened, _ = await asyncio.to_thread(self.chain.msc.challenge, env_id, member, about)
        challenge_id = opened.challenge_id
        log.warning("leader: challenged %s (challenge %d)", member, challenge_id)
        deadline = asyncio.get_running_loop().time() + self.challenge_wait
        while asyncio.get_running_loop().time() < deadline:
            info = await asyncio.to_thread(self.chain.msc.challenge_info, challenge_id)
            if info.resolved:
                enclave = await asyncio.to_thread(self.chain.msc.enclave, member)
                return enclave.status is EnclaveStatus.REMOVED
            head = await asyncio.to_thread(self.chain.head)
            if head > info.deadline:
                try:
                    await asyncio.to_thread(self.chain.msc.timeout_challenge, challenge_id)
                except ContractRevert:  # answered or timed out by someone else meanwhile: read it again
                    continue
                log.warning("leader: %s did not answer challenge %d: removed", member, challenge_id)
                return True
            await asyncio.sleep(self.challenge_poll)
        raise StepRefused(f"challenge {challenge_id} against {member} was not resolved in time")

    async def _gather(
        self,
        env_id: int,
        members: Sequence[str],
        ask: Callable[[str], Awaitable[ResponseT | None]],
        about: bytes,
        removed: list[str],
    ) -> dict[str, ResponseT]:
        """Ask every member; challenge the silent ones (removed, or asked once more after answering)."""
        answers = await asyncio.gather(*(ask(member) for member in members))
        got = {m: a for m, a in zip(members, answers, strict=True) if a is not None}
        silent = [m for m in members if m not in got]
        outcomes = await asyncio.gather(*(self._challenge_until_resolved(env_id, m, about) for m in silent))
        for member, was_removed in zip(silent, outcomes, strict=True):
            if was_removed:
                removed.append(member)
                continue
            again = await ask(member)
            if again is None:
                raise StepRefused(f"{member} answered the challenge but still does not serve the request")
            got[member] = again
        return got

    # ------------------------------------------------------------------------------------------ install

    async def install(
        self,
        env_id: int,
        id_sc: int,
        config: Mapping[str, Any],
        own_signature: bytes,
        code_hash: bytes,
    ) -> tuple[str, list[str]]:
        """Distribute, collect, aggregate and ``confirmInstall``; returns (tx hash, removed members)."""
        env = await self._environment(env_id)
        request = InstallRequest(env_id=env_id, id_sc=id_sc, config=dict(config))
        others = [m for m in env.members if m != self.address]
        removed: list[str] = []

        async def ask(member: str) -> InstallResponse | None:
            return await self._call(member, INSTALL, request, InstallResponse)

        answers = await self._gather(
            env_id, others, ask, keccak256(b"install" + id_sc.to_bytes(32, "big")), removed
        )
        for member, answer in answers.items():
            if from_hex(answer.code_hash) != code_hash:
                raise StepRefused(f"{member} installed code {answer.code_hash}, not 0x{code_hash.hex()}")
        signatures = {m: from_hex(a.signature) for m, a in answers.items()}
        signatures[self.address] = own_signature
        env = await self._environment(env_id)
        message = install_message(self.chain.chain_id, self.chain.msc.address, env_id, id_sc, code_hash)
        aggregate = self._aggregate(env, signatures, message)
        receipt = await asyncio.to_thread(
            self.chain.msc.confirm_install, id_sc, env_id, env.aggregate_key, aggregate
        )
        return to_hex(bytes(receipt["transactionHash"])), removed

    # ------------------------------------------------------------------------------------------ seed

    async def seed(self, env_id: int, task_id: bytes, own_share: bytes) -> tuple[bytes, bytes, list[str]]:
        """RSSC's seed for ``task_id``: every member's share on the seed message, aggregated (σ) and checked
        under the environment's current aggregate key; returns ``(keccak256(σ), σ, removed members)``. A
        silent member is challenged; a removed one leaves the aggregate key, and σ is taken over the members
        that remain."""
        env = await self._environment(env_id)
        request = SeedRequest(env_id=env_id, task_id=to_hex(task_id))
        others = [m for m in env.members if m != self.address]

        async def ask(member: str) -> SeedResponse | None:
            return await self._call(member, SEED, request, SeedResponse)

        removed: list[str] = []
        answers = await self._gather(env_id, others, ask, keccak256(b"seed" + task_id), removed)
        shares = {m: from_hex(a.signature) for m, a in answers.items()}
        shares[self.address] = own_share
        env = await self._environment(env_id)
        missing = [m for m in env.members if m not in shares]
        if missing:
            raise StepRefused(f"no seed share from {', '.join(missing)}")
        sigma = aggregate_seed(shares[m] for m in env.members)
        message = seed_message(self.chain.chain_id, self.chain.msc.address, env_id, task_id)
        seed = seed_of(sigma)
        problem = check_seed(env.aggregate_key, message, sigma, seed)
        if problem is not None:  # a member sent a share that is not its signature
            raise StepRefused(problem)
        return seed, sigma, removed

    # ------------------------------------------------------------------------------------------ steps

    async def step(
        self,
        env_id: int,
        id_sc: int,
        request: Mapping[str, Any],
        sealed: Mapping[str, str],
        own: Step,
        own_signatures: tuple[bytes, bytes | None],
        *,
        input_block: int | None = None,
        seed_signature: bytes | None = None,
    ) -> Collected:
        """Execution, re-execution, comparison and ``confirmExecution`` of step ``own.seq``; the members
        re-read the step's chain inputs at ``input_block`` and check a schedule's seed against
        ``seed_signature``."""
        env = await self._environment(env_id)
        about = request_hash(request)
        removed: list[str] = []
        collected = Collected(own.seq, own.state_root, removed=removed)
        collected.execution[self.address] = own_signatures[0]
        if own_signatures[1] is not None:
            collected.asc[self.address] = own_signatures[1]
        base = ExecuteRequest(
            env_id=env_id,
            id_sc=id_sc,
            seq=own.seq,
            request=dict(request),
            sealed=dict(sealed),
            input_block=input_block,
            seed_signature=None if seed_signature is None else to_hex(seed_signature),
        )
        # the Execution Enclave first ...
        executor = env.members[1]
        answers: dict[str, ExecuteResponse] = {}
        if executor != self.address:

            async def execute(member: str) -> ExecuteResponse | None:
                return await self._call(member, EXECUTE, base, ExecuteResponse)

            answers.update(await self._gather(env_id, [executor], execute, about, removed))
        expected = answers[executor].state_root if executor in answers else to_hex(own.state_root)
        # ... then the Monitoring Enclaves re-execute and compare with it
        monitors = [m for m in env.members if m not in (self.address, executor) and m not in removed]
        recheck = base.model_copy(update={"expected_root": expected})

        async def reexecute(member: str) -> ExecuteResponse | None:
            return await self._call(member, REEXECUTE, recheck, ExecuteResponse)

        answers.update(await self._gather(env_id, monitors, reexecute, about, removed))
        divergent = [
            m
            for m, a in answers.items()
            if from_hex(a.state_root) != own.state_root or a.seq != own.seq or not a.agrees
        ]
        if divergent or expected != to_hex(own.state_root):
            raise StepRefused(
                f"state roots differ at step {own.seq}: {', '.join(divergent) or executor} disagree with the "
                "Leader; the step is not confirmed and nothing is anchored"
            )
        for member, answer in answers.items():
            if answer.execution_signature is None:
                raise StepRefused(f"{member} did not sign step {own.seq}")
            collected.execution[member] = from_hex(answer.execution_signature)
            if own.asc_digest is not None:
                if answer.asc_signature is None or answer.asc_digest != to_hex(own.asc_digest):
                    raise StepRefused(f"{member} did not sign ASC's digest of step {own.seq}")
                collected.asc[member] = from_hex(answer.asc_signature)
        return collected

    def _aggregate(self, env: EnvironmentInfo, signatures: Mapping[str, bytes], message: bytes) -> bytes:
        """σ over the current members' signatures, checked off chain against MSC's aggregate key."""
        missing = [m for m in env.members if m not in signatures]
        if missing:
            raise StepRefused(f"no signature from {', '.join(missing)}")
        sigma = bls.aggregate_signatures(signatures[m] for m in env.members)
        if not bls.verify(env.aggregate_key, message, sigma):
            raise StepRefused("the aggregate signature does not verify under the environment's key")
        return sigma

    async def confirm(self, env_id: int, id_sc: int, collected: Collected) -> tuple[EnvironmentInfo, str]:
        """``MSC.confirmExecution`` with the aggregate over the members that remain."""
        env = await self._environment(env_id)
        message = execution_message(
            self.chain.chain_id, self.chain.msc.address, env_id, id_sc, collected.seq, collected.state_root
        )
        sigma = self._aggregate(env, collected.execution, message)
        receipt = await asyncio.to_thread(
            self.chain.msc.confirm_execution,
            id_sc,
            collected.seq,
            collected.state_root,
            env.aggregate_key,
            sigma,
        )
        return env, to_hex(bytes(receipt["transactionHash"]))

    def environment_signature(
        self, env: EnvironmentInfo, signatures: Mapping[str, bytes], digest: bytes
    ) -> bytes:
        """The 384-byte ``aggregateSignature`` ASC forwards to MSC (aggregate key ‖ σ)."""
        message = environment_message(self.chain.chain_id, self.chain.msc.address, env.env_id, digest)
        sigma = self._aggregate(env, signatures, message)
        return encode_environment_signature(env.aggregate_key, sigma)

    async def voucher(
        self, env_id: int, id_sc: int, csn: str, own: tuple[int, bytes, bytes]
    ) -> tuple[int, bytes]:
        """Every member signs the voucher of ``csn`` from its own ledger; they must agree on the amount."""
        env = await self._environment(env_id)
        cumulative, digest, own_signature = own
        request = SignRequest(env_id=env_id, id_sc=id_sc, csn=csn)
        others = [m for m in env.members if m != self.address]
        removed: list[str] = []

        async def ask(member: str) -> SignResponse | None:
            try:
                return await self._call(member, SIGN, request, SignResponse)
            except (AgentCallError, ResponseVerificationError) as exc:
                raise AgentError(502, "member-refused", f"{member} refused to sign: {exc}") from exc

        answers = await self._gather(env_id, others, ask, digest, removed)
        signatures = {self.address: own_signature}
        for member, answer in answers.items():
            if int(answer.cumulative) != cumulative or from_hex(answer.digest) != digest:
                raise StepRefused(f"{member} holds another credit for {csn}")
            signatures[member] = from_hex(answer.signature)
        env = await self._environment(env_id)
        return cumulative, self.environment_signature(env, signatures, digest)

"""The enclave agent: one per OS process (``python -m offchain.outsourcing.enclave``).

At start the enclave serves HTTP on loopback, registers in RSC (role ENCLAVE, endpoint, encryption key, BLS
key) and in MSC (BLS key with proof of possession, simulated attestation quote, stake), then proves block
sync (π_b). A watcher follows MSC's events: on ``EnvironmentRequested`` it submits its VRF proof, on
``EnvironmentCreated`` / ``EnvironmentChanged`` it learns its role (Leader, Execution, Monitoring) and the
environment's members, on ``ChallengeOpened`` against itself it answers with ``respond``.

It holds one :class:`~offchain.outsourcing.enclave.contracts.ContractHost` per installed contract and serves
the member actions (install, execute, re-execute, sign, seed share: only for its environment's Leader; before
it executes a schedule or a settlement it checks the seed against the environment's aggregate key and re-reads
the step's chain inputs at the block the Leader names) and, while it is the Leader, the users' actions
(install for the environment's creator, schedule and dispute for MTDs, default payout, vouchers for CSNs).
Every bad request gets a 4xx with a reason; the enclave keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.exceptions import MismatchedABI
from web3.types import EventData

from offchain.agents.client import AgentClient
from offchain.agents.discovery import lookup_peer, registry_authorizer
from offchain.agents.errors import AgentCallError, AgentError, ResponseVerificationError
from offchain.agents.service import Agent
from offchain.chain.errors import ChainError
from offchain.chain.roles import ActorRole
from offchain.crypto import bls
from offchain.crypto.errors import DecryptionError
from offchain.crypto.hashing import keccak256
from offchain.outsourcing import vrf
from offchain.outsourcing.chain_clients import (
    ChallengeOpened,
    EnclaveStatus,
    EnvironmentInfo,
    EnvironmentRequested,
    EnvStatus,
    TaskStatus,
)
from offchain.outsourcing.enclave.chain import EnclaveChain, role_of
from offchain.outsourcing.enclave.contracts import ContractHost, Step, StepRejected, request_hash
from offchain.outsourcing.enclave.inputs import (
    block_age_problem,
    candidates_at,
    pool_at,
    stakes_at,
    task_at,
)
from offchain.outsourcing.enclave.keys import EnclaveKeys
from offchain.outsourcing.enclave.leader import Leader, StepRefused
from offchain.outsourcing.enclave.sealing import GroupC, open_accountability, seal_group
from offchain.outsourcing.enclave.seed import check_seed, seed_message, sign_seed_share
from offchain.outsourcing.enclave.wire import (
    DEFAULT,
    DISPUTE,
    ENV_INSTALL,
    EXECUTE,
    INSTALL,
    REEXECUTE,
    SCHEDULE,
    SEED,
    SIGN,
    VOUCHER,
    Confirmation,
    DefaultRequest,
    DisputeRequest,
    DisputeResponse,
    EnvInstallRequest,
    ExecuteRequest,
    ExecuteResponse,
    InstallRequest,
    InstallResponse,
    ScheduleRequest,
    ScheduleResponse,
    SeedRequest,
    SeedResponse,
    SignRequest,
    SignResponse,
    VoucherRequest,
    VoucherResponse,
    from_hex,
    to_hex,
)
from offchain.outsourcing.errors import MalformedMessage
from offchain.outsourcing.msc_messages import (
    TEST_MEASUREMENT,
    environment_message,
    execution_message,
    install_message,
    simulated_attestation_authority,
    simulated_quote,
)
from offchain.outsourcing.osc import (
    Account,
    DefaultPayout,
    OscConfig,
    OscRequestError,
    ScheduleTask,
    Settle,
)
from offchain.outsourcing.wire import TaskTransactionModel

ENCLAVE_MAX_BODY_BYTES = 32 * 1024 * 1024
STEP_ANSWERS_KEPT = 64
INPUT_BLOCK_WAIT_POLLS = 5  # polls (poll_interval apart) for the head to reach a step's input block

log = logging.getLogger(__name__)


@dataclass
class Installed:
    env_id: int
    host: ContractHost


class EnclaveService:
    """One enclave: keys, chain access, HTTP agent, MSC watcher, installed contracts."""

    def __init__(
        self,
        keys: EnclaveKeys,
        chain: EnclaveChain,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        poll_interval: float = 0.3,
        member_timeout: float = 4.0,
    ) -> None:
        self.keys = keys
        self.chain = chain
        self.address = keys.address
        self.poll_interval = poll_interval
        self.environments: dict[int, EnvironmentInfo] = {}
        self.installed: dict[int, Installed] = {}
        # the answer to each step this enclave ran (a Leader retrying gets it again, not a second run)
        self.step_answers: dict[tuple[int, int], tuple[bytes, ExecuteResponse]] = {}
        self._lock = asyncio.Lock()  # one step at a time, in sequence order
        self._leader_lock = asyncio.Lock()  # the Leader coordinates one request at a time
        self._stop = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._next_block = 0
        mtd_or_csn = {SCHEDULE: ActorRole.MTD, DISPUTE: ActorRole.MTD, VOUCHER: ActorRole.CSN}
        member_actions = dict.fromkeys((INSTALL, EXECUTE, REEXECUTE, SIGN, SEED), ActorRole.ENCLAVE)
        registered = registry_authorizer(chain.registry, {**mtd_or_csn, **member_actions})

        async def authorize(sender: str, action: str) -> bool:
            if action == ENV_INSTALL:  # the environment's creator need not be in RSC: checked by the handler
                return True
            return await registered(sender, action)

        self.agent = Agent(
            keys.identity,
            name=f"enclave-{self.address[2:8].lower()}",
            role="enclave",
            host=host,
            port=port,
            authorizer=authorize,
            max_body_bytes=ENCLAVE_MAX_BODY_BYTES,
        )
        self.rpc = AgentClient(keys.identity, timeout=member_timeout + 1.0)
        self.leader = Leader(chain, self.rpc, self._endpoint_of, member_timeout=member_timeout)
        self.agent.route(INSTALL, InstallRequest, self.on_install)
        self.agent.route(EXECUTE, ExecuteRequest, self.on_execute)
        self.agent.route(REEXECUTE, ExecuteRequest, self.on_reexecute)
        self.agent.route(SIGN, SignRequest, self.on_sign)
        self.agent.route(SEED, SeedRequest, self.on_seed)
        self.agent.route(ENV_INSTALL, EnvInstallRequest, self.on_env_install)
        self.agent.route(SCHEDULE, ScheduleRequest, self.on_schedule)
        self.agent.route(DISPUTE, DisputeRequest, self.on_dispute)
        self.agent.route(DEFAULT, DefaultRequest, self.on_default)
        self.agent.route(VOUCHER, VoucherRequest, self.on_voucher)

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve, register in RSC and MSC, prove sync, and follow MSC's events."""
        await self.agent.start()
        self._next_block = await asyncio.to_thread(self.chain.head)
        await asyncio.to_thread(self._register)
        self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.rpc.close()
        await self.agent.stop()

    def _register(self) -> None:
        """RSC record (endpoint, keys) and MSC registration + π_b, each only when missing."""
        self.chain.registry.ensure_registered(
            ActorRole.ENCLAVE,
            self.keys.encryption.compressed_public_key,
            self.agent.endpoint,
            bls_key=self.keys.bls_public,
        )
        status = self.chain.msc.enclave(self.address).status
        if status is EnclaveStatus.NONE:
            quote = simulated_quote(
                simulated_attestation_authority(),
                self.chain.chain_id,
                self.chain.msc.address,
                self.address,
                TEST_MEASUREMENT,
                self.keys.bls_public,
            )
            pop = bls.prove_possession(self.keys.bls_secret)
            stake = self.chain.msc.min_stake()
            self.chain.msc.approve(self.chain.token, stake)
            self.chain.msc.register_enclave(self.keys.bls_public, pop, quote, stake, TEST_MEASUREMENT)
            status = EnclaveStatus.REGISTERED
        if status is EnclaveStatus.REGISTERED:
            self.chain.msc.confirm_sync()

    # ------------------------------------------------------------------------------------------ watcher

    async def _watch(self) -> None:
        events = [
            self.chain.msc.contract.events[name]()
            for name in (
                "EnvironmentRequested",
                "EnvironmentCreated",
                "EnvironmentChanged",
                "EnvironmentDissolved",
                "ChallengeOpened",
            )
        ]
        while not self._stop.is_set():
            try:
                for event in await asyncio.to_thread(self._poll, events):
                    await self._on_event(event)
            except Exception:  # the watcher must survive a failed RPC or a reverted answer
                log.exception("enclave %s: event handling failed", self.address)
            await asyncio.sleep(self.poll_interval)

    def _poll(self, events: list[Any]) -> list[EventData]:
        head = int(self.chain.w3.eth.block_number)
        if head < self._next_block:
            return []
        logs = self.chain.w3.eth.get_logs(
            {"address": self.chain.msc.contract.address, "fromBlock": self._next_block, "toBlock": head}
        )
        self._next_block = head + 1
        decoded = []
        for entry in logs:
            for event in events:
                try:
                    data = event.process_log(entry)
                except MismatchedABI:
                    continue
                decoded.append(data)
                break
        return decoded

    async def _on_event(self, event: EventData) -> None:
        name = str(event["event"])
        if name == "EnvironmentRequested":
            requested = EnvironmentRequested.from_event(event)
            enclave = await asyncio.to_thread(self.chain.msc.enclave, self.address)
            if enclave.status is EnclaveStatus.ACTIVE:
                proof = vrf.prove(self.keys.bls_secret, requested.seed)
                await asyncio.to_thread(self.chain.msc.submit_vrf, requested.env_id, proof.proof)
                log.info("enclave %s: VRF proof for environment %d", self.address, requested.env_id)
        elif name in ("EnvironmentCreated", "EnvironmentChanged", "EnvironmentDissolved"):
            env_id = int(event["args"]["envId"])
            env = await asyncio.to_thread(self.chain.msc.environment, env_id)
            if env.status is EnvStatus.LIVE and self.address in env.members:
                self.environments[env_id] = env
                log.info("enclave %s: %s of environment %d", self.address, role_of(env, self.address), env_id)
            else:
                self.environments.pop(env_id, None)
        elif name == "ChallengeOpened":
            opened = ChallengeOpened.from_event(event)
            if opened.target == self.address:
                response = keccak256(opened.request_hash + bytes.fromhex(self.address[2:]))
                await asyncio.to_thread(self.chain.msc.respond, opened.challenge_id, response)
                log.info("enclave %s: answered challenge %d", self.address, opened.challenge_id)

    async def _endpoint_of(self, member: str) -> str:
        peer = await lookup_peer(self.chain.registry, member)
        if peer is None or not peer.endpoint:
            raise AgentError(503, "unknown-member", f"{member} has no active RSC record with an endpoint")
        return peer.endpoint

    # ------------------------------------------------------------------------------------------ helpers

    async def _environment_as_member(self, env_id: int, sender: str) -> EnvironmentInfo:
        """The live environment ``env_id`` this enclave belongs to, with ``sender`` as its Leader."""
        env = await asyncio.to_thread(self.chain.msc.environment, env_id)
        if env.status is not EnvStatus.LIVE or self.address not in env.members:
            raise AgentError(404, "not-a-member", f"this enclave is not in live environment {env_id}")
        self.environments[env_id] = env
        if sender != env.members[0]:
            raise AgentError(403, "not-leader", f"{sender} is not the Leader of environment {env_id}")
        return env

    def _installed(self, env_id: int, id_sc: int) -> ContractHost:
        installed = self.installed.get(id_sc)
        if installed is None or installed.env_id != env_id:
            raise AgentError(
                404, "not-installed", f"contract {id_sc} is not installed for environment {env_id}"
            )
        return installed.host

    def _sign_step(self, env_id: int, id_sc: int, step: Step) -> tuple[bytes, bytes | None]:
        chain_id, msc = self.chain.chain_id, self.chain.msc.address
        execution = self.keys.sign(execution_message(chain_id, msc, env_id, id_sc, step.seq, step.state_root))
        asc = (
            None
            if step.asc_digest is None
            else self.keys.sign(environment_message(chain_id, msc, env_id, step.asc_digest))
        )
        return execution, asc

    async def _run_step(self, request: ExecuteRequest) -> Step:
        """Execute ``request`` as step ``request.seq`` (exactly the next one) in this enclave's host."""
        host = self._installed(request.env_id, request.id_sc)
        if request.seq != host.seq + 1:
            raise AgentError(
                409, "wrong-sequence", f"this enclave is at step {host.seq}, not {request.seq - 1}"
            )
        accountability = None
        if request.request.get("kind") == Account.KIND:
            sealed = request.sealed.get(self.address) or request.sealed.get(self.address.lower())
            if sealed is None:
                raise AgentError(400, "no-tx-acc", "no TX_acc sealed to this enclave")
            try:
                task = from_hex(str(request.request["task_id"]))
                accountability = open_accountability(self.keys.encryption, self.address, task, sealed)
            except (DecryptionError, MalformedMessage, KeyError, ValueError) as exc:
                raise AgentError(422, "bad-tx-acc", f"TX_acc does not open for this enclave: {exc}") from exc
        try:
            return await asyncio.to_thread(host.execute, request.request, accountability)
        except StepRejected as exc:
            raise AgentError(422, "rejected", str(exc)) from exc
        except MalformedMessage as exc:
            raise AgentError(400, "malformed-request", str(exc)) from exc

    # ------------------------------------------------------------------------------------------ member side

    async def on_install(self, sender: str, request: InstallRequest) -> InstallResponse:
        await self._environment_as_member(request.env_id, sender)
        try:
            config = OscConfig.from_json(request.config)
        except OscRequestError as exc:
            raise AgentError(400, "bad-config", str(exc)) from exc
        if config.env_id != request.env_id:
            raise AgentError(422, "wrong-config", "the configuration names another environment")
        if config.chain_id != self.chain.chain_id or config.asc != self.chain.asc.address:
            raise AgentError(422, "wrong-config", "the configuration names another chain or ASC")
        registered = await asyncio.to_thread(self.chain.msc.smart_contract, request.id_sc)
        host = ContractHost(config)
        code_hash = registered.code_hash
        if registered.env_id not in (0, request.env_id) or code_hash != host.code_hash:
            raise AgentError(
                422, "wrong-code", f"MSC registered code 0x{code_hash.hex()} for {request.id_sc}"
            )
        async with self._lock:
            if request.id_sc not in self.installed:
                self.installed[request.id_sc] = Installed(request.env_id, host)
        message = install_message(
            self.chain.chain_id, self.chain.msc.address, request.env_id, request.id_sc, host.code_hash
        )
        return InstallResponse(code_hash=to_hex(host.code_hash), signature=to_hex(self.keys.sign(message)))

    async def _member_step(self, sender: str, request: ExecuteRequest, monitoring: bool) -> ExecuteResponse:
        env = await self._environment_as_member(request.env_id, sender)
        role = role_of(env, self.address)
        if monitoring != (role == "monitoring"):
            action = "re-execute" if monitoring else "execute"
            raise AgentError(403, "wrong-role", f"this enclave is the {role} enclave: it does not {action}")
        digest = request_hash(request.request)
        async with self._lock:
            cached = self.step_answers.get((request.id_sc, request.seq))
            if cached is not None:
                if cached[0] != digest:
                    raise AgentError(409, "step-taken", f"step {request.seq} already ran another request")
                answer = cached[1]
            else:
                await self._check_inputs(env, request)
                step = await self._run_step(request)
                agrees = request.expected_root is None or from_hex(request.expected_root) == step.state_root
                execution, asc = (
                    self._sign_step(request.env_id, request.id_sc, step) if agrees else (None, None)
                )
                answer = ExecuteResponse(
                    seq=step.seq,
                    state_root=to_hex(step.state_root),
                    output=step.public,
                    agrees=agrees,
                    execution_signature=None if execution is None else to_hex(execution),
                    asc_digest=None if step.asc_digest is None else to_hex(step.asc_digest),
                    asc_signature=None if asc is None else to_hex(asc),
                )
                self.step_answers[(request.id_sc, request.seq)] = (digest, answer)
                self.step_answers.pop((request.id_sc, request.seq - STEP_ANSWERS_KEPT), None)
        return answer

    async def _check_inputs(self, env: EnvironmentInfo, request: ExecuteRequest) -> None:
        """Refuse (4xx) a step whose chain inputs differ from the chain at the block the Leader names, or a
        schedule whose seed is not keccak256 of the environment's aggregate seed signature."""
        kind = request.request.get("kind")
        if kind not in (ScheduleTask.KIND, Settle.KIND):
            return
        head = await asyncio.to_thread(self.chain.head)
        for _ in range(INPUT_BLOCK_WAIT_POLLS):  # this enclave's node may lag the Leader's by a block or two
            if request.input_block is None or request.input_block <= head:
                break
            await asyncio.sleep(self.poll_interval)
            head = await asyncio.to_thread(self.chain.head)
        problem = block_age_problem(request.input_block, head)
        if problem is not None:
            raise AgentError(422, "bad-input-block", problem)
        block = request.input_block
        assert block is not None
        try:
            parsed = (ScheduleTask if kind == ScheduleTask.KIND else Settle).from_json(request.request)
        except OscRequestError as exc:
            raise AgentError(400, "malformed-request", str(exc)) from exc
        if isinstance(parsed, ScheduleTask):
            await self._check_schedule_inputs(env, parsed, request.seed_signature, block)
        else:
            stakes = await asyncio.to_thread(stakes_at, self.chain, parsed.mlist, block)
            if stakes != parsed.stakes:
                raise AgentError(422, "wrong-stakes", f"ASC's bonded stakes at block {block} are {stakes}")
            pool = await asyncio.to_thread(pool_at, self.chain, block)
            if pool != parsed.incentive_pool:
                raise AgentError(422, "wrong-pool", f"ASC's incentive pool at block {block} is {pool}")

    async def _check_schedule_inputs(
        self, env: EnvironmentInfo, schedule: ScheduleTask, seed_signature: str | None, block: int
    ) -> None:
        tid = schedule.tx_t.task_id
        if seed_signature is None:
            raise AgentError(422, "bad-seed", "the step carries no seed signature")
        message = seed_message(self.chain.chain_id, self.chain.msc.address, env.env_id, tid)
        problem = check_seed(env.aggregate_key, message, from_hex(seed_signature), schedule.seed)
        if problem is not None:
            raise AgentError(422, "bad-seed", problem)
        candidates = await asyncio.to_thread(candidates_at, self.chain, block)
        if candidates != schedule.candidates:
            offered = {(c.address, c.provider, c.eligible) for c in schedule.candidates}
            actual = {(c.address, c.provider, c.eligible) for c in candidates}
            differ = sorted({a for a, _, _ in offered ^ actual})
            raise AgentError(
                422,
                "wrong-candidates",
                f"the candidates differ from RSC and ASC at block {block} for {', '.join(differ)}",
            )
        task = await asyncio.to_thread(task_at, self.chain, tid, block)
        if task.status is not TaskStatus.OPEN or schedule.escrowed_deposit != task.deposit:
            raise AgentError(422, "wrong-task", f"ASC holds no open task with this deposit at block {block}")

    async def on_seed(self, sender: str, request: SeedRequest) -> SeedResponse:
        env = await self._environment_as_member(request.env_id, sender)
        tid = from_hex(request.task_id)
        task = await asyncio.to_thread(self.chain.asc.task, tid)
        if task.status is not TaskStatus.OPEN:
            raise AgentError(409, "task-not-open", "ASC holds no open task with this id")
        message = seed_message(self.chain.chain_id, self.chain.msc.address, env.env_id, tid)
        return SeedResponse(signature=to_hex(sign_seed_share(self.keys.bls_secret, message)))

    async def on_execute(self, sender: str, request: ExecuteRequest) -> ExecuteResponse:
        return await self._member_step(sender, request, monitoring=False)

    async def on_reexecute(self, sender: str, request: ExecuteRequest) -> ExecuteResponse:
        return await self._member_step(sender, request, monitoring=True)

    async def on_sign(self, sender: str, request: SignRequest) -> SignResponse:
        await self._environment_as_member(request.env_id, sender)
        host = self._installed(request.env_id, request.id_sc)
        csn = Web3.to_checksum_address(request.csn)
        cumulative, digest = host.claim_digest(csn)
        if cumulative == 0:
            raise AgentError(422, "no-credit", f"{csn} has no credit in this enclave's ledger")
        message = environment_message(self.chain.chain_id, self.chain.msc.address, request.env_id, digest)
        return SignResponse(
            cumulative=str(cumulative), digest=to_hex(digest), signature=to_hex(self.keys.sign(message))
        )

    # ------------------------------------------------------------------------------------------ leader side

    async def _led_environment(self) -> tuple[EnvironmentInfo, int, ContractHost]:
        """The live environment this enclave leads and its installed contracts. The view from MSC's events
        is read again from the chain when it names no such environment (a Leader removed a moment ago)."""
        for refresh in (False, True):
            for id_sc, installed in self.installed.items():
                env = self.environments.get(installed.env_id)
                if refresh or env is None:
                    env = await asyncio.to_thread(self.chain.msc.environment, installed.env_id)
                    if env.status is EnvStatus.LIVE and self.address in env.members:
                        self.environments[installed.env_id] = env
                if env.status is EnvStatus.LIVE and env.members[0] == self.address:
                    return env, id_sc, installed.host
        raise AgentError(409, "not-leading", "this enclave leads no environment with installed contracts")

    async def on_env_install(self, sender: str, request: EnvInstallRequest) -> Confirmation:
        env = await asyncio.to_thread(self.chain.msc.environment, request.env_id)
        if env.status is not EnvStatus.LIVE or env.members[0] != self.address:
            raise AgentError(409, "not-leader", f"this enclave does not lead environment {request.env_id}")
        if sender != env.creator:
            raise AgentError(403, "not-creator", f"only the environment's creator {env.creator} installs")
        self.environments[env.env_id] = env
        async with self._leader_lock:
            answer = await self.on_install(self.address, InstallRequest(**request.model_dump()))
            host = self.installed[request.id_sc].host
            try:
                tx, removed = await self.leader.install(
                    request.env_id, request.id_sc, request.config, from_hex(answer.signature), host.code_hash
                )
            except (StepRefused, ChainError, AgentCallError, ResponseVerificationError) as exc:
                raise AgentError(409, "install-failed", str(exc)) from exc
        return Confirmation(transactions={"confirmInstall": tx}, removed=removed, note="installed")

    async def _lead_step(
        self,
        request: dict[str, Any],
        sealed: Mapping[str, str] | None = None,
        *,
        input_block: int | None = None,
        seed_signature: bytes | None = None,
    ) -> tuple[Step, Confirmation, EnvironmentInfo, dict[str, bytes]]:
        """One step of the led environment: run it here, have it executed and re-executed, confirm on MSC."""
        env, id_sc, host = await self._led_environment()
        execute = ExecuteRequest(
            env_id=env.env_id, id_sc=id_sc, seq=host.seq + 1, request=request, sealed=dict(sealed or {})
        )
        async with self._lock:
            own = await self._run_step(execute)
        own_signatures = self._sign_step(env.env_id, id_sc, own)
        try:
            collected = await self.leader.step(
                env.env_id,
                id_sc,
                request,
                sealed or {},
                own,
                own_signatures,
                input_block=input_block,
                seed_signature=seed_signature,
            )
            env, tx = await self.leader.confirm(env.env_id, id_sc, collected)
        except StepRefused as exc:
            raise AgentError(409, "step-refused", str(exc)) from exc
        except (AgentCallError, ResponseVerificationError) as exc:  # a member refused the step (4xx)
            raise AgentError(502, "member-refused", f"a member refused step {own.seq}: {exc}") from exc
        except ChainError as exc:
            raise AgentError(502, "confirm-failed", str(exc)) from exc
        confirmation = Confirmation(
            seq=own.seq,
            state_root=to_hex(own.state_root),
            transactions={"confirmExecution": tx},
            removed=collected.removed,
        )
        return own, confirmation, env, collected.asc

    async def on_schedule(self, sender: str, request: ScheduleRequest) -> ScheduleResponse:
        try:
            tx = TaskTransactionModel.model_validate(request.transaction).to_core()
        except Exception as exc:
            raise AgentError(400, "bad-transaction", f"TX_t is malformed: {exc}") from exc
        if tx.mtd != sender:
            raise AgentError(403, "wrong-mtd", f"TX_t names {tx.mtd}, the request comes from {sender}")
        from offchain.outsourcing.asc import id_tasks_hash, task_id

        tid = task_id(
            self.chain.chain_id, self.chain.asc.address, tx.mtd, id_tasks_hash(list(tx.task_hashes))
        )
        if tx.task_id != tid:
            raise AgentError(422, "unbound-task", "TX_t's ID must be ASC's task id (osc.bind_to_asc)")
        task = await asyncio.to_thread(self.chain.asc.task, tid)
        if task.status is not TaskStatus.OPEN or task.m != tx.m or task.deposit != tx.deposit:
            raise AgentError(409, "task-not-open", "ASC holds no open task with this TX_t's m and deposit")
        peer = await lookup_peer(self.chain.registry, sender)
        if peer is None:
            raise AgentError(403, "unknown-mtd", f"{sender} is not active in RSC")
        async with self._leader_lock:
            env, _, _ = await self._led_environment()
            message = seed_message(self.chain.chain_id, self.chain.msc.address, env.env_id, tid)
            try:
                seed, sigma, seed_removed = await self.leader.seed(
                    env.env_id, tid, sign_seed_share(self.keys.bls_secret, message)
                )
            except StepRefused as exc:
                raise AgentError(409, "seed-refused", str(exc)) from exc
            except (AgentCallError, ResponseVerificationError) as exc:
                raise AgentError(502, "member-refused", f"a member refused the seed: {exc}") from exc
            # the input block after the seed round (which may include a challenge): as recent as possible
            block = await asyncio.to_thread(self.chain.head)
            candidates = await asyncio.to_thread(candidates_at, self.chain, block)
            schedule = ScheduleTask(tx, candidates, seed, task.deposit)
            own, confirmation, env, asc_signatures = await self._lead_step(
                schedule.to_json(), input_block=block, seed_signature=sigma
            )
            if seed_removed:
                confirmation = confirmation.model_copy(
                    update={"removed": [*seed_removed, *confirmation.removed]}
                )
            assert own.asc_digest is not None
            signature = self.leader.environment_signature(env, asc_signatures, own.asc_digest)
            commitment = from_hex(str(own.public["commitment"]))
            try:
                _, receipt = await asyncio.to_thread(
                    self.chain.asc.anchor_schedule, tid, commitment, signature
                )
            except ChainError as exc:
                raise AgentError(502, "anchor-failed", str(exc)) from exc
        confirmation.transactions["anchorSchedule"] = to_hex(bytes(receipt["transactionHash"]))
        group = GroupC(tuple(own.private["group"]), from_hex(str(own.private["salt"])))
        return ScheduleResponse(
            task_id=to_hex(tid),
            commitment=to_hex(commitment),
            sealed_group=seal_group(group, tid, sender, peer.encryption_key),
            confirmation=confirmation,
        )

    async def on_dispute(self, sender: str, request: DisputeRequest) -> DisputeResponse:
        tid = from_hex(request.task_id)
        task = await asyncio.to_thread(self.chain.asc.task, tid)
        if task.mtd != sender:
            raise AgentError(403, "not-task-owner", "only the task's MTD sends TX_acc")
        if task.status is not TaskStatus.DISPUTED:
            raise AgentError(409, "not-disputed", "open the dispute in ASC before sending TX_acc")
        async with self._leader_lock:
            own, account_confirmation, env, _ = await self._lead_step(
                {"kind": Account.KIND, "task_id": request.task_id}, request.sealed
            )
            mlist: list[str] = [str(Web3.to_checksum_address(a)) for a in own.public["mlist"]]
            block = await asyncio.to_thread(self.chain.head)
            stakes = await asyncio.to_thread(stakes_at, self.chain, mlist, block)
            pool = await asyncio.to_thread(pool_at, self.chain, block)
            settle = Settle(tid, tuple(mlist), pool, stakes)
            settled, confirmation, env, asc_signatures = await self._lead_step(
                settle.to_json(), input_block=block
            )
            assert settled.asc_digest is not None
            signature = self.leader.environment_signature(env, asc_signatures, settled.asc_digest)
            bonus = int(settled.public["bonus"])
            try:
                _, receipt = await asyncio.to_thread(
                    self.chain.asc.settle, tid, mlist, bonus, settled.state_root, signature
                )
            except ChainError as exc:
                raise AgentError(502, "settle-failed", str(exc)) from exc
        confirmation.transactions["settle"] = to_hex(bytes(receipt["transactionHash"]))
        confirmation.transactions["confirmExecution(account)"] = account_confirmation.transactions[
            "confirmExecution"
        ]
        return DisputeResponse(
            mlist=mlist,
            bonus=str(bonus),
            accountability=str(own.public.get("reason", "")),
            confirmation=confirmation,
        )

    async def on_default(self, sender: str, request: DefaultRequest) -> Confirmation:
        tid = from_hex(request.task_id)
        task = await asyncio.to_thread(self.chain.asc.task, tid)
        if task.status is not TaskStatus.PAID_BY_DEFAULT:
            raise AgentError(409, "not-paid-by-default", "ASC has not paid this task by default")
        async with self._leader_lock:
            _, confirmation, _, _ = await self._lead_step(DefaultPayout(tid).to_json())
        return confirmation

    async def on_voucher(self, sender: str, request: VoucherRequest) -> VoucherResponse:
        env, id_sc, host = await self._led_environment()
        cumulative, digest = host.claim_digest(sender)
        if cumulative == 0:
            raise AgentError(422, "no-credit", f"{sender} has no credit")
        message = environment_message(self.chain.chain_id, self.chain.msc.address, env.env_id, digest)
        own = (cumulative, digest, self.keys.sign(message))
        async with self._leader_lock:
            try:
                amount, signature = await self.leader.voucher(env.env_id, id_sc, sender, own)
            except (StepRefused, AgentCallError, ResponseVerificationError) as exc:
                raise AgentError(409, "voucher-refused", str(exc)) from exc
        return VoucherResponse(cumulative=str(amount), signature=to_hex(signature))

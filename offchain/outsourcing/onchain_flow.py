"""Meta-BMEOC on chain, end to end (``make demo``): enclave processes, MSC, ASC, CSN agents and the MTD.

1. Five enclave processes start (one OS process each), register in RSC (ENCLAVE, approved by the auditor)
   and in MSC (simulated quote, proof of possession, stake), and prove block sync. Eight CSN agents of four
   providers register in RSC and bond stake in ASC.
2. The environment's creator asks MSC for an environment of five; every enclave submits its VRF proof when
   it sees the request; MSC fixes the roles (recomputed here from the proofs); ASC is bound to the
   environment; the creator registers the off-chain contracts and the Leader installs them (one aggregate
   signature, ``MSC.confirmInstall``). The creator challenges the live Execution Enclave on MSC: it answers
   with ``respond`` and stays.
3. Honest task: the MTD escrows its deposit in ASC, sends TX_t to the Leader, gets Group_C back encrypted,
   runs the core protocol with those CSNs, and does nothing more; after the dispute window ASC pays the
   CSNs by default and the SSC credits them. Bad requests (a replayed TX_t, member actions from a non-enclave
   or a non-Leader, a malformed body) get a 4xx with a reason.
4. Cheating CSN: verification fails, the MTD disputes in ASC and sends TX_acc encrypted to each enclave;
   ACCSC flags the cheater, SSC settles, the Leader settles on ASC (slash, blacklist in RSC, credits);
   honest CSNs claim with vouchers signed by the environment.
5. Unresponsive enclave: one member's process is frozen; the Leader challenges it on MSC; it does not
   answer within the window, so it is removed and slashed, and the environment goes on with four.
6. MTD framing: on an honest task the MTD disputes with a forged TX_acc; ACCSC rejects it, nobody is
   flagged, every CSN is paid.
7. Unresponsive Leader: its process is frozen; the environment's creator challenges it on MSC; it is removed
   and the Execution Enclave, now first in VRF order, leads the remaining three and schedules the next task.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from eth_account import Account
from rich.console import Console
from web3 import Web3

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.bench.chain_gas import gas_log_from_blocks
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.chain.registry import NodeRecord, RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, derive
from offchain.outsourcing import vrf
from offchain.outsourcing.accountability import AccountabilityTransaction, build_accountability_transaction
from offchain.outsourcing.asc import id_tasks_hash
from offchain.outsourcing.chain_clients import EnclaveStatus, EnvStatus
from offchain.outsourcing.client import call_csn
from offchain.outsourcing.csn import CSNResult
from offchain.outsourcing.enclave.chain import EnclaveChain
from offchain.outsourcing.enclave.contracts import ContractHost
from offchain.outsourcing.enclave.forgery import forged_leader_steps
from offchain.outsourcing.enclave.process import EnclaveProcess, enclave_processes
from offchain.outsourcing.enclave.sealing import open_group, seal_accountability
from offchain.outsourcing.enclave.wire import (
    DEFAULT,
    DISPUTE,
    ENV_INSTALL,
    EXECUTE,
    SCHEDULE,
    VOUCHER,
    Confirmation,
    DefaultRequest,
    DisputeRequest,
    DisputeResponse,
    EnvInstallRequest,
    ExecuteRequest,
    ExecuteResponse,
    ScheduleRequest,
    ScheduleResponse,
    VoucherRequest,
    VoucherResponse,
    from_hex,
)
from offchain.outsourcing.field import get_field
from offchain.outsourcing.flow import csn_fleet
from offchain.outsourcing.incentives import SettlementParams
from offchain.outsourcing.osc import OscConfig, bind_to_asc
from offchain.outsourcing.polynomial import AnyPolynomial, random_dense
from offchain.outsourcing.task import PreparedTask, prepare_task
from offchain.outsourcing.verify import verify_results
from offchain.outsourcing.wire import TaskTransactionModel

ENCLAVE_SEED = b"metatrust/demo/bmeoc-enclave"
CSN_SEED = b"metatrust/demo/bmeoc-onchain-csn"
UNIT = 10**18
GAS_SHOWN = (
    "confirmInstall",
    "confirmExecution",
    "anchorSchedule",
    "settle",
    "claim",
    "challenge",
    "timeoutChallenge",
)


@dataclass(frozen=True)
class OnchainFlowKeys:
    """Who does what: ``admin`` creates the environment and holds ASC's ENVIRONMENT_ADMIN_ROLE (the
    deployer), ``auditor`` approves permissioned roles in RSC, ``funder`` holds MTC, ``mtd`` outsources."""

    admin: KeyPair
    auditor: KeyPair
    funder: KeyPair
    mtd: KeyPair


@dataclass
class TaskRecord:
    """One task of the flow, for the caller's checks."""

    label: str
    task: PreparedTask
    task_id: bytes
    group: tuple[str, ...]
    accepted: bool
    mlist: tuple[str, ...] = ()
    transactions: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    """Wall time of each request to the Leader (schedule, dispute, default), as the MTD sees it."""


@dataclass
class OnchainFlowReport:
    """What the flow showed."""

    steps: list[str] = field(default_factory=list)
    env_id: int = 0
    id_sc: int = 0
    members: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    leader_removed: str = ""
    new_leader: str = ""
    csns: tuple[str, ...] = ()
    tasks: list[TaskRecord] = field(default_factory=list)
    claims: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    forgeries: dict[str, str] = field(default_factory=dict)
    """A Leader's forged step (seed, candidates, stake) → the member's refusal (``"422 bad-seed"``, …)."""
    answered_challenge: int = 0
    gas: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """``Contract.function`` → (calls, min, max) gas of the flow's MSC and ASC transactions."""
    msc_transactions: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


class FlowError(RuntimeError):
    """The flow did not reach an outcome it expects (the message says which)."""


def _sender(w3: Web3, deployments: Deployments, key: KeyPair) -> TransactionSender:
    return TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)


def _tx(receipt: Any) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def advance_time(w3: Web3, seconds: int) -> None:
    """Devnet only: move the clock forward and mine a block (ASC's windows are in seconds)."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@asynccontextmanager
async def block_clock(w3: Web3, interval: float = 0.2) -> AsyncIterator[None]:
    """Devnet only: mine a block every ``interval`` seconds (MSC's windows are in blocks, and an automining
    devnet makes blocks only with transactions)."""
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            await asyncio.to_thread(w3.provider.make_request, "evm_mine", [])  # type: ignore[arg-type]
            await asyncio.sleep(interval)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        stop.set()
        await task


async def _wait_for(what: str, check: Any, timeout: float = 60.0, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(interval)
    raise FlowError(f"timed out waiting for {what}")


class _Actors:
    """The flow's chain handles (admin, funder, MTD) and the ASC/MSC contracts."""

    def __init__(self, w3: Web3, deployments: Deployments, keys: OnchainFlowKeys) -> None:
        self.w3 = w3
        self.deployments = deployments
        self.admin = EnclaveChain(w3, deployments, keys.admin)
        self.funder = EnclaveChain(w3, deployments, keys.funder)
        self.mtd = EnclaveChain(w3, deployments, keys.mtd)
        self.msc = self.admin.msc.contract
        self.asc = self.admin.asc.contract
        self.token = self.admin.token

    def balance(self, address: str) -> int:
        return int(self.token.functions.balanceOf(Web3.to_checksum_address(address)).call())


async def _setup_csns(actors: _Actors, keys: Sequence[KeyPair], stake: int, console: Console) -> None:
    """Fund and bond each CSN's stake in ASC."""

    def bond(key: KeyPair) -> None:
        chain = EnclaveChain(actors.w3, actors.deployments, key)
        if chain.asc.stake_of(key.address).bonded >= stake:
            return
        actors.funder.send(actors.token.functions.transfer(key.address, stake))
        chain.asc.approve(chain.token, stake)
        chain.asc.deposit_stake(stake)

    for key in keys:
        await asyncio.to_thread(bond, key)


async def _create_environment(
    actors: _Actors, enclaves: Sequence[EnclaveProcess], size: int
) -> tuple[int, vrf.Roles]:
    """createEnvironment, wait for every enclave's VRF proof (they react to the event), finalize."""
    requested, _ = await asyncio.to_thread(actors.admin.msc.create_environment, size)
    env_id = requested.env_id
    addresses = [e.address for e in enclaves]

    def all_submitted() -> bool:
        return all(actors.admin.msc.vrf_output(env_id, a) is not None for a in addresses)

    await _wait_for("every enclave's VRF proof", all_submitted)
    await asyncio.to_thread(actors.admin.msc.finalize_environment, env_id)
    outputs = {a: actors.admin.msc.vrf_output(env_id, a) or 0 for a in addresses}
    return env_id, vrf.assign_roles(outputs, size)


async def _call(rpc: AgentClient, endpoint: str, leader: str, action: str, request: Any, model: Any) -> Any:
    return await rpc.call(endpoint, leader, action, request, model)


@dataclass
class _Session:
    actors: _Actors
    rpc: AgentClient
    mtd: KeyPair
    leader: str
    leader_endpoint: str
    registry: RegistryClient
    polynomial: AnyPolynomial
    k: int
    t: int
    deposit: int
    rng: random.Random | None
    env_id: int


async def _outsource(
    session: _Session, fleet_by_address: dict[str, Any], cheaters: int, label: str
) -> tuple[TaskRecord, list[CSNResult | None], ScheduleResponse]:
    """Open the task in ASC, have it scheduled by the environment, run the core protocol with Group_C."""
    field_ = session.polynomial.field
    x = field_.random_elements(session.k, session.rng)
    prepared = prepare_task(
        session.mtd, session.polynomial, x, session.t, deposit=session.deposit, rng=session.rng
    )
    # TX_t's ID becomes ASC's task id (one MTD signature binds the escrow), before anything goes out
    task = bind_to_asc(session.mtd, prepared, session.actors.w3.eth.chain_id, session.actors.asc.address)
    tasks_hash = id_tasks_hash(list(task.transaction.task_hashes))
    _, opened = await asyncio.to_thread(
        session.actors.mtd.asc.open_task, tasks_hash, task.params.m, session.deposit
    )
    started = time.perf_counter()
    schedule: ScheduleResponse = await _call(
        session.rpc,
        session.leader_endpoint,
        session.leader,
        SCHEDULE,
        ScheduleRequest(transaction=TaskTransactionModel.of(task.transaction).model_dump()),
        ScheduleResponse,
    )
    elapsed = (time.perf_counter() - started) * 1000
    tid = from_hex(schedule.task_id)
    group = open_group(encryption_keypair(session.mtd), tid, session.mtd.address, schedule.sealed_group)
    for index, csn in enumerate(group.group):
        fleet_by_address[csn].behaviour.cheat = index < cheaters
    records: list[NodeRecord] = [await asyncio.to_thread(session.registry.node, a) for a in group.group]
    answers = await asyncio.gather(
        *(call_csn(session.rpc, task, session.polynomial, r, j) for j, r in enumerate(records, start=1))
    )
    for member in fleet_by_address.values():
        member.behaviour.cheat = False
    results: list[CSNResult | None] = list(answers)
    verification = verify_results(field_, task.transaction, task.secret.alpha, results, list(group.group))
    record = TaskRecord(label, task, tid, group.group, verification.accepted)
    record.timings_ms["schedule"] = elapsed
    record.transactions.append(_tx(opened))
    record.transactions.extend(schedule.confirmation.transactions.values())
    return record, results, schedule


async def _dispute(
    session: _Session, record: TaskRecord, tx_acc: AccountabilityTransaction
) -> DisputeResponse:
    """openDispute in ASC, then TX_acc sealed to each member's registered key, through the Leader."""
    _, disputed = await asyncio.to_thread(session.actors.mtd.asc.open_dispute, record.task_id)
    record.transactions.append(_tx(disputed))
    env = await asyncio.to_thread(session.actors.admin.msc.environment, session.env_id)
    keys: dict[str, bytes] = {}
    for member in env.members:
        keys[member] = (await asyncio.to_thread(session.registry.node, member)).encryption_key
    sealed = seal_accountability(tx_acc, session.polynomial, record.task_id, keys)
    started = time.perf_counter()
    answer: DisputeResponse = await _call(
        session.rpc,
        session.leader_endpoint,
        session.leader,
        DISPUTE,
        DisputeRequest(task_id="0x" + record.task_id.hex(), sealed=sealed),
        DisputeResponse,
    )
    record.timings_ms["dispute"] = (time.perf_counter() - started) * 1000
    record.mlist = tuple(answer.mlist)
    record.transactions.extend(answer.confirmation.transactions.values())
    return answer


async def _pay_by_default(session: _Session, record: TaskRecord, dispute_window: int) -> Confirmation:
    await asyncio.to_thread(advance_time, session.actors.w3, dispute_window + 1)
    _, paid = await asyncio.to_thread(session.actors.mtd.asc.finalize_default, record.task_id)
    record.transactions.append(_tx(paid))
    started = time.perf_counter()
    confirmation: Confirmation = await _call(
        session.rpc,
        session.leader_endpoint,
        session.leader,
        DEFAULT,
        DefaultRequest(task_id="0x" + record.task_id.hex()),
        Confirmation,
    )
    record.timings_ms["default"] = (time.perf_counter() - started) * 1000
    record.transactions.extend(confirmation.transactions.values())
    return confirmation


async def _bad_requests(
    session: _Session,
    report: OnchainFlowReport,
    honest: TaskRecord,
    processes: Sequence[EnclaveProcess],
    env_id: int,
    console: Console,
) -> None:
    """A replayed TX_t, a member action from a non-enclave or from an enclave that is not the Leader, and a
    malformed body: each gets a 4xx with a reason, and the enclaves keep serving (the next tasks)."""
    replay = ScheduleRequest(transaction=TaskTransactionModel.of(honest.task.transaction).model_dump())
    member = next(p for p in processes if p.address != session.leader)
    probes: list[tuple[str, Any]] = [
        (
            "replayed TX_t",
            _call(session.rpc, session.leader_endpoint, session.leader, SCHEDULE, replay, ScheduleResponse),
        ),
        (
            "enclave-execute from the MTD",
            _call(
                session.rpc,
                member.endpoint,
                member.address,
                EXECUTE,
                ExecuteRequest(env_id=env_id, id_sc=1, seq=1, request={"kind": "default"}),
                ExecuteResponse,
            ),
        ),
    ]
    # a member (an ENCLAVE in RSC) that is not the Leader cannot drive another member either
    impostor = next(p for p in processes if p.address not in (session.leader, member.address))
    async with AgentClient(impostor.key, timeout=30.0) as impostor_rpc:
        probes.append(
            (
                "enclave-execute from a non-Leader enclave",
                _call(
                    impostor_rpc,
                    member.endpoint,
                    member.address,
                    EXECUTE,
                    ExecuteRequest(env_id=env_id, id_sc=1, seq=2, request={"kind": "default-payout"}),
                    ExecuteResponse,
                ),
            )
        )
        for label, probe in probes:
            try:
                await probe
            except AgentCallError as exc:
                report.rejections[label] = exc.status
                continue
            raise FlowError(f"{label} was accepted")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{session.leader_endpoint}/rpc/{SCHEDULE}", data=b"{not json") as response,
    ):
        report.rejections["malformed body"] = response.status
    report.note(
        console,
        "bad requests refused with reasons: "
        + ", ".join(f"{label} → HTTP {status}" for label, status in report.rejections.items()),
    )
    # the Leader itself lies: each forged input is re-checked by the member (seed σ, chain at the block)
    report.forgeries = await forged_leader_steps(
        session.actors.admin,
        next(p.key for p in processes if p.address == session.leader),
        [p.key for p in processes],
        {p.address: p.endpoint for p in processes},
        env_id,
        report.id_sc,
        honest.task.transaction,
        session.deposit,
        honest.group[0],
    )
    if any(outcome == "accepted" for outcome in report.forgeries.values()):
        raise FlowError(f"a member executed a forged step: {report.forgeries}")
    report.note(
        console,
        "a Leader's forged steps refused by the members: "
        + ", ".join(f"{label} → {outcome}" for label, outcome in report.forgeries.items()),
    )


async def run_bmeoc_onchain_flow(
    w3: Web3,
    deployments: Deployments,
    keys: OnchainFlowKeys,
    console: Console,
    *,
    enclaves: int = 5,
    csns: int = 8,
    k: int = 8,
    d: int = 2,
    t: int = 1,
    deposit: int = 40 * UNIT,
    csn_stake: int = 300 * UNIT,
    incentive_funding: int = 100 * UNIT,
    seed: int | None = None,
    workdir: Path | None = None,
) -> OnchainFlowReport:
    """Run the scenarios of the module docstring; raises :class:`FlowError` when an outcome differs."""
    report = OnchainFlowReport()
    console.rule(f"[bold]Meta-BMEOC on chain: {enclaves} enclave processes, {csns} CSNs, MSC + ASC")
    started = time.perf_counter()
    first_block = int(w3.eth.block_number) + 1
    actors = _Actors(w3, deployments, keys)
    enclave_keys = [derive(ENCLAVE_SEED, i) for i in range(enclaves)]
    csn_keys = [derive(CSN_SEED, i) for i in range(csns)]
    fund_on_devnet(w3, [key.address for key in (*enclave_keys, *csn_keys, keys.mtd, keys.admin, keys.funder)])
    min_stake = actors.admin.msc.min_stake()
    for key in enclave_keys:
        if (
            actors.balance(key.address) < min_stake
            and actors.admin.msc.enclave(key.address).status is EnclaveStatus.NONE
        ):
            await asyncio.to_thread(
                actors.funder.send, actors.token.functions.transfer(key.address, min_stake)
            )
    mtd_registry = RegistryClient(contract(w3, deployments, "RSC"), _sender(w3, deployments, keys.mtd))
    await asyncio.to_thread(
        mtd_registry.ensure_registered, ActorRole.MTD, encryption_keypair(keys.mtd).compressed_public_key, ""
    )
    if actors.balance(keys.mtd.address) < 4 * deposit:
        await asyncio.to_thread(
            actors.funder.send, actors.token.functions.transfer(keys.mtd.address, 4 * deposit)
        )
    await asyncio.to_thread(actors.mtd.asc.approve, actors.token)
    auditor_registry = RegistryClient(
        contract(w3, deployments, "RSC"), _sender(w3, deployments, keys.auditor)
    )
    rng = random.Random(seed) if seed is not None else None
    with tempfile.TemporaryDirectory(prefix="metatrust-enclaves-") as scratch:
        folder = workdir or Path(scratch)
        deployments_file = deployments.save(folder / "deployments.json")
        async with (
            enclave_processes(enclave_keys, deployments_file, deployments.rpc_url, folder) as processes,
            csn_fleet(w3, deployments, keys.auditor, csn_keys, console) as fleet,
            AgentClient(keys.mtd, timeout=300.0) as rpc,
        ):
            for process in processes:
                if not mtd_registry.node(process.address).has(ActorRole.ENCLAVE):
                    await asyncio.to_thread(
                        auditor_registry.approve_roles, process.address, ActorRole.ENCLAVE
                    )
            report.note(
                console,
                f"{len(processes)} enclave processes (pids {', '.join(str(p.pid) for p in processes)}) "
                "serve on "
                "loopback, registered in RSC (ENCLAVE) and MSC (simulated quote, PoP, stake) and proved sync",
            )
            await _setup_csns(actors, csn_keys, csn_stake, console)
            report.csns = tuple(key.address for key in csn_keys)
            report.note(
                console,
                f"{len(csn_keys)} CSN agents of 4 providers bonded {csn_stake // UNIT} MTC each in ASC",
            )
            # ---------------------------------------------------------------- environment
            env_id, roles = await _create_environment(actors, processes, enclaves)
            env = await asyncio.to_thread(actors.admin.msc.environment, env_id)
            if env.status is not EnvStatus.LIVE or env.members != roles.members:
                raise FlowError("MSC's roles differ from the VRF outputs recomputed off chain")
            report.env_id, report.members = env_id, env.members
            report.note(
                console,
                f"environment {env_id} by VRF: Leader {roles.leader[:10]}…, "
                f"Execution {roles.executor[:10]}…, "
                f"{len(roles.monitors)} Monitoring (roles recomputed off chain from the proofs: equal)",
            )
            await asyncio.to_thread(actors.admin.asc.set_environment, env_id)
            if actors.admin.asc.incentive_pool() < incentive_funding:
                await asyncio.to_thread(actors.funder.asc.approve, actors.token, incentive_funding)
                await asyncio.to_thread(actors.funder.asc.fund_incentives, incentive_funding)
            params = SettlementParams(
                int(actors.asc.functions.penaltyWad().call()),
                int(actors.asc.functions.basicStake().call()),
                UNIT,
            )
            config = OscConfig(deployments.chain_id, actors.asc.address, env_id, params)
            code_hash = ContractHost(config).code_hash
            registered = await asyncio.to_thread(actors.admin.msc.register_contract, code_hash)
            id_sc = registered[0]
            report.id_sc = id_sc
            leader = next(p for p in processes if p.address == roles.leader)
            async with AgentClient(keys.admin, timeout=120.0) as admin_rpc:
                installed: Confirmation = await admin_rpc.call(
                    leader.endpoint,
                    leader.address,
                    ENV_INSTALL,
                    EnvInstallRequest(env_id=env_id, id_sc=id_sc, config=config.to_json()),
                    Confirmation,
                )
            report.msc_transactions.extend(installed.transactions.values())
            report.note(
                console,
                f"off-chain contracts id_sc = {id_sc} (code 0x{code_hash.hex()[:12]}…) installed in all "
                f"{enclaves} enclaves: one aggregate BLS signature, MSC.confirmInstall",
            )
            # a live enclave answers a challenge: the creator probes the Execution Enclave on MSC
            opened, probe = await asyncio.to_thread(
                actors.admin.msc.challenge,
                env_id,
                roles.executor,
                keccak256(b"metatrust/demo/liveness-probe"),
            )
            report.msc_transactions.append(_tx(probe))
            await _wait_for(
                "the challenged enclave's answer",
                lambda: actors.admin.msc.challenge_info(opened.challenge_id).resolved,
                timeout=30.0,
            )
            report.answered_challenge = opened.challenge_id
            report.note(
                console,
                f"the creator challenged the Execution Enclave on MSC (challenge {opened.challenge_id}): "
                "it saw the event and answered with respond within the window, so it stays",
            )
            field_ = get_field()
            polynomial = random_dense(field_, k, d, rng)
            polynomial.prepare()
            fleet_by_address = {member.key.address: member for member in fleet}
            session = _Session(
                actors,
                rpc,
                keys.mtd,
                leader.address,
                leader.endpoint,
                mtd_registry,
                polynomial,
                k,
                t,
                deposit,
                rng,
                env_id,
            )
            dispute_window = int(actors.asc.functions.disputeWindow().call())
            # ---------------------------------------------------------------- honest task, paid by default
            honest, _, _ = await _outsource(session, fleet_by_address, 0, "honest")
            if not honest.accepted:
                raise FlowError("the honest task was rejected")
            report.tasks.append(honest)
            report.note(
                console,
                f"honest task: deposit {deposit // UNIT} MTC escrowed, TX_t → Leader, Group_C (m = "
                f"{len(honest.group)}) back encrypted, schedule anchored by commitment, F(x) verified",
            )
            await _bad_requests(session, report, honest, processes, env_id, console)
            await _pay_by_default(session, honest, dispute_window)
            report.note(
                console,
                "no dispute: after the window ASC paid B_mtd to each CSN by default, SSC credited them",
            )
            # ---------------------------------------------------------------- cheating CSN
            cheat, results, _ = await _outsource(session, fleet_by_address, 1, "cheating CSN")
            if cheat.accepted:
                raise FlowError("a task with a cheating CSN was accepted")
            complete = [r for r in results if r is not None]
            tx_acc = build_accountability_transaction(keys.mtd, cheat.task, complete, list(cheat.group))
            answer = await _dispute(session, cheat, tx_acc)
            report.tasks.append(cheat)
            if list(cheat.mlist) != [cheat.group[0]]:
                raise FlowError(f"ACCSC flagged {cheat.mlist}, not the cheater {cheat.group[0]}")
            report.note(
                console,
                "cheating CSN: verification rejects, MTD disputes in ASC, TX_acc sealed to each enclave; "
                f"ACCSC flags {cheat.group[0][:10]}…; ASC.settle slashes and blacklists it, "
                f"bonus {int(answer.bonus) / UNIT:g} MTC",
            )
            # ---------------------------------------------------------------- claims
            claimants = sorted({c for task in report.tasks for c in task.group} - set(cheat.mlist))
            for csn in claimants:
                member = fleet_by_address[csn]
                async with AgentClient(member.key, timeout=60.0) as csn_rpc:
                    voucher: VoucherResponse = await csn_rpc.call(
                        leader.endpoint, leader.address, VOUCHER, VoucherRequest(), VoucherResponse
                    )
                chain = EnclaveChain(w3, deployments, member.key)
                before = actors.balance(csn)
                await asyncio.to_thread(
                    chain.asc.claim, csn, int(voucher.cumulative), from_hex(voucher.signature)
                )
                report.claims[csn] = actors.balance(csn) - before
            report.note(
                console,
                f"{len(claimants)} honest CSNs claimed {sum(report.claims.values()) / UNIT:g} MTC "
                "with vouchers "
                "signed by the environment (cumulative credits, not tied to a task on chain)",
            )
            # ---------------------------------------------------------------- unresponsive enclave
            frozen = next(p for p in processes if p.address == roles.monitors[-1])
            frozen.pause()
            async with block_clock(w3):
                framed, results, schedule = await _outsource(session, fleet_by_address, 0, "framing")
            report.removed = tuple(schedule.confirmation.removed)
            env = await asyncio.to_thread(actors.admin.msc.environment, env_id)
            if frozen.address not in report.removed or frozen.address in env.members:
                raise FlowError("the frozen enclave was not removed from the environment")
            report.note(
                console,
                f"unresponsive enclave {frozen.address[:10]}… (process frozen): the Leader challenged it "
                "on MSC, no answer in the window → removed and slashed; the environment goes on with "
                f"{len(env.members)}",
            )
            # ---------------------------------------------------------------- MTD framing attempt
            honest_results = [r for r in results if r is not None]
            victim = 0
            forged = list(honest_results)
            original = forged[victim]
            forged[victim] = CSNResult(
                original.task_id,
                original.j,
                original.task_hash,
                (original.c + 1) % field_.q,
                original.b,
                original.signature,
            )
            framing_acc = build_accountability_transaction(keys.mtd, framed.task, forged, list(framed.group))
            answer = await _dispute(session, framed, framing_acc)
            report.tasks.append(framed)
            if framed.mlist:
                raise FlowError(f"an MTD framing attempt flagged {framed.mlist}")
            report.note(
                console,
                f"MTD framing attempt (a forged R_j in TX_acc): ACCSC rejects it ({answer.accountability}); "
                "nobody flagged, every CSN paid",
            )
            await frozen.stop()
            # ---------------------------------------------------------------- unresponsive Leader
            old = next(p for p in processes if p.address == session.leader)
            old.pause()
            opened, _ = await asyncio.to_thread(
                actors.admin.msc.challenge, env_id, old.address, keccak256(b"metatrust/demo/leader-silent")
            )
            deadline = actors.admin.msc.challenge_info(opened.challenge_id).deadline
            async with block_clock(w3):
                await _wait_for("the response window", lambda: actors.admin.head() > deadline, timeout=60.0)
            await asyncio.to_thread(actors.admin.msc.timeout_challenge, opened.challenge_id)
            env = await asyncio.to_thread(actors.admin.msc.environment, env_id)
            session.leader = env.members[0]
            session.leader_endpoint = (await asyncio.to_thread(mtd_registry.node, session.leader)).endpoint
            report.leader_removed, report.new_leader = old.address, session.leader
            after, _, _ = await _outsource(session, fleet_by_address, 0, "new Leader")
            if not after.accepted:
                raise FlowError("the task scheduled by the new Leader was rejected")
            report.tasks.append(after)
            report.note(
                console,
                f"unresponsive Leader {old.address[:10]}…: the creator challenged it on MSC (window of "
                f"{deadline - opened.block_number} blocks), it was removed; the Execution Enclave "
                f"{session.leader[:10]}… leads the {len(env.members)} that remain and scheduled, confirmed "
                "and anchored the next task",
            )
            await old.stop()
    report.timings_ms["flow"] = (time.perf_counter() - started) * 1000
    report.note(
        console,
        "Leader round trips as the MTD sees them (steps executed, re-executed, confirmed and anchored): "
        + "; ".join(
            f"{task.label}: " + ", ".join(f"{name} {ms:,.0f} ms" for name, ms in task.timings_ms.items())
            for task in report.tasks
        ),
    )
    records = {
        name: {"address": deployments.address(name), "abi": deployments.contract_info(name).abi}
        for name in ("MSC", "ASC")
    }
    for row in gas_log_from_blocks(w3, records, first_block).rows():
        report.gas[f"{row.contract}.{row.function}"] = (row.calls, row.min, row.max)
    report.note(
        console,
        "gas: "
        + ", ".join(
            f"{name} {low:,}" + (f"–{high:,}" if high != low else "")
            for name, (_, low, high) in report.gas.items()
            if name.split(".")[1] in GAS_SHOWN
        ),
    )
    report.note(console, f"Meta-BMEOC on-chain flow done in {report.timings_ms['flow'] / 1000:.1f} s")
    return report

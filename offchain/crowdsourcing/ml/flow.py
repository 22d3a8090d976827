"""One ML-model crowdsourcing task end to end (Algorithm 4.1) for ``make demo``, with real agents.

1. The MSP, three ML workers and the committee nodes start as HTTP agents on loopback and register in RSC
   (endpoint and encryption key); the auditor approves the permissioned COMMITTEE role. The nodes must
   already sit on MLC's committee, the ``CommitteeManager``: authorised institutions and the members
   Algorithm 4.3 elected (``offchain/crowdsourcing/committee_flow.py:elect_committee``), or the trusted seed
   nodes during the bootstrap rounds. The flow shows each node's seat.
2. The MSP stores T_desc, creates the task on MLC with Θ escrowed, and announces it to the workers it
   finds in RSC. Each worker trains its recipe on its own data (scikit-learn digits), exports ONNX, seals
   the file to the committee members and the MSP, stores it and submits the ``ipfs://`` reference.
3. After the deadline the MSP seals D_val to the committee and publishes its reference; each committee
   node downloads D_val and every model, admits them only as ONNX, scores them with onnxruntime and
   reports on chain.
4. Anyone finalises: Model_best gets ⌊Θ/2⌋, the other models above τ share the rest, reputations move.
   Every MTC balance and reputation change is checked against :mod:`offchain.crowdsourcing.rules`.
5. The MSP opens the best model (sealed to it too) and re-scores it; bad requests get 4xx answers.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from eth_account import Account
from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.exceptions import BadFunctionCallOutput, ContractLogicError

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crowdsourcing.committee_flow import committee_seats
from offchain.crowdsourcing.ml.agents import (
    CommitteeAgent,
    EvaluationReport,
    MspAgent,
    SubmissionReceipt,
    TaskNotice,
    WorkerAgent,
)
from offchain.crowdsourcing.ml.client import MlcClient, ReputationStats, TaskStatus
from offchain.crowdsourcing.ml.models import RECIPES, digits_split
from offchain.crowdsourcing.rules import ONE, reward_delta, settle_scored
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.storage import EncryptedStore, LocalStore

UNIT = 10**18
DEFAULT_REWARD = 300 * UNIT
DEFAULT_THRESHOLD = 850_000  # τ: the thesis's example, accuracy > 85 %
WORKER_RECIPES = ("logistic-full", "logistic-small", "shallow-tree")
TASK_WINDOW = 3_600  # deadline, T_pub and T_eval, in chain seconds


def mtc(amount: int) -> str:
    """An exact MTC amount (18 decimals) as text."""
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), UNIT)
    text = f"{whole:,}" + (f".{fraction:018d}".rstrip("0") if fraction else "")
    return f"{sign}{text} MTC"


def rep(value: int) -> str:
    """A fixed-point reputation as text."""
    return f"{value / ONE:+.4f}"


@dataclass(frozen=True)
class MlFlowKeys:
    """The accounts of the flow. ``treasury`` holds MTC (funds Θ), ``auditor`` holds RSC's AUDITOR_ROLE;
    ``committee`` are the keys of committee members (each runs a committee node)."""

    treasury: KeyPair
    auditor: KeyPair
    msp: KeyPair
    workers: tuple[KeyPair, KeyPair, KeyPair]
    committee: tuple[KeyPair, ...]

    @classmethod
    def derived(
        cls,
        treasury: KeyPair,
        auditor: KeyPair,
        namespace: str = "metatrust/ml-flow",
        committee: tuple[KeyPair, ...] | None = None,
        committee_size: int = 3,
    ) -> MlFlowKeys:
        """MSP, workers and (unless ``committee`` gives the members' keys) committee nodes derived from
        ``namespace`` (fund them with ``fund_on_devnet``; the flow does it on a devnet). A new namespace gives
        fresh accounts for a second run on one chain."""

        def key(role: str, index: int) -> KeyPair:
            return from_private_key(keccak256(f"{namespace}|{role}|{index}".encode()))

        workers = (key("worker", 0), key("worker", 1), key("worker", 2))
        if committee is None:
            committee = tuple(key("committee", i) for i in range(committee_size))
        return cls(treasury, auditor, key("msp", 0), workers, committee)

    def new_accounts(self) -> list[str]:
        return [self.msp.address, *(k.address for k in self.workers), *(k.address for k in self.committee)]


@dataclass
class MlFlowReport:
    """What the flow showed, for the caller (and the tests) to check."""

    steps: list[str] = field(default_factory=list)
    task_id: int = 0
    reward: int = 0
    threshold: int = 0
    submissions: dict[str, SubmissionReceipt] = field(default_factory=dict)  # by worker address
    evaluations: dict[str, EvaluationReport] = field(default_factory=dict)  # by committee node address
    seats: dict[str, str] = field(default_factory=dict)  # committee member -> seat (CommitteeManager)
    committee_size: int = 0
    reports_on_chain: int = 0
    medians: list[int] = field(default_factory=list)
    best_index: int = -1
    payouts: list[int] = field(default_factory=list)  # measured MTC change per submission
    expected_payouts: list[int] = field(default_factory=list)  # rules.settle_scored
    msp_change: int = 0  # measured: −Θ + refund
    expected_msp_change: int = 0
    reputation_changes: list[int] = field(default_factory=list)
    expected_reputation_changes: list[int] = field(default_factory=list)
    best_model_accuracy: int = 0
    bad_requests: dict[str, tuple[int, str]] = field(default_factory=dict)
    gas: dict[str, int] = field(default_factory=dict)

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


def advance_time(w3: Web3, seconds: int) -> None:
    """Devnet only: move the clock forward (anvil's ``evm_increaseTime`` + a mined block)."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


_SENDERS: dict[tuple[int, str], TransactionSender] = {}


def _view(name: str, output: str) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": output}],
    }


#: The ``CommitteeManager`` views :func:`committee_seats` reads.
_SEATS_ABI: list[dict[str, Any]] = [
    _view("electedTerm", "uint256"),
    _view("candidates", "address[]"),
    _view("seedNodes", "address[]"),
    _view("authorisedMembers", "address[]"),
    _view("dynamicMembers", "address[]"),
]


def _sender(w3: Web3, deployments: Deployments, key: KeyPair) -> TransactionSender:
    """One sender per account and connection (the demo's treasury, auditor and admin may be one account,
    and one local nonce counter per account avoids nonce clashes)."""
    cached = _SENDERS.get((id(w3), key.address))
    if cached is not None and cached.w3 is w3 and cached.deployments is deployments:
        return cached
    _SENDERS[(id(w3), key.address)] = sender = _build_sender(w3, deployments, key)
    return sender


def _build_sender(w3: Web3, deployments: Deployments, key: KeyPair) -> TransactionSender:
    return TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)


def register_participant(participant: Any, roles: ActorRole, auditor: RegistryClient) -> None:
    record = participant.registry.node(participant.address)
    if record.active and record.has(roles):
        participant.registry.update_endpoint(participant.agent.endpoint)
        return
    participant.register(roles)
    pending = participant.registry.node(participant.address).pending_roles
    if pending:
        auditor.approve_roles(participant.address, pending)


def check_seated(reader: MlcClient, nodes: list[CommitteeAgent]) -> None:
    """Every node must sit on MLC's committee (the CommitteeManager elects or seats it, not this flow)."""
    missing = [node.address for node in nodes if not reader.is_member(node.address)]
    if missing:
        raise RuntimeError(f"not on MLC's committee {reader.committee.address}: {', '.join(missing)}")


def committee_seat_labels(w3: Web3, reader: MlcClient) -> dict[str, str]:
    """Each member's seat when MLC's committee is a ``CommitteeManager`` (empty for another committee)."""
    try:
        manager = w3.eth.contract(address=reader.committee.address, abi=_SEATS_ABI)
        return committee_seats(manager)
    except (ContractLogicError, BadFunctionCallOutput, ValueError):
        return {}


def check_quorum(reader: MlcClient, nodes: list[CommitteeAgent]) -> int:
    """Our nodes must be able to reach MLC's quorum (a majority of the seats) on their own."""
    seats = min(reader.member_count(), 32)
    if len(nodes) < seats // 2 + 1:
        raise RuntimeError(
            f"the committee has {seats} seats: {len(nodes)} nodes cannot reach the quorum of {seats // 2 + 1}"
        )
    return seats


async def _bad_requests(
    msp: MspAgent, node: CommitteeAgent, worker: WorkerAgent, task_id: int
) -> dict[str, Any]:
    out: dict[str, tuple[int, str]] = {}
    async with AgentClient(msp.key) as rpc:
        for label, agent, action, payload in (
            ("evaluate-unknown-task", node.agent, "ml.evaluate", {"task_id": task_id + 1000}),
            ("evaluate-malformed", node.agent, "ml.evaluate", {"task_id": "seven"}),
            ("announce-finalised-task", worker.agent, "ml.task", TaskNotice(task_id=task_id)),
        ):
            try:
                await rpc.call(agent.endpoint, agent.address, action, payload)
                out[label] = (200, "accepted")
            except AgentCallError as exc:
                out[label] = (exc.status, f"{exc.code}: {exc.reason}")
    async with AgentClient(worker.key) as rpc:  # a worker is neither the requester nor a member
        try:
            await rpc.call(
                node.agent.endpoint, node.agent.address, "ml.evaluate", TaskNotice(task_id=task_id)
            )
            out["evaluate-by-stranger"] = (200, "accepted")
        except AgentCallError as exc:
            out["evaluate-by-stranger"] = (exc.status, f"{exc.code}: {exc.reason}")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{node.agent.endpoint}/rpc/ml.evaluate", data=b"{not json") as response,
    ):
        body = await response.json()
        out["not-json"] = (response.status, f"{body.get('error')}: {body.get('reason')}")
    return out


async def run_ml_crowdsourcing_flow(
    w3: Web3,
    deployments: Deployments,
    keys: MlFlowKeys,
    console: Console,
    *,
    committee: str | None = None,
    store_root: Path | None = None,
    reward: int = DEFAULT_REWARD,
    threshold: int = DEFAULT_THRESHOLD,
    seed: int = 0,
) -> MlFlowReport:
    """Run one model-crowdsourcing task on a devnet (it moves the chain's clock).

    ``deployments`` must hold MetaCoin, RSC (platform) and RC, MLC (``deploy_aicm``); ``keys.committee``
    must sit on the committee contract ``committee`` (default ``MLC.committee()``, the CommitteeManager);
    ``store_root`` the embedded IPFS-compatible block store shared by the agents (default: a temporary
    directory).
    """
    if store_root is None:
        with tempfile.TemporaryDirectory(prefix="metatrust-ml-") as directory:
            return await run_ml_crowdsourcing_flow(
                w3, deployments, keys, console, committee=committee, store_root=Path(directory),
                reward=reward, threshold=threshold, seed=seed,
            )  # fmt: skip
    report = MlFlowReport(reward=reward, threshold=threshold)
    console.rule("[bold]MetaAICM: ML-model crowdsourcing (Algorithm 4.1)")
    fund_on_devnet(w3, keys.new_accounts())
    store = EncryptedStore(LocalStore(store_root))
    pool, validation = digits_split(seed)
    msp = MspAgent(keys.msp, validation, w3, deployments, store, committee)
    workers = [
        WorkerAgent(key, RECIPES[name], pool, w3, deployments, store, committee, seed)
        for key, name in zip(keys.workers, WORKER_RECIPES, strict=True)
    ]
    nodes = [
        CommitteeAgent(key, w3, deployments, store, committee, name=f"committee-{i}")
        for i, key in enumerate(keys.committee)
    ]
    reader = MlcClient(w3, deployments, committee=committee)
    everyone: list[Any] = [msp, *workers, *nodes]
    for participant in everyone:
        await participant.start()
    try:
        auditor = RegistryClient(contract(w3, deployments, "RSC"), _sender(w3, deployments, keys.auditor))
        await asyncio.to_thread(register_participant, msp, ActorRole.MSP, auditor)
        for worker in workers:
            await asyncio.to_thread(register_participant, worker, ActorRole.ML_WORKER, auditor)
        for node in nodes:
            await asyncio.to_thread(register_participant, node, ActorRole.COMMITTEE, auditor)
        report.note(
            console,
            f"MSP, {len(workers)} ML workers and {len(nodes)} committee nodes serve on loopback and are "
            "registered in RSC (endpoint + encryption key; COMMITTEE approved by the auditor)",
        )
        check_seated(reader, nodes)
        check_quorum(reader, nodes)
        report.seats = committee_seat_labels(w3, reader)
        ours = {node.address for node in nodes}
        kinds = Counter(seat for address, seat in report.seats.items() if address in ours)
        report.note(
            console,
            f"committee {reader.committee.address} has {reader.member_count()} members, "
            f"our {len(nodes)} nodes among them"
            + (f" ({', '.join(f'{n} {seat}' for seat, n in kinds.items())})" if kinds else ""),
        )

        # ------------------------------------------------------------ task creation (T_mc)
        treasury = _sender(w3, deployments, keys.treasury)
        if reader.balance_of(msp.address) < reward:
            treasury.send(
                reader.token.functions.transfer(msp.address, reward - reader.balance_of(msp.address))
            )
        before = {a: reader.balance_of(a) for a in [msp.address, *(w.address for w in workers)]}
        deadline = reader.now() + TASK_WINDOW
        task_id, gas = await asyncio.to_thread(
            msp.create_task,
            reward,
            deadline,
            threshold,
            publish_window=TASK_WINDOW,
            evaluation_window=TASK_WINDOW,
        )
        report.task_id, report.gas["approve+createTask"] = task_id, gas
        report.note(
            console,
            f"MSP {msp.address} created task {task_id}: Θ = {mtc(reward)} escrowed in MLC, τ = "
            f"{threshold / 10_000:.1f} % accuracy, deadline in {TASK_WINDOW} s (gas {gas:,})",
        )

        # ------------------------------------------------------------ workers train and submit
        answers = await msp.announce(task_id)
        for address, answer in answers.items():
            if isinstance(answer, Exception):
                raise RuntimeError(f"worker {address} failed: {answer}")
            report.submissions[address] = answer
        table = Table(title=f"task {task_id}: submissions (ONNX, sealed to committee + MSP)")
        for column in ("#", "worker", "recipe", "model reference", "bytes", "gas"):
            table.add_column(column)
        for sub in sorted(report.submissions.values(), key=lambda s: s.index):
            table.add_row(str(sub.index), sub.worker[:10] + "…", sub.recipe, sub.model_uri[:30] + "…",
                          f"{sub.model_bytes:,}", f"{sub.gas_used:,}")  # fmt: skip
        console.print(table)
        noted = len(msp.notices.get(task_id, {}))
        report.note(
            console, f"{len(report.submissions)} workers submitted; the MSP agent noted {noted} notices"
        )

        # ------------------------------------------------------------ D_val, committee evaluation
        advance_time(w3, TASK_WINDOW + 1)
        uri, gas, readers = await msp.publish_validation(task_id)
        report.gas["publishValidationData"] = gas
        report.note(
            console,
            f"deadline passed; MSP sealed D_val ({len(validation)} samples) to {len(readers)} committee "
            f"members and published {uri[:24]}… (gas {gas:,})",
        )
        evaluations = await msp.request_evaluation(task_id)
        for address, evaluation in evaluations.items():
            if isinstance(evaluation, Exception):
                raise RuntimeError(f"committee node {address} failed: {evaluation}")
            report.evaluations[address] = evaluation
        table = Table(title="committee scores (accuracy on D_val, onnxruntime)")
        table.add_column("node")
        table.add_column("seat")
        for sub in sorted(report.submissions.values(), key=lambda s: s.index):
            table.add_column(f"model {sub.index} ({sub.recipe})", justify="right")
        table.add_column("gas", justify="right")
        for address, evaluation in report.evaluations.items():
            table.add_row(address[:10] + "…", report.seats.get(address, "member"),
                          *(f"{s / 10_000:.2f} %" for s in evaluation.scores),
                          f"{evaluation.gas_used:,}")  # fmt: skip
        console.print(table)
        task = reader.task(task_id)
        report.committee_size, report.reports_on_chain = task.committee_size, task.reports
        reporters = Counter(
            report.seats.get(a, "member") for a in report.evaluations if reader.scores_of(task_id, a)
        )
        by_seat = ", ".join(f"{n} {seat}" for seat, n in reporters.items())
        if task.reports < task.committee_size:
            advance_time(w3, TASK_WINDOW + 1)
            report.note(
                console,
                f"{task.reports} of {task.committee_size} members reported ({by_seat}; quorum "
                f"{task.quorum}); T_eval elapsed, the quorum's median counts",
            )
        else:
            report.note(console, f"all {task.reports} committee members reported ({by_seat})")

        # ------------------------------------------------------------ finalisation and payout
        submissions = reader.submissions(task_id)
        stats_before: list[ReputationStats] = [reader.stats(s.worker) for s in submissions]
        receipt = await asyncio.to_thread(msp.mlc.finalize, task_id)
        report.gas["finalize"] = int(receipt["gasUsed"])
        task = reader.task(task_id)
        if task.status is not TaskStatus.FINALIZED:
            raise RuntimeError(f"task {task_id} ended as {task.status.name}")
        report.best_index = task.best_index
        report.medians = reader.medians(task_id)
        on_chain_reports = [reader.scores_of(task_id, a) for a in report.evaluations]
        expected = settle_scored(reward, [r for r in on_chain_reports if r], threshold)
        report.payouts = [reader.balance_of(s.worker) - before[s.worker] for s in submissions]
        report.expected_payouts = list(expected.payouts)
        report.msp_change = reader.balance_of(msp.address) - before[msp.address]
        report.expected_msp_change = -reward + expected.requester_refund
        report.reputation_changes = [
            reader.stats(s.worker).reputation - b.reputation
            for s, b in zip(submissions, stats_before, strict=True)
        ]
        report.expected_reputation_changes = [
            reward_delta(b.interactions, b.participations) if up else -ONE
            for b, up in zip(stats_before, expected.rewarded, strict=True)
        ]
        table = Table(title=f"task {task_id}: settlement (best = model {task.best_index})")
        for column in ("#", "recipe", "median", "> τ", "paid", "rules.py", "reputation Δ", "rules.py "):
            table.add_column(column, justify="right")
        recipe_of = {s.index: s.recipe for s in report.submissions.values()}
        for j in range(len(submissions)):
            table.add_row(
                str(j), recipe_of[j], f"{report.medians[j] / 10_000:.2f} %",
                "yes" if expected.rewarded[j] else "no",
                mtc(report.payouts[j]), mtc(report.expected_payouts[j]),
                rep(report.reputation_changes[j]), rep(report.expected_reputation_changes[j]),
            )  # fmt: skip
        table.add_row("MSP", "", "", "", mtc(report.msp_change), mtc(report.expected_msp_change), "", "")
        console.print(table)
        if (
            report.payouts != report.expected_payouts
            or report.msp_change != report.expected_msp_change
            or report.reputation_changes != report.expected_reputation_changes
            or list(expected.medians) != report.medians
            or expected.best != task.best_index
        ):
            raise RuntimeError("the settlement differs from offchain/crowdsourcing/rules.py")
        report.note(
            console,
            f"finalised (gas {report.gas['finalize']:,}): every MTC balance and reputation change equals "
            "rules.settle_scored exactly",
        )

        best = await asyncio.to_thread(msp.best_model, task_id)
        report.best_model_accuracy = best.accuracy
        if best.accuracy != report.medians[best.index]:
            raise RuntimeError("the MSP's own score of the best model differs from the committee's")
        report.note(
            console,
            f"MSP opened Model_best ({len(best.data):,} bytes ONNX from {best.worker[:10]}…) and re-scored "
            f"it: {best.accuracy / 10_000:.2f} %, as the committee reported",
        )

        report.bad_requests = await _bad_requests(msp, nodes[0], workers[0], task_id)
        for label, (status, reason) in report.bad_requests.items():
            console.print(f"    {label}: HTTP {status} ({reason[:90]})")
        if any(status < 400 or status >= 500 for status, _ in report.bad_requests.values()):
            raise RuntimeError(f"a bad request was not refused with a 4xx: {report.bad_requests}")
        report.note(console, "bad requests get 4xx answers with reasons; the agents keep serving")
    finally:
        for participant in everyone:
            await participant.stop()
    return report

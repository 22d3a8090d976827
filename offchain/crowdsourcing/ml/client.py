"""Web3 clients of MLC and what it relies on (MetaCoin, RC, the committee), on the shared chain layer.

The committee is any contract with ``ICommittee``'s ``isMember``/``memberCount`` (``deploy_aicm`` wires the
reputation-elected ``CommitteeManager``); its address defaults to ``MLC.committee()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.events import get_events
from offchain.chain.sender import TransactionSender

#: ``ICommittee`` (what MLC asks of any committee).
COMMITTEE_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "isMember",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "memberCount",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]


class TaskStatus(IntEnum):
    """``MLC.Status``."""

    NONE = 0
    OPEN = 1
    EVALUATING = 2
    FINALIZED = 3
    FINALIZED_NO_VALIDATION = 4
    REFUNDED = 5


@dataclass(frozen=True)
class TaskParams:
    """``MLC.TaskParams``: Θ in base units, T_desc URI, deadline (unix s), R_min (fixed point), τ
    (millionths), T_pub and T_eval (s), capacity, optional D_val URI commitment."""

    reward: int
    desc_uri: str
    deadline: int
    min_reputation: int
    threshold: int
    publish_window: int
    evaluation_window: int
    max_submissions: int
    validation_commit: bytes = bytes(32)

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.reward,
            self.desc_uri,
            self.deadline,
            self.min_reputation,
            self.threshold,
            self.publish_window,
            self.evaluation_window,
            self.max_submissions,
            self.validation_commit,
        )


@dataclass(frozen=True)
class TaskView:
    """``MLC.getTask`` decoded."""

    task_id: int
    requester: ChecksumAddress
    reward: int
    min_reputation: int
    deadline: int
    validation_published_at: int
    threshold: int
    publish_window: int
    evaluation_window: int
    max_submissions: int
    committee_size: int
    quorum: int
    reports: int
    status: TaskStatus
    best_index: int
    validation_commit: bytes

    @property
    def exists(self) -> bool:
        return self.status is not TaskStatus.NONE


@dataclass(frozen=True)
class SubmissionView:
    index: int
    worker: ChecksumAddress
    submitted_at: int
    model_uri: str


@dataclass(frozen=True)
class ReputationStats:
    """``RC.stats``: r_i (fixed point), P_i, A_i."""

    reputation: int
    participations: int
    interactions: int


class MlcClient:
    """MLC, MetaCoin, RC and the committee for one account (``sender``; None for read-only use)."""

    def __init__(
        self,
        w3: Web3,
        deployments: Deployments,
        sender: TransactionSender | None = None,
        committee: str | None = None,
    ) -> None:
        self.w3 = w3
        self.sender = sender
        self.mlc: Contract = contract(w3, deployments, "MLC")
        self.token: Contract = contract(w3, deployments, "MetaCoin")
        self.rc: Contract = contract(w3, deployments, "RC")
        address = committee or self.mlc.functions.committee().call()
        self.committee: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=COMMITTEE_ABI
        )

    @property
    def address(self) -> ChecksumAddress:
        if self.sender is None:
            raise RuntimeError("this client is read-only (no sender)")
        return self.sender.address

    def _send(self, call: Any) -> TxReceipt:
        if self.sender is None:
            raise RuntimeError("this client is read-only (no sender)")
        return self.sender.send(call)

    # ------------------------------------------------------------------ transactions

    def create_task(self, params: TaskParams) -> tuple[int, list[TxReceipt]]:
        """Approve Θ and create the task (Θ escrowed); returns the task id and both receipts."""
        approve = self._send(self.token.functions.approve(self.mlc.address, params.reward))
        receipt = self._send(self.mlc.functions.createTask(params.as_tuple()))
        events = self.mlc.events.ModelTaskCreated().process_receipt(receipt, errors=DISCARD)
        return int(events[0]["args"]["taskId"]), [approve, receipt]

    def submit_model(self, task_id: int, model_uri: str) -> tuple[int, TxReceipt]:
        """Submit a model reference; returns its index in the task."""
        receipt = self._send(self.mlc.functions.submitModel(task_id, model_uri))
        events = self.mlc.events.ModelSubmitted().process_receipt(receipt, errors=DISCARD)
        return int(events[0]["args"]["index"]), receipt

    def publish_validation_data(self, task_id: int, validation_uri: str) -> TxReceipt:
        return self._send(self.mlc.functions.publishValidationData(task_id, validation_uri))

    def submit_scores(self, task_id: int, scores: list[int]) -> TxReceipt:
        return self._send(self.mlc.functions.submitScores(task_id, scores))

    def finalize(self, task_id: int) -> TxReceipt:
        return self._send(self.mlc.functions.finalize(task_id))

    # ------------------------------------------------------------------ views

    def task(self, task_id: int) -> TaskView:
        raw = self.mlc.functions.getTask(task_id).call()
        v = [int(x) for x in raw[1:12]]
        return TaskView(
            task_id, Web3.to_checksum_address(raw[0]), v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8],
            v[9], v[10], TaskStatus(int(raw[12])), int(raw[13]), bytes(raw[14]),
        )  # fmt: skip

    def submissions(self, task_id: int) -> list[SubmissionView]:
        raw = self.mlc.functions.getSubmissions(task_id).call()
        return [
            SubmissionView(i, Web3.to_checksum_address(s[0]), int(s[1]), str(s[2])) for i, s in enumerate(raw)
        ]

    def validation_uri(self, task_id: int, from_block: int = 0) -> str | None:
        """The D_val URI the requester published (from the ``ValidationDataPublished`` event)."""
        for event in get_events(self.mlc, "ValidationDataPublished", from_block):
            if int(event["args"]["taskId"]) == task_id:
                return str(event["args"]["validationURI"])
        return None

    def scores_of(self, task_id: int, member: str) -> list[int]:
        return [int(s) for s in self.mlc.functions.scoresOf(task_id, member).call()]

    def medians(self, task_id: int) -> list[int]:
        return [int(s) for s in self.mlc.functions.medianScores(task_id).call()]

    def is_member(self, account: str) -> bool:
        return bool(self.committee.functions.isMember(account).call())

    def member_count(self) -> int:
        return int(self.committee.functions.memberCount().call())

    def balance_of(self, account: str) -> int:
        return int(self.token.functions.balanceOf(account).call())

    def stats(self, account: str) -> ReputationStats:
        reputation, participations, interactions = self.rc.functions.stats(account).call()
        return ReputationStats(int(reputation), int(participations), int(interactions))

    def now(self) -> int:
        """The latest block's timestamp (the contract's clock)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

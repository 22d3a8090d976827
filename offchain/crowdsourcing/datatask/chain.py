"""Web3 clients of DC (the Data Contract) and OracleManager, on the shared chain layer (spec §2.3, §2.6).

Writes go through a :class:`~offchain.chain.sender.TransactionSender` (named custom-error reverts);
without a sender a client only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from offchain.chain.contract_client import ContractClient
from offchain.chain.events import get_events
from offchain.crypto import ecies_lite

UINT256_MAX = 2**256 - 1


class TaskStatus(IntEnum):
    """``DC.Status``."""

    NONE = 0
    OPEN = 1
    EVALUATED = 2
    FINALIZED = 3


class Mark(IntEnum):
    """``DC.Mark``."""

    PENDING = 0
    HONEST = 1
    DISHONEST = 2
    DISPUTED = 3
    WON = 4
    LOST = 5


@dataclass(frozen=True)
class DataTaskParams:
    """``DC.TaskParams`` (T_dc): Θ, α, f_data, pk, deadline, R_min, T_eval, T_dispute, t_lock, capacity."""

    reward: int
    compensation: int
    features_uri: str
    key: tuple[int, int]
    deadline: int
    min_reputation: int = 0
    evaluation_window: int = 3_600
    dispute_window: int = 3_600
    lock_blocks: int = 5
    max_submissions: int = 8

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.reward,
            self.compensation,
            self.features_uri,
            self.key[0],
            self.key[1],
            self.deadline,
            self.min_reputation,
            self.evaluation_window,
            self.dispute_window,
            self.lock_blocks,
            self.max_submissions,
        )


@dataclass(frozen=True)
class DataTask:
    """The parts of ``DC.Task`` the agents use."""

    task_id: int
    requester: str
    reward: int
    compensation: int
    deadline: int
    evaluated_at: int
    status: TaskStatus
    winners: int
    open_disputes: int
    key: tuple[int, int]


@dataclass(frozen=True)
class Submission:
    """``DC.Submission`` with its ciphertext (from ``DatasetSubmitted``)."""

    index: int
    worker: str
    mark: Mark
    ciphertext: ecies_lite.Ciphertext


@dataclass(frozen=True)
class RaisedDispute:
    """A ``DisputeRaised`` event: which submission, the revealed URL, and its oracle ticket."""

    task_id: int
    index: int
    url: bytes
    ticket_id: int


class DataTaskClient(ContractClient):
    """DC for one account (``sender``), or read-only without one."""

    def _event(self, receipt: TxReceipt, name: str) -> Any:
        events = getattr(self.contract.events, name)().process_receipt(receipt, errors=DISCARD)
        if not events:
            raise RuntimeError(f"no {name} event in transaction {receipt['transactionHash'].hex()}")
        return events[0]["args"]

    def approve(self, token: Contract, amount: int = UINT256_MAX) -> TxReceipt:
        """Let DC take ``amount`` MTC from the sender (Θ + α)."""
        return self._send(token.functions.approve(self.contract.address, amount))

    def create_task(self, params: DataTaskParams) -> tuple[int, TxReceipt]:
        receipt = self._send(self.contract.functions.createTask(params.as_tuple()))
        return int(self._event(receipt, "DataTaskCreated")["taskId"]), receipt

    def submit_dataset(self, task_id: int, ciphertext: ecies_lite.Ciphertext) -> tuple[int, TxReceipt]:
        receipt = self._send(
            self.contract.functions.submitDataset(
                task_id, ciphertext.ephemeral_x, ciphertext.ephemeral_y, ciphertext.body
            )
        )
        return int(self._event(receipt, "DatasetSubmitted")["index"]), receipt

    def submit_evaluation(self, task_id: int, honest: list[bool]) -> TxReceipt:
        return self._send(self.contract.functions.submitEvaluation(task_id, honest))

    def dispute(self, task_id: int, index: int, url: bytes, ephemeral_secret: int) -> tuple[int, TxReceipt]:
        receipt = self._send(self.contract.functions.dispute(task_id, index, url, ephemeral_secret))
        return int(self._event(receipt, "DisputeRaised")["ticketId"]), receipt

    def finalize(self, task_id: int) -> TxReceipt:
        return self._send(self.contract.functions.finalize(task_id))

    # --- views ------------------------------------------------------------------------------------

    def task(self, task_id: int) -> DataTask:
        fields = self.contract.functions.getTask(task_id).call()
        (requester, reward, compensation, deadline, evaluated_at, _min_rep, _block, _eval, _disp, _lock) = (
            fields[:10]
        )
        _max, open_disputes, winners, status, key_x, key_y = fields[10:]
        return DataTask(
            task_id,
            str(requester),
            int(reward),
            int(compensation),
            int(deadline),
            int(evaluated_at),
            TaskStatus(int(status)),
            int(winners),
            int(open_disputes),
            (int(key_x), int(key_y)),
        )

    def submissions(self, task_id: int) -> list[Submission]:
        records = self.contract.functions.getSubmissions(task_id).call()
        logs = self.contract.events.DatasetSubmitted().get_logs(
            from_block=0, argument_filters={"taskId": task_id}
        )
        bodies = {
            int(log["args"]["index"]): ecies_lite.Ciphertext(
                int(log["args"]["ephemeralX"]),
                int(log["args"]["ephemeralY"]),
                bytes(log["args"]["ciphertext"]),
            )
            for log in logs
        }
        return [
            Submission(index, str(worker), Mark(int(mark)), bodies[index])
            for index, (worker, mark, _commitment) in enumerate(records)
        ]

    def encryption_context(self, task_id: int, worker: str) -> bytes:
        return bytes(self.contract.functions.encryptionContext(task_id, worker).call())

    def features_uri(self, task_id: int) -> str:
        """f_data of a task (from ``DataTaskCreated``)."""
        logs = self.contract.events.DataTaskCreated().get_logs(
            from_block=0, argument_filters={"taskId": task_id}
        )
        if not logs:
            raise LookupError(f"data task {task_id} does not exist")
        return str(logs[0]["args"]["featuresURI"])

    def dispute_of_ticket(self, ticket_id: int) -> RaisedDispute:
        """The dispute behind an oracle ticket DC opened."""
        for event in get_events(self.contract, "DisputeRaised"):
            args = event["args"]
            if int(args["ticketId"]) == ticket_id:
                return RaisedDispute(int(args["taskId"]), int(args["index"]), bytes(args["url"]), ticket_id)
        raise LookupError(f"DC opened no ticket {ticket_id}")


@dataclass(frozen=True)
class OracleRecord:
    """``OracleManager.Oracle``."""

    stake: int
    open_votes: int
    registered: bool


@dataclass(frozen=True)
class Ticket:
    """``OracleManager.Ticket``."""

    ticket_id: int
    opener: str
    opened_at: int
    votes_for: int
    votes_against: int
    resolved: bool
    qualified: bool


class OracleClient(ContractClient):
    """OracleManager for one account (``sender``), or read-only without one."""

    def approve(self, token: Contract, amount: int = UINT256_MAX) -> TxReceipt:
        return self._send(token.functions.approve(self.contract.address, amount))

    def register(self) -> TxReceipt:
        """Stake and join the oracle set (approve first)."""
        return self._send(self.contract.functions.register())

    def deregister(self) -> TxReceipt:
        return self._send(self.contract.functions.deregister())

    def vote(self, ticket_id: int, qualified: bool) -> TxReceipt:
        return self._send(self.contract.functions.vote(ticket_id, qualified))

    def resolve(self, ticket_id: int) -> TxReceipt:
        return self._send(self.contract.functions.resolve(ticket_id))

    def fund_rewards(self, amount: int) -> TxReceipt:
        return self._send(self.contract.functions.fundRewards(amount))

    # --- views ------------------------------------------------------------------------------------

    def oracle(self, account: str) -> OracleRecord:
        stake, open_votes, registered = self.contract.functions.getOracle(account).call()
        return OracleRecord(int(stake), int(open_votes), bool(registered))

    def ticket(self, ticket_id: int) -> Ticket:
        opener, opened_at, votes_for, votes_against, resolved, qualified = self.contract.functions.getTicket(
            ticket_id
        ).call()
        return Ticket(
            ticket_id,
            str(opener),
            int(opened_at),
            int(votes_for),
            int(votes_against),
            bool(resolved),
            bool(qualified),
        )

    def ticket_count(self) -> int:
        return int(self.contract.functions.ticketCount().call())

    def oracle_count(self) -> int:
        return int(self.contract.functions.oracleCount().call())

    def reward_pool(self) -> int:
        return int(self.contract.functions.rewardPool().call())

    def stake(self) -> int:
        return int(self.contract.functions.stake().call())

    def vote_reward(self) -> int:
        return int(self.contract.functions.voteReward().call())

    def deduction(self) -> int:
        return int(self.contract.functions.deduction().call())

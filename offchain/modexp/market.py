# ruff: noqa: N803  (L is the spec's name: spec 003 §2.2)
"""Web3 client of ``MExpmMarket`` (an extension, spec 003 §4.3) on the shared chain layer.

Every write goes through :class:`~offchain.chain.sender.TransactionSender` (nonces, fees, named custom
errors); every call's gas is kept in :attr:`MarketClient.gas` for the flow's report. Encodings and
commitments come from :mod:`offchain.modexp.encoding`, so what is signed or committed here is bit for bit
what the contract recomputes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.logs import DISCARD
from web3.types import TxReceipt

from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.errors import ContractRevert, decode_revert, revert_data_from_exception
from offchain.chain.sender import ContractCall, TransactionSender
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import sign_typed_data
from offchain.modexp.encoding import Opening, width_of

MARKET = "MExpmMarket"
TOKEN = "MetaCoin"
SUBMISSION_TYPES = {
    "Submission": [{"name": "taskId", "type": "uint256"}, {"name": "outputsHash", "type": "bytes32"}]
}


class TaskStatus(IntEnum):
    """``MExpmMarket.Status``."""

    NONE = 0
    CREATED = 1
    ACCEPTED = 2
    SUBMITTED = 3
    REJECTED = 4
    VERIFIED = 5
    PAID_BY_TIMEOUT = 6
    REFUNDED = 7
    DISPUTE_WON = 8
    REJECTION_FINAL = 9


@dataclass(frozen=True)
class TaskRecord:
    """A task as the chain holds it (``MExpmMarket.getTask``)."""

    iv: ChecksumAddress
    submit_deadline: int
    reveal_window: int
    server: ChecksumAddress
    deadline: int
    n: int
    status: TaskStatus
    payment: int
    collateral: int
    aux_commit: bytes
    pairs_commit: bytes
    result_hash: bytes
    sigma_hash: bytes


@dataclass(frozen=True)
class Verdict:
    """Outcome of ``revealAndVerify``: Eq. (5) held or not, and the encoded result σ when it held."""

    ok: bool
    sigma: int | None
    receipt: TxReceipt


@dataclass
class MarketClient:
    """Reads and writes ``MExpmMarket`` (and approves MTC for it) as ``sender``'s account."""

    w3: Web3
    deployments: Deployments
    sender: TransactionSender | None = None
    gas: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.market: Contract = contract(self.w3, self.deployments, MARKET)
        self.token: Contract = contract(self.w3, self.deployments, TOKEN)

    @property
    def address(self) -> ChecksumAddress:
        """The sending account."""
        return self._sender().address

    # ------------------------------------------------------------------ writes

    def approve(self, amount: int) -> TxReceipt:
        """Let the market take up to ``amount`` MTC (payment or collateral) from the sender."""
        return self._send("MetaCoin.approve", self.token.functions.approve(self.market.address, amount))

    def ensure_allowance(self, amount: int) -> None:
        """Approve ``amount`` unless the current allowance already covers it."""
        if amount and self.token.functions.allowance(self.address, self.market.address).call() < amount:
            self.approve(amount)

    def create_task(
        self,
        L: int,
        n: int,
        *,
        payment: int,
        collateral: int,
        aux_commit: bytes,
        pairs_commit: bytes,
        submit_deadline: int,
        reveal_window: int,
    ) -> tuple[int, TxReceipt]:
        """Escrow ``payment`` and create the task (approves first when needed); returns its id."""
        self.ensure_allowance(payment)
        terms = (
            L.to_bytes(width_of(L), "big"),
            n,
            payment,
            collateral,
            aux_commit,
            pairs_commit,
            submit_deadline,
            reveal_window,
        )
        receipt = self._send("createTask", self.market.functions.createTask(terms))
        event = self.market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)[0]
        return int(event["args"]["taskId"]), receipt

    def accept(self, task_id: int) -> TxReceipt:
        """Take the task as its server, depositing the collateral (approves first when needed)."""
        self.ensure_allowance(self.task(task_id).collateral)
        return self._send("acceptTask", self.market.functions.acceptTask(task_id))

    def submit(self, task_id: int, outputs: bytes) -> TxReceipt:
        """Submit the 2n+2 encoded outputs as the task's server."""
        return self._send("submitResult", self.market.functions.submitResult(task_id, outputs))

    def submit_signed(self, task_id: int, outputs: bytes, signature: bytes) -> TxReceipt:
        """Relay a server-signed submission (the RSU's role)."""
        call = self.market.functions.submitResultSigned(task_id, outputs, signature)
        return self._send("submitResultSigned", call)

    def reveal(self, task_id: int, outputs: bytes, opening: Opening) -> Verdict:
        """Open Aux and run Algorithm 2 on chain; returns the verdict and σ when accepted."""
        call = self.market.functions.revealAndVerify(task_id, outputs, opening.as_tuple())
        receipt = self._send("revealAndVerify", call)
        event = self.market.events.Verified().process_receipt(receipt, errors=DISCARD)[0]["args"]
        ok = bool(event["ok"])
        return Verdict(ok, int.from_bytes(event["sigma"], "big") if ok else None, receipt)

    def dispute(self, task_id: int, outputs: bytes, pairs: bytes, salt: bytes) -> tuple[bool, TxReceipt]:
        """Prove the outputs correct after a rejection; returns whether the server won."""
        call = self.market.functions.disputeRejection(task_id, outputs, pairs, salt)
        receipt = self._send("disputeRejection", call)
        event = self.market.events.DisputeResolved().process_receipt(receipt, errors=DISCARD)[0]["args"]
        return bool(event["serverWon"]), receipt

    def finalize(self, task_id: int) -> TxReceipt:
        """Uphold a rejection after the dispute window."""
        return self._send("finalizeRejection", self.market.functions.finalizeRejection(task_id))

    def claim_by_timeout(self, task_id: int) -> TxReceipt:
        """Settle a stalled task (refund the IV or pay the server, as the contract decides)."""
        return self._send("claimByTimeout", self.market.functions.claimByTimeout(task_id))

    # ------------------------------------------------------------------ reads

    def task(self, task_id: int) -> TaskRecord:
        """The task's record (raises ContractRevert ``TaskNotFound`` for an unknown id)."""
        raw = self._call("getTask", self.market.functions.getTask(task_id))
        return TaskRecord(
            iv=Web3.to_checksum_address(raw[0]),
            submit_deadline=int(raw[1]),
            reveal_window=int(raw[2]),
            server=Web3.to_checksum_address(raw[3]),
            deadline=int(raw[4]),
            n=int(raw[5]),
            status=TaskStatus(raw[6]),
            payment=int(raw[7]),
            collateral=int(raw[8]),
            aux_commit=bytes(raw[9]),
            pairs_commit=bytes(raw[10]),
            result_hash=bytes(raw[11]),
            sigma_hash=bytes(raw[12]),
        )

    def modulus(self, task_id: int) -> int:
        """The task's modulus L."""
        return int.from_bytes(self._call("modulusOf", self.market.functions.modulusOf(task_id)), "big")

    def submitted_outputs(self, task_id: int, from_block: int = 0) -> bytes | None:
        """The outputs of the task's ResultSubmitted event, or None when nothing was submitted."""
        logs = self.market.events.ResultSubmitted().get_logs(
            from_block=from_block, argument_filters={"taskId": task_id}
        )
        return bytes(logs[-1]["args"]["outputs"]) if logs else None

    def balance(self, address: str | None = None) -> int:
        """MTC balance of ``address`` (default: the sender)."""
        who = Web3.to_checksum_address(address) if address else self.address
        return int(self.token.functions.balanceOf(who).call())

    def now(self) -> int:
        """Timestamp of the latest block (what the next deadline check compares against, roughly)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # ------------------------------------------------------------------ signatures

    def submission_domain(self) -> dict[str, Any]:
        """The EIP-712 domain of the market."""
        return {
            "name": "MExpmMarket",
            "version": "1",
            "chainId": int(self.w3.eth.chain_id),
            "verifyingContract": self.market.address,
        }

    def sign_submission(self, keypair: KeyPair, task_id: int, outputs: bytes) -> bytes:
        """The server's EIP-712 signature of ``Submission(taskId, keccak256(outputs))`` for a relay."""
        message = {"taskId": task_id, "outputsHash": keccak256(outputs)}
        return sign_typed_data(keypair, self.submission_domain(), SUBMISSION_TYPES, "Submission", message)

    # ------------------------------------------------------------------ internals

    def _sender(self) -> TransactionSender:
        if self.sender is None:
            raise RuntimeError("this MarketClient is read-only: give it a TransactionSender to write")
        return self.sender

    def _call(self, label: str, call: ContractFunction) -> Any:
        """A view call whose revert is raised as :class:`ContractRevert` with the decoded error name."""
        try:
            return call.call()
        except (ContractLogicError, Web3RPCError) as exc:
            data = revert_data_from_exception(exc)
            if data is None:
                raise
            name, args = decode_revert(self.market.abi, data)
            raise ContractRevert(f"{MARKET}.{label}", name, args, data=data) from exc

    def _send(self, label: str, call: ContractCall) -> TxReceipt:
        receipt = self._sender().send(call)
        self.gas.append((label, int(receipt["gasUsed"])))
        return receipt


def advance_devnet_time(w3: Web3, seconds: int) -> None:
    """Move a devnet's clock forward (anvil/hardhat ``evm_increaseTime`` + ``evm_mine``); for demos and
    tests of the timeouts only: a real chain's clock cannot be moved."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

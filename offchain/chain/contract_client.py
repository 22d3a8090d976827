"""The base of every system's contract client: one contract, bound to one account's sender or read-only."""

from __future__ import annotations

from typing import Any

from web3.contract import Contract
from web3.types import TxReceipt

from offchain.chain.sender import TransactionSender

__all__ = ["ContractClient", "ReadOnlyClient"]


class ReadOnlyClient(RuntimeError):  # noqa: N818 (reads as the state it reports)
    """A write was asked of a client built without a :class:`TransactionSender`."""


class ContractClient:
    """Reads ``contract`` with plain calls and writes it through the shared ``TransactionSender`` (nonces,
    retries, named reverts); without a sender the client is read-only and a write raises
    :class:`ReadOnlyClient`."""

    def __init__(self, contract: Contract, sender: TransactionSender | None = None) -> None:
        self.contract = contract
        self.sender = sender

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def _send(self, call: Any) -> TxReceipt:
        if self.sender is None:
            raise ReadOnlyClient(
                f"this {type(self).__name__} is read-only: give it a TransactionSender to write"
            )
        return self.sender.send(call)

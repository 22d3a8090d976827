"""Typed client of ``StateChannelManager`` over the shared chain layer (web3 + ``TransactionSender``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from web3 import Web3

from offchain.web3compute.channel import ChannelInfo
from offchain.web3compute.state import ChannelState, compact_signature
from offchain.web3compute.store import SignedState

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.types import TxReceipt

    from offchain.chain.sender import TransactionSender


def _address(value: str) -> str:
    return Web3.to_checksum_address(value)


class ChannelManagerClient:
    """Reads the manager with calls and writes it through ``sender`` (named custom errors on revert)."""

    def __init__(self, contract: Contract, sender: TransactionSender | None = None) -> None:
        self.contract = contract
        self.sender = sender

    def _send(self, call: Any) -> TxReceipt:
        if self.sender is None:
            raise RuntimeError("this client is read-only: give it a TransactionSender to write")
        return self.sender.send(call)

    # ------------------------------------------------------------------ lifecycle

    def open(self, task_id: bytes, counterparty: str, deposit: int) -> TxReceipt:
        return self._send(self.contract.functions.open(task_id, _address(counterparty), deposit))

    def join(self, task_id: bytes, counterparty: str, deposit: int) -> TxReceipt:
        return self._send(self.contract.functions.join(task_id, _address(counterparty), deposit))

    def cancel_open(self, task_id: bytes, counterparty: str) -> TxReceipt:
        return self._send(self.contract.functions.cancelOpen(task_id, _address(counterparty)))

    def _signed_args(self, signed: SignedState, info: ChannelInfo) -> tuple[Any, ...]:
        sig_a, sig_b = compact_signature(signed.sig_a), compact_signature(signed.sig_b)
        return (signed.state.as_tuple(), info.party_a, info.party_b, sig_a, sig_b)

    def cooperative_close(self, signed: SignedState, info: ChannelInfo) -> TxReceipt:
        return self._send(self.contract.functions.cooperativeClose(*self._signed_args(signed, info)))

    def close(self, signed: SignedState, info: ChannelInfo) -> TxReceipt:
        return self._send(self.contract.functions.close(*self._signed_args(signed, info)))

    def close_initial(self, task_id: bytes, counterparty: str) -> TxReceipt:
        return self._send(self.contract.functions.closeInitial(task_id, _address(counterparty)))

    def challenge(self, signed: SignedState, info: ChannelInfo) -> TxReceipt:
        return self._send(self.contract.functions.challenge(*self._signed_args(signed, info)))

    def settle(self, state: ChannelState, info: ChannelInfo) -> TxReceipt:
        return self._send(self.contract.functions.settle(state.as_tuple(), info.party_a, info.party_b))

    # ------------------------------------------------------------------ reads

    def channel(self, channel_id: bytes) -> dict[str, Any]:
        """The stored record: depositA, depositB, deadline, status, openedByB, stateHash, nonce."""
        raw = self.contract.functions.getChannel(channel_id).call()
        keys = ("depositA", "depositB", "deadline", "status", "openedByB", "stateHash", "nonce")
        return dict(zip(keys, raw, strict=True))

"""Sending transactions from a local key: nonces, fees, gas, signing, receipts, named reverts.

:class:`TransactionSender` is what agents use to change chain state::

    sender = TransactionSender(w3, account, deployments=deps)
    receipt = sender.send(coin.functions.transfer(bob, 10))
    address, receipt = sender.deploy(abi, bytecode, 1000)

A call that would revert is caught at gas estimation and raised as
:class:`~offchain.chain.errors.ContractRevert` carrying the decoded Solidity error name and args
(e.g. ``TooLarge(value=5, max=3)``), so no gas is wasted and users see named errors.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.types import TxParams, TxReceipt, Wei

from offchain.chain.deployments import Deployments
from offchain.chain.errors import (
    ContractRevert,
    TransactionFailed,
    decode_revert,
    revert_data_from_exception,
)

__all__ = ["ContractCall", "TransactionSender"]

log = logging.getLogger(__name__)

ContractCall = ContractFunction | ContractConstructor
"""What :meth:`TransactionSender.send` accepts: ``c.functions.f(...)`` or ``C.constructor(...)``."""

T = TypeVar("T")

# Messages nodes (anvil, geth, reth, nethermind) use when the nonce we used is stale or the very
# same transaction was already received.
_NONCE_ERRORS = (
    "nonce too low",
    "already known",
    "already imported",
    "known transaction",
    "nonce has already",
)

DEFAULT_PRIORITY_FEE = Wei(1_000_000_000)  # 1 gwei, used when the node cannot suggest one


@dataclass
class _Pending:
    """A signed and submitted transaction waiting for its receipt."""

    tx_hash: HexBytes
    tx: TxParams
    label: str
    abi: list[Any]


def _is_nonce_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _NONCE_ERRORS)


class TransactionSender:
    """Signs transactions locally with ``account`` and sends them to ``w3``.

    * nonces: the ``pending`` nonce is fetched once, then incremented locally under a lock (safe to
      share between threads); on "nonce too low"/"already known" the nonce is resynced from the node
      and the send retried once; after any other send failure the next send resyncs;
    * fees: EIP-1559, ``maxFeePerGas = 2 * latest base fee + priority fee`` (devnets with base fee 0
      simply pay the priority fee; pre-London nodes get a legacy ``gasPrice``);
    * gas: ``estimate_gas * gas_multiplier`` unless given; a reverting estimate raises
      :class:`ContractRevert` with the decoded error;
    * transient connection errors (``OSError``: connection refused/reset, timeouts) are retried
      ``max_retries`` times with exponential backoff;
    * a mined transaction with status 0 raises :class:`TransactionFailed`, with the revert reason
      recovered by replaying it with ``eth_call`` at its block when possible.

    ``deployments`` (optional) names contracts in error messages and lends all their ABIs to the
    revert decoder, so custom errors bubbling up from other contracts are decoded too.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        deployments: Deployments | None = None,
        priority_fee: int | None = None,
        gas_multiplier: float = 1.2,
        receipt_timeout: float = 120.0,
        poll_latency: float = 0.05,
        max_retries: int = 3,
        backoff: float = 0.2,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.deployments = deployments
        self.priority_fee = priority_fee
        self.gas_multiplier = gas_multiplier
        self.receipt_timeout = receipt_timeout
        self.poll_latency = poll_latency
        self.max_retries = max_retries
        self.backoff = backoff
        self._lock = threading.Lock()
        self._nonce: int | None = None
        self._chain_id: int | None = None
        self._extra_abis: list[list[Any]] = []

    # --- public API ---------------------------------------------------------------------------

    @property
    def address(self) -> ChecksumAddress:
        """The sending account's address."""
        return self.account.address

    def register_abi(self, abi: Sequence[Mapping[str, Any]]) -> None:
        """Make the custom errors of ``abi`` known to the revert decoder (e.g. libraries, callees)."""
        self._extra_abis.append(list(abi))

    def reset_nonce(self) -> None:
        """Forget the local nonce; the next send fetches the ``pending`` nonce from the node."""
        with self._lock:
            self._nonce = None

    def send(
        self, contract_function_call: ContractCall, *, value: int = 0, gas: int | None = None
    ) -> TxReceipt:
        """Send one transaction and wait for its receipt.

        Raises :class:`ContractRevert` if it would revert (gas estimation) and
        :class:`TransactionFailed` if it could not be sent, was not mined within
        ``receipt_timeout``, or was mined with status 0.
        """
        pending = self._submit(contract_function_call, value=value, gas=gas, fees=None)
        return self._wait(pending)

    def send_many(self, calls: Iterable[ContractCall]) -> list[TxReceipt]:
        """Send all ``calls`` first (consecutive nonces, pipelined), then wait for all receipts.

        Gas is estimated for each call against the current state, before earlier calls of the batch
        are mined; pass calls whose gas does not depend on each other, or use :meth:`send`.
        Receipts are returned in the order of ``calls``. If a call fails before being sent (e.g. its
        estimate reverts), the exception propagates and the calls already sent may still be mined.
        """
        fees = self._retry(self._fee_fields, "fee lookup")
        pendings = [self._submit(call, value=0, gas=None, fees=fees) for call in calls]
        return [self._wait(p) for p in pendings]

    def deploy(
        self,
        abi: Sequence[Mapping[str, Any]],
        bytecode: str | bytes,
        *args: Any,
        value: int = 0,
        gas: int | None = None,
    ) -> tuple[ChecksumAddress, TxReceipt]:
        """Deploy a contract (constructor ``args``); returns its address and the receipt."""
        factory = self.w3.eth.contract(abi=list(abi), bytecode=bytecode)
        receipt = self.send(factory.constructor(*args), value=value, gas=gas)
        address = receipt["contractAddress"]
        if address is None:  # pragma: no cover - a successful creation always has one
            raise TransactionFailed("deployment receipt has no contract address", receipt=receipt)
        log.info("deployed contract at %s (block %d)", address, receipt["blockNumber"])
        return address, receipt

    # --- internals ----------------------------------------------------------------------------

    def _retry(self, op: Callable[[], T], what: str) -> T:
        """Run ``op``, retrying transient connection errors with bounded exponential backoff."""
        for attempt in range(self.max_retries + 1):
            try:
                return op()
            except OSError as exc:  # requests' ConnectionError/Timeout derive from OSError
                if attempt >= self.max_retries:
                    raise TransactionFailed(f"{what} failed after {attempt + 1} attempts: {exc}") from exc
                delay = self.backoff * (2**attempt)
                log.warning("%s: transient error %s, retrying in %.2fs", what, exc, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _chain(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._retry(lambda: self.w3.eth.chain_id, "chain id lookup")
        return self._chain_id

    def _suggested_priority_fee(self) -> int:
        if self.priority_fee is not None:
            return self.priority_fee
        try:
            return int(self.w3.eth.max_priority_fee)
        except (Web3RPCError, ValueError):
            return DEFAULT_PRIORITY_FEE

    def _fee_fields(self) -> dict[str, int]:
        block = self.w3.eth.get_block("latest")
        base_fee = block.get("baseFeePerGas")
        if base_fee is None:  # pre-London chain
            return {"gasPrice": int(self.w3.eth.gas_price)}
        priority = self._suggested_priority_fee()
        # base fee 0 (devnets): max fee = priority fee, which may be 0 too; both are valid there.
        return {"maxFeePerGas": 2 * int(base_fee) + priority, "maxPriorityFeePerGas": priority}

    def _describe(self, call: ContractCall) -> tuple[str, list[Any]]:
        """Label for messages (contract name or address, plus function) and ABIs for decoding."""
        abis: list[Any] = []
        if isinstance(call, ContractConstructor):
            label = "constructor"
            abis.append(list(call.abi))
        else:
            name = self.deployments.name_of(call.address) if self.deployments else None
            label = f"{name or call.address}.{call.fn_name}"
            abis.append(list(call.contract_abi or []))
        if self.deployments is not None:
            abis.extend(info.abi for info in self.deployments.contracts.values())
        abis.extend(self._extra_abis)
        return label, abis

    def _revert_from(
        self, exc: BaseException, label: str, abis: list[Any], tx_hash: str | None
    ) -> ContractRevert | None:
        data = revert_data_from_exception(exc)
        if data is None:
            message = getattr(exc, "message", None) or str(exc)
            if isinstance(exc, ContractLogicError):  # a revert without data we could parse
                return ContractRevert(label, "Error", {"message": str(message)}, tx_hash)
            return None
        name, args = decode_revert(abis, data)
        return ContractRevert(label, name, args, tx_hash, data=data)

    def _estimate(self, call: ContractCall, base: TxParams, label: str, abis: list[Any]) -> int:
        try:
            estimate = self._retry(lambda: call.estimate_gas(base), f"{label}: gas estimation")
        except (ContractLogicError, Web3RPCError) as exc:
            revert = self._revert_from(exc, label, abis, None)
            if revert is not None:
                raise revert from exc
            raise TransactionFailed(f"{label}: gas estimation failed: {exc}") from exc
        return int(estimate * self.gas_multiplier)

    def _submit(
        self, call: ContractCall, *, value: int, gas: int | None, fees: dict[str, int] | None
    ) -> _Pending:
        label, abis = self._describe(call)
        chain_id = self._chain()
        fee_fields = fees if fees is not None else self._retry(self._fee_fields, "fee lookup")
        base = cast(TxParams, {"from": self.address, "value": Wei(value), "chainId": chain_id})
        gas_limit = gas if gas is not None else self._estimate(call, base, label, abis)

        with self._lock:
            resynced = False
            for _ in range(2):  # first try, then at most one resync + retry
                if self._nonce is None:
                    self._nonce = self._retry(
                        lambda: self.w3.eth.get_transaction_count(self.address, "pending"), "nonce lookup"
                    )
                    resynced = True
                nonce = self._nonce
                tx = call.build_transaction(
                    cast(TxParams, {**base, **fee_fields, "gas": gas_limit, "nonce": nonce})
                )
                signed = self.account.sign_transaction(cast(dict[str, Any], tx))
                try:
                    tx_hash = self._send_raw(signed.raw_transaction, signed.hash)
                except Web3RPCError as exc:
                    if _is_nonce_error(exc) and not resynced:
                        log.info("%s: %s at nonce %d, resyncing nonce from node", label, exc, nonce)
                        self._nonce = None
                        continue
                    self._nonce = None  # unknown state: resync on the next send
                    revert = self._revert_from(exc, label, abis, None)
                    if revert is not None and revert.data:
                        raise revert from exc
                    raise TransactionFailed(f"{label}: node rejected the transaction: {exc}") from exc
                except TransactionFailed:
                    self._nonce = None
                    raise
                self._nonce = nonce + 1
                log.debug("%s: sent %s (nonce %d)", label, tx_hash.to_0x_hex(), nonce)
                return _Pending(tx_hash, tx, label, abis)
        raise TransactionFailed(f"{label}: nonce still rejected after resyncing from the node")

    def _send_raw(self, raw: bytes, expected_hash: bytes) -> HexBytes:
        """Send a signed transaction, retrying transient errors; a resend the node already has is fine."""
        for attempt in range(self.max_retries + 1):
            try:
                return self.w3.eth.send_raw_transaction(raw)
            except OSError as exc:
                if attempt >= self.max_retries:
                    raise TransactionFailed(f"sending failed after {attempt + 1} attempts: {exc}") from exc
                delay = self.backoff * (2**attempt)
                log.warning("send: transient error %s, retrying in %.2fs", exc, delay)
                time.sleep(delay)
            except Web3RPCError as exc:
                # After a lost answer, our own transaction may already be in the pool or mined.
                if attempt > 0 and _is_nonce_error(exc) and self._node_knows(expected_hash):
                    return HexBytes(expected_hash)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _node_knows(self, tx_hash: bytes) -> bool:
        try:
            self.w3.eth.get_transaction(HexStr("0x" + bytes(tx_hash).hex()))
        except (TransactionNotFound, Web3RPCError, OSError):
            return False
        return True

    def _wait(self, pending: _Pending) -> TxReceipt:
        hex_hash = pending.tx_hash.to_0x_hex()
        try:
            receipt = self._retry(
                lambda: self.w3.eth.wait_for_transaction_receipt(
                    pending.tx_hash, timeout=self.receipt_timeout, poll_latency=self.poll_latency
                ),
                f"{pending.label}: waiting for {hex_hash}",
            )
        except TimeExhausted as exc:
            raise TransactionFailed(
                f"{pending.label}: transaction {hex_hash} not mined within {self.receipt_timeout:.0f}s",
                tx_hash=hex_hash,
            ) from exc
        if receipt["status"] == 1:
            return receipt
        revert = self._replay(pending, receipt, hex_hash)
        reason = f": {revert.error_name}" if revert else ""
        detail = f" ({revert})" if revert else " (revert reason not recoverable)"
        raise TransactionFailed(
            f"{pending.label}: transaction {hex_hash} failed in block {receipt['blockNumber']}"
            f"{reason}{detail}",
            tx_hash=hex_hash,
            receipt=receipt,
            revert=revert,
        )

    def _replay(self, pending: _Pending, receipt: TxReceipt, hex_hash: str) -> ContractRevert | None:
        """Re-run a failed transaction with ``eth_call`` at its block to recover the revert reason.

        The call runs on the state at the end of that block, which matches the transaction's view
        when it was the last (or only, as on automining devnets) state change of the block.
        """
        call = {k: v for k, v in pending.tx.items() if k in ("from", "to", "data", "value", "gas")}
        revert: ContractRevert | None = None
        try:
            self.w3.eth.call(cast(TxParams, call), block_identifier=receipt["blockNumber"])
        except (ContractLogicError, Web3RPCError) as exc:
            revert = self._revert_from(exc, pending.label, pending.abi, hex_hash)
        except OSError:
            pass
        if revert is None and int(receipt["gasUsed"]) >= int(pending.tx.get("gas", 0) or 0):
            # all gas used and no revert data: the gas limit was too low (estimates are made against
            # the state before earlier pending transactions, which may change the cost)
            revert = ContractRevert(pending.label, "OutOfGas", {"gas_limit": receipt["gasUsed"]}, hex_hash)
        return revert

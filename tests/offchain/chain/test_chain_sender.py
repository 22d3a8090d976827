"""TransactionSender against a private anvil: deploy, send, named reverts, nonces, failed receipts."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from offchain.chain import ContractRevert, Deployments, TransactionFailed, TransactionSender


def test_deploy_sets_constructor_state(w3: Web3, probe: Contract) -> None:
    assert w3.eth.get_code(probe.address) != b""
    assert probe.functions.value().call() == 7


def test_send_returns_successful_receipt(w3: Web3, sender: TransactionSender, probe: Contract) -> None:
    receipt = sender.send(probe.functions.store(42))
    assert receipt["status"] == 1
    assert receipt["to"] == probe.address
    assert probe.functions.value().call() == 42
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    assert tx["type"] == 2  # EIP-1559
    assert tx["gas"] > receipt["gasUsed"]  # estimate * 1.2


def test_custom_error_surfaces_as_contract_revert(sender: TransactionSender, probe: Contract) -> None:
    with pytest.raises(ContractRevert) as info:
        sender.send(probe.functions.store(1000))
    assert info.value.error_name == "TooLarge"
    assert info.value.error_args == {"value": 1000, "max": 100}
    assert info.value.tx_hash is None  # caught at estimation, nothing sent
    assert "TooLarge(value=1000, max=100)" in str(info.value)


def test_contract_label_uses_deployment_name(
    w3: Web3, dev_keys: list[LocalAccount], probe: Contract, probe_artifact: dict[str, Any]
) -> None:
    deps = Deployments(network="test", chain_id=31337, rpc_url="http://x")
    deps.add("Probe", probe.address, probe_artifact["abi"])
    named = TransactionSender(w3, dev_keys[0], deployments=deps)
    with pytest.raises(ContractRevert) as info:
        named.send(probe.functions.store(101))
    assert str(info.value).startswith("Probe.store reverted with TooLarge")


def test_require_string_decodes_as_error(sender: TransactionSender, probe: Contract) -> None:
    with pytest.raises(ContractRevert) as info:
        sender.send(probe.functions.requirePositive(0))
    assert info.value.error_name == "Error"
    assert info.value.error_args == {"message": "must be positive"}


def test_division_by_zero_decodes_as_panic(sender: TransactionSender, probe: Contract) -> None:
    with pytest.raises(ContractRevert) as info:
        sender.send(probe.functions.divide(1, 0))
    assert info.value.error_name == "Panic"
    assert info.value.error_args["code"] == 0x12
    assert "division" in info.value.error_args["meaning"]


def test_complex_custom_error_args(sender: TransactionSender, probe: Contract) -> None:
    with pytest.raises(ContractRevert) as info:
        sender.send(probe.functions.nested([1, 2, 3]))
    assert info.value.error_name == "Nested"
    assert info.value.error_args["who"] == sender.address
    assert list(info.value.error_args["values"]) == [1, 2, 3]
    assert info.value.error_args["tag"] == Web3.keccak(text="tag")


def test_bare_revert_is_unknown_error(sender: TransactionSender, probe: Contract) -> None:
    with pytest.raises(ContractRevert) as info:
        sender.send(probe.functions.bare())
    assert info.value.error_name == "UnknownError"
    assert info.value.error_args == {"data": "0x"}


def test_mined_failure_raises_transaction_failed_with_reason(
    w3: Web3, sender: TransactionSender, probe: Contract
) -> None:
    with pytest.raises(TransactionFailed) as info:
        sender.send(probe.functions.store(500), gas=200_000)  # explicit gas: no estimate, tx is mined
    failed = info.value
    assert failed.receipt is not None
    assert failed.receipt["status"] == 0
    assert failed.error_name == "TooLarge"
    assert failed.revert is not None
    assert failed.revert.error_args == {"value": 500, "max": 100}
    assert failed.revert.tx_hash == failed.tx_hash
    # the sender's nonce advanced past the failed (but mined) transaction
    assert sender.send(probe.functions.store(3))["status"] == 1


def test_send_many_pipelines_consecutive_nonces(
    w3: Web3, dev_keys: list[LocalAccount], probe: Contract
) -> None:
    bulk = TransactionSender(w3, dev_keys[2], receipt_timeout=60)
    start_nonce = w3.eth.get_transaction_count(bulk.address, "pending")
    receipts = bulk.send_many([probe.functions.store(i % 100) for i in range(50)])
    assert len(receipts) == 50
    assert all(r["status"] == 1 for r in receipts)
    nonces = [w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts]
    assert nonces == list(range(start_nonce, start_nonce + 50))
    assert w3.eth.get_transaction_count(bulk.address) == start_nonce + 50


def test_concurrent_sends_from_threads(w3: Web3, dev_keys: list[LocalAccount], probe: Contract) -> None:
    shared = TransactionSender(w3, dev_keys[3], receipt_timeout=60)
    start_nonce = w3.eth.get_transaction_count(shared.address, "pending")
    receipts: list[Any] = []
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(5):
                receipts.append(shared.send(probe.functions.store(k * 10 + i + 1)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    nonces = sorted(w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts)
    assert nonces == list(range(start_nonce, start_nonce + 20))


def test_nonce_resync_after_external_transaction(
    w3: Web3, dev_keys: list[LocalAccount], probe: Contract, caplog: pytest.LogCaptureFixture
) -> None:
    account = dev_keys[4]
    own = TransactionSender(w3, account, receipt_timeout=30)
    first = own.send(probe.functions.store(1))
    first_nonce = w3.eth.get_transaction(first["transactionHash"])["nonce"]

    # Someone else (another process holding the same key) uses the next nonce behind our back.
    external = account.sign_transaction(
        {
            "to": dev_keys[5].address,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 1,
            "maxPriorityFeePerGas": 1,
            "nonce": first_nonce + 1,
            "chainId": w3.eth.chain_id,
        }
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(external.raw_transaction), timeout=10)

    with caplog.at_level(logging.INFO, logger="offchain.chain.sender"):
        receipt = own.send(probe.functions.store(2))  # local nonce is stale: resync and retry once
    assert "resyncing nonce" in caplog.text
    assert receipt["status"] == 1
    assert w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == first_nonce + 2


def test_reset_nonce_and_zero_priority_fee(w3: Web3, dev_keys: list[LocalAccount], probe: Contract) -> None:
    cheap = TransactionSender(w3, dev_keys[6], priority_fee=0)
    receipt = cheap.send(probe.functions.store(9))
    assert receipt["status"] == 1
    cheap.reset_nonce()
    assert cheap.send(probe.functions.store(10))["status"] == 1


def test_out_of_gas_is_named(sender: TransactionSender, probe: Contract) -> None:
    with pytest.raises(TransactionFailed) as info:
        sender.send(probe.functions.store(5), gas=30_000)
    assert info.value.error_name == "OutOfGas"


def test_deploy_with_value_rejected_constructor(
    sender: TransactionSender, probe_artifact: dict[str, Any]
) -> None:
    # the constructor is not payable: sending value reverts at estimation (no data → unknown error)
    with pytest.raises(ContractRevert) as info:
        sender.deploy(probe_artifact["abi"], probe_artifact["bytecode"], 1, value=1)
    assert info.value.contract == "constructor"

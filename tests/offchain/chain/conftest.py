"""Fixtures of the chain-layer tests: a private anvil (through ``Devnet``) and a small probe contract.

The anvil runs on a free port, never 8545, so these tests coexist with the anvil that the Ape pytest
plugin starts for the contract tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import solcx
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from offchain.chain import Devnet, TransactionSender, connect, dev_accounts
from offchain.chain.devnet import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
SOLC = REPO_ROOT / ".tools" / "solcx" / "solc-v0.8.30"

PROBE_SOURCE = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Exercises every revert flavour the chain layer decodes, and emits an event.
contract Probe {
    error TooLarge(uint256 value, uint256 max);
    error Nested(address who, uint256[] values, bytes32 tag);

    event Stored(address indexed by, uint256 value, uint256 seq);

    uint256 public constant MAX = 100;
    uint256 public value;
    uint256 public seq;

    constructor(uint256 initial) {
        value = initial;
    }

    function store(uint256 v) external {
        if (v > MAX) revert TooLarge(v, MAX);
        value = v;
        seq += 1;
        emit Stored(msg.sender, v, seq);
    }

    function requirePositive(uint256 v) external {
        require(v > 0, "must be positive");
        value = v;
    }

    function divide(uint256 a, uint256 b) external returns (uint256) {
        value = a / b;
        return value;
    }

    function nested(uint256[] calldata values) external view {
        revert Nested(msg.sender, values, keccak256("tag"));
    }

    function bare() external pure {
        revert();
    }
}
"""


@pytest.fixture(scope="session")
def port_factory() -> Callable[[], int]:
    """Returns free ports on demand (for nodes the test starts itself, or dead URLs)."""
    return free_port


@pytest.fixture(scope="session")
def probe_artifact() -> dict[str, Any]:
    """ABI and bytecode of the probe contract, compiled once per session."""
    output = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"Probe.sol": {"content": PROBE_SOURCE}},
            "settings": {
                "evmVersion": "prague",
                "optimizer": {"enabled": True, "runs": 200},
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
            },
        },
        solc_binary=str(SOLC),
    )
    compiled = output["contracts"]["Probe.sol"]["Probe"]
    return {"abi": compiled["abi"], "bytecode": "0x" + compiled["evm"]["bytecode"]["object"]}


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """A private anvil for this test module, on a free port."""
    net = Devnet(port=free_port(), state_dir=tmp_path_factory.mktemp("devnet"))
    net.start(stop_at_exit=True)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="module")
def w3(devnet: Devnet) -> Web3:
    return connect(devnet.rpc_url, expected_chain_id=devnet.chain_id, timeout=10)


@pytest.fixture(scope="module")
def dev_keys(devnet: Devnet) -> list[LocalAccount]:
    """The devnet's funded accounts with their private keys."""
    return dev_accounts(devnet.mnemonic, devnet.accounts)


@pytest.fixture(scope="module")
def sender(w3: Web3, dev_keys: list[LocalAccount]) -> TransactionSender:
    return TransactionSender(w3, dev_keys[0], receipt_timeout=30)


@pytest.fixture(scope="module")
def probe(w3: Web3, sender: TransactionSender, probe_artifact: dict[str, Any]) -> Contract:
    """A freshly deployed probe contract (constructor argument 7)."""
    address, _ = sender.deploy(probe_artifact["abi"], probe_artifact["bytecode"], 7)
    return w3.eth.contract(address=address, abi=probe_artifact["abi"])

"""Deployments file models, connect() and contract() binding."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from web3 import Web3
from web3.contract import Contract

from offchain.chain import (
    ChainError,
    ChainIdMismatch,
    ChainUnavailable,
    DeploymentNotFound,
    Deployments,
    DeploymentsFileNotFound,
    Devnet,
    connect,
    contract,
    load_deployments,
)

ADDR = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "value", "inputs": [], "outputs": [{"type": "uint256", "name": ""}],
     "stateMutability": "view"}
]  # fmt: skip


def _sample() -> Deployments:
    deps = Deployments(network="local", chain_id=31337, rpc_url="http://127.0.0.1:8545")
    deps.add("MetaCoin", ADDR, ABI, block=3, tx_hash="0x" + "ab" * 32)
    deps.add("RSC", "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", ABI, block=4)
    return deps


def test_save_load_round_trip(tmp_path: Path) -> None:
    deps = _sample()
    path = deps.save(tmp_path / "deployments" / "local.json")
    raw = json.loads(path.read_text())
    assert raw["network"] == "local"
    assert raw["contracts"]["MetaCoin"]["address"] == Web3.to_checksum_address(ADDR)
    assert set(raw) == {"network", "chain_id", "rpc_url", "deployed_at", "contracts"}

    by_name = load_deployments("local", root=tmp_path / "deployments")
    by_path = load_deployments(path)
    assert by_name == deps == by_path
    assert by_name.contract_info("MetaCoin").block == 3
    assert by_name.address("RSC") == "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
    assert by_name.name_of(ADDR) == "MetaCoin"
    assert by_name.name_of("0x" + "00" * 20) is None
    assert not list(path.parent.glob("*.tmp"))  # atomic write left nothing behind


def test_unknown_contract_lists_known_names() -> None:
    with pytest.raises(DeploymentNotFound) as info:
        _sample().contract_info("Nope")
    message = str(info.value)
    assert "'Nope'" in message
    assert "MetaCoin, RSC" in message
    assert isinstance(info.value, ChainError)


def test_missing_file_tells_how_to_deploy(tmp_path: Path) -> None:
    with pytest.raises(DeploymentsFileNotFound) as info:
        load_deployments("sepolia", root=tmp_path)
    assert "make deploy" in str(info.value)
    assert "metatrust deploy" in str(info.value)
    assert str(tmp_path / "sepolia.json") in str(info.value)
    assert isinstance(info.value, DeploymentNotFound)
    assert isinstance(info.value, FileNotFoundError)


def test_invalid_file_and_bad_address(tmp_path: Path) -> None:
    bad = tmp_path / "local.json"
    bad.write_text('{"network": "local"}')
    with pytest.raises(DeploymentNotFound, match="invalid"):
        load_deployments(bad)
    with pytest.raises(ValidationError, match="not an Ethereum address"):
        _sample().add("X", "0x1234", ABI)


def test_connect_dead_port_is_quick_and_clear(port_factory: Callable[[], int]) -> None:
    url = f"http://127.0.0.1:{port_factory()}"
    began = time.monotonic()
    with pytest.raises(ChainUnavailable) as info:
        connect(url, timeout=2)
    assert time.monotonic() - began < 5
    assert url in str(info.value)
    assert "devnet up" in str(info.value)


def test_connect_uses_env_default(monkeypatch: pytest.MonkeyPatch, port_factory: Callable[[], int]) -> None:
    url = f"http://127.0.0.1:{port_factory()}"
    monkeypatch.setenv("METATRUST_RPC_URL", url)
    with pytest.raises(ChainUnavailable, match=url):
        connect(timeout=2)


def test_connect_checks_chain_id(devnet: Devnet) -> None:
    assert connect(devnet.rpc_url, expected_chain_id=31337).eth.chain_id == 31337
    with pytest.raises(ChainIdMismatch, match="expected 1"):
        connect(devnet.rpc_url, expected_chain_id=1)


def test_contract_binds_deployed_address(w3: Web3, probe: Contract, probe_artifact: dict[str, Any]) -> None:
    deps = Deployments(network="t", chain_id=31337, rpc_url="http://x")
    deps.add("Probe", probe.address, probe_artifact["abi"])
    bound = contract(w3, deps, "Probe")
    assert bound.address == probe.address
    assert bound.functions.MAX().call() == 100
    with pytest.raises(DeploymentNotFound, match="known contracts: Probe"):
        contract(w3, deps, "MetaCoin")

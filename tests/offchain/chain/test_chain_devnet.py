"""Devnet lifecycle: start/stop, already-running detection, busy port, dev accounts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from offchain.chain import (
    ChainUnavailable,
    Devnet,
    DevnetAlreadyRunning,
    DevnetError,
    TransactionSender,
    connect,
    dev_accounts,
    devnet_down,
    devnet_up,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_dev_accounts_match_anvil(w3: Web3) -> None:
    keys = dev_accounts(n=3)
    assert keys[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert [k.address for k in keys] == w3.eth.accounts[:3]
    assert len(dev_accounts(n=10)) == 10


def test_devnet_detects_running_and_stop_cleans_up(tmp_path: Path, port_factory: Callable[[], int]) -> None:
    net = Devnet(port=port_factory(), state_dir=tmp_path, chain_id=4242, accounts=2)
    with net:
        pid = net.recorded_pid()
        assert pid is not None
        assert net.is_running()
        assert net.pid_file.is_file()
        assert net.log_file.is_file()
        assert connect(net.rpc_url).eth.chain_id == 4242
        assert len(connect(net.rpc_url).eth.accounts) == 2

        twin = Devnet(port=port_factory(), state_dir=tmp_path)
        with pytest.raises(DevnetAlreadyRunning) as info:
            twin.start()
        assert info.value.pid == pid
        assert info.value.rpc_url == net.rpc_url  # the URL of the running one, read from the pid file

        status = devnet_up(port=net.port, state_dir=tmp_path)
        assert not status.changed
        assert "already running" in status.message
        assert status.pid == pid
    assert not net.pid_file.exists()
    assert not _alive(pid)
    assert not net.is_running()
    assert net.stop() is False  # idempotent
    with pytest.raises(ChainUnavailable):
        connect(net.rpc_url, timeout=2)


def test_devnet_up_down(tmp_path: Path, port_factory: Callable[[], int]) -> None:
    port = port_factory()
    up = devnet_up(port=port, state_dir=tmp_path)
    try:
        assert up.changed
        assert up.pid is not None
        assert up.rpc_url == f"http://127.0.0.1:{port}"
        assert connect(up.rpc_url).eth.chain_id == 31337
    finally:
        down = devnet_down(state_dir=tmp_path)
    assert down.changed
    assert down.pid == up.pid
    assert not (tmp_path / Devnet.PID_FILE).exists()
    assert not devnet_down(state_dir=tmp_path).changed


def test_devnet_up_outlives_the_starting_process(tmp_path: Path, port_factory: Callable[[], int]) -> None:
    """What `metatrust devnet up` relies on: the CLI process exits, anvil keeps running."""
    port = port_factory()
    script = (
        "import sys; from pathlib import Path; from offchain.chain import devnet_up; "
        "print(devnet_up(port=int(sys.argv[1]), state_dir=Path(sys.argv[2])).message)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(port), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "devnet started" in done.stdout
    try:
        assert Devnet(port=port, state_dir=tmp_path).is_running()
        assert connect(f"http://127.0.0.1:{port}").eth.chain_id == 31337
    finally:
        assert devnet_down(state_dir=tmp_path).changed
    assert not Devnet(port=port, state_dir=tmp_path).is_running()


def test_stale_pid_file_is_ignored(tmp_path: Path) -> None:
    net = Devnet(state_dir=tmp_path)
    net.pid_file.write_text("999999999 http://127.0.0.1:1\n")
    assert not net.is_running()
    assert not net.pid_file.exists()


def test_busy_port_is_reported(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(DevnetError, match="busy"):
            Devnet(port=port, state_dir=tmp_path).start()
    assert not (tmp_path / Devnet.PID_FILE).exists()


def test_missing_anvil_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METATRUST_ANVIL", str(tmp_path / "no-such-anvil"))
    with pytest.raises(DevnetError):
        Devnet(port=1, state_dir=tmp_path).start()


def test_sender_on_zero_base_fee_devnet(
    tmp_path: Path, port_factory: Callable[[], int], probe_artifact: dict[str, Any]
) -> None:
    """Devnets configured like Ape's (base fee 0, priority fee 0) accept our fee fields."""
    with Devnet(port=port_factory(), state_dir=tmp_path, extra_args=("--base-fee", "0")) as net:
        w3 = connect(net.rpc_url)
        assert w3.eth.get_block("latest")["baseFeePerGas"] == 0
        for priority_fee in (0, None):
            sender = TransactionSender(w3, dev_accounts(n=1)[0], priority_fee=priority_fee)
            address, receipt = sender.deploy(probe_artifact["abi"], probe_artifact["bytecode"], 1)
            assert receipt["status"] == 1
            probe = w3.eth.contract(address=address, abi=probe_artifact["abi"])
            assert sender.send(probe.functions.store(5))["status"] == 1

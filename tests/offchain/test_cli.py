"""The metatrust command: devnet lifecycle, argument errors, agent start-up errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from offchain import cli
from offchain.chain.devnet import free_port
from offchain.crypto.keys import generate, save_keystore

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(cli.app, ["--help"])
    assert result.exit_code == 0
    for command in ("devnet", "deploy", "demo", "gas", "agent"):
        assert command in result.output


def test_devnet_up_status_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    port = str(free_port())
    try:
        up = runner.invoke(cli.app, ["devnet", "up", "--port", port])
        assert up.exit_code == 0, up.output
        assert f"127.0.0.1:{port}" in up.output
        again = runner.invoke(cli.app, ["devnet", "up", "--port", port])
        assert "already running" in again.output
        status = runner.invoke(cli.app, ["devnet", "status", "--port", port])
        assert status.exit_code == 0
        assert "chain id 31337" in status.output
    finally:
        down = runner.invoke(cli.app, ["devnet", "down", "--port", port])
    assert "stopped" in down.output
    assert runner.invoke(cli.app, ["devnet", "status", "--port", port]).exit_code == 1


def test_agent_run_rejects_an_unknown_role(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["agent", "run", "bogus", "--keystore", str(tmp_path / "k.json")])
    assert result.exit_code == 2
    assert "unknown role" in result.output


def test_agent_run_needs_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METATRUST_KEYSTORE_PASSWORD", raising=False)
    result = runner.invoke(cli.app, ["agent", "run", "csn", "--keystore", str(tmp_path / "k.json")])
    assert result.exit_code == 2
    assert "METATRUST_KEYSTORE_PASSWORD" in result.output


def test_known_failures_end_with_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keystore = save_keystore(generate(), tmp_path / "key.json", "right", kdf="pbkdf2", iterations=2)
    monkeypatch.setenv("METATRUST_KEYSTORE_PASSWORD", "wrong")
    monkeypatch.setattr("sys.argv", ["metatrust", "agent", "run", "csn", "--keystore", str(keystore)])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    assert "wrong password" in capsys.readouterr().out

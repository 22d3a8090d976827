"""``metatrust outsource enclave run``: help text, argument errors, and the arguments it hands to
``python -m offchain.outsourcing.enclave``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from offchain import cli
from offchain.outsourcing.enclave import __main__ as enclave_module

runner = CliRunner()


def test_outsource_group_keeps_its_options_and_lists_enclave() -> None:
    result = runner.invoke(cli.app, ["outsource", "--help"])
    assert result.exit_code == 0, result.output
    for text in ("--k", "--cheat", "enclave"):
        assert text in result.output
    result = runner.invoke(cli.app, ["outsource", "enclave", "run", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--keystore", "--password-file", "--deployments", "--member-timeout", "--poll-interval"):
        assert option in result.output


def test_enclave_run_refuses_missing_files(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["outsource", "enclave", "run"])
    assert result.exit_code == 2
    assert "--keystore" in result.output
    missing = tmp_path / "absent.json"
    result = runner.invoke(
        cli.app,
        ["outsource", "enclave", "run", "--keystore", str(missing), "--password-file", str(missing)],
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_enclave_run_hands_its_arguments_to_the_enclave_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {name: tmp_path / name for name in ("key.json", "password", "deployments.json")}
    for path in files.values():
        path.write_text("{}")
    seen: list[list[str]] = []
    monkeypatch.setattr(enclave_module, "main", lambda argv=None: seen.append(list(argv or [])))
    result = runner.invoke(
        cli.app,
        [
            "outsource", "enclave", "run", "--keystore", str(files["key.json"]), "--password-file",
            str(files["password"]), "--deployments", str(files["deployments.json"]), "--port", "8123",
            "--rpc-url", "http://127.0.0.1:9",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (argv,) = seen
    arguments = enclave_module._arguments(argv)  # the module's own parser accepts them
    assert arguments.keystore == files["key.json"]
    assert arguments.password_file == files["password"]
    assert arguments.deployments == files["deployments.json"]
    assert (arguments.port, arguments.host, arguments.rpc_url) == (8123, "127.0.0.1", "http://127.0.0.1:9")
    assert (arguments.member_timeout, arguments.poll_interval) == (4.0, 0.3)

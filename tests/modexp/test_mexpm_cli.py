"""``metatrust modexp run`` against the test devnet: a forged result rejected and refunded, a malicious
vehicle defeated by the server's dispute, and the gas report written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from offchain import cli
from offchain.deploy import Deployment, deploy_modexp, write_deployments

runner = CliRunner()


@pytest.fixture(scope="module")
def deployments_file(
    project: Any, deployer: Any, platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any
) -> Path:
    deploy_modexp(project, deployer, platform)
    return write_deployments(platform, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))


def test_modexp_run_with_a_cheating_server_and_a_malicious_vehicle(
    deployments_file: Path, tmp_path: Path
) -> None:
    # In the tests the auditor is account 1 and the MTC pools are accounts 2-5 (see tests/conftest.py).
    args = ["modexp", "run", "--n", "2", "--cheat", "--malicious-iv", "--deployments", str(deployments_file)]
    args += ["--out", str(tmp_path), "--auditor-index", "1", "--funder-index", "2"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # rich wraps lines at the terminal width
    assert "rejection upheld" in output
    assert "the server disputed" in output
    gas = (tmp_path / "market_flow_gas.csv").read_text()
    assert "forged/iv,finalizeRejection" in gas
    assert "malicious-iv/server,disputeRejection" in gas
    assert (tmp_path / "market_flow_gas.md").exists()


def test_modexp_run_refuses_a_deployment_without_the_market(tmp_path: Path) -> None:
    path = tmp_path / "local.json"
    path.write_text(
        '{"network": "local", "chain_id": 31337, "rpc_url": "http://127.0.0.1:1", "contracts": {}}'
    )
    result = runner.invoke(cli.app, ["modexp", "run", "--deployments", str(path)])
    assert result.exit_code != 0
    assert "MExpmMarket" in str(result.exception) or "MExpmMarket" in result.output

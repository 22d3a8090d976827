"""Shared fixtures for every test, and the gas recorder behind ``make gas``.

Every mined transaction sent during the tests is recorded (contract, function, gas used). View functions
are measured explicitly with the ``measure_view`` fixture (eth_estimateGas), and tests that span several
transactions add scenario rows through ``gas_log``. With ``METATRUST_GAS_REPORT=<prefix>`` the session
writes ``<prefix>.csv`` and ``<prefix>.md``; with it or ``METATRUST_GAS_CHECK=1`` the session fails when
any public function of a measured contract has no row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ape.managers.chain import TransactionHistory

from offchain.bench.environment import environment_markdown, environment_record
from offchain.bench.gas import GasLog
from offchain.chain.deployments import Deployments, load_deployments
from offchain.deploy import Deployment, PlatformConfig, deploy_aicm, deploy_platform, write_deployments

GAS_LOG = GasLog()
_original_append = TransactionHistory.append
# Which contract lives at an address, as of its latest deployment. Ape's own address cache cannot serve:
# test isolation rewinds the chain, so one CREATE address is reused by different contracts in turn.
_NAME_AT: dict[str, str] = {}
_CREATION_CODES: list[tuple[bytes, str]] = []


def _deployed_contract_name(creation_input: bytes) -> str | None:
    """The project contract whose creation bytecode starts the deployment's input (longest match)."""
    if not _CREATION_CODES:
        from ape import project

        for name in project.contracts:
            code = project.contracts[name].contract_type.deployment_bytecode
            if code is not None and code.bytecode and len(code.bytecode) > 2:
                _CREATION_CODES.append((bytes.fromhex(code.bytecode[2:]), name))
        _CREATION_CODES.sort(key=lambda entry: -len(entry[0]))
    return next((name for code, name in _CREATION_CODES if creation_input.startswith(code)), None)


def _recording_append(self: TransactionHistory, receipt: Any) -> None:
    _original_append(self, receipt)
    if getattr(receipt, "failed", False):
        return
    if receipt.contract_address:
        name = _deployed_contract_name(bytes(receipt.transaction.data))
        if name:
            _NAME_AT[str(receipt.contract_address).lower()] = name
            GAS_LOG.add(name, "deploy", receipt.gas_used, kind="deploy")
        return
    method = receipt.method_called
    name = _NAME_AT.get(str(receipt.receiver).lower()) if receipt.receiver else None
    if method is not None and name:
        GAS_LOG.add(name, method.name, receipt.gas_used, kind="tx")


TransactionHistory.append = _recording_append  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def gas_log() -> GasLog:
    """The session's gas log, for scenario rows that sum several transactions."""
    return GAS_LOG


@pytest.fixture(scope="session")
def measure_view(accounts: Any) -> Callable[..., int]:
    """Measure a view function with eth_estimateGas (from a funded account) and record it."""

    def measure(contract: Any, function: str, *args: Any) -> int:
        gas = int(getattr(contract, function).estimate_gas_cost(*args, sender=accounts[0]))
        GAS_LOG.add(contract.contract_type.name, function, gas, kind="call")
        return gas

    return measure


def _public_functions(contract_type: Any) -> set[str]:
    return {entry.name for entry in contract_type.abi if entry.type == "function"}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    prefix = os.environ.get("METATRUST_GAS_REPORT")
    check = prefix or os.environ.get("METATRUST_GAS_CHECK")
    if not check or exitstatus != 0 or len(GAS_LOG) == 0:
        return
    from ape import project

    missing: list[str] = []
    measured = sorted({row.contract for row in GAS_LOG.rows()})
    for name in measured:
        contract_type = project.get_contract(name).contract_type
        absent = _public_functions(contract_type) - GAS_LOG.functions(name)
        missing.extend(f"{name}.{function}" for function in sorted(absent))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if missing:
        if reporter is not None:
            reporter.write_line(f"gas report: no measurement for {', '.join(missing)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if prefix:
        notes = [
            "Measured by `make gas` on the embedded anvil devnet (new measurements, not from the papers).",
            "`tx`: gas used by mined transactions; `deploy`: contract creation; `call`: eth_estimateGas of "
            "a view call (includes the 21,000 base); `scenario`: a sum over several transactions.",
            "",
            environment_markdown(environment_record()),
        ]
        GAS_LOG.write_csv(Path(f"{prefix}.csv"))
        GAS_LOG.write_markdown(Path(f"{prefix}.md"), notes=notes)
        if reporter is not None:
            reporter.write_line(f"gas report: {prefix}.md and {prefix}.csv ({len(GAS_LOG)} rows)")


# ---------------------------------------------------------------------------------------- platform


@pytest.fixture(scope="session")
def deployer(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="session")
def auditor(accounts: Any) -> Any:
    return accounts[1]


@pytest.fixture(scope="session")
def pool_holders(accounts: Any) -> tuple[Any, Any, Any, Any]:
    return accounts[2], accounts[3], accounts[4], accounts[5]


@pytest.fixture(scope="module")
def platform(project: Any, deployer: Any, auditor: Any, pool_holders: Any) -> Iterator[Deployment]:
    """MetaCoin and RSC as ``make deploy`` deploys them, with a separate auditor and pool holders."""
    config = PlatformConfig(
        pools=tuple(str(holder.address) for holder in pool_holders),  # type: ignore[arg-type]
        auditor=str(auditor.address),
    )
    return deploy_platform(project, deployer, config)


@pytest.fixture(scope="module")
def aicm_deployments(
    project: Any, deployer: Any, platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any
) -> Deployments:
    """A deployments file holding the platform and the MetaAICM contracts, as the agents' flows read it."""
    aicm = deploy_aicm(project, deployer, platform)
    merged = Deployment(platform.network, platform.chain_id)
    for part in (platform, aicm):
        merged.contracts.update(part.contracts)
        merged.records.update(part.records)
    path = write_deployments(merged, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


@pytest.fixture(scope="module")
def token(platform: Deployment) -> Any:
    return platform.contracts["MetaCoin"]


@pytest.fixture(scope="module")
def registry(platform: Deployment) -> Any:
    return platform.contracts["RSC"]

"""deploy_aicm: wiring of the MetaAICM contracts and the hand-over to a separate admin."""

from __future__ import annotations

from typing import Any

from offchain.deploy import AicmConfig, deploy_aicm


def test_deploy_wires_roles_and_hands_admin_over(
    project: Any, deployer: Any, platform: Any, accounts: Any
) -> None:
    admin = accounts[9]
    deployment = deploy_aicm(project, deployer, platform, AicmConfig(admin=str(admin.address)))
    rc, om = deployment.contracts["RC"], deployment.contracts["OracleManager"]
    committee = deployment.contracts["CommitteeSet"]
    writer = rc.WRITER_ROLE()
    for name in ("MPC", "MLC", "DC"):
        assert rc.hasRole(writer, deployment.contracts[name].address)
    assert om.hasRole(om.OPENER_ROLE(), deployment.contracts["DC"].address)
    manager = deployment.contracts["CommitteeManager"]
    for contract in (rc, om, committee, manager):
        assert contract.hasRole(contract.DEFAULT_ADMIN_ROLE(), admin)
        assert not contract.hasRole(contract.DEFAULT_ADMIN_ROLE(), deployer)
    assert list(committee.members()) == [deployer.address]  # default committee: the deployer
    assert set(deployment.records) == {
        "RC",
        "MPC",
        "CommitteeSet",
        "CommitteeManager",
        "MLC",
        "OracleManager",
        "DC",
    }
    assert deployment.records["MLC"]["address"] == str(deployment.contracts["MLC"].address)

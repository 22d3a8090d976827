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
    writer = rc.WRITER_ROLE()
    for name in ("MPC", "MLC", "DC"):
        assert rc.hasRole(writer, deployment.contracts[name].address)
    assert om.hasRole(om.OPENER_ROLE(), deployment.contracts["DC"].address)
    manager = deployment.contracts["CommitteeManager"]
    assert deployment.contracts["MLC"].committee() == manager.address  # the reputation-elected committee
    assert manager.memberCount() == 0  # empty until the admin appoints institutions and seed nodes
    for contract in (rc, om, manager):
        assert contract.hasRole(contract.DEFAULT_ADMIN_ROLE(), admin)
        assert not contract.hasRole(contract.DEFAULT_ADMIN_ROLE(), deployer)
    assert set(deployment.records) == {
        "RC",
        "MPC",
        "CommitteeManager",
        "MLC",
        "OracleManager",
        "DC",
    }
    assert deployment.records["MLC"]["address"] == str(deployment.contracts["MLC"].address)

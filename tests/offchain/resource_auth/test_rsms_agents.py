"""RSMS over HTTP on the devnet: MSRP and RPM agents registered in RSC, every authentication recorded in
``RSMSLedger`` by the pool's RPM; replays, a clone racing at two pools and a revoked RN are refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rich.console import Console

from offchain.chain.connection import connect
from offchain.chain.deployments import Deployments, load_deployments
from offchain.crypto.keys import from_private_key
from offchain.deploy import Deployment, deploy_resource_auth, write_deployments
from offchain.resource_auth.agents import Wire, run_resource_auth_flow

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def deployments(
    project: Any,
    deployer: Any,
    platform: Deployment,
    accounts: Any,
    tmp_path_factory: pytest.TempPathFactory,
    chain: Any,
) -> Deployments:
    """Platform + RSMSLedger whose MSRP is account 6 (the MSRP agent's key)."""
    deployment = deploy_resource_auth(project, deployer, platform, msrp=accounts[6].address)
    path = write_deployments(deployment, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


def test_initial_and_re_authentication_over_http(
    deployments: Deployments, auditor: Any, accounts: Any
) -> None:
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    keys = [from_private_key(accounts[i].private_key) for i in (6, 7, 8)]
    report = asyncio.run(
        run_resource_auth_flow(
            w3,
            deployments,
            from_private_key(auditor.private_key),
            keys[0],
            (keys[1], keys[2]),
            Console(quiet=True),
        )
    )
    assert report.replay_status == 409
    assert report.replay_code == "replay-detected"
    assert report.replay_revert == "SecretAlreadyUsed"  # the contract's own refusal, by name
    admitted = [o for o in report.race_outcomes if o == "admitted"]
    refused = [o for o in report.race_outcomes if o != "admitted"]
    assert len(admitted) == 1
    assert len(refused) == 1
    assert refused[0].startswith("409 ")
    assert report.revoked_status == 403
    assert report.revoked_code == "revoked-node"
    assert report.revoked_revert == "PseudonymIsRevoked"
    assert report.outsider_report_status == 403
    # initial + re-auth + the race's winner of the first RN, then the three group members
    assert report.records == 6
    assert report.writers == {1: {keys[1].address}, 2: {keys[2].address}}  # each pool's RPM wrote its records
    assert report.group_size == 3
    assert report.departed_refused
    assert len(report.steps) == 13


def test_wire_rejects_non_hex() -> None:
    with pytest.raises(ValueError, match="hex"):
        Wire(data="0xzz")
    assert Wire.of(b"\x01\x02").raw() == b"\x01\x02"

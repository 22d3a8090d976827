"""RSMS over HTTP: MSRP and RPM agents registered in RSC, an anonymous RN finds them there (devnet)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rich.console import Console

from offchain.chain.connection import connect
from offchain.chain.deployments import Deployments, load_deployments
from offchain.crypto.keys import from_private_key
from offchain.deploy import Deployment, write_deployments
from offchain.resource_auth.agents import Wire, run_resource_auth_flow

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def deployments(platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any) -> Deployments:
    path = write_deployments(platform, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
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
    assert report.records == 3  # initial + re-auth of the first RN, initial of the second
    assert report.outsider_report_status == 403
    assert len(report.steps) == 7


def test_wire_rejects_non_hex() -> None:
    with pytest.raises(ValueError, match="hex"):
        Wire(data="0xzz")
    assert Wire.of(b"\x01\x02").raw() == b"\x01\x02"

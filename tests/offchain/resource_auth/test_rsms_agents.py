"""RSMS over HTTP on the devnet: MSRP and RPM agents registered in RSC, every authentication recorded in
``RSMSLedger`` by the pool's RPM; replays, a clone racing at two pools and a revoked RN are refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from eth_account import Account
from rich.console import Console

from offchain.chain.connection import connect, contract
from offchain.chain.deployments import Deployments, load_deployments
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.deploy import Deployment, deploy_resource_auth, write_deployments
from offchain.resource_auth.agents import (
    Wire,
    approve_pending,
    clone_rn,
    open_pools,
    run_resource_auth_flow,
)
from offchain.resource_auth.errors import OutOfOrder, ReplayDetected
from offchain.resource_auth.flows import World
from offchain.resource_auth.ledger import ChainLedger

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
    for _ in range(2):  # a second run on the same devnet and contracts works as well
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
        # initial + re-auth + the race's winner of the first RN, then the group's three members and a spare
        assert report.records == 7
        assert report.writers == {
            1: {keys[1].address},
            2: {keys[2].address},
        }  # each pool's RPM wrote its records
        assert report.group_size == 3
        assert report.departed_refused
        assert report.joined == 1
        assert report.revoked_member_refused
        assert len(report.steps) == 16


def _sender(w3: Any, deployments: Deployments, key: KeyPair) -> TransactionSender:
    return TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)


def test_a_clone_racing_at_two_pools_is_refused_by_the_contract(
    deployments: Deployments, auditor: Any, accounts: Any
) -> None:
    """Both RPMs pass their checks and both get the MSRP's approval (the MSRP has not advanced the RN's
    chain yet); RSMSLedger's check-and-set records one and refuses the other with SecretAlreadyUsed; the
    MSRP confirms only the recorded one."""
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    msrp_key, *rpm_keys = (from_private_key(accounts[i].private_key) for i in (6, 7, 8))
    auditor_registry = RegistryClient(
        contract(w3, deployments, "RSC"), _sender(w3, deployments, from_private_key(auditor.private_key))
    )
    for pool_id, key in enumerate(rpm_keys, start=1):
        registry = RegistryClient(contract(w3, deployments, "RSC"), _sender(w3, deployments, key))
        registry.ensure_registered(
            ActorRole.POOL_MANAGER,
            encryption_keypair(key).compressed_public_key,
            "http://127.0.0.1:9",
            provider=f"rsms-pool-{pool_id}",
        )
        approve_pending(auditor_registry, key.address, ActorRole.POOL_MANAGER)
    msrp_ledger = ChainLedger.from_deployments(w3, deployments, _sender(w3, deployments, msrp_key))
    open_pools(msrp_ledger, {1: rpm_keys[0].address, 2: rpm_keys[1].address})
    ledgers = {
        pool_id: ChainLedger.from_deployments(w3, deployments, _sender(w3, deployments, key))
        for pool_id, key in enumerate(rpm_keys, start=1)
    }
    world = World.create(pools=2, ledger=msrp_ledger, rpm_ledgers=dict(ledgers))
    rn = world.register_rn(1, b"race-rn")
    world.initial_auth(rn, 1)  # here the MSRP records itself (its role may), as the in-process world does
    twin = clone_rn(rn)
    rpm_1, rpm_2 = world.rpms[1], world.rpms[2]
    report_1, _ = rpm_1.handle_reauth(rn.start_reauth(world.msrp.directory(1)))
    report_2, _ = rpm_2.handle_reauth(twin.start_reauth(world.msrp.directory(2)))
    approved = world.msrp.approve_report(report_1)
    assert world.msrp.approve_report(report_2) == approved  # the same (H4(a_2), PID_2), approved twice
    with pytest.raises(OutOfOrder, match="not recorded"):
        world.msrp.confirm_report(report_1)  # no acknowledgement before the record is on chain
    index = rpm_1.record_pending(report_1.pid)
    with pytest.raises(ReplayDetected) as lost:
        rpm_2.record_pending(report_2.pid)
    assert lost.value.revert_name == "SecretAlreadyUsed"
    rpm_2.on_reject(report_2.pid)
    with pytest.raises(OutOfOrder, match="not pool 2's"):
        world.msrp.confirm_report(report_2)
    ack = world.msrp.confirm_report(report_1)
    assert ack.record_index == index
    rn.finish(rpm_1.on_ack(ack))
    assert rn.k == 2
    with pytest.raises(ReplayDetected):  # the loser can never be confirmed now
        world.msrp.confirm_report(report_2)
    record = msrp_ledger.records()[index]
    assert (record.pool_id, record.tag, record.pid, record.writer) == (
        1,
        approved[0],
        approved[1],
        rpm_keys[0].address,
    )


def test_wire_rejects_non_hex() -> None:
    with pytest.raises(ValueError, match="hex"):
        Wire(data="0xzz")
    assert Wire.of(b"\x01\x02").raw() == b"\x01\x02"

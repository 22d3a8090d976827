"""The 11-step workflow of seed 004 on the devnet (``run_web3compute_flow``, what ``make demo`` runs):
a FedAvg task on four computing servers (three local nodes), all sandbox traffic over onion routers
registered in RSC, every inter-server transmission committed in a co-signed channel state, the sandbox
key set only with every co-signature and invalidated at destruction, channels revoked (one stale close
corrected by the watchtower). Negative paths: a server that does not co-sign leaves no key on chain, and a
tampered transmission is not countersigned; either way the task fails cleanly with the escrow returned."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from web3.exceptions import ContractLogicError

from offchain.chain.connection import connect, contract
from offchain.chain.deployments import Deployments, load_deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.crypto.keys import derive, from_private_key
from offchain.deploy import Deployment, Web3ComputeConfig, deploy_web3compute, write_deployments
from offchain.web3compute import flow
from offchain.web3compute.agent import push_updates
from offchain.web3compute.channel import ChannelParty
from offchain.web3compute.fl.program import TrainConfig
from offchain.web3compute.flow import (
    DEPOSIT,
    MODEL_FEE,
    FlowFailed,
    FlowKeys,
    FlowOptions,
    run_web3compute_flow,
)
from offchain.web3compute.tasks import TaskStatus

QUIET = Console(quiet=True)
ROUNDS = 2
CLOSED = 4  # StateChannelManager.Status.Closed


@pytest.fixture(scope="module")
def deployments(
    project: Any, deployer: Any, platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any
) -> Deployments:
    deployment = deploy_web3compute(project, deployer, platform, Web3ComputeConfig(challenge_period=300))
    path = write_deployments(deployment, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


def flow_keys(
    deployments: Deployments, auditor: Any, treasury: Any, seed: bytes, compute: int = 3
) -> FlowKeys:
    """Fresh actors (derived keys given gas money) so each test registers its own nodes."""
    keys = [derive(seed, i) for i in range(6 + compute)]
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    fund_on_devnet(w3, [k.address for k in keys])
    return FlowKeys(
        auditor=from_private_key(auditor.private_key),
        treasury=from_private_key(treasury.private_key),
        user=keys[0],
        provider=keys[1],
        compute=(keys[2], keys[3], *keys[6 + 3 : 6 + compute], keys[4]),
        storage=keys[5],
        routers=(keys[6], keys[7], keys[8]),
    )


def _task(task_manager: Any, task_id: bytes) -> Any:
    return task_manager.functions.getTask(task_id).call()


def test_the_eleven_steps_run_end_to_end_on_the_devnet(
    deployments: Deployments, auditor: Any, pool_holders: Any, tmp_path: Path
) -> None:
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    keys = flow_keys(deployments, auditor, pool_holders[0], b"web3flow-ok", compute=4)
    options = FlowOptions(rounds=ROUNDS, train=TrainConfig(epochs=1))
    report = asyncio.run(
        run_web3compute_flow(w3, deployments, keys, QUIET, options=options, state_root=tmp_path)
    )
    task_manager = contract(w3, deployments, "TaskManager")
    manager = contract(w3, deployments, "StateChannelManager")
    task = _task(task_manager, report.task_id)

    # Steps 1, 2, 9, 11: the task ran the registered program and completed with the SP's verified result.
    assert report.task_status is TaskStatus.COMPLETED
    assert TaskStatus(task[1]) is TaskStatus.COMPLETED
    assert task[10][1] == report.program_hash  # requirements.programHash
    assert bytes(task[8]) == report.result_hash != bytes(32)  # resultHash
    assert len(task[11]) == 4  # four computing servers: the global node and three local nodes

    # Step 4 and 10: the key was stored with every co-signature, then invalidated on destruction.
    assert report.key_registered
    assert report.key_invalidated
    assert bytes(task[9]) == report.sandbox_key
    assert task[7] == report.sandbox_signer
    assert task[5] is False  # keyValid
    assert not task_manager.functions.isSandboxKeyValid(report.task_id).call()
    with pytest.raises(ContractLogicError):  # SandboxKeyInvalid: nobody encrypts to a destroyed sandbox
        task_manager.functions.sandboxKey(report.task_id).call()
    registered = task_manager.events.SandboxKeyRegistered().get_logs(from_block=0)
    invalidated = task_manager.events.SandboxKeyInvalidated().get_logs(from_block=0)
    assert [
        bytes(e["args"]["encryptionKey"]) for e in registered if e["args"]["taskId"] == report.task_id
    ] == [report.sandbox_key]
    assert any(e["args"]["taskId"] == report.task_id for e in invalidated)
    assert report.destroyed == 4

    # Step 5-8: every message went over 3-hop circuits of the routers in RSC.
    assert report.onion_messages == report.transmissions > 0
    assert sum(report.router_cells.values()) == 3 * report.onion_messages
    assert all(count > 0 for count in report.router_cells.values())

    # Step 7: per channel, the key wrap, one update per round, one model per later round.
    per_channel = 1 + ROUNDS + (ROUNDS - 1)
    assert report.channel_commits == 3 * per_channel

    # Step 11: every channel settled with the newest transcript; the cooperative ones with the result hash.
    assert len(report.outcomes) == 3
    *cooperative_ones, disputed = report.outcomes
    for outcome in report.outcomes:
        assert outcome.msg_count == per_channel
        assert outcome.transcript_hash == outcome.newest_transcript != bytes(32)
        assert manager.functions.getChannel(outcome.channel_id).call()[3] == CLOSED
    for cooperative in cooperative_ones:
        assert cooperative.cooperative
        assert cooperative.result_hash == report.result_hash
    assert not disputed.cooperative
    # The stale close was challenged with the newest state, which is what the chain settled.
    assert report.stale_nonce < report.corrected_nonce == disputed.nonce
    challenges = [
        e
        for e in manager.events.ChannelChallenged().get_logs(from_block=0)
        if e["args"]["channelId"] == disputed.channel_id
    ]
    assert [int(e["args"]["nonce"]) for e in challenges] == [report.corrected_nonce]
    global_key = next(k for k in keys.compute if k.address == report.global_node)
    party = ChannelParty.open(tmp_path / global_key.address, disputed.channel_id, global_key)
    try:
        assert manager.functions.isSettledState(party.latest.as_tuple()).call()
    finally:
        party.close()
    # The global node paid the local node one fee per model it sent.
    assert sorted(report.settled_balances) == [
        DEPOSIT - (ROUNDS - 1) * MODEL_FEE,
        DEPOSIT + (ROUNDS - 1) * MODEL_FEE,
    ]

    # FedAvg learned: far above the majority baseline.
    assert len(report.rounds) == ROUNDS
    assert report.final_accuracy > report.baseline_accuracy + 0.5


def test_a_server_that_does_not_cosign_leaves_no_key_and_the_task_fails_cleanly(
    deployments: Deployments, auditor: Any, pool_holders: Any, tmp_path: Path
) -> None:
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    keys = flow_keys(deployments, auditor, pool_holders[0], b"web3flow-refuse")
    dissenter = keys.compute[2]
    options = FlowOptions(rounds=ROUNDS, withhold_cosignature=frozenset({dissenter.address}))
    with pytest.raises(FlowFailed) as failed:
        asyncio.run(run_web3compute_flow(w3, deployments, keys, QUIET, options=options, state_root=tmp_path))
    report = failed.value.report
    assert "MissingCoSignature" in report.failure
    assert dissenter.address in report.failure
    task_manager = contract(w3, deployments, "TaskManager")
    manager = contract(w3, deployments, "StateChannelManager")
    token = contract(w3, deployments, "MetaCoin")
    task = _task(task_manager, report.task_id)
    # No key ever reached the chain; the task failed and freed its servers.
    assert not report.key_registered
    assert bytes(task[9]) == b""
    assert not task_manager.functions.isSandboxKeyValid(report.task_id).call()
    assert TaskStatus(task[1]) is TaskStatus.FAILED is report.task_status
    for server in keys.compute:
        assert task_manager.functions.busyWith(server.address).call() == bytes(32)
    # No FL data moved (nothing was sealed to an unregistered key), no result.
    assert report.rounds == ()
    assert bytes(task[8]) == bytes(32)
    # Every channel closed at its deposits: each server holds the MTC it was given again.
    assert len(report.outcomes) == 2
    for outcome in report.outcomes:
        assert outcome.cooperative
        assert outcome.result_hash == bytes(32)
        assert manager.functions.getChannel(outcome.channel_id).call()[3] == CLOSED
    for server in keys.compute:
        assert token.functions.balanceOf(server.address).call() == 2 * DEPOSIT


def test_a_tampered_transmission_is_not_countersigned_and_the_task_fails_cleanly(
    deployments: Deployments, auditor: Any, pool_holders: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local node commits its first update in the channel with bytes other than the envelope the global
    node's Exit received: the global node's agent refuses (409 not-received), the task fails, the key
    registered earlier is invalidated by ``failTask``, the channels close at their deposits."""
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    keys = flow_keys(deployments, auditor, pool_holders[0], b"web3flow-tamper")
    calls = 0

    async def tampering(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:  # after the two key wraps: local0's first update to the global node
            client, endpoint, party, payloads = args
            payloads = [payloads[0][:-1] + bytes([payloads[0][-1] ^ 1])]
            args = (client, endpoint, party, payloads)
        return await push_updates(*args, **kwargs)

    monkeypatch.setattr(flow, "push_updates", tampering)
    with pytest.raises(FlowFailed) as failed:
        asyncio.run(
            run_web3compute_flow(
                w3, deployments, keys, QUIET, options=FlowOptions(rounds=ROUNDS), state_root=tmp_path
            )
        )
    report = failed.value.report
    assert "not-received" in report.failure
    assert "update" in report.failure
    task_manager = contract(w3, deployments, "TaskManager")
    manager = contract(w3, deployments, "StateChannelManager")
    token = contract(w3, deployments, "MetaCoin")
    task = _task(task_manager, report.task_id)
    assert report.key_registered  # the key was on chain before the tampered update …
    assert not task_manager.functions.isSandboxKeyValid(report.task_id).call()  # … and is invalid now
    assert TaskStatus(task[1]) is TaskStatus.FAILED
    assert report.rounds == ()
    # Only the two key wraps were committed; the tampered update never was.
    assert report.channel_commits == 2
    assert sorted(o.msg_count for o in report.outcomes) == [1, 1]
    for outcome in report.outcomes:
        assert manager.functions.getChannel(outcome.channel_id).call()[3] == CLOSED
    for server in keys.compute:
        assert token.functions.balanceOf(server.address).call() == 2 * DEPOSIT

"""The channel flow of ``make demo`` on the devnet: task, channels over HTTP agents, a cooperative close,
and a stale unilateral close that the watchtower corrects before settlement."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from offchain.chain.connection import connect
from offchain.chain.deployments import Deployments, load_deployments
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.deploy import Deployment, Web3ComputeConfig, deploy_web3compute, write_deployments
from offchain.web3compute.channel import ChannelParty
from offchain.web3compute.flow import DEPOSIT, ROUNDS, UNIT, FlowKeys, run_channel_flow

QUIET = Console(quiet=True)


def key_of(account: Any) -> KeyPair:
    return from_private_key(account.private_key)


@pytest.fixture(scope="module")
def deployments(
    project: Any, deployer: Any, platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any
) -> Deployments:
    deployment = deploy_web3compute(project, deployer, platform, Web3ComputeConfig(challenge_period=300))
    path = write_deployments(deployment, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


def test_the_watchtower_corrects_a_stale_close_on_the_devnet(
    deployments: Deployments, accounts: Any, auditor: Any, pool_holders: Any, tmp_path: Path
) -> None:
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    keys = FlowKeys(
        auditor=key_of(auditor),
        treasury=key_of(pool_holders[0]),
        user=key_of(accounts[3]),
        provider=key_of(accounts[4]),
        compute=(key_of(accounts[5]), key_of(accounts[6]), key_of(accounts[7])),
        storage=key_of(accounts[8]),
    )
    report = asyncio.run(run_channel_flow(w3, deployments, keys, QUIET, state_root=tmp_path))
    assert report.updates == 2 * 2 * ROUNDS
    # The stale state was the local node's first co-signed one; the newest had 2 more per round after it.
    assert report.stale_nonce == 2
    assert report.corrected_nonce == 2 * ROUNDS
    # Newest split of channel 2: the global node paid 1 MTC per model round.
    balances = sorted(report.settled_balances)
    assert balances == [DEPOSIT - ROUNDS * UNIT, DEPOSIT + ROUNDS * UNIT]
    assert sum(report.settled_balances) == 2 * DEPOSIT
    assert report.gas["StateChannelManager.challenge"] > 0
    assert len(report.steps) == 7
    # Every party's store on disk still holds its newest co-signed state after the flow closed it.
    stores = list(tmp_path.glob("*/*/state.bin"))
    assert len(stores) == 4
    for store in stores:
        me = next(k for k in (*keys.compute,) if k.address == store.parent.parent.name)
        party = ChannelParty.open(store.parent.parent, bytes.fromhex(store.parent.name), me)
        assert party.latest.nonce >= 2 * ROUNDS
        party.close()

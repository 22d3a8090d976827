"""The committee flow of ``make demo`` (``run_committee_flow``) on the devnet, through web3 and the shared
chain layer: an election, reputation changes, a re-election, each recomputed in Python; a round reward."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from offchain.chain.connection import connect
from offchain.chain.deployments import Deployments, load_deployments
from offchain.crowdsourcing.committee_flow import elect_committee, run_committee_flow
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.deploy import AicmConfig, deploy_aicm, write_deployments

QUIET = Console(quiet=True)


def key_of(account: Any) -> KeyPair:
    return from_private_key(account.private_key)


@pytest.fixture(scope="module")
def deployments(
    project: Any, deployer: Any, platform: Any, tmp_path_factory: pytest.TempPathFactory, chain: Any
) -> Deployments:
    config = AicmConfig(committee_size=5, authorised_percent=40, bootstrap_rounds=20, term_rounds=5)
    aicm = deploy_aicm(project, deployer, platform, config)
    path = write_deployments(aicm, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


def test_the_committee_flow_runs_end_to_end(
    deployments: Deployments, deployer: Any, accounts: Any, pool_holders: Any
) -> None:
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    institutions = [key_of(accounts[1]), key_of(accounts[6])]
    candidates = [key_of(a) for a in (accounts[7], accounts[8], accounts[9], accounts[4])]
    session = elect_committee(
        w3,
        deployments,
        key_of(deployer),
        institutions,
        [str(accounts[5].address)],
        candidates,
        QUIET,
        reputation_events=(5, 3, 2, 0),
    )
    report = run_committee_flow(session, funder=key_of(pool_holders[0]))
    first, second = report.elections
    assert first.reproduced
    assert second.reproduced
    assert second.term > first.term
    # M = 3: term 1 elects the three candidates with positive reputation (the fourth has -1); then the top
    # one is penalised below zero and the fourth rewarded, and term 2 swaps them
    addresses = [c.address for c in candidates]
    assert sorted(first.members) == sorted(addresses[:3])
    assert sorted(second.members) == sorted(addresses[1:])
    assert second.reputations[addresses[0]] < 0 < second.reputations[addresses[3]]
    assert report.reward_per_member == 10**18 // 5
    assert len(report.steps) == 7

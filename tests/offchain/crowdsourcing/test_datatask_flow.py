"""The data-crowdsourcing flow of ``make demo`` with real agents on the devnet (a false "dishonest" mark
overturned by an oracle majority), the oracle agent's 4xx answers, f_data checks and the S5 / S1 cases
that the contract tests do not cover at the agent level."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.chain.connection import connect, contract
from offchain.chain.deployments import Deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.crowdsourcing.datatask.agents import (
    REVIEW_ACTION,
    DataRequester,
    DataWorker,
    OracleNode,
    ReviewVote,
)
from offchain.crowdsourcing.datatask.chain import DataTaskClient, Mark, OracleClient
from offchain.crowdsourcing.datatask.features import FeatureSpec, check_dataset
from offchain.crowdsourcing.datatask.flow import ALPHA, SPEC, THETA, run_data_task_flow, worker_dataset
from offchain.crypto import ecies_lite
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, derive, from_private_key
from offchain.marketplace.reference import parse_keyed_reference
from offchain.marketplace.support import ONE, TOKEN, advance_time, chain_now, registry_for, sender_for
from offchain.storage.embedded import LocalStore

QUIET = Console(quiet=True)


@pytest.fixture(scope="module")
def deployments(aicm_deployments: Deployments) -> Deployments:
    return aicm_deployments


@pytest.fixture(scope="module")
def w3(deployments: Deployments) -> Any:
    return connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)


@pytest.fixture(scope="module")
def treasury(pool_holders: Any) -> KeyPair:
    return from_private_key(pool_holders[0].private_key)


@pytest.fixture(scope="module")
def auditor_key(auditor: Any) -> KeyPair:
    return from_private_key(auditor.private_key)


@pytest.fixture(scope="module")
def flow(w3: Any, deployments: Deployments, treasury: KeyPair, auditor_key: KeyPair) -> Any:
    return asyncio.run(run_data_task_flow(w3, deployments, treasury, auditor_key, QUIET))


def test_data_task_dispute_is_won_by_the_worker(w3: Any, deployments: Deployments, flow: Any) -> None:
    assert len(flow.steps) == 10
    assert flow.bad_request_status == 404
    assert sorted(flow.votes) == [False, True, True]  # two honest oracles, one dishonest
    assert flow.qualified
    assert all(c.ok for changes in flow.changes.values() for c in changes)
    evaluation = {c.label: c for c in flow.changes["evaluation"]}
    assert evaluation["requester"].mtc == -(THETA + ALPHA)
    assert evaluation["worker A"].mtc == THETA
    assert evaluation["worker A"].reputation > 0
    assert evaluation["worker B"].mtc == 0
    dispute = {c.label: c for c in flow.changes["dispute"]}
    assert dispute["requester"].reputation == -ONE
    assert dispute["worker B"].reputation > 0
    assert dispute["oracle 0"].mtc == dispute["oracle 1"].mtc == 10 * TOKEN
    assert dispute["oracle 2 (dishonest)"].mtc == 0
    assert {c.label: c for c in flow.changes["finalisation"]}["worker B"].mtc == ALPHA
    assert sorted(flow.oracle_stakes.values()) == [80 * TOKEN, 100 * TOKEN, 100 * TOKEN]
    submissions = DataTaskClient(contract(w3, deployments, "DC")).submissions(flow.task_id)
    assert [s.mark for s in submissions] == [Mark.HONEST, Mark.WON]


def test_oracle_agent_answers_bad_requests_with_4xx(
    w3: Any, deployments: Deployments, flow: Any, tmp_path: Path
) -> None:
    key, caller = derive(b"oracle-4xx", 0), derive(b"oracle-4xx", 1)
    fund_on_devnet(w3, [key.address])
    node = OracleNode(
        key,
        OracleClient(contract(w3, deployments, "OracleManager"), sender_for(w3, deployments, key)),
        DataTaskClient(contract(w3, deployments, "DC")),
        LocalStore(tmp_path),
    )

    async def scenario() -> list[tuple[int, str]]:
        answers = []
        async with node.agent, AgentClient(caller) as rpc:
            for payload in ({"ticket_id": flow.ticket_id}, {"ticket_id": 10**6}, {"ticket_id": -1}, {}):
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(node.agent.endpoint, key.address, REVIEW_ACTION, payload, ReviewVote)
                answers.append((refused.value.status, refused.value.code))
        return answers

    assert asyncio.run(scenario()) == [
        (409, "resolved"),
        (404, "unknown-ticket"),
        (400, "invalid-payload"),
        (400, "invalid-payload"),
    ]


def test_feature_check_refuses_what_f_data_does_not_describe() -> None:
    assert check_dataset(SPEC, worker_dataset(1)).qualified
    assert not check_dataset(SPEC, worker_dataset(1, rows=SPEC.min_rows - 1)).qualified
    assert "missing" in check_dataset(SPEC, b"pixel_mean,label\n1,2\n").reason
    assert "non-numeric" in check_dataset(SPEC, b"pixel_mean,pixel_std,label\n1,x,2\n").reason
    assert "fields" in check_dataset(SPEC, b"pixel_mean,pixel_std,label\n1,2\n").reason
    assert "non-finite" in check_dataset(SPEC, b"pixel_mean,pixel_std,label\n1,nan,2\n").reason
    assert not check_dataset(SPEC, b"\xff\xfe").qualified
    assert FeatureSpec.from_json(SPEC.to_json()) == SPEC
    with pytest.raises(ValueError, match="feature specification"):
        FeatureSpec.from_json(b'{"columns": []}')


def test_submissions_open_only_for_the_requester_and_an_unqualified_dataset_loses(
    w3: Any, deployments: Deployments, treasury: KeyPair, tmp_path: Path, flow: Any
) -> None:
    """S5: a third party cannot open Sub_j; S3/S1: an honest oracle refuses a dataset that misses f_data,
    and the worker who disputes it gets nothing and -1."""
    requester_key, good_key, bad_key, oracle_key = (derive(b"datatask-s5", i) for i in range(4))
    fund_on_devnet(w3, [k.address for k in (requester_key, good_key, bad_key, oracle_key)])
    token = contract(w3, deployments, "MetaCoin")
    dc = contract(w3, deployments, "DC")
    store = LocalStore(tmp_path)
    sender_for(w3, deployments, treasury).send(token.functions.transfer(requester_key.address, THETA + ALPHA))
    requester = DataRequester(
        requester_key,
        encryption_keypair(requester_key),
        DataTaskClient(dc, sender_for(w3, deployments, requester_key)),
        token,
        store,
    )
    task_id = requester.create_task(SPEC, THETA, ALPHA, chain_now(w3) + 3_600, lock_blocks=1)
    workers = [
        DataWorker(
            k, DataTaskClient(dc, sender_for(w3, deployments, k)), store, registry_for(w3, deployments, k)
        )
        for k in (good_key, bad_key)
    ]
    workers[0].submit(task_id, worker_dataset(7))
    workers[1].submit(task_id, b"pixel_mean,label\n1,2\n")  # misses a feature of f_data

    reader = DataTaskClient(dc)
    submission = reader.submissions(task_id)[0]
    context = reader.encryption_context(task_id, good_key.address)
    outsider = int.from_bytes(derive(b"datatask-s5-outsider", 0).private_key, "big")
    with pytest.raises(ValueError, match="keyed reference"):
        parse_keyed_reference(ecies_lite.decrypt(outsider, submission.ciphertext, context))
    assert workers[0].contributions[task_id].reference not in submission.ciphertext.body

    advance_time(w3, 3_601)
    assert requester.evaluate(task_id) == [True, False]
    ticket_id = workers[1].dispute(task_id)
    oracle = OracleNode(
        oracle_key,
        OracleClient(contract(w3, deployments, "OracleManager"), sender_for(w3, deployments, oracle_key)),
        reader,
        store,
    )
    verdict = oracle.judge(ticket_id)
    assert not verdict.qualified
    assert "missing" in verdict.reason

    managers = OracleClient(contract(w3, deployments, "OracleManager"), sender_for(w3, deployments, treasury))
    sender_for(w3, deployments, treasury).send(token.functions.transfer(oracle_key.address, managers.stake()))
    oracle.stake(token)
    oracle.oracles.vote(ticket_id, verdict.qualified)
    advance_time(w3, int(managers.contract.functions.voteWindow().call()) + 1)
    managers.resolve(ticket_id)
    assert reader.submissions(task_id)[1].mark is Mark.LOST
    rc = contract(w3, deployments, "RC")
    bad_before = int(rc.functions.reputationOf(bad_key.address).call())
    requester_before = int(token.functions.balanceOf(requester_key.address).call())
    advance_time(w3, 3_601)
    DataTaskClient(dc, sender_for(w3, deployments, treasury)).finalize(task_id)
    assert int(rc.functions.reputationOf(bad_key.address).call()) == bad_before - ONE
    assert int(token.functions.balanceOf(requester_key.address).call()) == requester_before + ALPHA
    assert int(token.functions.balanceOf(bad_key.address).call()) == 0

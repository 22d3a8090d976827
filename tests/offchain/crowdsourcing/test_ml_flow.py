"""The ML-model crowdsourcing flow of ``make demo`` on the devnet: real agents over HTTP, sealed models in
the embedded store, evaluation with onnxruntime by the committee CommitteeManager elected (Algorithm 4.3),
payout checked against the rules."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from rich.console import Console

from offchain.agents.client import AgentClient
from offchain.agents.runner import ROLE_SERVICES
from offchain.agents.service import Agent
from offchain.chain.connection import connect, contract
from offchain.chain.deployments import Deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crowdsourcing.committee_flow import elect_committee
from offchain.crowdsourcing.ml.agents import (
    MODEL_KIND,
    CommitteeAgent,
    MspAgent,
    SubmissionReceipt,
    TaskNotice,
    WorkerAgent,
)
from offchain.crowdsourcing.ml.client import MlcClient, TaskStatus
from offchain.crowdsourcing.ml.flow import (
    DEFAULT_REWARD,
    DEFAULT_THRESHOLD,
    MlFlowKeys,
    advance_time,
    check_seated,
    register_participant,
    run_ml_crowdsourcing_flow,
)
from offchain.crowdsourcing.ml.models import RECIPES, digits_split
from offchain.crowdsourcing.ml.sealed import publish_sealed
from offchain.crowdsourcing.rules import ONE, settle_scored
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.storage import EncryptedStore, LocalStore

QUIET = Console(quiet=True)


def key_of(account: Any) -> KeyPair:
    return from_private_key(account.private_key)


@pytest.fixture(scope="module")
def deployments(aicm_deployments: Deployments, deployer: Any, accounts: Any) -> Deployments:
    """deploy_aicm's contracts with MLC's committee elected: one institution (it runs no node) and the flow's
    three committee nodes as candidates, each with one reputation unit, so term 1 elects all three."""
    w3 = connect(aicm_deployments.rpc_url, expected_chain_id=aicm_deployments.chain_id)
    nodes = flow_keys(deployer, accounts[1]).committee
    fund_on_devnet(w3, [k.address for k in nodes])
    session = elect_committee(
        w3, aicm_deployments, key_of(deployer), [key_of(accounts[6])], [], nodes, QUIET,
        reputation_events=(1, 1, 1),
    )  # fmt: skip
    assert sorted(session.report.elections[0].members) == sorted(k.address for k in nodes)
    return aicm_deployments


def flow_keys(treasury: Any, auditor: Any, namespace: str = "metatrust/ml-flow") -> MlFlowKeys:
    return MlFlowKeys.derived(key_of(treasury), key_of(auditor), namespace)


def test_a_model_task_runs_end_to_end_with_real_agents(
    deployments: Deployments, deployer: Any, auditor: Any, pool_holders: Any, accounts: Any, tmp_path: Path
) -> None:
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    # The deployer is the treasury and also admin of the committee: one nonce counter per account.
    token = TransactionSender(
        w3, Account.from_key(key_of(pool_holders[0]).private_key), deployments=deployments
    )
    token.send(contract(w3, deployments, "MetaCoin").functions.transfer(deployer.address, 2 * DEFAULT_REWARD))
    keys = flow_keys(deployer, auditor)
    report = asyncio.run(run_ml_crowdsourcing_flow(w3, deployments, keys, QUIET, store_root=tmp_path))

    assert len(report.submissions) == 3
    assert len(report.evaluations) == 3
    # Every honest node computes the same integer accuracy, so the three reports agree.
    score_vectors = {tuple(e.scores) for e in report.evaluations.values()}
    assert len(score_vectors) == 1
    assert all(not e.rejected for e in report.evaluations.values())
    # The institution sits on the committee too but runs no node: 3 of 4 reported, all three elected.
    assert report.committee_size == 4
    assert report.reports_on_chain == 3
    assert report.seats == {
        accounts[6].address: "authorised",
        **{k.address: "elected (term 1)" for k in keys.committee},
    }
    assert set(report.evaluations) == {k.address for k in keys.committee}
    # Best model: logistic regression on all its data; the small one is above τ, the tree below.
    recipes = {s.index: s.recipe for s in report.submissions.values()}
    assert recipes[report.best_index] == "logistic-full"
    above = [report.medians[j] > report.threshold for j in range(3)]
    assert sum(above) == 2
    # Exact money: ⌊Θ/2⌋ to the best, the rest to the one other model above τ, nothing to the tree.
    assert report.payouts == report.expected_payouts
    assert sorted(report.payouts) == [0, DEFAULT_REWARD - DEFAULT_REWARD // 2, DEFAULT_REWARD // 2]
    assert report.msp_change == report.expected_msp_change == -DEFAULT_REWARD
    # Reputation: +A/P = +1 for the two above τ (one interaction, one participation each), −1 for the tree.
    assert report.reputation_changes == report.expected_reputation_changes
    assert sorted(report.reputation_changes) == [-ONE, ONE, ONE]
    assert report.best_model_accuracy == report.medians[report.best_index]
    assert report.best_model_accuracy > 950_000
    statuses = {label: status for label, (status, _) in report.bad_requests.items()}
    assert statuses == {
        "evaluate-unknown-task": 404,
        "evaluate-malformed": 400,
        "announce-finalised-task": 409,
        "evaluate-by-stranger": 403,
        "not-json": 400,
    }
    assert report.gas["finalize"] > 0
    assert len(report.steps) == 9
    # Only ciphertexts and public documents reached the store: no model or D_val in the clear.
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "blocks").glob("*/*.data"))
    assert b"ai.onnx.ml" not in blobs
    assert b"skl2onnx" not in blobs


async def _attack(
    w3: Any, deployments: Deployments, keys: MlFlowKeys, attackers: list[KeyPair], root: Path
) -> Any:
    store = EncryptedStore(LocalStore(root))
    pool, validation = digits_split(0)
    fund_on_devnet(w3, [*keys.new_accounts(), *(a.address for a in attackers)])
    msp = MspAgent(keys.msp, validation, w3, deployments, store)
    worker = WorkerAgent(keys.workers[0], RECIPES["logistic-small"], pool, w3, deployments, store)
    nodes = [CommitteeAgent(key, w3, deployments, store) for key in keys.committee]
    reader = MlcClient(w3, deployments)
    auditor = RegistryClient(
        contract(w3, deployments, "RSC"), TransactionSender(w3, Account.from_key(keys.auditor.private_key))
    )
    for agent in (msp, worker, *nodes):
        await agent.start()
    try:
        register_participant(msp, ActorRole.MSP, auditor)
        register_participant(worker, ActorRole.ML_WORKER, auditor)
        for node in nodes:
            register_participant(node, ActorRole.COMMITTEE, auditor)
        check_seated(reader, nodes)
        treasury = TransactionSender(w3, Account.from_key(keys.treasury.private_key))
        treasury.send(reader.token.functions.transfer(msp.address, DEFAULT_REWARD))
        msp_before = reader.balance_of(msp.address)
        task_id, _ = msp.create_task(DEFAULT_REWARD, reader.now() + 3_600, DEFAULT_THRESHOLD)
        async with AgentClient(msp.key) as rpc:
            honest = await rpc.call(
                worker.agent.endpoint,
                worker.address,
                "ml.task",
                TaskNotice(task_id=task_id),
                SubmissionReceipt,
            )
        recipients = await msp.committee_keys()
        recipients[msp.address] = msp.encryption.compressed_public_key
        # A pickle, properly sealed and submitted: it must never be unpickled, only refused.
        evil = publish_sealed(store, pickle.dumps({"weights": list(range(64))}), recipients, MODEL_KIND)
        # A reference that is no CID at all.
        for key, uri in zip(attackers, (evil, "ipfs://not-a-cid"), strict=True):
            MlcClient(w3, deployments, TransactionSender(w3, Account.from_key(key.private_key))).submit_model(
                task_id, uri
            )
        advance_time(w3, 3_601)
        await msp.publish_validation(task_id)
        evaluations = await msp.request_evaluation(task_id)
        advance_time(w3, 3_601)
        before = {a.address: reader.balance_of(a.address) for a in attackers}
        msp.mlc.finalize(task_id)
        return task_id, honest, evaluations, before, msp_before, reader
    finally:
        for agent in (msp, worker, *nodes):
            await agent.stop()


def test_the_committee_refuses_a_pickle_and_a_bad_reference_and_pays_the_honest_model(
    deployments: Deployments, deployer: Any, auditor: Any, pool_holders: Any, accounts: Any, tmp_path: Path
) -> None:
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    # Fresh MSP and worker, the elected committee nodes of the flow.
    keys = dataclasses.replace(
        flow_keys(pool_holders[0], auditor, namespace="attack"),
        committee=flow_keys(pool_holders[0], auditor).committee,
    )
    attackers = [key_of(accounts[7]), key_of(accounts[8])]
    task_id, honest, evaluations, before, msp_before, reader = asyncio.run(
        _attack(w3, deployments, keys, attackers, tmp_path)
    )
    assert honest.index == 0
    assert len(evaluations) == 3
    for evaluation in evaluations.values():
        assert not isinstance(evaluation, Exception)
        assert evaluation.scores[0] > DEFAULT_THRESHOLD
        assert evaluation.scores[1:] == [0, 0]
        assert evaluation.rejected[1].startswith("pickle-rejected")
        assert evaluation.rejected[2].startswith("bad-reference")
    task = reader.task(task_id)
    assert task.status is TaskStatus.FINALIZED
    assert task.best_index == 0
    reports = [reader.scores_of(task_id, k.address) for k in keys.committee]
    expected = settle_scored(DEFAULT_REWARD, reports, DEFAULT_THRESHOLD)
    # Half to the honest model, the rest back to the MSP (nobody else above τ), nothing to the attackers.
    assert reader.balance_of(keys.workers[0].address) == expected.payouts[0] == DEFAULT_REWARD // 2
    assert [reader.balance_of(a.address) - before[a.address] for a in attackers] == [0, 0]
    assert reader.balance_of(keys.msp.address) - msp_before == -DEFAULT_REWARD + expected.requester_refund
    assert expected.requester_refund == DEFAULT_REWARD - DEFAULT_REWARD // 2
    assert [reader.stats(a.address).reputation for a in attackers] == [-ONE, -ONE]


def test_metatrust_agent_run_serves_the_committee_and_worker_actions(
    deployments: Deployments, accounts: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METATRUST_STORAGE_DIR", str(tmp_path))
    monkeypatch.setenv("METATRUST_ML_RECIPE", "shallow-tree")
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    key = key_of(accounts[9])
    sender = TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
    registry = RegistryClient(contract(w3, deployments, "RSC"), sender)
    agent = Agent(key, name="node")
    for role in (ActorRole.COMMITTEE, ActorRole.ML_WORKER):
        ROLE_SERVICES[role](agent, registry, key)
    assert {"ml.evaluate", "ml.task"} <= set(agent.actions)
    with pytest.raises(RuntimeError, match="deployments"):
        ROLE_SERVICES[ActorRole.COMMITTEE](Agent(key, name="x"), RegistryClient(registry.contract), key)

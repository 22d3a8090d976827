"""The ML-model crowdsourcing flow of ``make demo`` on the devnet: real agents over HTTP, sealed models in
the embedded store, committee evaluation with onnxruntime, payout checked against the rules."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from offchain.chain.connection import connect
from offchain.chain.deployments import Deployments, load_deployments
from offchain.crowdsourcing.ml.flow import DEFAULT_REWARD, MlFlowKeys, run_ml_crowdsourcing_flow
from offchain.crowdsourcing.rules import ONE
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.deploy import Deployment, deploy_aicm, write_deployments

QUIET = Console(quiet=True)


def key_of(account: Any) -> KeyPair:
    return from_private_key(account.private_key)


@pytest.fixture(scope="module")
def deployments(
    project: Any, deployer: Any, platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any
) -> Deployments:
    aicm = deploy_aicm(project, deployer, platform)
    merged = Deployment(platform.network, platform.chain_id)
    for part in (platform, aicm):
        merged.contracts.update(part.contracts)
        merged.records.update(part.records)
    path = write_deployments(merged, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


def test_a_model_task_runs_end_to_end_with_real_agents(
    deployments: Deployments, deployer: Any, auditor: Any, pool_holders: Any, tmp_path: Path
) -> None:
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    keys = MlFlowKeys.derived(key_of(pool_holders[0]), key_of(auditor), key_of(deployer))
    report = asyncio.run(run_ml_crowdsourcing_flow(w3, deployments, keys, QUIET, store_root=tmp_path))

    assert len(report.submissions) == 3
    assert len(report.evaluations) == 3
    # Every honest node computes the same integer accuracy, so the three reports agree.
    score_vectors = {tuple(e.scores) for e in report.evaluations.values()}
    assert len(score_vectors) == 1
    assert all(not e.rejected for e in report.evaluations.values())
    # The deployer sits on CommitteeSet too (deploy_aicm's default) but runs no node: 3 of 4 reported.
    assert report.committee_size == 4
    assert report.reports_on_chain == 3
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
        "not-json": 400,
    }
    assert report.gas["finalize"] > 0
    assert len(report.steps) == 9
    # Only ciphertexts and public documents reached the store: no model or D_val in the clear.
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "blocks").glob("*/*.data"))
    assert b"ai.onnx.ml" not in blobs
    assert b"skl2onnx" not in blobs

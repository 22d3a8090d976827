"""Accountability (spec 000 §3.7, R11-R13): Algorithm 1 flags exactly the wrong CSNs and cannot frame."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from bmeoc_helpers import Run, honest_run, keys
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.outsourcing import (
    AccountabilityContext,
    CSNResult,
    acc,
    audit,
    build_accountability_transaction,
    sign_result,
    verify_results,
)
from offchain.outsourcing.task import Share, build_task_transaction, task_hash


def _tamper(run: Run, indices: list[int], rng: random.Random) -> list[CSNResult]:
    q = run.field.q
    results = list(run.results)
    for j in indices:
        honest = run.results[j - 1]
        kind = rng.choice(["c", "b", "consistent", "both"])
        c, b = honest.c, honest.b
        if kind in ("c", "both", "consistent"):
            c = (c + 1 + rng.randrange(q - 1)) % q
        if kind in ("b", "both"):
            b = (b + 1 + rng.randrange(q - 1)) % q
        if kind == "consistent":
            b = c * run.task.shares[j - 1].w % q
        results[j - 1] = sign_result(run.csns[j - 1], run.field, honest.task_id, j, honest.task_hash, c, b)
    return results


@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 3), t=st.integers(1, 3), seed=st.integers(0, 2**32))
def test_precision_and_recall_are_one(d: int, t: int, seed: int) -> None:
    rng = random.Random(seed)
    run = honest_run(3, d, t, rng=rng)
    m = run.task.params.m
    tampered = sorted(rng.sample(range(1, m + 1), rng.randint(1, m)))  # any number, also more than t
    results = _tamper(run, tampered, rng)
    outcome = verify_results(run.field, run.task.transaction, run.task.secret.alpha, results, run.group)
    assert not outcome.accepted  # accountability runs only after a failed verification
    tx_acc = build_accountability_transaction(run.mtd, run.task, results, run.group)
    report = audit(
        tx_acc,
        run.polynomial,
        AccountabilityContext(registered_mtd=run.mtd.address, assigned_group=run.group),
    )
    assert report.valid, report.reason
    assert list(report.indices) == tampered
    assert set(report.flagged) == {run.csns[j - 1].address for j in tampered}
    assert acc(tx_acc, run.polynomial) == list(report.flagged)


def test_honest_run_gives_nothing_to_account_for(run_k6_d2_t2: Run) -> None:
    run = run_k6_d2_t2
    tx_acc = build_accountability_transaction(run.mtd, run.task, run.results, run.group)
    assert acc(tx_acc, run.polynomial) == 0
    assert "nothing to account for" in audit(tx_acc, run.polynomial).reason
    # with the disputable-state check off, Algorithm 1 itself finds no wrong (c_j, b_j): still 0
    relaxed = AccountabilityContext(require_failed_verification=False)
    assert acc(tx_acc, run.polynomial, relaxed) == 0
    assert audit(tx_acc, run.polynomial, relaxed).valid


@pytest.fixture
def cheated() -> tuple[Run, list[CSNResult]]:
    run = honest_run(4, 2, 2, rng=random.Random(5))
    return run, _tamper(run, [3], random.Random(6))


def test_a_genuine_dispute_flags_the_cheater(cheated: tuple[Run, list[CSNResult]]) -> None:
    run, results = cheated
    tx_acc = build_accountability_transaction(run.mtd, run.task, results, run.group)
    assert acc(tx_acc, run.polynomial) == [run.csns[2].address]


def test_framing_attempts_flag_nobody(cheated: tuple[Run, list[CSNResult]]) -> None:
    run, results = cheated
    q = run.field.q
    mtd = run.mtd
    victim = 5  # an honest CSN the MTD would like to see slashed

    # 1. a forged R_j: the MTD changes an honest result without the CSN's key
    forged = list(results)
    forged[victim - 1] = replace(results[victim - 1], c=(results[victim - 1].c + 1) % q)
    # 2. the MTD signs a wrong result with its own key
    self_signed = list(results)
    r = results[victim - 1]
    self_signed[victim - 1] = sign_result(mtd, run.field, r.task_id, victim, r.task_hash, (r.c + 1) % q, r.b)
    # 3. a substituted share: F(v') ≠ c_j would "prove" the victim wrong, but v' does not hash to ID_Tj
    share = run.task.shares[victim - 1]
    fake_share = Share(victim, ((share.v[0] + 1) % q, *share.v[1:]), share.w)
    substituted = replace(run.task, shares=tuple(fake_share if s.j == victim else s for s in run.task.shares))
    # 4. a re-signed TX_t committing to the substituted share: the CSN's R_j names the original ID_Tj
    hashes = list(run.task.transaction.task_hashes)
    hashes[victim - 1] = task_hash(run.field, run.polynomial.digest(), fake_share)
    resigned_tx = build_task_transaction(
        mtd, run.task.params, run.polynomial.digest(), hashes, task_id=run.task.transaction.task_id
    )
    resigned = replace(substituted, transaction=resigned_tx)
    # 5. swapped indices in the group
    swapped_group = list(run.group)
    swapped_group[victim - 1], swapped_group[0] = swapped_group[0], swapped_group[victim - 1]

    attempts = {
        "forged R_j": build_accountability_transaction(mtd, run.task, forged, run.group),
        "MTD-signed R_j": build_accountability_transaction(mtd, run.task, self_signed, run.group),
        "substituted share": build_accountability_transaction(mtd, substituted, results, run.group),
        "re-signed TX_t": build_accountability_transaction(mtd, resigned, results, run.group),
        "swapped index": build_accountability_transaction(mtd, run.task, results, swapped_group),
        "signed by another MTD": build_accountability_transaction(
            keys(1, "other")[0], run.task, results, run.group
        ),
    }
    for name, tx_acc in attempts.items():
        report = audit(tx_acc, run.polynomial)
        assert not report.valid, name
        assert report.flagged == (), name
        assert acc(tx_acc, run.polynomial) == 0, name


def test_context_checks_registered_mtd_group_and_task_state(cheated: tuple[Run, list[CSNResult]]) -> None:
    run, results = cheated
    tx_acc = build_accountability_transaction(run.mtd, run.task, results, run.group)
    other = keys(2, "other")
    contexts = {
        "registered": AccountabilityContext(registered_mtd=other[0].address),
        "assigned group": AccountabilityContext(assigned_group=[other[1].address] * len(run.group)),
        "disputable": AccountabilityContext(is_disputable=lambda task_id: False),
    }
    for name, context in contexts.items():
        report = audit(tx_acc, run.polynomial, context)
        assert not report.valid, name
        assert name.split()[0] in report.reason, (name, report.reason)
    assert audit(tx_acc, run.polynomial, AccountabilityContext(is_disputable=lambda task_id: True)).flagged


def test_wrong_polynomial_is_refused(cheated: tuple[Run, list[CSNResult]]) -> None:
    run, results = cheated
    other = honest_run(4, 2, 2, rng=random.Random(99)).polynomial
    tx_acc = build_accountability_transaction(run.mtd, run.task, results, run.group)
    assert acc(tx_acc, other) == 0

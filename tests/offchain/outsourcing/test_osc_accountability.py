"""ACCSC (spec 000 §2.6, §3.7, R11-R12) with real tasks of the core protocol: Algorithm 1 runs natively in
the enclave, the EVM records MList after checking it against the scheduled group and the task's status."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from osc_helpers import CSNS, Task, account_request, compute, config, new_task, schedule_request, tx_acc

from offchain.outsourcing import CSNResult, get_field, sign_result
from offchain.outsourcing.accountability import build_accountability_transaction
from offchain.outsourcing.osc import (
    Account,
    AccountOutput,
    OscRejected,
    OscRevert,
    OscRuntime,
    ScheduleOutput,
    Settle,
    TaskStatus,
)
from offchain.outsourcing.task import Share

SEED = b"\xac" * 32


def _scheduled(seed: int = 1, **kwargs: int) -> tuple[OscRuntime, Task, list[str]]:
    runtime = OscRuntime(config())
    task = new_task(random.Random(seed), k=3, d=2, t=1, **kwargs)
    out = runtime.execute(schedule_request(task, SEED)).output
    assert isinstance(out, ScheduleOutput)
    return runtime, task, list(out.group)


def _account(runtime: OscRuntime, task: Task, group: list[str], results: list[CSNResult]) -> AccountOutput:
    out = runtime.execute(account_request(task, group, results)).output
    assert isinstance(out, AccountOutput)
    return out


def test_honest_run_gives_an_empty_mlist() -> None:
    runtime, task, group = _scheduled()
    out = _account(runtime, task, group, compute(task, group))
    assert out.mlist == ()
    assert not out.valid
    assert "nothing to account for" in out.reason
    assert runtime.task_status(task.task_id) is TaskStatus.ACCOUNTED
    settle = runtime.execute(Settle(task.task_id, (), 0)).output
    assert settle.slashed == ()
    assert len(settle.credits) == len(group)


@pytest.mark.parametrize("j", [1, 3, 4])
def test_one_cheating_csn_is_exactly_the_mlist(j: int) -> None:
    runtime, task, group = _scheduled(seed=j)
    out = _account(runtime, task, group, compute(task, group, cheaters=[j], seed=j))
    assert out.valid
    assert out.mlist == (group[j - 1],)
    assert out.indices == (j,)
    # Settle pays the others, slashes and blacklists the cheater, who is never scheduled again
    runtime.execute(Settle(task.task_id, out.mlist, 0, (10**20,)))
    assert runtime.is_blacklisted(group[j - 1])
    later = new_task(random.Random(100 + j), d=1, t=1)
    picked = runtime.execute(schedule_request(later, group[j - 1].encode()[:32]))
    assert group[j - 1] not in picked.output_as(ScheduleOutput).group


def test_several_cheaters_are_flagged() -> None:
    runtime, task, group = _scheduled(seed=9)
    out = _account(runtime, task, group, compute(task, group, cheaters=[2, 4], seed=2))
    assert set(out.mlist) == {group[1], group[3]}
    assert out.indices == (2, 4)
    assert list(out.mlist) == sorted(out.mlist, key=lambda a: int(a, 16))


def test_framing_with_a_forged_result_signature_flags_nobody() -> None:
    runtime, task, group = _scheduled(seed=3)
    results = compute(task, group)
    field = get_field()
    honest = results[1]
    forger = CSNS[-1]  # not CSN 2: the MTD (or anyone) cannot sign for it
    assert forger.address not in group
    results[1] = sign_result(
        forger, field, honest.task_id, 2, honest.task_hash, (honest.c + 1) % field.q, honest.b
    )
    out = _account(runtime, task, group, results)
    assert not out.valid
    assert out.mlist == ()
    assert "not signed by the CSN assigned" in out.reason
    runtime.execute(Settle(task.task_id, (), 0))  # so everybody is paid
    assert not any(runtime.is_blacklisted(a) for a in group)


def test_framing_with_a_wrong_share_flags_nobody() -> None:
    runtime, task, group = _scheduled(seed=4)
    results = compute(task, group)
    shares = list(task.task.shares)
    share = shares[2]
    q = get_field().q
    # a ∂_3 it never sent, with w changed too so that Eq. (9) fails on the honest results
    shares[2] = Share(share.j, tuple((v + 1) % q for v in share.v), (share.w + 1) % q)
    framed = replace(task.task, shares=tuple(shares))
    transaction = build_accountability_transaction(task.mtd, framed, results, group)
    out = runtime.execute(Account(task.task_id, transaction, task.polynomial)).output
    assert isinstance(out, AccountOutput)
    assert not out.valid
    assert out.mlist == ()
    assert "does not hash to the committed" in out.reason


def test_a_tx_acc_not_from_the_task_mtd_or_for_another_task_is_refused_and_not_recorded() -> None:
    runtime, task, group = _scheduled(seed=5)
    results = compute(task, group, cheaters=[1])
    forged = replace(tx_acc(task, group, results), signature=bytes(65))
    root = runtime.state_root
    with pytest.raises(OscRejected, match="not signed by the task's MTD"):
        runtime.execute(Account(task.task_id, forged, task.polynomial))
    with pytest.raises(OscRejected, match="another task"):
        runtime.execute(Account(b"\x01" * 32, tx_acc(task, group, results), task.polynomial))
    assert runtime.state_root == root
    assert runtime.task_status(task.task_id) is TaskStatus.SCHEDULED
    # the real one is still accepted
    assert _account(runtime, task, group, results).mlist == (group[0],)


def test_accsc_checks_status_sortedness_and_group_membership_in_the_evm() -> None:
    runtime, task, group = _scheduled(seed=6)
    digest = b"\x00" * 32
    outsider = CSNS[-1].address
    assert outsider not in group
    record = runtime._call  # the raw contract entry point, as a faulty runtime could call it
    with pytest.raises(OscRevert, match="NotInGroup"):
        record("ACCSC", "record", [task.task_id, True, [outsider], digest])
    two = sorted(group[:2], key=lambda a: int(a, 16))
    with pytest.raises(OscRevert, match="MListNotSorted"):
        record("ACCSC", "record", [task.task_id, True, two[::-1], digest])
    with pytest.raises(OscRevert, match="InvalidTransactionFlagsNobody"):
        record("ACCSC", "record", [task.task_id, False, two, digest])
    with pytest.raises(OscRevert, match="WrongTaskStatus"):
        record("ACCSC", "record", [b"\x07" * 32, True, [], digest])
    # a settled (or already accounted) task is not disputable any more
    results = compute(task, group, cheaters=[2])
    _account(runtime, task, group, results)
    with pytest.raises(OscRevert, match="WrongTaskStatus"):
        _account(runtime, task, group, results)

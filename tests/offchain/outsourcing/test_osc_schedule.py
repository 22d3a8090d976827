"""OCTVSC (spec 000 §2.4) rejects each bad TX_t with its named error; RSSC (§2.5, §3.10 (c)) picks m CSNs
with at most t per provider, deterministically from the seed, exactly as the Python rule."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import pytest
from bmeoc_helpers import keys
from osc_helpers import CSNS, MTD, candidates, config, new_task

from offchain.crypto.signing import sign_message
from offchain.outsourcing import InvalidParameters, TaskTransaction
from offchain.outsourcing.asc import group_commitment
from offchain.outsourcing.osc import (
    Candidate,
    OscRequestError,
    OscRevert,
    OscRuntime,
    ScheduleOutput,
    ScheduleTask,
    TaskStatus,
    derive_seed,
    select_group,
    selection_salt,
)

SEED = b"\x5e" * 32


def _resign(tx: TaskTransaction, **params: int) -> TaskTransaction:
    """TX_t with its parameters forced past the Python checks (as a hostile Leader could send it),
    re-signed."""
    for name, value in params.items():
        object.__setattr__(tx.params, name, value)
    object.__setattr__(tx, "signature", sign_message(MTD, tx.digest()))
    return tx


def _schedule(runtime: OscRuntime, tx: TaskTransaction, **kwargs: object) -> ScheduleOutput:
    out = runtime.execute(ScheduleTask(tx, kwargs.pop("cands", candidates()), SEED, **kwargs)).output  # type: ignore[arg-type]
    assert isinstance(out, ScheduleOutput)
    return out


def test_a_valid_tx_t_is_scheduled() -> None:
    runtime = OscRuntime(config())
    task = new_task(random.Random(1), d=2, t=2, deposit=10)
    out = _schedule(runtime, task.task.transaction, escrowed_deposit=10)
    assert len(out.group) == task.task.params.m == 7
    assert out.salt == selection_salt(SEED, task.task_id)
    assert out.group_commitment == group_commitment(out.group, out.salt)
    assert runtime.task_status(task.task_id) is TaskStatus.SCHEDULED
    assert 100_000 < runtime.last_gas_used < 30_000_000  # ecrecover, 48 candidates sorted, 7 stored


BAD_TX: dict[str, Callable[[random.Random], tuple[TaskTransaction, dict[str, object]]]] = {
    "WrongTaskHashCount": lambda rng: (_resign(new_task(rng).task.transaction, m=5), {}),
    "InvalidTaskParameters": lambda rng: (_resign(new_task(rng).task.transaction, k=0), {}),
    "TooFewServers": lambda rng: (_resign(new_task(rng, d=1, t=1).task.transaction, d=2), {}),
    "TooManyServers": lambda rng: (new_task(rng, d=1, t=1, m=65).task.transaction, {}),
    "DepositTooLow": lambda rng: (new_task(rng, deposit=99).task.transaction, {}),
    "DepositMismatch": lambda rng: (new_task(rng, deposit=500).task.transaction, {"escrowed_deposit": 501}),
    "InvalidSignature": lambda rng: (replace(new_task(rng).task.transaction, signature=bytes(65)), {}),
    "SignerMismatch": lambda rng: (new_task(rng, mtd=keys(2, "other-mtd")[1]).task.transaction, {"mtd": 1}),
    "TaskIdMismatch": lambda rng: (new_task(rng, bind=False).task.transaction, {}),
}


@pytest.mark.parametrize("error", sorted(BAD_TX))
def test_octvsc_rejects_each_bad_tx_t_with_its_error(error: str) -> None:
    runtime = OscRuntime(config(min_deposit=100))
    tx, extra = BAD_TX[error](random.Random(7))
    if extra.pop("mtd", None):  # a TX_t that names our MTD but is signed by another key
        tx = replace(tx, mtd=MTD.address)
    root = runtime.state_root
    with pytest.raises(OscRevert) as info:
        _schedule(runtime, tx, **extra)
    assert info.value.name == error
    assert info.value.contract == "OCTVSC"
    assert runtime.state_root == root
    assert runtime.seq == 0


def test_octvsc_rejects_a_replayed_task() -> None:
    runtime = OscRuntime(config())
    task = new_task(random.Random(2))
    _schedule(runtime, task.task.transaction)
    with pytest.raises(OscRevert, match="TaskReplayed"):
        _schedule(runtime, task.task.transaction)


@pytest.mark.parametrize("seed", range(6))
def test_rssc_at_most_t_per_provider_and_equal_to_the_python_rule(seed: int) -> None:
    rng = random.Random(seed)
    t = rng.choice([1, 2, 3])
    d = rng.choice([1, 2])
    providers = rng.choice([t + 3, 7, 12])
    pool = [Candidate(k.address, f"p{rng.randrange(providers)}".encode(), rng.random() < 0.85) for k in CSNS]
    task = new_task(rng, d=d, t=t)
    selection_seed = derive_seed(b"leader-secret-" + bytes([seed]) * 8, task.task_id)
    m = task.task.params.m
    try:
        expected = select_group(pool, m, t, selection_seed, task.task_id)
    except InvalidParameters:
        pytest.skip("this draw cannot supply a group")
    runtime = OscRuntime(config())
    out = runtime.execute(ScheduleTask(task.task.transaction, tuple(pool), selection_seed)).output
    assert isinstance(out, ScheduleOutput)
    assert list(out.group) == expected
    provider = {c.address: c.provider for c in pool}
    eligible = {c.address for c in pool if c.eligible}
    assert max(Counter(provider[a] for a in out.group).values()) <= t
    assert set(out.group) <= eligible
    assert len(set(out.group)) == m
    # the order of the candidate list does not matter; the seed does
    again = OscRuntime(config())
    shuffled = list(pool)
    rng.shuffle(shuffled)
    assert again.execute(ScheduleTask(task.task.transaction, tuple(shuffled), selection_seed)).output == out
    other = OscRuntime(config()).execute(ScheduleTask(task.task.transaction, tuple(pool), b"\x01" * 32))
    assert other.output_as(ScheduleOutput).group != out.group


def test_rssc_refuses_when_there_are_too_few_candidates() -> None:
    runtime = OscRuntime(config())
    task = new_task(random.Random(4), d=1, t=1)  # m = 3, at most 1 per provider
    two_providers = tuple(Candidate(k.address, b"a" if i % 2 else b"b") for i, k in enumerate(CSNS[:10]))
    with pytest.raises(OscRevert) as info:
        runtime.execute(ScheduleTask(task.task.transaction, two_providers, SEED))
    assert info.value.name == "NotEnoughCandidates"
    assert info.value.args_ == (2, 3)
    with pytest.raises(InvalidParameters):
        select_group(two_providers, 3, 1, SEED, task.task_id)
    ineligible = tuple(replace(c, eligible=False) for c in candidates())
    with pytest.raises(OscRevert, match="NotEnoughCandidates"):
        runtime.execute(ScheduleTask(task.task.transaction, ineligible, SEED))
    # nothing was recorded: the task can still be scheduled with enough candidates
    assert runtime.task_status(task.task_id) is TaskStatus.NONE
    assert len(_schedule(runtime, task.task.transaction).group) == 3


def test_values_out_of_the_abi_range_are_a_request_error() -> None:
    runtime = OscRuntime(config())
    tx = _resign(new_task(random.Random(6)).task.transaction, k=2**256)
    with pytest.raises(OscRequestError, match="cannot encode"):
        runtime.execute(ScheduleTask(tx, candidates(), SEED))
    with pytest.raises(OscRequestError, match="unknown request type"):
        runtime.execute("schedule")  # type: ignore[arg-type]
    assert runtime.seq == 0


def test_duplicate_candidates_are_refused() -> None:
    task = new_task(random.Random(5))
    cands = candidates()
    with pytest.raises(OscRequestError, match="appears twice"):
        ScheduleTask(task.task.transaction, (*cands, cands[0]), SEED)

"""Shared helpers of the off-chain contract tests (imported as a plain module, like bmeoc_helpers)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from bmeoc_helpers import keys

from offchain.crypto.keys import KeyPair
from offchain.outsourcing import (
    AnyPolynomial,
    CSNResult,
    PreparedTask,
    get_field,
    prepare_task,
    process_task,
    random_dense,
    sign_result,
)
from offchain.outsourcing.accountability import AccountabilityTransaction, build_accountability_transaction
from offchain.outsourcing.osc import Account, Candidate, OscConfig, ScheduleTask, bind_to_asc

CHAIN_ID = 31337
ASC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ENV_ID = 3
MTD = keys(1, "osc-mtd")[0]
CSNS = keys(48, "osc-csn")
BY_ADDRESS = {k.address: k for k in CSNS}


def config(**overrides: object) -> OscConfig:
    base: dict[str, object] = {"chain_id": CHAIN_ID, "asc": ASC, "env_id": ENV_ID}
    base.update(overrides)
    return OscConfig(**base)  # type: ignore[arg-type]


def candidates(csns: Sequence[KeyPair] = CSNS, providers: int = 8) -> tuple[Candidate, ...]:
    """Every CSN eligible, provider i mod ``providers``."""
    return tuple(Candidate(k.address, f"provider-{i % providers}".encode()) for i, k in enumerate(csns))


@dataclass
class Task:
    task: PreparedTask
    polynomial: AnyPolynomial
    mtd: KeyPair

    @property
    def task_id(self) -> bytes:
        return self.task.transaction.task_id


def new_task(
    rng: random.Random,
    *,
    k: int = 2,
    d: int = 1,
    t: int = 1,
    m: int | None = None,
    deposit: int = 1_000,
    mtd: KeyPair = MTD,
    bind: bool = True,
) -> Task:
    """A real task of the core protocol, re-signed under ASC's task id (unless ``bind`` is False)."""
    field = get_field()
    polynomial = random_dense(field, k, d, rng)
    x = field.random_elements(k, rng)
    # a fixed timestamp: the same rng gives the same TX_t (and signature) whenever the test runs
    prepared = prepare_task(mtd, polynomial, x, t, m=m, deposit=deposit, rng=rng, timestamp=1_700_000_000)
    if bind:
        prepared = bind_to_asc(mtd, prepared, CHAIN_ID, ASC)
    return Task(prepared, polynomial, mtd)


def compute(task: Task, group: Sequence[str], cheaters: Sequence[int] = (), seed: int = 0) -> list[CSNResult]:
    """Each CSN of ``group`` computes its R_j; the ones at ``cheaters`` (indices j) return a wrong c_j."""
    rng = random.Random(seed)
    field = task.polynomial.field
    results = []
    for j, address in enumerate(group, start=1):
        csn = BY_ADDRESS[address]
        result = process_task(csn, task.task.task_for(j), task.polynomial, task.task.transaction.mtd)
        if j in cheaters:
            c = (result.c + 1 + rng.randrange(field.q - 1)) % field.q
            b = c * task.task.shares[j - 1].w % field.q if rng.random() < 0.5 else result.b
            result = sign_result(csn, field, result.task_id, j, result.task_hash, c, b)
        results.append(result)
    return results


def tx_acc(task: Task, group: Sequence[str], results: Sequence[CSNResult]) -> AccountabilityTransaction:
    return build_accountability_transaction(task.mtd, task.task, results, group)


def schedule_request(
    task: Task, seed: bytes, cands: Sequence[Candidate] | None = None, escrowed_deposit: int | None = None
) -> ScheduleTask:
    """The ScheduleTask request of ``task`` over ``cands`` (default: every CSN eligible, ``candidates()``)."""
    pool = candidates() if cands is None else tuple(cands)
    return ScheduleTask(task.task.transaction, pool, seed, escrowed_deposit)


def account_request(task: Task, group: Sequence[str], results: Sequence[CSNResult]) -> Account:
    """The Account request of ``task``: the MTD's TX_acc over ``group``'s ``results``."""
    return Account(task.task_id, tx_acc(task, group, results), task.polynomial)

"""Shared helpers of the Meta-BMEOC tests: keys and an honest run (imported as a plain module)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from offchain.crypto.keys import KeyPair, derive
from offchain.outsourcing import (
    AnyPolynomial,
    CSNResult,
    Field,
    PreparedTask,
    get_field,
    prepare_task,
    process_task,
    random_dense,
)

SEED = b"metatrust-tests-outsourcing"


@dataclass
class Run:
    field: Field
    polynomial: AnyPolynomial
    x: list[int]
    task: PreparedTask
    results: list[CSNResult]
    csns: list[KeyPair]
    mtd: KeyPair

    @property
    def group(self) -> list[str]:
        return [csn.address for csn in self.csns]


def keys(count: int, label: str = "csn") -> list[KeyPair]:
    return [derive(SEED + label.encode(), i) for i in range(count)]


def honest_run(
    k: int,
    d: int,
    t: int,
    *,
    q: int | None = None,
    rng: random.Random | None = None,
    mtd: KeyPair | None = None,
) -> Run:
    rng = rng or random.Random(1)
    field = get_field(q) if q is not None else get_field()
    polynomial = random_dense(field, k, d, rng)
    x = field.random_elements(k, rng)
    mtd = mtd or keys(1, "mtd")[0]
    task = prepare_task(mtd, polynomial, x, t, rng=rng)
    csns = keys(task.params.m)
    results = [process_task(csn, task.task_for(j), polynomial, mtd.address) for j, csn in enumerate(csns, 1)]
    return Run(field, polynomial, x, task, results, csns, mtd)

"""Per-step EVM gas and wall time of the off-chain contract runtime (a measurement, not a test).

``python -m offchain.outsourcing.osc.measure [--repeats 5]`` prints a Markdown table: for m = (d+1)t+1 in
{3, 7, 16, 31} and 48 candidates of 16 providers, the EVM gas (inside the enclave's pyrevm, not on chain)
and the median wall time of ScheduleTask, Account (2 cheaters, Algorithm 1 natively + ACCSC), Settle and
DefaultPayout, and the time to build a runtime (deploy the four contracts).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from offchain.crypto.keys import KeyPair, derive
from offchain.outsourcing import get_field, prepare_task, process_task, random_dense, sign_result
from offchain.outsourcing.accountability import build_accountability_transaction
from offchain.outsourcing.osc.messages import (
    Account,
    AccountOutput,
    DefaultPayout,
    ScheduleOutput,
    ScheduleTask,
    Settle,
)
from offchain.outsourcing.osc.runtime import OscConfig, OscRuntime
from offchain.outsourcing.osc.selection import Candidate
from offchain.outsourcing.osc.tasks import bind_to_asc

CHAIN_ID = 31337
ASC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SHAPES = ((1, 1), (2, 2), (2, 5), (2, 10))
SEED = b"metatrust/osc/measure"


def _one(
    d: int, t: int, rng: random.Random, mtd: KeyPair, csns: dict[str, KeyPair]
) -> list[tuple[str, int, float]]:
    runtime = OscRuntime(OscConfig(CHAIN_ID, ASC, 1))
    field = get_field()
    candidates = tuple(Candidate(a, f"provider-{i % 16}".encode()) for i, a in enumerate(csns))
    tasks = []
    for _ in range(2):
        polynomial = random_dense(field, 8, d, rng)
        prepared = prepare_task(mtd, polynomial, field.random_elements(8, rng), t, deposit=10**21, rng=rng)
        tasks.append((bind_to_asc(mtd, prepared, CHAIN_ID, ASC), polynomial))
    (task, polynomial), (other, _) = tasks
    steps: list[tuple[str, int, float]] = []

    def timed(name: str, request: ScheduleTask | Account | Settle | DefaultPayout) -> object:
        start = time.perf_counter()
        result = runtime.execute(request)
        steps.append((name, runtime.last_gas_used, time.perf_counter() - start))
        return result.output

    schedule = timed("ScheduleTask", ScheduleTask(task.transaction, candidates, rng.randbytes(32)))
    assert isinstance(schedule, ScheduleOutput)
    runtime.execute(ScheduleTask(other.transaction, candidates, rng.randbytes(32)))
    results = []
    for j, address in enumerate(schedule.group, start=1):
        result = process_task(csns[address], task.task_for(j), polynomial, mtd.address)
        if j <= 2:
            wrong = (result.c + 1) % field.q
            result = sign_result(csns[address], field, result.task_id, j, result.task_hash, wrong, result.b)
        results.append(result)
    tx_acc = build_accountability_transaction(mtd, task, results, schedule.group)
    account = timed("Account (2 cheaters)", Account(task.transaction.task_id, tx_acc, polynomial))
    assert isinstance(account, AccountOutput)
    stakes = (10**20,) * len(account.mlist)
    timed("Settle", Settle(task.transaction.task_id, account.mlist, 10**24, stakes))
    timed("DefaultPayout", DefaultPayout(other.transaction.task_id))
    return steps


def main(repeats: int = 5) -> str:
    mtd = derive(SEED + b"/mtd", 0)
    csns = {key.address: key for key in (derive(SEED + b"/csn", i) for i in range(48))}
    lines = [
        "| m | d | t | candidates | step | EVM gas | ms (median) |",
        "|---:|---:|---:|---:|---|---:|---:|",
    ]
    for d, t in SHAPES:
        rows: dict[str, list[tuple[int, float]]] = {}
        for repeat in range(repeats):
            for name, gas, seconds in _one(d, t, random.Random(repeat), mtd, csns):
                rows.setdefault(name, []).append((gas, seconds))
        for name, values in rows.items():
            median = statistics.median(v[1] for v in values) * 1000
            lines.append(
                f"| {(d + 1) * t + 1} | {d} | {t} | {len(csns)} | {name} | {values[0][0]:,} | {median:.1f} |"
            )
    start = time.perf_counter()
    for _ in range(20):
        OscRuntime(OscConfig(CHAIN_ID, ASC, 1))
    lines.append("")
    build_ms = (time.perf_counter() - start) / 20 * 1000
    lines.append(f"OscRuntime() (fresh EVM + deploy and bind the four contracts): {build_ms:.1f} ms")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    print(main(parser.parse_args().repeats))

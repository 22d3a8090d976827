"""The MTD client: select m CSNs from RSC, send the sealed shares in parallel, verify, and on failure build
and check the accountability transaction.

Here TX_acc is built, signed and checked off chain with the pure
:func:`~offchain.outsourcing.accountability.audit`. The on-chain side (ASC escrow, the enclaves running ACCSC,
settlement) is :mod:`offchain.outsourcing.onchain_flow`, where the MTD seals TX_acc to the enclaves.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.chain.registry import NodeRecord
from offchain.crypto.keys import KeyPair
from offchain.outsourcing.accountability import (
    AccountabilityContext,
    AccountabilityReport,
    AccountabilityTransaction,
    audit,
    build_accountability_transaction,
)
from offchain.outsourcing.csn import CSNResult
from offchain.outsourcing.errors import InvalidParameters
from offchain.outsourcing.polynomial import AnyPolynomial
from offchain.outsourcing.task import PreparedTask, prepare_task
from offchain.outsourcing.verify import Verification, verify_results
from offchain.outsourcing.wire import (
    ACTION,
    ComputeRequest,
    ComputeResponse,
    TaskTransactionModel,
    seal_share,
)


def select_group(
    candidates: Sequence[NodeRecord], m: int, t: int, rng: random.Random | None = None
) -> list[NodeRecord]:
    """m distinct CSNs with at most t per provider (spec §3.10 (c), the RSSC diversity rule), in random order.

    Raises :class:`InvalidParameters` when the registry cannot supply such a group.
    """
    rng = rng or random.SystemRandom()
    pool = list(candidates)
    rng.shuffle(pool)
    chosen: list[NodeRecord] = []
    per_provider: Counter[bytes] = Counter()
    for record in pool:
        if len(chosen) == m:
            break
        if per_provider[record.provider] >= t:
            continue
        per_provider[record.provider] += 1
        chosen.append(record)
    if len(chosen) < m:
        raise InvalidParameters(
            f"need m = {m} CSNs with at most t = {t} per provider; "
            f"the registry offers {len(chosen)} such CSNs"
        )
    return chosen


@dataclass
class OutsourceOutcome:
    """Everything one outsourced evaluation produced."""

    task: PreparedTask
    group: list[NodeRecord]
    results: list[CSNResult | None]
    errors: dict[int, str]
    verification: Verification
    accountability_transaction: AccountabilityTransaction | None = None
    accountability: AccountabilityReport | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def value(self) -> int | None:
        return self.verification.value


async def call_csn(
    rpc: AgentClient,
    task: PreparedTask,
    polynomial: AnyPolynomial,
    record: NodeRecord,
    j: int,
    *,
    delivered: set[tuple[str, bytes]] | None = None,
) -> CSNResult:
    """Send T_j (share sealed to the CSN's registered key) and return its R_j.

    F is attached unless ``delivered`` records that this CSN already received it (CSNs cache F by digest);
    when the CSN has evicted it (422 unknown-polynomial) the call is repeated with F.
    """
    tx = task.transaction
    sealed = seal_share(
        polynomial.field, record.encryption_key, task.shares[j - 1], tx.task_id, record.address, tx.mtd
    )
    key = (record.address, polynomial.digest())
    attach = delivered is None or key not in delivered
    while True:
        request = ComputeRequest(
            transaction=TaskTransactionModel.of(tx),
            j=j,
            sealed_share=sealed,
            polynomial=polynomial.to_wire() if attach else None,
        )
        try:
            response = await rpc.call(record.endpoint, record.address, ACTION, request, ComputeResponse)
        except AgentCallError as exc:
            if attach or exc.code != "unknown-polynomial":
                raise
            attach = True
            continue
        if delivered is not None:
            delivered.add(key)
        return response.to_core()


async def outsource(
    mtd: KeyPair,
    rpc: AgentClient,
    polynomial: AnyPolynomial,
    x: Sequence[int],
    t: int,
    candidates: Sequence[NodeRecord],
    *,
    deposit: int = 0,
    rng: random.Random | None = None,
    delivered: set[tuple[str, bytes]] | None = None,
) -> OutsourceOutcome:
    """Task processing, parallel dispatch, verification, and accountability when verification fails.

    ``delivered`` (optional, kept by the caller across tasks) lets repeated tasks over one F skip sending F.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    task = prepare_task(mtd, polynomial, x, t, deposit=deposit, rng=rng)
    timings["task_processing"] = (time.perf_counter() - started) * 1000
    group = select_group(candidates, task.params.m, t, rng)

    started = time.perf_counter()
    answers = await asyncio.gather(
        *(
            call_csn(rpc, task, polynomial, record, j, delivered=delivered)
            for j, record in enumerate(group, start=1)
        ),
        return_exceptions=True,
    )
    timings["online_round_trip"] = (time.perf_counter() - started) * 1000
    results: list[CSNResult | None] = []
    errors: dict[int, str] = {}
    for j, answer in enumerate(answers, start=1):
        if isinstance(answer, CSNResult):
            results.append(answer)
        elif isinstance(answer, AgentCallError):
            results.append(None)
            errors[j] = f"{answer.status} {answer.code}: {answer.reason}"
        elif isinstance(answer, BaseException):
            raise answer
    addresses = [record.address for record in group]

    started = time.perf_counter()
    verification = verify_results(polynomial.field, task.transaction, task.secret.alpha, results, addresses)
    timings["verification"] = (time.perf_counter() - started) * 1000
    outcome = OutsourceOutcome(task, group, results, errors, verification, timings_ms=timings)
    if verification.accepted or verification.invalid_indices:
        # accepted: nothing to account for; missing/unauthentic results are a liveness fault (no R_j to judge)
        return outcome
    complete = [r for r in results if r is not None]
    started = time.perf_counter()
    tx_acc = build_accountability_transaction(mtd, task, complete, addresses)
    report = audit(
        tx_acc, polynomial, AccountabilityContext(registered_mtd=mtd.address, assigned_group=addresses)
    )
    timings["accountability"] = (time.perf_counter() - started) * 1000
    outcome.accountability_transaction = tx_acc
    outcome.accountability = report
    return outcome

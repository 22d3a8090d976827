"""The runtime against ASC on the devnet (R29): what ASC moves and pays equals what SSC computed in the
enclave's EVM. The environment's signature comes from the test mock ``MockEnvironmentVerifier`` (one ECDSA
key stands for the environment; MSC's BLS check is exercised by the enclave flow). The deployment and the
actors are those of the ASC contract tests (``tests/outsourcing/asc_fixtures.py``)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import ape
from asc_fixtures import (
    BASE_CONFIG,
    PARAMS,
    STAKE,
    UNIT,
    deploy_with_mock_verifier,
    enrol_actors,
    provider_id,
)

from offchain.chain.roles import ActorRole
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import derive, from_private_key
from offchain.crypto.signing import sign_hash
from offchain.deploy import Deployment
from offchain.outsourcing import get_field, prepare_task, process_task, random_dense, sign_result
from offchain.outsourcing.accountability import build_accountability_transaction
from offchain.outsourcing.asc import id_tasks_hash
from offchain.outsourcing.osc import (
    Account,
    AccountOutput,
    Candidate,
    DefaultPayout,
    DefaultPayoutOutput,
    OscConfig,
    OscRuntime,
    ScheduleOutput,
    ScheduleTask,
    Settle,
    SettleOutput,
    bind_to_asc,
    derive_seed,
)

ENV_ID = keccak256(b"metatrust/tests/bmeoc/osc-env")
CONFIG = replace(BASE_CONFIG, environment_id=ENV_ID)


def test_asc_moves_exactly_what_the_runtime_computed(
    project: Any, deployer: Any, platform: Deployment, auditor: Any, pool_holders: Any, accounts: Any
) -> None:
    env_key = derive(b"metatrust-tests-osc-environment", 0)
    asc, _ = deploy_with_mock_verifier(project, deployer, platform, pool_holders, CONFIG, env_key)
    token, registry = platform.contracts["MetaCoin"], platform.contracts["RSC"]
    mtd = accounts[6]
    csns = enrol_actors(asc, token, registry, deployer, auditor, pool_holders, mtd, count=8, providers=4)
    providers = {str(csn.address): provider_id(i, 4) for i, csn in enumerate(csns)}
    keys = {str(c.address): from_private_key(c.private_key) for c in csns}
    mtd_key = from_private_key(mtd.private_key)
    chain_id = int(ape.chain.provider.chain_id)
    runtime = OscRuntime(OscConfig(chain_id, str(asc.address), int.from_bytes(ENV_ID, "big"), PARAMS))
    assert runtime.asc_environment_id == ENV_ID

    def sign(digest: bytes) -> bytes:
        return sign_hash(env_key, digest)

    rng = random.Random(8)
    field = get_field()
    polynomial = random_dense(field, 3, 2, rng)

    def schedule(deposit: int) -> tuple[Any, ScheduleOutput]:
        """MTD opens the task (TX_t bound to ASC's id), the environment schedules and anchors it."""
        task = bind_to_asc(
            mtd_key,
            prepare_task(mtd_key, polynomial, field.random_elements(3, rng), 2, deposit=deposit, rng=rng),
            chain_id,
            str(asc.address),
        )
        tx = task.transaction
        asc.openTask(id_tasks_hash(tx.task_hashes), tx.m, deposit, sender=mtd)
        escrowed = int(asc.getTask(tx.task_id).deposit)
        candidates = tuple(Candidate(a, providers[a], bool(asc.isEligible(a))) for a in keys)
        seed = derive_seed(b"leader-secret-of-the-test", tx.task_id)
        out = runtime.execute(ScheduleTask(tx, candidates, seed, escrowed)).output_as(ScheduleOutput)
        signature = sign(runtime.anchor_digest(out))
        asc.anchorSchedule(tx.task_id, out.group_commitment, signature, sender=deployer)
        return task, out

    def settle(task_id: bytes, mlist: tuple[str, ...]) -> SettleOutput:
        stakes = tuple(int(asc.stakeOf(a).bonded) for a in mlist)
        pool_before, mtd_before = int(asc.incentivePool()), int(token.balanceOf(mtd))
        result = runtime.execute(Settle(task_id, mlist, pool_before, stakes))
        out = result.output_as(SettleOutput)
        receipt = asc.settle(
            task_id,
            list(out.mlist),
            out.bonus,
            result.state_root,
            sign(runtime.settlement_digest(result)),
            sender=deployer,
        )
        event = receipt.events.filter(asc.TaskSettled)[0]
        assert int(event.honestCredit) == out.honest_credit
        assert int(event.mtdRefund) == out.mtd_refund
        assert int(event.toPool) == out.to_pool
        assert int(token.balanceOf(mtd)) - mtd_before == out.mtd_refund
        assert int(asc.incentivePool()) == pool_before - out.bonus + out.to_pool
        assert bytes(asc.sscStateRoot()) == result.state_root
        for (csn, slashed), before in zip(out.slashed, stakes, strict=True):
            assert int(asc.stakeOf(csn).bonded) == before - slashed
        return out

    # task 1: one cheating CSN, disputed, accounted, settled
    task, scheduled = schedule(1_000 * UNIT + 3)
    group = scheduled.group
    results = []
    for j, address in enumerate(group, start=1):
        result = process_task(keys[address], task.task_for(j), polynomial, mtd_key.address)
        if j == 2:
            wrong = (result.c + 1) % field.q
            result = sign_result(keys[address], field, result.task_id, j, result.task_hash, wrong, result.b)
        results.append(result)
    asc.openDispute(task.transaction.task_id, sender=mtd)
    tx_acc = build_accountability_transaction(mtd_key, task, results, group)
    account = runtime.execute(Account(task.transaction.task_id, tx_acc, polynomial)).output_as(AccountOutput)
    assert account.mlist == (group[1],)
    first = settle(task.transaction.task_id, account.mlist)
    assert first.slashed_total == min(2 * (first.b_mtd + PARAMS.basic_stake), STAKE)  # capped at the stake
    assert not registry.isActive(group[1], int(ActorRole.CSN))  # blacklisted in RSC
    assert runtime.is_blacklisted(group[1])

    # task 2: settled without a dispute: the honest CSNs of task 1 now earn the reputation bonus
    task, scheduled = schedule(500 * UNIT)
    second = settle(task.transaction.task_id, ())
    assert group[1] not in scheduled.group
    repeat = [a for a in scheduled.group if a in group]
    assert len(repeat) == 6  # m = 7 of the 7 CSNs left (t = 2 per provider)
    assert second.bonus == len(repeat) * PARAMS.reward_per_honest

    # task 3: nobody disputes, the default payout after the window
    task, scheduled = schedule(7 * UNIT + 2)
    ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + CONFIG.dispute_window + 1)
    event = asc.finalizeDefault(task.transaction.task_id, sender=deployer).events.filter(asc.DefaultPayout)[0]
    paid = runtime.execute(DefaultPayout(task.transaction.task_id)).output_as(DefaultPayoutOutput)
    assert (int(event.perCsn), int(event.credited), int(event.mtdRefund)) == (
        paid.per_csn,
        paid.credited,
        paid.mtd_refund,
    )

    # every CSN claims its voucher: ASC pays exactly the runtime's ledger, and everything credited
    total = 0
    for address in keys:
        cumulative, digest = runtime.claim(address)
        total += cumulative
        if cumulative == 0:
            assert address == group[1]
            continue
        before = int(token.balanceOf(address))
        asc.claim(address, cumulative, sign(digest), sender=deployer)
        assert int(token.balanceOf(address)) - before == cumulative
    assert total == int(asc.totalCredited()) == int(asc.totalClaimed())

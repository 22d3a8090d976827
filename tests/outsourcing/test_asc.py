"""ASC, the anchoring contract of Meta-BMEOC (seed 000, R23, R26, R28-R29), against the SSC of
``offchain/outsourcing/incentives.py``: ASC's own rules. The environment's aggregate signature comes from the
test mock ``MockEnvironmentVerifier`` (one ECDSA key stands for the environment); ``test_asc_msc.py`` runs
ASC against the real MSC with BLS aggregates of a real environment, and measures the gas rows there."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import ape
import pytest
from asc_fixtures import (
    BASE_CONFIG,
    PAID_BY_DEFAULT,
    REFUNDED,
    SCHEDULED,
    SETTLED,
    STAKE,
    UNIT,
    Env,
    anchor,
    balance_sheet,
    check_replays,
    claim_and_check,
    deploy_with_mock_verifier,
    enrol_actors,
    later,
    open_task,
    settle_onchain,
)

from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, derive, from_private_key
from offchain.crypto.signing import sign_hash
from offchain.deploy import Deployment
from offchain.outsourcing import get_field, prepare_task, random_dense
from offchain.outsourcing.asc import RewardLedger, group_commitment, id_tasks_hash, sorted_mlist
from offchain.outsourcing.incentives import WAD, default_payout

ENV_ID = keccak256(b"metatrust/tests/bmeoc/env-1")
CONFIG = replace(BASE_CONFIG, environment_id=ENV_ID)


@pytest.fixture(scope="module")
def env_key() -> KeyPair:
    return derive(b"metatrust-tests-asc-environment", 0)


@pytest.fixture(scope="module")
def bmeoc(
    project: Any,
    deployer: Any,
    platform: Deployment,
    auditor: Any,
    pool_holders: Any,
    accounts: Any,
    env_key: KeyPair,
) -> Env:
    asc, verifier = deploy_with_mock_verifier(project, deployer, platform, pool_holders, CONFIG, env_key)
    token, registry = platform.contracts["MetaCoin"], platform.contracts["RSC"]
    mtd = accounts[6]
    csns = enrol_actors(asc, token, registry, deployer, auditor, pool_holders, mtd)
    chain_id = int(ape.chain.provider.chain_id)
    return Env(asc, token, registry, verifier, mtd, csns, lambda d: sign_hash(env_key, d), ENV_ID, chain_id)


@pytest.fixture(autouse=True)
def fresh_ledger(bmeoc: Env) -> None:
    """The devnet rewinds after every test; so does the SSC's off-chain ledger."""
    bmeoc.ledger = RewardLedger()


# ------------------------------------------------------------------------------------------ happy paths


def test_digests_equal_the_python_encoding(bmeoc: Env, measure_view: Any) -> None:
    tid, commitment, csn = keccak256(b"t"), keccak256(b"g"), bmeoc.csns[0].address
    mlist = sorted_mlist([bmeoc.csns[1].address, bmeoc.csns[2].address])
    a = bmeoc.asc
    assert bytes(a.anchorDigest(tid, commitment)) == bmeoc.anchor_digest(tid, commitment)
    assert bytes(a.settlementDigest(tid, mlist, 5, commitment)) == bmeoc.settlement_digest(
        tid, mlist, 5, commitment
    )
    assert bytes(a.claimDigest(csn, 9)) == bmeoc.claim_digest(str(csn), 9)
    measure_view(a, "anchorDigest", tid, commitment)
    measure_view(a, "settlementDigest", tid, mlist, 5, commitment)
    measure_view(a, "claimDigest", csn, 9)


def test_default_payout_after_the_window(bmeoc: Env) -> None:
    env, asc = bmeoc, bmeoc.asc
    group = [str(c.address) for c in env.csns[:5]]
    deposit = 103 * UNIT + 4  # not a multiple of m: the remainder returns to the MTD
    mtd_before = int(env.token.balanceOf(env.mtd))
    tid, opened = open_task(env, 5, deposit, 1)
    event = opened.events.filter(asc.TaskOpened)[0]
    assert (event.mtd, event.deposit, event.m) == (env.mtd.address, deposit, 5)
    receipt = anchor(env, tid, group)
    scheduled = receipt.events.filter(asc.TaskScheduled)[0]
    assert bytes(scheduled.envId) == ENV_ID
    assert scheduled.disputeDeadline == receipt.timestamp + CONFIG.dispute_window
    assert asc.getTask(tid).status == SCHEDULED
    with ape.reverts(asc.TooEarly):
        asc.finalizeDefault(tid, sender=env.csns[0])
    later(CONFIG.dispute_window)
    final = asc.finalizeDefault(tid, sender=env.csns[0])
    expected = default_payout(deposit, group)
    paid = final.events.filter(asc.DefaultPayout)[0]
    assert (paid.perCsn, paid.credited, paid.mtdRefund) == (
        expected.b_mtd,
        expected.honest_credit,
        expected.mtd_refund,
    )
    assert asc.getTask(tid).status == PAID_BY_DEFAULT
    env.ledger.apply(expected)
    claims = claim_and_check(env, group, expected.credits)
    assert claims[0].events.filter(asc.Claimed)[0].amount == expected.b_mtd
    assert int(env.token.balanceOf(env.mtd)) == mtd_before - deposit + expected.mtd_refund
    assert int(env.token.balanceOf(asc)) == balance_sheet(env)
    with ape.reverts(asc.WrongStatus):  # paid once
        asc.finalizeDefault(tid, sender=env.csns[0])


def test_settlement_m16_pays_the_ssc_and_slashes(bmeoc: Env) -> None:
    env, asc = bmeoc, bmeoc.asc
    group = [str(c.address) for c in env.csns[:16]]
    malicious = {group[3], group[11]}
    env.ledger.reputation.update({g.lower(): 2 for g in group})  # earlier honest tasks: T_i = 2
    deposit = 160 * UNIT
    tid, _ = open_task(env, 16, deposit, 16)
    anchor(env, tid, group)
    dispute = asc.openDispute(tid, sender=env.mtd)
    assert (
        dispute.events.filter(asc.DisputeOpened)[0].settlementDeadline
        == dispute.timestamp + CONFIG.settlement_timeout
    )
    tokens_before = int(env.token.totalSupply())
    pool_before = int(asc.incentivePool())
    mtd_before = int(env.token.balanceOf(env.mtd))
    receipt, result = settle_onchain(env, tid, group, malicious, deposit)
    settled = receipt.events.filter(asc.TaskSettled)[0]
    assert (settled.malicious, settled.honestCredit, settled.mtdRefund, settled.bonus, settled.toPool) == (
        2,
        result.honest_credit,
        result.mtd_refund,
        result.bonus_paid,
        result.to_pool,
    )
    assert bytes(settled.sscStateRoot) == env.ledger.root() == bytes(asc.sscStateRoot())
    slashes = {s.csn.lower(): int(s.amount) for s in receipt.events.filter(asc.Slashed)}
    assert slashes == result.slashed
    assert result.slashed == dict.fromkeys((m.lower() for m in malicious), 2 * (10 * UNIT + 100 * UNIT))
    for csn in malicious:
        assert int(asc.stakeOf(csn).bonded) == STAKE - result.slashed[csn.lower()]
        assert not env.registry.isActive(csn, 0)
        assert env.registry.getNode(csn).status == 3  # Blacklisted
    assert len(receipt.events.filter(env.registry.NodeBlacklisted)) == 2
    assert int(asc.incentivePool()) == pool_before - result.bonus_paid + result.to_pool
    assert int(env.token.balanceOf(env.mtd)) == mtd_before + result.mtd_refund
    claim_and_check(env, group, result.credits)
    assert int(env.token.totalSupply()) == tokens_before
    assert int(env.token.balanceOf(asc)) == balance_sheet(env)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_instances_match_the_ssc(bmeoc: Env, seed: int) -> None:
    env, asc = bmeoc, bmeoc.asc
    rng = random.Random(seed)
    m = rng.randint(1, 8)
    group = [str(c.address) for c in rng.sample(env.csns, m)]
    malicious = set(rng.sample(group, rng.randint(0, min(m, 3))))
    env.ledger.reputation.update({g.lower(): rng.randint(0, 5) for g in group})
    deposit = rng.randint(1, 500 * UNIT)
    mtd_before = int(env.token.balanceOf(env.mtd))
    stakes_before = {c: int(asc.stakeOf(c).bonded) for c in group}
    tid, _ = open_task(env, m, deposit, seed)
    anchor(env, tid, group)
    if rng.random() < 0.5:
        asc.openDispute(tid, sender=env.mtd)
    _, result = settle_onchain(env, tid, group, malicious, deposit)
    assert result.conserves(deposit)
    claim_and_check(env, group, result.credits)
    for csn in group:
        assert int(asc.stakeOf(csn).bonded) == stakes_before[csn] - result.slashed.get(csn.lower(), 0)
        assert env.registry.isActive(csn, 0) == (csn not in malicious)
    assert int(env.token.balanceOf(env.mtd)) == mtd_before - deposit + result.mtd_refund
    assert int(env.token.balanceOf(asc)) == balance_sheet(env)
    assert asc.getTask(tid).status == SETTLED


def test_settlement_without_malicious_pays_everyone(bmeoc: Env) -> None:
    """ACC returned 0 after a dispute (spec §2.2 case 4): the CSNs are paid as usual, with their bonus."""
    env, asc = bmeoc, bmeoc.asc
    group = [str(c.address) for c in env.csns[:3]]
    env.ledger.reputation.update({g.lower(): 4 for g in group})
    tid, _ = open_task(env, 3, 30 * UNIT, 30)
    anchor(env, tid, group)
    asc.openDispute(tid, sender=env.mtd)
    receipt, result = settle_onchain(env, tid, group, set(), 30 * UNIT)
    assert not receipt.events.filter(asc.Slashed)
    assert result.credits == dict.fromkeys((g.lower() for g in group), 10 * UNIT + 4 * UNIT)
    claim_and_check(env, group, result.credits)


def test_all_malicious_refunds_the_mtd_and_feeds_the_pool(bmeoc: Env) -> None:
    env, asc = bmeoc, bmeoc.asc
    group = [str(c.address) for c in env.csns[:2]]
    pool = int(asc.incentivePool())
    tid, _ = open_task(env, 2, 20 * UNIT, 40)
    anchor(env, tid, group)
    mtd_before = int(env.token.balanceOf(env.mtd))
    _, result = settle_onchain(env, tid, group, set(group), 20 * UNIT)
    assert result.credits == {}
    assert int(env.token.balanceOf(env.mtd)) == mtd_before + 20 * UNIT
    assert int(asc.incentivePool()) == pool + sum(result.slashed.values())
    assert int(env.token.balanceOf(asc)) == balance_sheet(env)


# ------------------------------------------------------------------------------------------ replays, reverts


def test_replays_are_rejected(bmeoc: Env) -> None:
    env, asc = bmeoc, bmeoc.asc
    group = [str(c.address) for c in env.csns[:4]]
    tid, _ = open_task(env, 4, 40 * UNIT, 50)
    with ape.reverts(asc.TaskExists):
        asc.openTask(keccak256(b"ID_t-50"), 4, 40 * UNIT, sender=env.mtd)
    commitment = group_commitment(group, b"\x01" * 32)
    signature = env.sign(env.anchor_digest(tid, commitment))
    mlist, root, settle_sig = check_replays(env, tid, commitment, signature, group)
    # a signature for one task does not settle another
    other, _ = open_task(env, 4, 40 * UNIT, 51)
    asc.anchorSchedule(other, commitment, env.sign(env.anchor_digest(other, commitment)), sender=env.mtd)
    with ape.reverts(asc.InvalidEnvironmentSignature):
        asc.settle(other, mlist, 0, root, settle_sig, sender=env.mtd)


def test_signatures_of_another_environment_or_none_are_rejected(bmeoc: Env, deployer: Any) -> None:
    env, asc = bmeoc, bmeoc.asc
    tid, _ = open_task(env, 2, 2 * UNIT, 60)
    commitment = keccak256(b"c")
    digest = env.anchor_digest(tid, commitment)
    stranger = derive(b"metatrust-tests-asc-stranger", 0)
    with ape.reverts(asc.InvalidEnvironmentSignature):
        asc.anchorSchedule(tid, commitment, sign_hash(stranger, digest), sender=env.mtd)
    with ape.reverts(asc.InvalidEnvironmentSignature):
        asc.anchorSchedule(tid, commitment, b"\x01" * 10, sender=env.mtd)
    with ape.reverts(asc.ZeroCommitment):
        asc.anchorSchedule(tid, bytes(32), env.sign(digest), sender=env.mtd)
    # rotate to a new environment: the old one's signatures stop counting
    new_env = keccak256(b"env-2")
    env.verifier.setEnvironment(new_env, stranger.address, sender=deployer)
    rotated = asc.setEnvironment(new_env, sender=deployer)
    assert bytes(rotated.events.filter(asc.EnvironmentSet)[0].envId) == new_env
    with ape.reverts(asc.InvalidEnvironmentSignature):
        asc.anchorSchedule(tid, commitment, env.sign(digest), sender=env.mtd)
    new_digest = replace(env, environment_id=new_env).anchor_digest(tid, commitment)
    asc.anchorSchedule(tid, commitment, sign_hash(stranger, new_digest), sender=env.mtd)
    asc.setEnvironment(bytes(32), sender=deployer)
    with ape.reverts(asc.NoEnvironment):
        asc.claim(env.csns[0], 1, b"", sender=env.mtd)
    with ape.reverts(asc.AccessControlUnauthorizedAccount):
        asc.setEnvironment(ENV_ID, sender=env.mtd)


def test_settlement_input_checks(bmeoc: Env, accounts: Any) -> None:
    env, asc = bmeoc, bmeoc.asc
    group = [str(c.address) for c in env.csns[:2]]
    tid, _ = open_task(env, 2, 2 * UNIT, 70)
    root = keccak256(b"r")

    def settle(mlist: list[str], bonus: int = 0) -> None:
        digest = env.settlement_digest(tid, mlist, bonus, root)
        asc.settle(tid, mlist, bonus, root, env.sign(digest), sender=env.mtd)

    with ape.reverts(asc.WrongStatus):  # not anchored yet
        settle([])
    anchor(env, tid, group)
    with ape.reverts(asc.MaliciousListNotSorted):
        settle(list(reversed(sorted_mlist(group))))
    with ape.reverts(asc.MaliciousListNotSorted):
        settle([group[0], group[0]])
    with ape.reverts(asc.TooManyMalicious):
        settle(sorted_mlist([*group, str(env.csns[5].address)]))
    with ape.reverts(asc.BonusExceedsPool):
        settle([], int(asc.incentivePool()) + 1)
    with ape.reverts(asc.BlacklistFailed):  # not a registered node: the environment signed nonsense
        settle(sorted_mlist([str(accounts[9].address)]))
    with ape.reverts(asc.UnknownTask):
        asc.settle(keccak256(b"nope"), [], 0, root, b"", sender=env.mtd)


def test_already_blacklisted_csn_is_slashed_again_without_failing(bmeoc: Env) -> None:
    env, asc = bmeoc, bmeoc.asc
    group = [str(c.address) for c in env.csns[:3]]
    amounts = []
    for seed in (80, 81):
        tid, _ = open_task(env, 3, 3 * UNIT, seed)
        anchor(env, tid, group)
        receipt, result = settle_onchain(env, tid, group, {group[0]}, 3 * UNIT)
        amounts.append(int(receipt.events.filter(asc.Slashed)[0].amount))
        assert amounts[-1] == result.slashed[group[0].lower()]
    # 2·(1 + 100) the first time, then capped by what is left of the stake (spec §7 #17)
    assert amounts == [202 * UNIT, STAKE - 202 * UNIT]
    assert int(asc.stakeOf(group[0]).bonded) == 0


def test_open_task_checks(bmeoc: Env, accounts: Any) -> None:
    env, asc = bmeoc, bmeoc.asc
    with ape.reverts(asc.NotActiveMtd):
        asc.openTask(keccak256(b"x"), 2, UNIT, sender=env.csns[0])
    for m in (0, 65):
        with ape.reverts(asc.InvalidGroupSize):
            asc.openTask(keccak256(b"x"), m, UNIT, sender=env.mtd)
    with ape.reverts(asc.ZeroAmount):
        asc.openTask(keccak256(b"x"), 2, 0, sender=env.mtd)
    with ape.reverts(asc.ZeroCommitment):
        asc.openTask(bytes(32), 2, UNIT, sender=env.mtd)
    with ape.reverts(asc.UnknownTask):
        asc.openDispute(keccak256(b"nope"), sender=env.mtd)


def test_cancel_dispute_and_expiry(bmeoc: Env) -> None:
    env, asc = bmeoc, bmeoc.asc
    mtd_before = int(env.token.balanceOf(env.mtd))
    tid, _ = open_task(env, 2, 7 * UNIT, 90)
    with ape.reverts(asc.TooEarly):
        asc.cancelTask(tid, sender=env.mtd)
    with ape.reverts(asc.NotTaskOwner):
        asc.cancelTask(tid, sender=env.csns[0])
    with ape.reverts(asc.WrongStatus):
        asc.openDispute(tid, sender=env.mtd)
    later(CONFIG.settlement_timeout)
    with ape.reverts(asc.TooLate):
        anchor(env, tid, [str(c.address) for c in env.csns[:2]])
    cancelled = asc.cancelTask(tid, sender=env.mtd)
    assert cancelled.events.filter(asc.TaskCancelled)[0].refund == 7 * UNIT
    assert int(env.token.balanceOf(env.mtd)) == mtd_before
    assert asc.getTask(tid).status == REFUNDED

    tid, _ = open_task(env, 2, 7 * UNIT, 91)
    anchor(env, tid, [str(c.address) for c in env.csns[:2]])
    with ape.reverts(asc.WrongStatus):
        asc.expireDispute(tid, sender=env.mtd)
    with ape.reverts(asc.WrongStatus):
        asc.cancelTask(tid, sender=env.mtd)
    asc.openDispute(tid, sender=env.mtd)
    with ape.reverts(asc.WrongStatus):
        asc.openDispute(tid, sender=env.mtd)
    with ape.reverts(asc.WrongStatus):  # disputed: no default payout
        asc.finalizeDefault(tid, sender=env.mtd)
    with ape.reverts(asc.TooEarly):
        asc.expireDispute(tid, sender=env.mtd)
    later(CONFIG.settlement_timeout)
    expired = asc.expireDispute(tid, sender=env.mtd)
    assert expired.events.filter(asc.DisputeExpired)[0].refund == 7 * UNIT
    assert int(env.token.balanceOf(env.mtd)) == mtd_before
    assert int(env.token.balanceOf(asc)) == balance_sheet(env)

    tid, _ = open_task(env, 2, 7 * UNIT, 92)
    anchor(env, tid, [str(c.address) for c in env.csns[:2]])
    later(CONFIG.dispute_window)
    with ape.reverts(asc.TooLate):
        asc.openDispute(tid, sender=env.mtd)


def test_stake_lifecycle_and_slashing_while_unbonding(bmeoc: Env, accounts: Any, measure_view: Any) -> None:
    env, asc = bmeoc, bmeoc.asc
    csn = env.csns[0]
    assert asc.isEligible(csn)
    measure_view(asc, "isEligible", csn)
    with ape.reverts(asc.NotActiveCsn):
        asc.depositStake(UNIT, sender=env.mtd)
    with ape.reverts(asc.ZeroAmount):
        asc.depositStake(0, sender=csn)
    with ape.reverts(asc.ZeroAmount):
        asc.requestUnstake(0, sender=csn)
    with ape.reverts(asc.InsufficientStake):
        asc.requestUnstake(STAKE + 1, sender=csn)
    with ape.reverts(asc.NothingToWithdraw):
        asc.withdrawStake(sender=csn)
    request = asc.requestUnstake(STAKE, sender=csn)
    unlock = request.events.filter(asc.UnstakeRequested)[0].unlockAt
    assert unlock == request.timestamp + CONFIG.unbonding_period
    assert not asc.isEligible(csn)  # RSSC must not schedule a leaving CSN
    with ape.reverts(asc.TooEarly):
        asc.withdrawStake(sender=csn)
    # slashed meanwhile: the unbonding part shrinks with the stake
    group = [str(csn.address), str(env.csns[1].address)]
    tid, _ = open_task(env, 2, 2 * UNIT, 100)
    anchor(env, tid, group)
    _, result = settle_onchain(env, tid, group, {group[0]}, 2 * UNIT)
    left = STAKE - result.slashed[group[0].lower()]
    assert asc.stakeOf(csn).unbonding == left
    later(CONFIG.unbonding_period)
    before = int(env.token.balanceOf(csn))
    withdrawn = asc.withdrawStake(sender=csn)
    assert withdrawn.events.filter(asc.StakeWithdrawn)[0].amount == left
    assert int(env.token.balanceOf(csn)) == before + left
    assert asc.stakeOf(csn).bonded == 0
    more = asc.depositStake(UNIT, sender=env.csns[2])
    assert more.events.filter(asc.StakeDeposited)[0].bonded == STAKE + UNIT
    assert int(env.token.balanceOf(asc)) == balance_sheet(env)


def test_claims_cannot_exceed_the_credited_total(bmeoc: Env) -> None:
    env, asc = bmeoc, bmeoc.asc
    available = int(asc.totalCredited() - asc.totalClaimed())
    csn = str(env.csns[7].address)
    cumulative = int(asc.claimed(csn)) + available + 1
    voucher = env.sign(env.claim_digest(csn, cumulative))
    with ape.reverts(asc.CreditExceeded):
        asc.claim(csn, cumulative, voucher, sender=env.mtd)


def test_incentive_funding(bmeoc: Env, pool_holders: Any) -> None:
    env, asc = bmeoc, bmeoc.asc
    holder = pool_holders[3]
    env.token.approve(asc, 5 * UNIT, sender=holder)
    pool = int(asc.incentivePool())
    funded = asc.fundIncentives(5 * UNIT, sender=holder)
    assert funded.events.filter(asc.IncentivesFunded)[0].pool == pool + 5 * UNIT
    with ape.reverts(asc.ZeroAmount):
        asc.fundIncentives(0, sender=holder)


def test_constructor_checks(project: Any, deployer: Any, platform: Deployment, bmeoc: Env) -> None:
    token, registry, verifier = bmeoc.token, bmeoc.registry, bmeoc.verifier
    zero = "0x" + "00" * 20
    args = [token, registry, verifier, deployer, WAD, UNIT, 10, 10, 30]
    with ape.reverts(bmeoc.asc.ZeroAddress):
        deployer.deploy(project.ASC, zero, *args[1:])
    with ape.reverts(bmeoc.asc.InvalidParameters):
        deployer.deploy(project.ASC, *args[:8], 29)  # unbonding shorter than window + 2·timeout
    with ape.reverts(bmeoc.asc.InvalidParameters):
        deployer.deploy(project.ASC, *args[:4], 0, *args[5:])


def test_mock_verifier_is_only_a_mock(bmeoc: Env, measure_view: Any) -> None:
    digest = keccak256(b"m")
    assert bmeoc.verifier.verifyEnvironmentSignature(ENV_ID, digest, bmeoc.sign(digest))
    assert not bmeoc.verifier.verifyEnvironmentSignature(keccak256(b"other"), digest, bmeoc.sign(digest))
    measure_view(bmeoc.verifier, "verifyEnvironmentSignature", ENV_ID, digest, bmeoc.sign(digest))
    measure_view(bmeoc.verifier, "signerOf", ENV_ID)


def test_every_view_and_access_control_function_has_a_gas_row(
    bmeoc: Env, deployer: Any, accounts: Any, measure_view: Any
) -> None:
    asc = bmeoc.asc
    for name in (
        "ANCHOR_TAG",
        "SETTLE_TAG",
        "CLAIM_TAG",
        "MAX_CSNS",
        "ENVIRONMENT_ADMIN_ROLE",
        "DEFAULT_ADMIN_ROLE",
        "token",
        "registry",
        "verifier",
        "penaltyWad",
        "basicStake",
        "disputeWindow",
        "settlementTimeout",
        "unbondingPeriod",
        "environmentId",
        "sscStateRoot",
        "incentivePool",
        "totalBonded",
        "totalEscrowed",
        "totalCredited",
        "totalClaimed",
    ):
        measure_view(asc, name)
    assert bytes(asc.ANCHOR_TAG()) == keccak256(b"metatrust/bmeoc/ASC/anchor/v1")
    assert asc.MAX_CSNS() == 64
    assert asc.penaltyWad() == CONFIG.penalty_wad
    measure_view(asc, "getTask", keccak256(b"none"))
    measure_view(asc, "stakeOf", bmeoc.csns[0])
    measure_view(asc, "claimed", bmeoc.csns[0])
    role = asc.ENVIRONMENT_ADMIN_ROLE()
    measure_view(asc, "hasRole", role, deployer)
    measure_view(asc, "getRoleAdmin", role)
    measure_view(asc, "supportsInterface", b"\x01\xff\xc9\xa7")
    asc.grantRole(role, accounts[8], sender=deployer)
    assert asc.hasRole(role, accounts[8])
    asc.revokeRole(role, accounts[8], sender=deployer)
    asc.grantRole(role, accounts[8], sender=deployer)
    asc.renounceRole(role, accounts[8], sender=accounts[8])
    assert not asc.hasRole(role, accounts[8])


# ------------------------------------------------------------------------------------------ privacy scan


def _trace_stores(tx_hash: str) -> list[tuple[bytes, bytes]]:
    """(slot, value) of every SSTORE a transaction executed, from the devnet's opcode trace."""
    trace = ape.chain.provider.make_request(
        "debug_traceTransaction", [tx_hash, {"enableMemory": False, "disableStorage": True}]
    )
    stores = []
    for step in trace["structLogs"]:
        if step["op"] == "SSTORE":
            stack = step["stack"]
            stores.append((int(stack[-1], 16).to_bytes(32, "big"), int(stack[-2], 16).to_bytes(32, "big")))
    return stores


def _blobs(receipt: Any) -> list[bytes]:
    """Everything a transaction puts on chain: calldata, log topics and data, storage slots and values."""
    tx = ape.chain.provider.web3.eth.get_transaction(receipt.txn_hash)
    raw = ape.chain.provider.web3.eth.get_transaction_receipt(receipt.txn_hash)
    blobs = [bytes(tx["input"])]
    for log in raw["logs"]:
        blobs.extend(bytes(topic) for topic in log["topics"])
        blobs.append(bytes(log["data"]))
    for slot, value in _trace_stores(str(receipt.txn_hash)):
        blobs.extend((slot, value))
    return blobs


def _mapping_slots(address: str) -> set[bytes]:
    """Storage slots a Solidity mapping keyed by ``address`` would use (base slots 0..63)."""
    key = bytes(12) + bytes.fromhex(address[2:])
    return {keccak256(key + base.to_bytes(32, "big")) for base in range(64)}


def test_privacy_scan_no_share_index_or_group_on_chain(bmeoc: Env) -> None:
    """R26: run a real task (shares from the core protocol) through ASC, honest path and dispute path, and
    scan every byte it put on chain. Positive control: the slashed CSN *is* found by the same scan."""
    env, asc = bmeoc, bmeoc.asc
    field_ = get_field()
    rng = random.Random(5)
    polynomial = random_dense(field_, 3, 2, rng)
    mtd_keys = from_private_key(env.mtd.private_key)
    task = prepare_task(mtd_keys, polynomial, field_.random_elements(3, rng), 1, rng=rng, deposit=8 * UNIT)
    m = task.params.m
    group = [str(c.address) for c in env.csns[:m]]
    tasks_hash = id_tasks_hash(list(task.transaction.task_hashes))
    needles_share = []
    for share in task.shares:
        for value in (*share.v, share.w):
            needles_share.append(value.to_bytes(32, "big")[-16:])
    needles_index = list(task.transaction.task_hashes)  # ID_Tj: index j's subtask id
    receipts = []
    opened = asc.openTask(tasks_hash, m, 8 * UNIT, sender=env.mtd)
    tid = bytes(opened.events.filter(asc.TaskOpened)[0].taskId)
    receipts.append(opened)
    receipts.append(anchor(env, tid, group, salt=rng.randbytes(32)))
    receipts.append(asc.openDispute(tid, sender=env.mtd))
    malicious = group[2]
    settle_receipt, _ = settle_onchain(env, tid, group, {malicious}, 8 * UNIT)
    receipts.append(settle_receipt)
    # a second, honest task paid by default
    opened2 = asc.openTask(keccak256(b"second"), m, 8 * UNIT, sender=env.mtd)
    tid2 = bytes(opened2.events.filter(asc.TaskOpened)[0].taskId)
    receipts.extend([opened2, anchor(env, tid2, group, salt=rng.randbytes(32))])
    later(CONFIG.dispute_window)
    receipts.append(asc.finalizeDefault(tid2, sender=env.mtd))

    blobs = [blob for receipt in receipts for blob in _blobs(receipt)]
    settle_blobs = _blobs(settle_receipt)
    assert len(blobs) > 20

    def found(needle: bytes, haystack: list[bytes]) -> bool:
        return any(needle in blob for blob in haystack)

    for csn in group:
        raw = bytes.fromhex(csn[2:])
        slots = _mapping_slots(csn)
        if csn == malicious:
            # positive control: slashed and blacklisted, so named (only) in the settlement
            assert found(raw, settle_blobs)
            assert slots & set(settle_blobs)
            continue
        assert not found(raw, blobs), f"honest CSN {csn} appears on chain"
        assert not slots & set(blobs), f"a storage slot keyed by honest CSN {csn} was written"
    for needle in needles_share:
        assert not found(needle, blobs), "a share element appears on chain"
    for needle in needles_index:
        assert not found(needle, blobs), "a subtask id ID_Tj (index j) appears on chain"
    # only commitments: H(ID_t) and H(Group_C ‖ salt) are there
    assert found(tasks_hash, blobs)
    assert found(bytes(asc.getTask(tid).groupCommitment), blobs)

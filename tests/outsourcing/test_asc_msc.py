"""ASC settled through the real MSC (``deploy_bmeoc``): ASC's ``IEnvironmentVerifier`` is MSC, and every
anchor, settlement and voucher carries a real BLS aggregate of a real environment (enclaves registered with
PoP and simulated quotes, picked by the on-chain VRF, roles by ascending output). Default payout, the m = 16
settlement with slashing and claims, replays, signatures of another environment, and signatures after the
environment changed or dissolved. The gas rows ``ASC,scenario_settle_m16`` and friends are measured here,
with the real verifier."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import ape
import pytest
from asc_fixtures import (
    BASE_CONFIG,
    PAID_BY_DEFAULT,
    SETTLED,
    STAKE,
    UNIT,
    Env,
    anchor,
    balance_sheet,
    check_replays,
    claim_and_check,
    enrol_actors,
    later,
    open_task,
    settle_onchain,
)
from msc_fixtures import Enclave, live, make_pool, sign_as_environment

from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import derive
from offchain.crypto.signing import sign_hash
from offchain.deploy import MSC_RESPONSE_WINDOW, Deployment, deploy_bmeoc
from offchain.outsourcing.asc import RewardLedger, group_commitment
from offchain.outsourcing.incentives import default_payout
from offchain.outsourcing.msc_messages import asc_environment_id

POOL = 10
ENV_SIZE = 8
REQUEST = keccak256(b"unanswered request")


@dataclass
class Bmeoc:
    """The ASC test environment plus MSC, its enclave pool and the environment ASC is bound to."""

    env: Env
    msc: Any
    pool: list[Enclave]
    user: Any
    env_id: int
    members: tuple[str, ...]

    def signature(
        self, digest: bytes, env_id: int | None = None, members: tuple[str, ...] | None = None
    ) -> bytes:
        """``members`` (default: the current ones) sign ``digest`` as MSC environment ``env_id``."""
        return sign_as_environment(
            self.pool,
            self.members if members is None else members,
            self.env.chain_id,
            str(self.msc.address),
            self.env_id if env_id is None else env_id,
            digest,
        )


@pytest.fixture(scope="module")
def stack(
    project: Any,
    deployer: Any,
    platform: Deployment,
    auditor: Any,
    pool_holders: Any,
    accounts: Any,
    chain: Any,
) -> Bmeoc:
    token, registry = platform.contracts["MetaCoin"], platform.contracts["RSC"]
    token.transfer(deployer, BASE_CONFIG.incentive_funding, sender=pool_holders[3])
    deploy_bmeoc(project, deployer, platform, asc_config=BASE_CONFIG)
    msc, asc = platform.contracts["MSC"], platform.contracts["ASC"]
    assert asc.verifier() == msc.address
    pool = make_pool(msc, token, chain, deployer, pool_holders[2], POOL, first=500)
    user = accounts[7]
    env_id, roles = live(msc, user, pool, ENV_SIZE)
    asc.setEnvironment(asc_environment_id(env_id), sender=deployer)
    csns = enrol_actors(asc, token, registry, deployer, auditor, pool_holders, accounts[6])
    chain_id = int(chain.provider.chain_id)
    env = Env(
        asc, token, registry, msc, accounts[6], csns, lambda d: b"", asc_environment_id(env_id), chain_id
    )
    stack = Bmeoc(env, msc, pool, user, env_id, roles.members)
    env.signer = stack.signature
    return stack


@pytest.fixture(autouse=True)
def fresh_state(stack: Bmeoc) -> None:
    """The devnet rewinds after every test; so do the SSC's ledger and the members a test changed."""
    stack.env.ledger = RewardLedger()
    stack.members = tuple(stack.msc.environmentInfo(stack.env_id).members)
    stack.env.environment_id = asc_environment_id(stack.env_id)


def test_default_payout_through_msc(stack: Bmeoc, gas_log: Any) -> None:
    env, asc = stack.env, stack.env.asc
    group = [str(c.address) for c in env.csns[:5]]
    deposit = 103 * UNIT + 4
    tid, opened = open_task(env, 5, deposit, 1)
    receipt = anchor(env, tid, group)
    assert bytes(receipt.events.filter(asc.TaskScheduled)[0].envId) == asc_environment_id(stack.env_id)
    later(BASE_CONFIG.dispute_window)
    final = asc.finalizeDefault(tid, sender=env.csns[0])
    expected = default_payout(deposit, group)
    assert asc.getTask(tid).status == PAID_BY_DEFAULT
    env.ledger.apply(expected)
    claims = claim_and_check(env, group, expected.credits)
    assert len(claims) == 5
    assert int(env.token.balanceOf(asc)) == balance_sheet(env)
    total = sum(int(r.gas_used) for r in (opened, receipt, final))
    gas_log.add("ASC", "scenario_default_payout_m5", total, kind="scenario")


def test_settle_m16_through_msc(stack: Bmeoc, gas_log: Any) -> None:
    env, asc = stack.env, stack.env.asc
    group = [str(c.address) for c in env.csns[:16]]
    malicious = {group[3], group[11]}
    env.ledger.reputation.update({g.lower(): 2 for g in group})
    deposit = 160 * UNIT
    tid, _ = open_task(env, 16, deposit, 16)
    anchored = anchor(env, tid, group)
    asc.openDispute(tid, sender=env.mtd)
    tokens_before = int(env.token.totalSupply())
    mtd_before = int(env.token.balanceOf(env.mtd))
    receipt, result = settle_onchain(env, tid, group, malicious, deposit)
    settled = receipt.events.filter(asc.TaskSettled)[0]
    assert (settled.malicious, settled.honestCredit, settled.mtdRefund, settled.bonus) == (
        2,
        result.honest_credit,
        result.mtd_refund,
        result.bonus_paid,
    )
    assert {s.csn.lower(): int(s.amount) for s in receipt.events.filter(asc.Slashed)} == result.slashed
    for csn in malicious:
        assert int(asc.stakeOf(csn).bonded) == STAKE - result.slashed[csn.lower()]
        assert env.registry.getNode(csn).status == 3  # Blacklisted
    assert int(env.token.balanceOf(env.mtd)) == mtd_before + result.mtd_refund
    assert asc.getTask(tid).status == SETTLED
    gas = int(receipt.gas_used)
    gas_log.add("ASC", "scenario_settle_m16", gas, kind="scenario")
    assert gas <= 400_000, f"settle m = 16 through MSC used {gas} gas"
    gas_log.add("ASC", "scenario_anchor_through_msc", int(anchored.gas_used), kind="scenario")
    claims = claim_and_check(env, group, result.credits)
    assert len(claims) == 14
    assert int(env.token.totalSupply()) == tokens_before
    assert int(env.token.balanceOf(asc)) == balance_sheet(env)
    gas_log.add(
        "ASC",
        "scenario_settle_m16_with_14_claims",
        gas + sum(int(r.gas_used) for r in claims),
        kind="scenario",
    )


def test_replays_and_foreign_signatures_through_msc(stack: Bmeoc, deployer: Any) -> None:
    env, asc, msc = stack.env, stack.env.asc, stack.msc
    group = [str(c.address) for c in env.csns[:4]]
    tid, _ = open_task(env, 4, 40 * UNIT, 50)
    commitment = group_commitment(group, b"\x01" * 32)
    digest = env.anchor_digest(tid, commitment)
    # another live environment (the two enclaves left out of ours plus some of ours): its aggregate is valid
    # for itself in MSC, but ASC is bound to ours
    others = tuple(e.address for e in stack.pool if e.address not in stack.members)
    other_id, other_roles = live(msc, stack.user, stack.pool, 3)
    foreign = stack.signature(digest, other_id, other_roles.members)
    assert msc.verifyEnvironmentSignature(asc_environment_id(other_id), digest, foreign)
    assert others  # the pool is larger than the environment
    rejected = (
        foreign,  # another environment's signature
        stack.signature(digest, other_id, stack.members),  # our members, signing as another environment
        stack.signature(digest, members=stack.members[:-1]),  # one member missing
        stack.signature(keccak256(b"other digest")),  # another message
        sign_hash(derive(b"mock environment key", 0), digest),  # what the mock would accept: 65 bytes
        b"",
    )
    for signature in rejected:
        with ape.reverts(asc.InvalidEnvironmentSignature):
            asc.anchorSchedule(tid, commitment, signature, sender=env.mtd)
    check_replays(env, tid, commitment, stack.signature(digest), group)
    # ASC rebound to the other environment: ours stops counting, the other's counts
    asc.setEnvironment(asc_environment_id(other_id), sender=deployer)
    later_csn = group[2]
    with ape.reverts(asc.InvalidEnvironmentSignature):
        asc.claim(later_csn, 1, stack.signature(env.claim_digest(later_csn, 1)), sender=env.mtd)
    other_digest = replace(env, environment_id=asc_environment_id(other_id)).claim_digest(later_csn, 1)
    asc.claim(later_csn, 1, stack.signature(other_digest, other_id, other_roles.members), sender=env.mtd)


def test_signatures_after_the_environment_changed(stack: Bmeoc) -> None:
    env, asc, msc = stack.env, stack.env.asc, stack.msc
    group = [str(c.address) for c in env.csns[:3]]
    tid, _ = open_task(env, 3, 30 * UNIT, 70)
    commitment = group_commitment(group, b"\x02" * 32)
    digest = env.anchor_digest(tid, commitment)
    before_change = stack.signature(digest)
    # a Monitoring Enclave stops answering: challenged, removed, the aggregate key recomputed
    target = stack.members[-1]
    challenge_id = int(msc.challenge(stack.env_id, target, REQUEST, sender=stack.user).events[0].challengeId)
    ape.chain.mine(MSC_RESPONSE_WINDOW + 1)
    changed = msc.timeoutChallenge(challenge_id, sender=stack.user).events.filter(msc.EnvironmentChanged)[0]
    assert target not in tuple(changed.members)
    with ape.reverts(asc.InvalidEnvironmentSignature):  # signed by the old member set
        asc.anchorSchedule(tid, commitment, before_change, sender=env.mtd)
    stack.members = tuple(changed.members)
    asc.anchorSchedule(tid, commitment, stack.signature(digest), sender=env.mtd)  # same ASC binding, new key
    asc.openDispute(tid, sender=env.mtd)
    # shrink it below three members: dissolved, nothing it signs settles
    while len(stack.members) >= 3:
        victim = stack.members[-1]
        challenge_id = int(
            msc.challenge(stack.env_id, victim, REQUEST, sender=stack.user).events[0].challengeId
        )
        ape.chain.mine(MSC_RESPONSE_WINDOW + 1)
        msc.timeoutChallenge(challenge_id, sender=stack.user)
        stack.members = stack.members[:-1]
        if len(stack.members) >= 3:
            assert tuple(msc.environmentInfo(stack.env_id).members) == stack.members
    assert msc.environmentInfo(stack.env_id).status == 3  # Dissolved
    root = keccak256(b"r")
    settle_digest = env.settlement_digest(tid, [], 0, root)
    with ape.reverts(asc.InvalidEnvironmentSignature):
        asc.settle(tid, [], 0, root, stack.signature(settle_digest), sender=env.mtd)

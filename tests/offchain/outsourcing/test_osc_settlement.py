"""SSC in the EVM equals the Python SSC rule (spec 000 §4, R27-R29): settle_task, default_payout, the
RewardLedger's vouchers, to the base unit, over a parameter grid; U(honest) > 0 > U(malicious)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from osc_helpers import CSNS, account_request, candidates, compute, config, new_task, schedule_request

from offchain.outsourcing.asc import RewardLedger
from offchain.outsourcing.incentives import (
    WAD,
    Action,
    NodeTypeParams,
    SettlementParams,
    default_payout,
    settle_task,
    utility,
)
from offchain.outsourcing.osc import (
    AccountOutput,
    Candidate,
    DefaultPayout,
    DefaultPayoutOutput,
    OscRevert,
    OscRuntime,
    ScheduleOutput,
    Settle,
    SettleOutput,
)

GRID = [
    SettlementParams(penalty_wad=2 * WAD, basic_stake=100, reward_per_honest=3),
    SettlementParams(penalty_wad=WAD // 2, basic_stake=1_000, reward_per_honest=0),
    SettlementParams(penalty_wad=7 * WAD + 1, basic_stake=7, reward_per_honest=50),
]


def _scenario(params: SettlementParams, seed: int, tasks: int = 8) -> None:
    """A run of tasks on one runtime and on the Python model (settle_task / default_payout + RewardLedger)."""
    rng = random.Random(seed)
    runtime = OscRuntime(config(params=params))
    ledger = RewardLedger()
    blacklisted: set[str] = set()
    for n in range(tasks):
        d, t = rng.choice([(1, 1), (2, 1), (1, 2)])
        m = (d + 1) * t + 1 + rng.randrange(3)
        deposit = rng.choice([m - 1, m, 10 * m + rng.randrange(m), rng.randrange(1, 10**22)])
        task = new_task(rng, d=d, t=t, m=m, deposit=max(deposit, 1))
        deposit = task.task.transaction.deposit
        pool = rng.choice([0, 5, 10**30, rng.randrange(200)])
        usable = [c for c in candidates() if c.address.lower() not in blacklisted]
        schedule = runtime.execute(schedule_request(task, rng.randbytes(32), usable)).output
        assert isinstance(schedule, ScheduleOutput)
        group = list(schedule.group)
        if n % 4 == 3:  # nobody disputes: default payout
            expected = default_payout(deposit, group)
            out = runtime.execute(DefaultPayout(task.task_id)).output_as(DefaultPayoutOutput)
            assert (out.per_csn, out.credited, out.mtd_refund) == (
                expected.b_mtd,
                sum(expected.credits.values()),
                expected.mtd_refund,
            )
            ledger.apply(expected)
        else:  # a dispute with some cheaters (possibly none, possibly all)
            cheaters = sorted(rng.sample(range(1, m + 1), rng.choice([0, 1, 1, 2, m])))
            results = compute(task, group, cheaters, seed=n)
            if cheaters:
                account = runtime.execute(account_request(task, group, results))
                mlist = account.output_as(AccountOutput).mlist
                assert sorted(schedule.index_of(a) for a in mlist) == cheaters
            else:
                mlist = ()
            stakes = {a: rng.choice([0, 1, params.basic_stake, 10**21]) for a in mlist}
            reputation = ledger.reputation_of(group)
            expected = settle_task(deposit, group, mlist, stakes, reputation, params, incentive_pool=pool)
            out = runtime.execute(Settle(task.task_id, mlist, pool, tuple(stakes[a] for a in mlist))).output
            assert isinstance(out, SettleOutput)
            assert out.b_mtd == expected.b_mtd
            assert out.bonus == expected.bonus_paid
            assert out.honest_credit == expected.honest_credit
            assert out.mtd_refund == expected.mtd_refund
            assert out.to_pool == expected.to_pool
            assert out.slashed_total == sum(expected.slashed.values())
            assert {a.lower(): v for a, v in out.credits} == expected.credits
            assert {a.lower(): v for a, v in out.slashed} == expected.slashed
            assert expected.conserves(deposit)
            ledger.apply(expected)
            blacklisted |= set(expected.blacklist)
            # U(honest) > 0 > U(malicious) for what SSC pays (a CSN with no stake loses only its B_mtd)
            for _, credit in out.credits:
                assert credit > 0 or expected.b_mtd == 0
            for address, slashed in out.slashed:
                assert slashed > 0 or stakes[address] == 0
                assert address not in dict(out.credits)
        for csn in CSNS:  # the vouchers and reputations equal the RewardLedger's
            assert runtime.voucher(csn.address) == ledger.cumulative(csn.address)
            assert runtime.reputation(csn.address) == ledger.reputation.get(csn.address.lower(), 0)
            assert runtime.is_blacklisted(csn.address) == (csn.address.lower() in blacklisted)


@pytest.mark.parametrize("params", GRID, ids=["rho2", "rho0.5-R0", "rho7-R50"])
def test_ssc_equals_the_python_rule_to_the_base_unit(params: SettlementParams) -> None:
    _scenario(params, seed=GRID.index(params))


def test_ssc_status_errors() -> None:
    rng = random.Random(3)
    runtime = OscRuntime(config())
    task = new_task(rng, deposit=999)
    scheduled = runtime.execute(schedule_request(task, b"\x01" * 32))
    group = scheduled.output_as(ScheduleOutput).group
    with pytest.raises(OscRevert, match="NotAccounted"):  # an MList ACCSC never recorded
        runtime.execute(Settle(task.task_id, (group[0],), 0, (10,)))
    runtime.execute(Settle(task.task_id, (), 0))
    for request in (Settle(task.task_id, (), 0), DefaultPayout(task.task_id)):
        with pytest.raises(OscRevert, match="WrongTaskStatus"):
            runtime.execute(request)
    # an accounted task settles only with ACCSC's MList
    other = new_task(rng, deposit=999)
    scheduled = runtime.execute(schedule_request(other, b"\x02" * 32))
    group = scheduled.output_as(ScheduleOutput).group
    results = compute(other, group, cheaters=[1])
    mlist = runtime.execute(account_request(other, group, results)).output_as(AccountOutput).mlist
    assert mlist == (group[0],)
    with pytest.raises(OscRevert, match="MListMismatch"):
        runtime.execute(Settle(other.task_id, (), 0))
    with pytest.raises(OscRevert, match="MListMismatch"):
        runtime.execute(Settle(other.task_id, (group[1],), 0, (1,)))
    with pytest.raises(OscRevert, match="WrongTaskStatus"):  # disputed: no default payout
        runtime.execute(DefaultPayout(other.task_id))
    out = runtime.execute(Settle(other.task_id, mlist, 0, (10**20,)))
    assert out.output_as(SettleOutput).slashed_total == min(2 * (333 + 100 * WAD), 10**20)


def test_what_ssc_pays_is_eq_14() -> None:
    """With P = D = 1 and every bonded stake equal to 𝒳, an honest CSN's credit is Eq. (14)'s honest
    utility (consistent reading: B_mtd + R·T_i + N_mal·𝒳/(X_l − N_mal), X_l = m), and a malicious CSN loses
    Eq. (14)'s penalty ϱ(B_mtd + 𝒳) capped at its stake (spec §7 #17)."""
    params = SettlementParams(penalty_wad=2 * WAD, basic_stake=10**20, reward_per_honest=10**17)
    node = NodeTypeParams(
        reward_coefficient=Fraction(params.reward_per_honest),
        penalty_multiplier=Fraction(2),
        basic_stake=Fraction(params.basic_stake),
    )
    runtime = OscRuntime(config(params=params))
    seven = tuple(Candidate(k.address, f"p{i}".encode()) for i, k in enumerate(CSNS[:7]))
    rng = random.Random(14)
    warm_up = new_task(rng, d=2, t=2, deposit=7 * 10**18)  # m = 7: the same seven CSNs every time
    runtime.execute(schedule_request(warm_up, b"\x01" * 32, seven))
    runtime.execute(Settle(warm_up.task_id, (), 10**30))  # everybody honest: T_i = 1
    task = new_task(rng, d=2, t=2, deposit=70 * 10**18)
    group = runtime.execute(schedule_request(task, b"\x02" * 32, seven)).output_as(ScheduleOutput).group
    results = compute(task, group, cheaters=[2, 5])
    account = runtime.execute(account_request(task, group, results))
    mlist = account.output_as(AccountOutput).mlist
    out = runtime.execute(Settle(task.task_id, mlist, 10**30, (params.basic_stake,) * 2)).output_as(
        SettleOutput
    )
    b = Fraction(out.b_mtd)
    honest = utility(Action.HONEST, node, b_mtd=b, consecutive_honest=1, population=7, anomalous=2)
    malicious = utility(Action.MALICIOUS, node, b_mtd=b, consecutive_honest=1, population=7, anomalous=2)
    assert honest > 0 > malicious
    assert len(out.credits) == 5
    assert all(credit == math.floor(honest) for _, credit in out.credits)
    assert all(-slashed == max(malicious, -node.basic_stake) for _, slashed in out.slashed)

"""Eq. (14) and the SSC settlement (spec 000 §4, R27-R29)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.outsourcing.incentives import (
    DEFAULT_PARAMS,
    WAD,
    Action,
    NodeType,
    NodeTypeParams,
    Reading,
    SettlementParams,
    b_mtd,
    default_payout,
    expected_malicious_utility,
    penalty,
    settle_task,
    utility,
)

FRACTIONS = st.fractions(min_value=0, max_value=1, max_denominator=100)
GROUP = [f"0x{i:040x}" for i in range(1, 33)]


@pytest.mark.parametrize("node_type", list(NodeType))
@pytest.mark.parametrize("b", [0, 1, 50, 10_000])
@pytest.mark.parametrize("t", [0, 1, 7])
@pytest.mark.parametrize(("population", "anomalous"), [(1, 0), (10, 0), (10, 3), (100, 99)])
def test_honest_beats_zero_beats_malicious_on_a_grid(
    node_type: NodeType, b: int, t: int, population: int, anomalous: int
) -> None:
    params = DEFAULT_PARAMS[node_type]
    honest = utility(
        Action.HONEST, params, b_mtd=b, consecutive_honest=t, population=population, anomalous=anomalous
    )
    bad = utility(
        Action.MALICIOUS, params, b_mtd=b, consecutive_honest=t, population=population, anomalous=anomalous
    )
    assert bad < 0
    if b > 0 or t > 0 or anomalous > 0:
        assert honest > 0
    else:
        assert honest == 0  # nothing paid, nothing to share: the only non-strict corner
    assert honest > bad


@settings(max_examples=200, deadline=None)
@given(
    r=st.fractions(min_value=0, max_value=10, max_denominator=10),
    p=FRACTIONS,
    d=FRACTIONS,
    rho=st.fractions(min_value=Fraction(1, 100), max_value=10, max_denominator=100),
    stake=st.integers(1, 10_000),
    b=st.integers(1, 10_000),
    t=st.integers(0, 100),
    population=st.integers(2, 500),
    data=st.data(),
)
def test_honesty_strictly_dominates(
    r: Fraction,
    p: Fraction,
    d: Fraction,
    rho: Fraction,
    stake: int,
    b: int,
    t: int,
    population: int,
    data: st.DataObject,
) -> None:
    anomalous = data.draw(st.integers(0, population - 1))
    params = NodeTypeParams(r, p, d, rho, Fraction(stake))
    honest = utility(
        Action.HONEST, params, b_mtd=b, consecutive_honest=t, population=population, anomalous=anomalous
    )
    bad = utility(
        Action.MALICIOUS, params, b_mtd=b, consecutive_honest=t, population=population, anomalous=anomalous
    )
    assert honest > 0 > bad
    assert honest >= b + r * t  # the third term is an expected share, never negative (consistent reading)


def test_consistent_third_term_is_the_expected_slashed_share() -> None:
    params = NodeTypeParams(Fraction(0), Fraction(1, 2), Fraction(4, 5), Fraction(2), Fraction(100))
    u = utility(Action.HONEST, params, b_mtd=10, consecutive_honest=0, population=10, anomalous=2)
    assert u == 10 + Fraction(2, 5) * 2 * 100 / 8


def test_literal_reading_is_dimensionally_broken() -> None:
    """The paper's literal term P·D·X_l·𝒳/(X_l − 𝒳) mixes a count and a stake (spec §7 #16): with a stake
    above the population it turns negative, so an honest node can get U < 0; at stake = X_l it is
    undefined."""
    params = NodeTypeParams(Fraction(0), Fraction(1), Fraction(1), Fraction(2), Fraction(100))

    def u(action: Action, node: NodeTypeParams, reading: Reading = "consistent") -> Fraction:
        return utility(
            action, node, b_mtd=1, consecutive_honest=0, population=10, anomalous=1, reading=reading
        )

    literal = u(Action.HONEST, params, "literal")
    assert literal == 1 + Fraction(10 * 100, 10 - 100)
    assert literal < 0
    assert u(Action.HONEST, params) > 0
    small = NodeTypeParams(basic_stake=Fraction(5))
    lit_small = u(Action.HONEST, small, "literal")
    assert lit_small == 1 + 1 * 0 + Fraction(10 * 5, 5)  # defaults: R = 1, T = 0, P = D = 1
    with pytest.raises(ValueError, match="= 0"):
        u(Action.HONEST, NodeTypeParams(basic_stake=Fraction(10)), "literal")
    # the malicious branch is the same under both readings
    assert u(Action.MALICIOUS, params, "literal") == -2 * 101


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="detection_probability"):
        NodeTypeParams(detection_probability=Fraction(3, 2))
    with pytest.raises(ValueError, match="ϱ"):
        NodeTypeParams(penalty_multiplier=Fraction(0))
    with pytest.raises(ValueError, match="basic_stake"):
        NodeTypeParams(basic_stake=Fraction(0))
    with pytest.raises(ValueError, match="R_l"):
        NodeTypeParams(reward_coefficient=Fraction(-1))
    with pytest.raises(ValueError, match="no honest node"):
        utility(Action.HONEST, NodeTypeParams(), b_mtd=1, consecutive_honest=0, population=3, anomalous=3)
    with pytest.raises(ValueError, match="reading"):
        utility(
            Action.HONEST,
            NodeTypeParams(),
            b_mtd=1,
            consecutive_honest=0,
            population=3,
            anomalous=0,
            reading="x",  # type: ignore[arg-type]
        )
    with pytest.raises(ValueError, match="X_l"):
        utility(Action.HONEST, NodeTypeParams(), b_mtd=-1, consecutive_honest=0, population=3, anomalous=0)
    with pytest.raises(ValueError, match="ϱ > 0"):
        SettlementParams(penalty_wad=0)
    with pytest.raises(ValueError, match="m >= 1"):
        b_mtd(10, 0)


def test_expected_utility_extension_needs_enough_detection() -> None:
    sure = NodeTypeParams()
    assert expected_malicious_utility(sure, b_mtd=10, gain=1_000) == -2 * 110
    blind = NodeTypeParams(detection_probability=Fraction(0))
    assert expected_malicious_utility(blind, b_mtd=10, gain=5) == 15  # undetected cheating pays: P·D matters


def test_penalty_is_capped_by_the_bonded_stake() -> None:
    params = SettlementParams(penalty_wad=3 * WAD, basic_stake=100)
    assert penalty(params, 10, 1_000) == 330
    assert penalty(params, 10, 200) == 200
    assert penalty(SettlementParams(penalty_wad=WAD // 2, basic_stake=3), 0, 10) == 1  # floor


@settings(max_examples=300, deadline=None)
@given(
    deposit=st.integers(0, 10**24),
    m=st.integers(1, 32),
    data=st.data(),
    penalty_wad=st.integers(1, 5 * WAD),
    basic=st.integers(1, 10**21),
    reward=st.integers(0, 10**18),
    pool=st.integers(0, 10**22),
)
def test_settlement_conserves_tokens_and_pays_the_rules(
    deposit: int, m: int, data: st.DataObject, penalty_wad: int, basic: int, reward: int, pool: int
) -> None:
    group = GROUP[:m]
    bad = data.draw(st.sets(st.sampled_from(group), max_size=m))
    stakes = {csn: data.draw(st.integers(0, 10**21)) for csn in group}
    rep = {csn: data.draw(st.integers(0, 50)) for csn in group}
    params = SettlementParams(penalty_wad, basic, reward)
    result = settle_task(deposit, group, bad, stakes, rep, params, incentive_pool=pool)
    assert result.conserves(deposit)
    assert result.bonus_paid <= pool
    b = deposit // m
    assert result.b_mtd == b
    honest = [c for c in group if c not in bad]
    assert set(result.credits) == set(honest)
    for csn in bad:
        assert result.slashed[csn] == min(penalty_wad * (b + basic) // WAD, stakes[csn])
        assert result.reputation[csn] == 0
    for csn in honest:
        assert result.credits[csn] >= b
        assert result.reputation[csn] == rep[csn] + 1
    if honest:
        shares = {result.credits[c] - b - result.bonuses[c] for c in honest}
        assert len(shares) == 1  # the slashed stake is split equally
    assert result.mtd_refund == deposit - b * len(honest)
    assert result.blacklist == tuple(sorted(bad))
    if sum(r * reward for r in rep.values()) <= pool:
        assert all(result.bonuses[c] == reward * rep[c] for c in honest)


def test_honest_csn_gains_and_malicious_loses_in_settlement() -> None:
    params = SettlementParams(penalty_wad=2 * WAD, basic_stake=100 * WAD, reward_per_honest=WAD)
    group = GROUP[:4]
    stakes = dict.fromkeys(group, 1_000 * WAD)
    result = settle_task(
        40 * WAD, group, {group[1]}, stakes, dict.fromkeys(group, 3), params, incentive_pool=10**30
    )
    assert result.slashed == {group[1]: 2 * 110 * WAD}
    share = 220 * WAD // 3
    assert result.credits[group[0]] == 10 * WAD + share + 3 * WAD
    assert result.mtd_refund == 10 * WAD
    assert result.to_pool == 220 * WAD - 3 * share
    assert all(value > 0 for value in result.credits.values())
    with pytest.raises(ValueError, match="subset"):
        settle_task(1, group, {GROUP[10]}, stakes, {}, params, incentive_pool=0)
    with pytest.raises(ValueError, match="distinct"):
        settle_task(1, [group[0], group[0]], set(), stakes, {}, params, incentive_pool=0)


def test_bonuses_are_scaled_down_when_the_pool_is_short() -> None:
    params = SettlementParams(reward_per_honest=10)
    group = GROUP[:2]
    result = settle_task(0, group, set(), {}, {group[0]: 3, group[1]: 1}, params, incentive_pool=20)
    assert result.bonuses == {group[0]: 15, group[1]: 5}
    assert result.conserves(0)


def test_default_payout_splits_the_deposit() -> None:
    result = default_payout(103, GROUP[:4])
    assert result.credits == dict.fromkeys(GROUP[:4], 25)
    assert result.mtd_refund == 3
    assert result.conserves(103)

"""The pure MetaAICM rules (offchain/crowdsourcing/rules.py)."""

from __future__ import annotations

import pytest

from offchain.crowdsourcing import rules


def test_reward_delta() -> None:
    assert rules.reward_delta(2, 3) == 2 * rules.ONE // 3
    assert rules.reward_delta(1, 0) == rules.ONE
    assert rules.reward_delta(0, 5) == 0
    with pytest.raises(ValueError, match="non-negative"):
        rules.reward_delta(-1, 1)


def test_median() -> None:
    assert rules.median([]) == 0
    assert rules.median([3, 1, 2]) == 2
    assert rules.median([4, 1, 3, 2]) == 2  # floor of (2 + 3) / 2
    assert rules.median([7]) == 7


def test_settle_scored_thesis_example() -> None:
    reward = 901
    reports = [[900_000, 700_000, 950_000, 860_000], [910_000, 690_000, 940_000, 870_000]]
    settlement = rules.settle_scored(reward, reports, 850_000)
    assert settlement.best == 2
    assert settlement.medians == (905_000, 695_000, 945_000, 865_000)
    assert settlement.payouts == (225, 0, 450, 225)
    assert settlement.requester_refund == 1
    assert sum(settlement.payouts) + settlement.requester_refund == reward
    assert settlement.rewarded == (True, False, True, True)


def test_settle_scored_ties_and_empty_share() -> None:
    settlement = rules.settle_scored(100, [[5, 9, 9]], 10)
    assert settlement.best == 1  # earliest of the tied
    assert settlement.payouts == (0, 50, 0)
    assert settlement.requester_refund == 50
    assert settlement.rewarded == (False, False, False)


def test_settle_scored_rejects_bad_reports() -> None:
    with pytest.raises(ValueError, match="at least one"):
        rules.settle_scored(1, [], 0)
    with pytest.raises(ValueError, match="every report"):
        rules.settle_scored(1, [[1, 2], [1]], 0)


def test_equal_split() -> None:
    assert rules.equal_split(10, 3) == (3, 1)
    with pytest.raises(ValueError, match="at least one"):
        rules.equal_split(10, 0)

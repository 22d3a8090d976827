"""The money and reputation rules of MetaAICM's RC and MLC (seed 001, spec §2.2 and §2.5), as pure functions.

They mirror ``contracts/crowdsourcing/RC.sol`` and ``MLC.sol`` bit for bit (integer fixed point, the same
rounding), so that agents can predict a settlement and tests can check the contracts against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: 1.0 in RC's fixed point.
ONE = 10**18
#: A perfect score in MLC (scores are millionths).
SCORE_SCALE = 1_000_000


def reward_delta(interactions: int, participations: int) -> int:
    """The reward event's increment A_i / P_i in fixed point, rounded down (P_i = 0 counts as 1)."""
    if interactions < 0 or participations < 0:
        raise ValueError("counts are non-negative")
    return interactions * ONE // max(participations, 1)


def median(values: Sequence[int]) -> int:
    """MLC's aggregation: the middle value, or the floor of the mean of the two middle values."""
    if not values:
        return 0
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) // 2


@dataclass(frozen=True)
class ModelSettlement:
    """What ``MLC.finalize`` does after committee scoring."""

    best: int  # index of Model_best
    medians: tuple[int, ...]
    payouts: tuple[int, ...]  # per submission, in base units
    requester_refund: int
    rewarded: tuple[bool, ...]  # reputation reward (True) or penalty (False) per submission


def settle_scored(reward: int, reports: Sequence[Sequence[int]], threshold: int) -> ModelSettlement:
    """Best model ⌊Θ/2⌋ (even below τ); the other models strictly above τ share the rest equally; dust and an
    unclaimed rest go back to the requester; above τ is rewarded, the rest penalised.

    ``reports`` holds one score vector per committee member, all of the same length.
    """
    if not reports:
        raise ValueError("at least one committee report is needed")
    count = len(reports[0])
    if count == 0 or any(len(report) != count for report in reports):
        raise ValueError("every report scores every submission")
    medians = tuple(median([report[j] for report in reports]) for j in range(count))
    best = 0
    for j in range(1, count):
        if medians[j] > medians[best]:
            best = j
    half = reward // 2
    rest = reward - half
    qualified = [j for j in range(count) if j != best and medians[j] > threshold]
    share = rest // len(qualified) if qualified else 0
    payouts = [0] * count
    payouts[best] = half
    for j in qualified:
        payouts[j] = share
    return ModelSettlement(
        best=best,
        medians=medians,
        payouts=tuple(payouts),
        requester_refund=rest - share * len(qualified),
        rewarded=tuple(score > threshold for score in medians),
    )


def equal_split(reward: int, count: int) -> tuple[int, int]:
    """Θ split equally among ``count`` workers: (share, dust back to the requester)."""
    if count <= 0:
        raise ValueError("at least one worker")
    share = reward // count
    return share, reward - share * count

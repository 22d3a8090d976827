"""Incentives of Meta-BMEOC (spec 000 §4, §7 #13, #14, #16-#18, R27-R29): Eq. (14) and the SSC settlement.

Pure functions, no I/O. Two parts:

* :func:`utility` is Eq. (14) of the paper for one node ``l_i`` of a node type ``l`` (CSN, enclave, BCN),
  with per-type parameters (:class:`NodeTypeParams`). The third term of the honest branch is read, by
  default, as the spec's *consistent* reading ``P_l·D_l·N_mal·𝒳_{l_i} / (X_l − N_mal)``: the expected
  share of the detected malicious stake that each honest node receives (N_mal anomalous nodes out of X_l).
  ``reading="literal"`` evaluates the paper's formula as printed, ``P_l·D_l·X_l·𝒳_{l_i} / (X_l − 𝒳_{l_i})``,
  which divides a count by a count minus a token amount: it is undefined when the stake equals X_l and
  negative when the stake exceeds X_l (spec §7 #16; a test shows it).
* :func:`settle_task` is the off-chain settlement contract SSC for one task (spec §4 [R] rule), exactly what
  the on-chain ASC moves (``contracts/outsourcing/ASC.sol`` with ``IncentiveMath.sol``):

  - ``B_mtd = Dep. // m``; the remainder ``Dep. mod m`` goes back to the MTD;
  - each honest CSN gets ``B_mtd``, the reputation bonus ``R·T_i`` (T_i before this task) from the incentive
    pool T_P, and an equal share of the stake slashed from the malicious CSNs of the task; then T_i += 1;
  - each malicious CSN gets nothing, loses ``min(ϱ·(B_mtd + 𝒳), bonded stake)`` (spec §7 #17: capped), has
    T_i reset to 0 and is blacklisted; its ``B_mtd`` is refunded to the MTD (spec §7 #14);
  - the rounding remainder of the slashed-stake split (and all of it when no CSN was honest) goes to the
    incentive pool; when the pool cannot pay every bonus, bonuses are scaled down pro rata (floor).

  Token conservation: ``Dep. + Σ slashed + bonus paid = Σ credits + MTD refund + to pool``; tested.

Fixed point: ϱ is a WAD (``10**18`` = 1.0) on chain and here, so both round identically (floor).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Literal

WAD = 10**18

Reading = Literal["consistent", "literal"]


class NodeType(StrEnum):
    """Node types of Eq. (14): "different values of R_l and T_l can be set for different types of nodes"."""

    CSN = "csn"
    ENCLAVE = "enclave"
    BCN = "bcn"


class Action(StrEnum):
    """``a^1`` (faithful) or ``a^2`` (malicious or Byzantine)."""

    HONEST = "honest"
    MALICIOUS = "malicious"


@dataclass(frozen=True)
class NodeTypeParams:
    """Parameters of Eq. (14) for one node type ``l`` (none are given by the paper; all configurable).

    ``reward_coefficient`` is R_l (tokens per consecutive honest behaviour), ``detection_probability`` P_l,
    ``detection_accuracy`` D_l (both in [0, 1]), ``penalty_multiplier`` ϱ (> 0), ``basic_stake`` 𝒳_{l_i}
    (the basic staked token amount of a node of this type, > 0)."""

    reward_coefficient: Fraction = Fraction(1)
    detection_probability: Fraction = Fraction(1)
    detection_accuracy: Fraction = Fraction(1)
    penalty_multiplier: Fraction = Fraction(2)
    basic_stake: Fraction = Fraction(100)

    def __post_init__(self) -> None:
        for name in ("detection_probability", "detection_accuracy"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if self.reward_coefficient < 0:
            raise ValueError("reward_coefficient R_l must be >= 0")
        if self.penalty_multiplier <= 0:
            raise ValueError("penalty_multiplier ϱ must be > 0 (spec §7 #17)")
        if self.basic_stake <= 0:
            raise ValueError("basic_stake must be > 0")


#: Documented defaults per node type (ours, not the paper's).
DEFAULT_PARAMS: Mapping[NodeType, NodeTypeParams] = {
    NodeType.CSN: NodeTypeParams(),
    NodeType.ENCLAVE: NodeTypeParams(reward_coefficient=Fraction(1, 2), basic_stake=Fraction(500)),
    NodeType.BCN: NodeTypeParams(reward_coefficient=Fraction(1, 4), basic_stake=Fraction(1_000)),
}


def utility(
    action: Action,
    params: NodeTypeParams,
    *,
    b_mtd: Fraction | int,
    consecutive_honest: int,
    population: int,
    anomalous: int,
    reading: Reading = "consistent",
) -> Fraction:
    """``U_{l_i}(a_{l_i})`` of Eq. (14).

    ``population`` is X_l (nodes of this type), ``anomalous`` the number of anomalous nodes of the type
    (the spec's N_mal; the paper's clashing symbol 𝒳_l), ``consecutive_honest`` T_{l_i}. The malicious branch
    is ``−ϱ·(B_mtd + 𝒳_{l_i})`` under both readings. Raises ``ValueError`` where the formula is undefined."""
    b = Fraction(b_mtd)
    if b < 0 or consecutive_honest < 0 or population < 1 or not 0 <= anomalous <= population:
        raise ValueError("need B_mtd >= 0, T >= 0, X_l >= 1 and 0 <= anomalous <= X_l")
    stake = params.basic_stake
    if action is Action.MALICIOUS:
        return -params.penalty_multiplier * (b + stake)
    pd = params.detection_probability * params.detection_accuracy
    if reading == "consistent":
        if anomalous == population:
            raise ValueError("no honest node left to share the slashed stake (X_l = N_mal)")
        third = pd * anomalous * stake / (population - anomalous)
    elif reading == "literal":
        if stake == population:
            raise ValueError("the literal Eq. (14) divides by X_l − 𝒳_{l_i} = 0")
        third = pd * population * stake / (population - stake)
    else:
        raise ValueError(f"unknown reading {reading!r}")
    return b + params.reward_coefficient * consecutive_honest + third


def expected_malicious_utility(
    params: NodeTypeParams, *, b_mtd: Fraction | int, gain: Fraction | int = 0
) -> Fraction:
    """Extension (spec §7 #18, not in the paper): a malicious node escapes detection with probability
    ``1 − P·D`` and then keeps ``B_mtd + gain``; when caught it loses ``ϱ(B_mtd + 𝒳)``."""
    pd = params.detection_probability * params.detection_accuracy
    b = Fraction(b_mtd)
    return (1 - pd) * (b + Fraction(gain)) - pd * params.penalty_multiplier * (b + params.basic_stake)


# ---------------------------------------------------------------------------------------- SSC settlement


@dataclass(frozen=True)
class SettlementParams:
    """What ASC enforces on chain for CSNs, in token base units: ϱ as a WAD, the basic stake 𝒳 and the
    reputation coefficient R (bonus per consecutive honest task)."""

    penalty_wad: int = 2 * WAD
    basic_stake: int = 100 * WAD
    reward_per_honest: int = WAD // 10

    def __post_init__(self) -> None:
        if self.penalty_wad <= 0 or self.basic_stake <= 0 or self.reward_per_honest < 0:
            raise ValueError("need ϱ > 0, 𝒳 > 0 and R >= 0")


def b_mtd(deposit: int, m: int) -> int:
    """``B_mtd = Dep. // m`` (spec §7 #13), the reward of one CSN for one outsourced computation."""
    if m < 1 or deposit < 0:
        raise ValueError("need m >= 1 and Dep. >= 0")
    return deposit // m


def penalty(params: SettlementParams, reward: int, bonded_stake: int) -> int:
    """``min(ϱ·(B_mtd + 𝒳), bonded stake)``, with ϱ a WAD and floor rounding (as IncentiveMath.penalty)."""
    return min(params.penalty_wad * (reward + params.basic_stake) // WAD, bonded_stake)


@dataclass(frozen=True)
class Settlement:
    """The SSC's output for one task. ``credits`` (per CSN, honest ones only) is what each CSN may claim;
    ``slashed`` the stake taken from each malicious CSN; ``reputation`` the new T_i of every CSN."""

    b_mtd: int
    credits: dict[str, int]
    slashed: dict[str, int]
    bonuses: dict[str, int]
    mtd_refund: int
    to_pool: int
    bonus_paid: int
    reputation: dict[str, int]
    blacklist: tuple[str, ...]
    honest_credit: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "honest_credit", sum(self.credits.values()))

    def conserves(self, deposit: int) -> bool:
        """``Dep. + Σ slashed + bonuses = Σ credits + refund + to pool``."""
        inflow = deposit + sum(self.slashed.values()) + self.bonus_paid
        return inflow == self.honest_credit + self.mtd_refund + self.to_pool


def _bonuses(requested: Mapping[str, int], pool: int) -> dict[str, int]:
    total = sum(requested.values())
    if total <= pool:
        return dict(requested)
    return {csn: amount * pool // total for csn, amount in requested.items()}


def settle_task(
    deposit: int,
    group: Sequence[str],
    malicious: Iterable[str],
    stakes: Mapping[str, int],
    reputation: Mapping[str, int],
    params: SettlementParams,
    *,
    incentive_pool: int,
) -> Settlement:
    """SSC for one task: ``group`` is Group_C (m CSNs), ``malicious`` ACC's MList (a subset; empty when ACC
    returned 0), ``stakes`` the bonded stake of each CSN on chain, ``reputation`` T_i before the task,
    ``incentive_pool`` the T_P tokens ASC holds for bonuses. Addresses are compared case-insensitively."""
    members = [csn.lower() for csn in group]
    if len(set(members)) != len(members) or not members:
        raise ValueError("Group_C must be non-empty with distinct CSNs")
    bad = {csn.lower() for csn in malicious}
    if not bad <= set(members):
        raise ValueError("MList must be a subset of Group_C")
    lower_stakes = {k.lower(): v for k, v in stakes.items()}
    lower_rep = {k.lower(): v for k, v in reputation.items()}
    reward = b_mtd(deposit, len(members))
    honest = [csn for csn in members if csn not in bad]
    slashed = {csn: penalty(params, reward, lower_stakes.get(csn, 0)) for csn in members if csn in bad}
    slashed_total = sum(slashed.values())
    share, dust = (
        (slashed_total // len(honest), slashed_total % len(honest)) if honest else (0, slashed_total)
    )
    bonuses = _bonuses(
        {csn: params.reward_per_honest * lower_rep.get(csn, 0) for csn in honest}, incentive_pool
    )
    credits = {csn: reward + share + bonuses[csn] for csn in honest}
    new_reputation = {csn: (0 if csn in bad else lower_rep.get(csn, 0) + 1) for csn in members}
    return Settlement(
        b_mtd=reward,
        credits=credits,
        slashed=slashed,
        bonuses=bonuses,
        mtd_refund=deposit - reward * len(honest),
        to_pool=dust,
        bonus_paid=sum(bonuses.values()),
        reputation=new_reputation,
        blacklist=tuple(sorted(bad)),
    )


def default_payout(deposit: int, group: Sequence[str]) -> Settlement:
    """ "If no further actions are taken, the OSC contract automatically allocates its deposit to the CSNs":
    each CSN gets ``B_mtd``; the remainder goes back to the MTD. No bonus and no reputation change (nothing
    was settled by the environment)."""
    members = [csn.lower() for csn in group]
    reward = b_mtd(deposit, len(members))
    return Settlement(
        b_mtd=reward,
        credits=dict.fromkeys(members, reward),
        slashed={},
        bonuses={},
        mtd_refund=deposit - reward * len(members),
        to_pool=0,
        bonus_paid=0,
        reputation={},
        blacklist=(),
    )

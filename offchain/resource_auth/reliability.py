"""The RSMS reliability study (seed 002 §VI.C, Figs. 5–7; spec 002 §5): Monte Carlo throughput of the
resource-sharing system with and without RSMS. Pure NumPy, no I/O.

The paper measures "the number of Metaverse service that can be successfully provided within a specific
time period" (30 min) with Poisson request arrivals (λ_a), a discrete uniform service time on
[T_MS_min, T_MS_max] minutes, and exponential RN join and leave (λ_j, λ_l), with and without the time
RSMS costs (its Table II). It gives no formula, no values, no group size and no units for λ_j and λ_l,
and a per-day λ_a that, taken literally, yields almost no request in 30 minutes. The model here is the
reconstruction of spec §5, with every choice a parameter:

* time in minutes; the window is [0, T]; requests arrive as a Poisson process of rate λ_a **per minute**
  (the paper's "0.5/day" read as 0.5 per simulation time unit; :func:`arrival_rate_per_minute` gives the
  literal per-day reading, reported beside it);
* a request takes a service group of N RNs; the pool has ``pool_rns`` RNs, so ``pool_rns // N`` groups
  can serve at once; requests wait first-come first-served for a free group;
* each service needs D ~ U{T_MS_min..T_MS_max} minutes of work. While it progresses, RNs of its group
  leave as a Poisson process of rate λ_l per minute (per group); each leave is followed by a replacement
  RN joining after an Exp(λ_j) delay (if the service has not ended by then). The group keeps serving
  meanwhile (service continuity is RSMS's reliability claim), so churn costs only the protocol time.
  The ablation ``churn_stalls=True`` pauses the group after each leave until its replacement joins;
* with RSMS the group spends, on its critical path, the group set-up (GMA + GSKA, each party in
  parallel: 11.312 + 5.667·N ms), a key update for every leave (GSKU, 11.312 ms) and, for every join, the
  RN's re-authentication at the pool (RN 22.634 ms then RPM 11.297 ms) plus a GMA + GSKA re-run; without
  RSMS these times are zero;
* TP counts the requests completed within [0, T].

Both variants run on the same random numbers (common random numbers): the arrival times, service times
and churn are drawn once per run, so the paired difference isolates the protocol's cost. With the same
seed and dimensions, different configurations share the draws too (sweeps are smooth, and monotonicity
in the service time holds run by run).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt

__all__ = [
    "MS_PER_MINUTE",
    "Z_95",
    "ArrivalUnit",
    "ConfigResult",
    "Dimensions",
    "Estimate",
    "ModelConfig",
    "RsmsCosts",
    "SweepPoint",
    "arrival_rate_per_minute",
    "estimate",
    "fig5_points",
    "fig6_points",
    "fig7_points",
    "simulate",
    "simulate_point",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MS_PER_MINUTE = 60_000.0
MINUTES_PER_DAY = 1_440.0
Z_95 = 1.959963984540054
"""Two-sided 95 % standard-normal quantile (runs are in the thousands, so z rather than Student t)."""


class ArrivalUnit(StrEnum):
    """How to read the paper's λ_a = 0.5 "per day"."""

    MINUTE = "minute"  # 0.5 per simulation time unit (minutes): the reading that makes Figs. 5–7 non-empty
    DAY = "day"  # literal: 0.5 per 1,440 minutes, 0.0104 expected requests per 30-minute window


def arrival_rate_per_minute(rate: float, unit: ArrivalUnit) -> float:
    """λ_a in requests per minute under a reading of its unit."""
    return rate if unit is ArrivalUnit.MINUTE else rate / MINUTES_PER_DAY


@dataclass(frozen=True)
class RsmsCosts:
    """Protocol times on a group's critical path, in milliseconds (defaults: the paper's Table II
    formulas, spec 002 §7.2). ``scale`` multiplies them all (sensitivity runs; 0 switches RSMS off)."""

    group_setup_base_ms: float = 11.312  # GMA + GSKA per party: 2 T_ECPSM + T_ECPA + T_HF ...
    group_setup_per_rn_ms: float = 5.667  # ... + N (T_ECPSM + T_ECPA)
    key_update_ms: float = 11.312  # GSKU per party
    reauth_rn_ms: float = 22.634  # re-authentication, RN side
    reauth_rpm_ms: float = 11.297  # re-authentication, RPM side (after the RN's message)
    scale: float = 1.0

    def __post_init__(self) -> None:
        values = (
            self.group_setup_base_ms,
            self.group_setup_per_rn_ms,
            self.key_update_ms,
            self.reauth_rn_ms,
            self.reauth_rpm_ms,
            self.scale,
        )
        if any(not math.isfinite(v) or v < 0 for v in values):
            raise ValueError("protocol costs and their scale must be finite and non-negative")

    @classmethod
    def zero(cls) -> RsmsCosts:
        """No protocol at all (the "without RSMS" variant)."""
        return cls(scale=0.0)

    def group_setup_min(self, group_size: int) -> float:
        """GMA + GSKA for a group of N RNs and the user, in minutes."""
        ms = self.group_setup_base_ms + self.group_setup_per_rn_ms * group_size
        return self.scale * ms / MS_PER_MINUTE

    def leave_min(self) -> float:
        """The key update (GSKU) after an RN leaves, in minutes."""
        return self.scale * self.key_update_ms / MS_PER_MINUTE

    def join_min(self, group_size: int) -> float:
        """A replacement RN: re-authentication at the pool, then GMA + GSKA over the new group, in minutes."""
        reauth = self.scale * (self.reauth_rn_ms + self.reauth_rpm_ms) / MS_PER_MINUTE
        return reauth + self.group_setup_min(group_size)


@dataclass(frozen=True)
class ModelConfig:
    """One configuration of the throughput model (rates per minute, times in minutes)."""

    period_min: float = 30.0
    arrival_rate: float = 0.5  # λ_a, requests per minute (see ArrivalUnit)
    service_min: int = 3  # T_MS_min
    service_max: int = 6  # T_MS_max
    join_rate: float = 0.2  # λ_j: 1 / mean delay before a replacement RN joins
    leave_rate: float = 0.2  # λ_l: RN departures per minute of service, per group
    group_size: int = 4  # N RNs per service group
    pool_rns: int | None = 16  # RNs in the pool; None: unlimited groups
    churn_stalls: bool = False  # ablation: a group pauses after a leave until its replacement joins

    def __post_init__(self) -> None:
        if not (self.period_min > 0 and self.arrival_rate > 0):
            raise ValueError("the period and the arrival rate must be positive")
        if not 1 <= self.service_min <= self.service_max:
            raise ValueError(f"need 1 <= T_MS_min <= T_MS_max, got [{self.service_min}, {self.service_max}]")
        if not (self.join_rate > 0 and self.leave_rate > 0):
            raise ValueError("the join and leave rates must be positive")
        if self.group_size < 1:
            raise ValueError("a service group has at least one RN")
        if self.pool_rns is not None and self.pool_rns < self.group_size:
            raise ValueError(f"a pool of {self.pool_rns} RNs cannot host one group of {self.group_size}")

    @property
    def groups(self) -> int | None:
        """How many service groups the pool can run at once (None: unlimited)."""
        return None if self.pool_rns is None else self.pool_rns // self.group_size


def _tail_bound(mean: float) -> int:
    """A count that a Poisson variable of this mean exceeds with negligible probability (< 1e-12)."""
    return math.ceil(mean + 8.0 * math.sqrt(mean) + 12)


@dataclass(frozen=True)
class Dimensions:
    """How many arrivals per run and leaves per service the random block holds. Configurations that
    share a seed and dimensions share their random numbers."""

    arrivals: int
    leaves: int

    @classmethod
    def for_configs(cls, configs: Sequence[ModelConfig]) -> Dimensions:
        arrivals = max(_tail_bound(c.arrival_rate * c.period_min) for c in configs)
        leaves = max(_tail_bound(c.leave_rate * c.service_max) for c in configs)
        return cls(arrivals, leaves)


@dataclass(frozen=True)
class Estimate:
    """A sample mean with its normal-approximation confidence interval."""

    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def estimate(samples: npt.ArrayLike, z: float = Z_95) -> Estimate:
    """Mean and z·s/√n half-width of ``samples`` (95 % by default)."""
    values = np.asarray(samples, dtype=np.float64)
    if values.size < 2:
        raise ValueError("a confidence interval needs at least two samples")
    half = z * float(values.std(ddof=1)) / math.sqrt(values.size)
    return Estimate(float(values.mean()), half, int(values.size))


@dataclass(frozen=True)
class ConfigResult:
    """Throughput per run of both variants on common random numbers, and their summaries."""

    config: ModelConfig
    tp_without: IntArray
    tp_with: IntArray
    without: Estimate = field(init=False)
    with_rsms: Estimate = field(init=False)
    difference: Estimate = field(init=False)  # paired: with − without

    def __post_init__(self) -> None:
        object.__setattr__(self, "without", estimate(self.tp_without))
        object.__setattr__(self, "with_rsms", estimate(self.tp_with))
        object.__setattr__(self, "difference", estimate(self.tp_with - self.tp_without))

    @property
    def gap_within_ci(self) -> bool:
        """The paper's claim: TP with RSMS lies within the 95 % CI of TP without it."""
        return self.without.contains(self.with_rsms.mean)

    @property
    def relative_gap(self) -> float:
        """(TP with − TP without) / TP without (0 when nothing completes either way)."""
        if self.without.mean == 0:
            return 0.0
        return (self.with_rsms.mean - self.without.mean) / self.without.mean


def _completed(arrivals: FloatArray, work: FloatArray, period: float, groups: int | None) -> IntArray:
    """Requests finished by ``period`` per run: FCFS over ``groups`` identical servers (each arrival, in
    order, takes the group that frees up first). ``arrivals`` are sorted along axis 1."""
    in_window = arrivals <= period
    if groups is None:
        return np.asarray(((arrivals + work <= period) & in_window).sum(axis=1), dtype=np.int64)
    runs = arrivals.shape[0]
    rows = np.arange(runs)
    free_at = np.zeros((runs, groups))
    done = np.zeros(runs, dtype=np.int64)
    for k in range(arrivals.shape[1]):
        valid = in_window[:, k]
        if not valid.any():
            break  # arrivals are sorted: later columns are outside the window too
        server = free_at.argmin(axis=1)
        earliest = free_at[rows, server]
        finish = np.maximum(arrivals[:, k], earliest) + work[:, k]
        free_at[rows, server] = np.where(valid, finish, earliest)
        done += valid & (finish <= period)
    return done


def _chunk(
    config: ModelConfig,
    costs: RsmsCosts,
    dims: Dimensions,
    rng: np.random.Generator,
    runs: int,
) -> tuple[IntArray, IntArray]:
    """One block of runs, both variants on the same draws."""
    # Draw order and shapes depend only on (runs, dims): configurations share them.
    gaps = rng.standard_exponential((runs, dims.arrivals))
    uniforms = rng.random((runs, dims.arrivals))
    leave_gaps = rng.standard_exponential((runs, dims.arrivals, dims.leaves))
    join_delays = rng.standard_exponential((runs, dims.arrivals, dims.leaves))

    arrivals = np.cumsum(gaps, axis=1) / config.arrival_rate
    if (arrivals[:, -1] <= config.period_min).any():
        raise ValueError("too few arrival slots for this arrival rate: raise Dimensions.arrivals")
    width = config.service_max - config.service_min + 1
    service = config.service_min + np.floor(uniforms * width)  # U{min..max}, minutes of work
    leave_at = np.cumsum(leave_gaps, axis=2) / config.leave_rate  # in minutes of service progress
    if (leave_at[:, :, -1] < service).any():
        raise ValueError("too few leave slots for this leave rate: raise Dimensions.leaves")
    left = leave_at < service[:, :, None]
    delays = join_delays / config.join_rate
    if config.churn_stalls:
        # every departed RN is replaced before the service goes on: the delays add to the work
        joined = left
        work = service + np.where(left, delays, 0.0).sum(axis=2)
    else:
        # the group keeps serving; a replacement counts only when it arrives before the service ends
        joined = left & (leave_at + delays < service[:, :, None])
        work = service
    leaves = left.sum(axis=2)
    joins = joined.sum(axis=2)

    n = config.group_size
    overhead = costs.group_setup_min(n) + leaves * costs.leave_min() + joins * costs.join_min(n)
    groups = config.groups
    tp_without = _completed(arrivals, work, config.period_min, groups)
    tp_with = _completed(arrivals, work + overhead, config.period_min, groups)
    return tp_without, tp_with


def simulate(
    config: ModelConfig,
    costs: RsmsCosts | None = None,
    *,
    runs: int = 10_000,
    seed: int = 2,
    dims: Dimensions | None = None,
    chunk: int = 2_000,
    progress: Callable[[int], None] | None = None,
) -> ConfigResult:
    """Throughput of ``config`` over ``runs`` Monte Carlo runs, with and without RSMS (``costs``,
    default the paper's), on common random numbers. Block ``i`` of ``chunk`` runs draws from
    ``default_rng([seed, i])``, so a result depends only on (config, costs, runs, seed, dims, chunk).
    ``progress`` is called with the number of runs finished after each block."""
    if runs < 2 or chunk < 1:
        raise ValueError("need at least two runs and a positive chunk size")
    costs = costs if costs is not None else RsmsCosts()
    dims = dims if dims is not None else Dimensions.for_configs([config])
    without: list[IntArray] = []
    with_rsms: list[IntArray] = []
    for index, start in enumerate(range(0, runs, chunk)):
        size = min(chunk, runs - start)
        rng = np.random.default_rng([seed, index])
        tp_without, tp_with = _chunk(config, costs, dims, rng, size)
        without.append(tp_without)
        with_rsms.append(tp_with)
        if progress is not None:
            progress(size)
    return ConfigResult(config, np.concatenate(without), np.concatenate(with_rsms))


# ---------------------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class SweepPoint:
    """One x-axis point of a figure."""

    figure: str  # "fig5", "fig6", "fig7"
    label: str  # x tick label
    x: float
    config: ModelConfig


#: Fig. 5's x-axis settings [T_MS_min, T_MS_max] (the paper shows several but prints none).
SERVICE_RANGES: tuple[tuple[int, int], ...] = ((1, 3), (2, 4), (3, 6), (4, 8), (5, 10), (6, 12), (8, 16))
#: Fig. 6 / Fig. 7 x-axis rates per minute (not printed in the paper either).
RATES: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)


def fig5_points(base: ModelConfig | None = None) -> list[SweepPoint]:
    """TP against [T_MS_min, T_MS_max], λ_j = λ_l = 0.2, λ_a = 0.5."""
    base = base or ModelConfig()
    return [
        SweepPoint("fig5", f"[{lo},{hi}]", (lo + hi) / 2, replace(base, service_min=lo, service_max=hi))
        for lo, hi in SERVICE_RANGES
    ]


def fig6_points(base: ModelConfig | None = None) -> list[SweepPoint]:
    """TP against λ_j, λ_l = 0.2, [3, 6] min."""
    base = base or ModelConfig()
    return [SweepPoint("fig6", f"{rate:g}", rate, replace(base, join_rate=rate)) for rate in RATES]


def fig7_points(base: ModelConfig | None = None) -> list[SweepPoint]:
    """TP against λ_l, λ_j = 0.2, [3, 6] min."""
    base = base or ModelConfig()
    return [SweepPoint("fig7", f"{rate:g}", rate, replace(base, leave_rate=rate)) for rate in RATES]


def simulate_point(
    point: SweepPoint,
    costs: RsmsCosts | None = None,
    *,
    runs: int,
    seed: int,
    dims: Dimensions,
    progress: Callable[[int], None] | None = None,
) -> ConfigResult:
    """:func:`simulate` for one figure point (shared dimensions keep the figure on common numbers)."""
    return simulate(point.config, costs, runs=runs, seed=seed, dims=dims, progress=progress)

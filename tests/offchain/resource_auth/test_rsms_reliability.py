"""The RSMS reliability Monte Carlo (spec 002 §5): invariants of the model, the vectorised queue against a
plain reference, the confidence intervals, and a smoke run of the benchmark into a temporary folder."""

from __future__ import annotations

import heapq
import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from offchain.resource_auth import reliability as rel
from offchain.resource_auth.bench_reliability import StudySize, run
from offchain.resource_auth.reliability import (
    ArrivalUnit,
    Dimensions,
    ModelConfig,
    RsmsCosts,
    arrival_rate_per_minute,
    estimate,
    fig5_points,
    fig6_points,
    fig7_points,
    simulate,
)

BASE = ModelConfig()
RUNS = 1_500


def test_zero_protocol_cost_gives_identical_throughput() -> None:
    result = simulate(BASE, RsmsCosts.zero(), runs=RUNS, seed=5)
    assert np.array_equal(result.tp_with, result.tp_without)
    assert result.difference.mean == 0.0
    assert result.gap_within_ci


def test_rsms_never_adds_throughput_run_by_run() -> None:
    result = simulate(BASE, RsmsCosts(scale=200.0), runs=RUNS, seed=5)
    assert (result.tp_with <= result.tp_without).all()
    assert result.difference.mean < 0  # 200x the paper's times is visible


def test_paper_costs_stay_inside_the_ci_and_slow_protocols_do_not() -> None:
    paper = simulate(BASE, runs=RUNS, seed=3)
    assert paper.gap_within_ci
    assert abs(paper.relative_gap) < 0.01
    slow = simulate(BASE, RsmsCosts(scale=5_000.0), runs=RUNS, seed=3)  # ~0.17 min per group set-up
    assert not slow.gap_within_ci
    assert slow.with_rsms.mean < slow.without.low


def test_throughput_is_monotone_in_the_service_time() -> None:
    points = fig5_points()
    dims = Dimensions.for_configs([p.config for p in points])
    results = [simulate(p.config, runs=RUNS, seed=9, dims=dims) for p in points]
    for shorter, longer in itertools.pairwise(results):
        # common random numbers: every run completes at least as many shorter services
        assert (shorter.tp_without >= longer.tp_without).all()
        assert (shorter.tp_with >= longer.tp_with).all()
        assert shorter.without.mean > longer.without.mean


def test_more_capacity_never_lowers_throughput() -> None:
    small = simulate(replace(BASE, pool_rns=4), runs=RUNS, seed=4)
    large = simulate(replace(BASE, pool_rns=40), runs=RUNS, seed=4)
    unlimited = simulate(replace(BASE, pool_rns=None), runs=RUNS, seed=4)
    assert (small.tp_without <= large.tp_without).all()
    assert (large.tp_without <= unlimited.tp_without).all()
    assert small.without.mean < large.without.mean


def test_ci_shrinks_with_runs() -> None:
    few = simulate(BASE, runs=500, seed=1)
    many = simulate(BASE, runs=4_000, seed=1)
    ratio = many.without.half_width / few.without.half_width
    assert 0.25 < ratio < 0.5  # about 1/sqrt(8) = 0.354
    assert few.without.contains(many.without.mean) or many.without.contains(few.without.mean)


def test_runs_are_reproducible_and_seeds_differ() -> None:
    first = simulate(BASE, runs=400, seed=11, chunk=128)
    again = simulate(BASE, runs=400, seed=11, chunk=128)
    other = simulate(BASE, runs=400, seed=12, chunk=128)
    assert np.array_equal(first.tp_with, again.tp_with)
    assert not np.array_equal(first.tp_without, other.tp_without)


def test_churn_only_matters_when_it_stalls_the_group() -> None:
    rates = [p.config for p in fig6_points() + fig7_points()]
    dims = Dimensions.for_configs(rates)
    flowing = [simulate(c, runs=RUNS, seed=6, dims=dims).tp_without for c in rates]
    assert all(np.array_equal(flowing[0], tp) for tp in flowing)  # service continuity: no effect
    slow_join = simulate(replace(BASE, churn_stalls=True, join_rate=0.05), runs=RUNS, seed=6, dims=dims)
    fast_join = simulate(replace(BASE, churn_stalls=True, join_rate=1.0), runs=RUNS, seed=6, dims=dims)
    assert (slow_join.tp_without <= fast_join.tp_without).all()
    assert slow_join.without.high < fast_join.without.low


def test_literal_per_day_arrival_rate_gives_almost_nothing() -> None:
    rate = arrival_rate_per_minute(0.5, ArrivalUnit.DAY)
    assert rate == pytest.approx(0.5 / 1440)
    assert arrival_rate_per_minute(0.5, ArrivalUnit.MINUTE) == 0.5
    result = simulate(replace(BASE, arrival_rate=rate), runs=RUNS, seed=2)
    assert result.without.mean < 0.03  # 0.0104 expected arrivals per 30 min, fewer completions


def _reference_completed(arrivals: list[float], work: list[float], period: float, groups: int) -> int:
    """FCFS with ``groups`` servers, one request at a time, with a heap of free times."""
    free = [0.0] * groups
    heapq.heapify(free)
    done = 0
    for arrival, duration in zip(arrivals, work, strict=True):
        if arrival > period:
            break
        start = max(arrival, heapq.heappop(free))
        finish = start + duration
        heapq.heappush(free, finish)
        done += finish <= period
    return done


def test_vectorised_queue_matches_a_plain_reference() -> None:
    rng = np.random.default_rng(0)
    runs, slots = 300, 25
    arrivals = np.cumsum(rng.exponential(2.0, (runs, slots)), axis=1)
    work = rng.uniform(1, 12, (runs, slots))
    for groups in (1, 2, 3):
        vectorised = rel._completed(arrivals, work, 30.0, groups)
        expected = [_reference_completed(list(arrivals[i]), list(work[i]), 30.0, groups) for i in range(runs)]
        assert vectorised.tolist() == expected
    unlimited = rel._completed(arrivals, work, 30.0, None)
    expected = [_reference_completed(list(arrivals[i]), list(work[i]), 30.0, slots) for i in range(runs)]
    assert unlimited.tolist() == expected


def test_costs_follow_the_paper_formulas() -> None:
    costs = RsmsCosts()
    assert costs.group_setup_min(4) * rel.MS_PER_MINUTE == pytest.approx(11.312 + 5.667 * 4)
    assert costs.leave_min() * rel.MS_PER_MINUTE == pytest.approx(11.312)
    assert costs.join_min(4) * rel.MS_PER_MINUTE == pytest.approx(22.634 + 11.297 + 11.312 + 5.667 * 4)
    assert RsmsCosts.zero().join_min(4) == 0.0


def test_estimate() -> None:
    est = estimate([1.0, 2.0, 3.0, 4.0])
    assert est.mean == 2.5
    assert est.half_width == pytest.approx(rel.Z_95 * np.std([1, 2, 3, 4], ddof=1) / 2)
    assert est.contains(2.5)
    assert not est.contains(10)
    with pytest.raises(ValueError, match="two samples"):
        estimate([1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"service_min": 0}, "T_MS_min"),
        ({"service_min": 7, "service_max": 6}, "T_MS_min"),
        ({"arrival_rate": 0}, "arrival rate"),
        ({"join_rate": 0}, "join and leave"),
        ({"group_size": 0}, "at least one RN"),
        ({"pool_rns": 3}, "cannot host"),
    ],
)
def test_bad_configurations_are_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_costs_and_too_small_dimensions_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        RsmsCosts(scale=-1.0)
    with pytest.raises(ValueError, match="arrival slots"):
        simulate(BASE, runs=10, dims=Dimensions(arrivals=3, leaves=30))
    with pytest.raises(ValueError, match="leave slots"):
        simulate(BASE, runs=10, dims=Dimensions(arrivals=60, leaves=1))
    with pytest.raises(ValueError, match="two runs"):
        simulate(BASE, runs=1)


def test_bench_smoke_run_keeps_other_summary_keys(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"scalar_mult_ms": 0.3, "tp_gap_within_ci": None}))
    updates = run(tmp_path, StudySize(runs=120, seed=2), Console(quiet=True))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["scalar_mult_ms"] == 0.3  # another benchmark's key survives
    assert summary["tp_gap_within_ci"] is updates["tp_gap_within_ci"] is True
    configs = summary["reliability"]["configs"]
    assert len(configs) == len(fig5_points()) + len(fig6_points()) + len(fig7_points())
    record = configs["fig5:[3,6]"]
    assert record["tp_without_ci95"][0] <= record["tp_with"] <= record["tp_without_ci95"][1]
    assert summary["reliability"]["literal_per_day"]["tp_without"] < 0.1
    for name in ("reliability.md", "reliability_fig5.png", "reliability_fig6.png", "reliability_fig7.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert len(list(tmp_path.glob("reliability_*.csv"))) >= 6
    text = (tmp_path / "reliability.md").read_text()
    assert "Fig. 5" in text
    assert "per day" in text

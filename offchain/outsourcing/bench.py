"""``metatrust bench outsourcing``: the paper's evaluation (Figs. 4, 5, 6) with our code.

Three stages, timed apart (spec §6.3): (a) task processing at the MTD (sampling, sharing, task hashes, the
signature; F generation reported separately), (b) online computation = the slowest of the m CSNs (check T_j,
compute, sign), (c) result verification (m signature checks + interpolation + Eq. 9 + the strict degree
check). Baselines (approximations, :mod:`.baselines`): Zhang-Wang with per-server signatures (Fig. 4) and
FVP-EOC-style redundant computation with ElGamal voting (Fig. 5). The paper prints no numbers, only trends;
:func:`check_trends` checks them (spec R32) and the report says where ours differ.

Every figure is a median over repeated runs. The online stage is timed interleaved with the bare FLINT
product ``Q·z`` on the same points, so their ratio comes from the same run and the same load.
"""

from __future__ import annotations

import gc
import itertools
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import flint
from coincurve import PrivateKey
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from offchain.bench.report import Table, write_report
from offchain.crypto.keys import KeyPair, derive
from offchain.outsourcing.accountability import audit, build_accountability_transaction
from offchain.outsourcing.baselines import (
    fvp_accountability,
    fvp_result,
    zw_prepare,
    zw_process,
    zw_verify,
)
from offchain.outsourcing.csn import CSNResult, process_task, sign_result
from offchain.outsourcing.field import Field, get_field
from offchain.outsourcing.polynomial import DensePolynomial, random_dense
from offchain.outsourcing.task import prepare_task, required_servers
from offchain.outsourcing.verify import verify_results

T = TypeVar("T")
KEY_SEED = b"metatrust-bench-outsourcing"
REPORT_NAME = "outsourcing"

PAPER_NOTE = (
    "The paper (seed 000, §VI) prints **no numbers**: Figs. 4-6 are plots of C/FLINT 2.8 code on a Raspberry "
    "Pi (MTD) and a 2.5 GHz server (CSN). Only its qualitative claims can be compared; they are checked in "
    "the *Trends* table."
)


# ---------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class BenchConfig:
    """The grid. Defaults reproduce the paper's; :meth:`quick` is a small one."""

    ks: tuple[int, ...] = tuple(range(200, 2001, 200))
    ts: tuple[int, ...] = (1, 2, 3, 4, 5)
    high_k: int = 9
    high_ds: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 14)
    high_t: int = 1
    acc_k: int = 200
    acc_ms: tuple[int, ...] = (4, 7, 10, 13, 16, 19, 22, 25, 28, 31)
    replicas: int = 3
    repeats: int = 7
    online_repeats: int = 5
    headline_repeats: int = 21
    """Runs per median of the headline point (k = max ks, d = 2, t = max ts): task and verification."""
    headline_passes: int = 9
    """Passes over the m CSNs at the headline point (online and the bare FLINT product)."""
    online_budget_s: float = 3.0
    clock: str = "wall"
    """The clock of the grid (Figs. 4-6): ``wall`` or ``cpu`` (:data:`CLOCKS`); the headline point always
    records both."""
    """At most this long per online measurement: big-d passes run fewer repeats (at least one)."""

    @property
    def target_k(self) -> int:
        """The k of the headline figures (2000 in the full grid: the largest k)."""
        return max(self.ks)

    @property
    def target_t(self) -> int:
        return max(self.ts)

    @classmethod
    def quick(cls) -> BenchConfig:
        return cls(
            ks=(200, 1000, 2000),
            ts=(1, 5),
            high_ds=(2, 4, 6, 8),
            acc_ms=(4, 10, 16),
            repeats=5,
            online_repeats=2,
            headline_repeats=9,
            headline_passes=3,
        )


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}
"""wall: wall-clock (the paper's metric); cpu: this thread's CPU time (leaves out the time the scheduler
gives to other jobs on a shared machine)."""
_grid_clock: list[Callable[[], float]] = [time.perf_counter]


def _timed(fn: Callable[[], T], clock: Callable[[], float] | None = None) -> tuple[float, T]:
    """Milliseconds of one call on ``clock`` (default: the grid's), with the cyclic GC paused during it
    (as :mod:`timeit` does)."""
    now = clock or _grid_clock[0]
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = now()
        value = fn()
        elapsed = now() - start
    finally:
        if enabled:
            gc.enable()
    return elapsed * 1e3, value


def _repeat(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median milliseconds of ``repeats`` calls, and the last value."""
    times = []
    value: T | None = None
    for _ in range(max(repeats, 1)):
        elapsed, value = _timed(fn)
        times.append(elapsed)
    assert value is not None
    return _median(times), value


@dataclass
class Keys:
    mtd: KeyPair
    csns: list[KeyPair] = field(default_factory=list)

    def csn(self, index: int) -> KeyPair:
        while len(self.csns) <= index:
            self.csns.append(derive(KEY_SEED + b"/csn", len(self.csns)))
        return self.csns[index]

    def group(self, m: int) -> list[str]:
        return [self.csn(i).address for i in range(m)]


# ---------------------------------------------------------------------------------------- stages


@dataclass(frozen=True)
class Generated:
    polynomial: DensePolynomial
    generate_ms: float
    digest_ms: float
    prepare_ms: float


def generate(field_: Field, k: int, d: int) -> Generated:
    """F generation, reported apart: coefficients (CSPRNG), H(F), and the evaluation structure."""
    generate_ms, polynomial = _timed(lambda: random_dense(field_, k, d))
    digest_ms, _ = _timed(polynomial.digest)
    prepare_ms, _ = _timed(polynomial.prepare)
    return Generated(polynomial, generate_ms, digest_ms, prepare_ms)


@dataclass(frozen=True)
class StageTimes:
    k: int
    d: int
    t: int
    m: int
    task_ms: float
    online_ms: float
    online_median_csn_ms: float
    verify_ms: float
    bare_ms: float | None = None
    bare_median_ms: float | None = None
    zw_task_ms: float | None = None
    zw_online_ms: float | None = None
    zw_verify_ms: float | None = None


def _online_passes(
    config: BenchConfig, m: int, one: Callable[[int], float], passes: int | None = None
) -> list[list[float]]:
    """``passes`` rounds over the m CSNs (each call returns its milliseconds); the first round decides how
    many more fit the time budget."""
    rounds = [[one(j) for j in range(1, m + 1)]]
    wanted = config.online_repeats if passes is None else passes
    first_s = sum(rounds[0]) / 1e3
    if passes is None and first_s > 0:
        wanted = max(1, min(wanted, int(config.online_budget_s / first_s)))
    while len(rounds) < wanted:
        rounds.append([one(j) for j in range(1, m + 1)])
    return rounds


def measure_stages(
    config: BenchConfig,
    keys: Keys,
    polynomial: DensePolynomial,
    x: Sequence[int],
    t: int,
    *,
    baseline: bool,
) -> StageTimes:
    """The three stages for one (F, t), plus the baseline's and the bare FLINT product when asked."""
    field_ = polynomial.field
    mtd = keys.mtd
    k, d = polynomial.k, polynomial.d
    m = required_servers(d, t)
    group = keys.group(m)
    task_ms, task = _repeat(lambda: prepare_task(mtd, polynomial, x, t), config.repeats)
    zw_task_ms = zw_task = None
    if baseline:
        zw_task_ms, zw_task = _repeat(lambda: zw_prepare(mtd, polynomial, x, t), config.repeats)

    results: dict[int, CSNResult] = {}
    zw_results: dict[int, CSNResult] = {}
    bare: list[float] = []
    zw_online: list[float] = []
    matrix = polynomial.quadratic_matrix() if d == 2 else None

    def one(j: int) -> float:
        elapsed, results[j] = _timed(
            lambda: process_task(keys.csn(j - 1), task.task_for(j), polynomial, mtd.address)
        )
        if matrix is not None:
            z = flint.fmpz_mod_mat(k + 1, 1, [1, *task.shares[j - 1].v], field_.ctx)
            bare.append(_timed(lambda: matrix * z)[0])
        if zw_task is not None:
            ms, zw_results[j] = _timed(
                lambda: zw_process(keys.csn(j - 1), zw_task.subtasks[j - 1], polynomial, mtd.address)
            )
            zw_online.append(ms)
        return elapsed

    rounds = _online_passes(config, m, one)
    online_ms = _median([max(r) for r in rounds])
    online_median_csn_ms = _median([v for r in rounds for v in r])
    ordered = [results[j] for j in range(1, m + 1)]
    verify_ms, verdict = _repeat(
        lambda: verify_results(field_, task.transaction, task.secret.alpha, ordered, group),
        3 * config.repeats,
    )
    if not verdict.accepted:
        raise RuntimeError(f"honest run rejected (k={k}, d={d}, t={t}): {verdict.reason}")
    bare_ms = bare_median_ms = zw_online_ms = zw_verify_ms = None
    if bare:
        bare_ms = _median([max(bare[i : i + m]) for i in range(0, len(bare), m)])
        bare_median_ms = _median(bare)
    if zw_task is not None:
        zw_online_ms = _median([max(zw_online[i : i + m]) for i in range(0, len(zw_online), m)])
        zw_ordered = [zw_results[j] for j in range(1, m + 1)]
        zw_verify_ms, zw_verdict = _repeat(
            lambda: zw_verify(field_, zw_task, zw_ordered, group), 3 * config.repeats
        )
        if not zw_verdict.accepted:
            raise RuntimeError(f"baseline honest run rejected: {zw_verdict.reason}")
    return StageTimes(
        k,
        d,
        t,
        m,
        task_ms,
        online_ms,
        online_median_csn_ms,
        verify_ms,
        bare_ms,
        bare_median_ms,
        zw_task_ms,
        zw_online_ms,
        zw_verify_ms,
    )


@dataclass(frozen=True)
class AccountabilityTimes:
    m: int
    t: int
    build_ms: float
    acc_ms: float
    fvp_servers: int
    fvp_acc_ms: float
    fvp_redundant_ms: float
    """The (replicas - 1)·m extra evaluations of F that FVP-EOC runs on every task (serial sum)."""

    @property
    def fvp_total_ms(self) -> float:
        return self.fvp_acc_ms + self.fvp_redundant_ms


def measure_accountability(
    config: BenchConfig, keys: Keys, polynomial: DensePolynomial, x: Sequence[int], m: int
) -> AccountabilityTimes:
    """Fig. 5 at one m: ours (TX_acc built by the MTD, then Algorithm 1) vs the FVP-EOC approximation
    (``replicas``·m servers, ElGamal-encrypted results, majority vote). One CSN cheats in both."""
    field_ = polynomial.field
    d = polynomial.d
    t = (m - 1) // (d + 1)
    mtd = keys.mtd
    group = keys.group(m)
    task = prepare_task(mtd, polynomial, x, t, m=m)
    results = [process_task(keys.csn(j - 1), task.task_for(j), polynomial) for j in range(1, m + 1)]
    honest = [r.c for r in results]
    bad = results[0]
    results[0] = sign_result(
        keys.csn(0), field_, bad.task_id, bad.j, bad.task_hash, (bad.c + 1) % field_.q, bad.b
    )
    if verify_results(field_, task.transaction, task.secret.alpha, results, group).accepted:
        raise RuntimeError("a tampered result passed verification")
    build_ms, tx_acc = _repeat(
        lambda: build_accountability_transaction(mtd, task, results, group), config.repeats
    )
    acc_ms, report = _repeat(lambda: audit(tx_acc, polynomial), config.repeats)
    if report.flagged != (group[0],):
        raise RuntimeError(f"ACC flagged {report.flagged}, expected the one cheater")

    replicas = config.replicas
    elgamal = PrivateKey()
    servers = [derive(KEY_SEED + b"/fvp", i) for i in range(replicas * m)]
    replica_results = []
    for index, server in enumerate(servers):
        subtask, replica = divmod(index, replicas)
        value = honest[subtask]
        if index == 0:
            value = (value + 1) % field_.q  # the one cheating replica
        replica_results.append(fvp_result(server, elgamal.public_key, subtask + 1, replica, value))
    addresses = [server.address for server in servers]
    secret = int.from_bytes(elgamal.secret, "big")
    fvp_ms, flagged = _repeat(
        lambda: fvp_accountability(secret, replica_results, addresses, replicas), config.repeats
    )
    if flagged != [addresses[0]]:
        raise RuntimeError(f"FVP-EOC vote flagged {flagged}, expected the one cheater")
    evaluations = [
        _repeat(lambda share=share: polynomial.evaluate(share.v), 3)[0]  # type: ignore[misc]
        for share in task.shares
    ]
    redundant_ms = (replicas - 1) * sum(evaluations)
    return AccountabilityTimes(m, t, build_ms, acc_ms, replicas * m, fvp_ms, redundant_ms)


def _timed2(fn: Callable[[], T]) -> tuple[float, float, T]:
    """Wall-clock and this thread's CPU milliseconds of one call (GC paused)."""
    cpu_start = time.thread_time()
    wall, value = _timed(fn, time.perf_counter)
    return wall, (time.thread_time() - cpu_start) * 1e3, value


@dataclass(frozen=True)
class Headline:
    """The target point measured with more repeats and two clocks: wall-clock (the paper's metric) and the
    thread's CPU time (what the code costs, without the time the scheduler gives to other jobs)."""

    k: int
    t: int
    m: int
    wall: dict[str, float]
    cpu: dict[str, float]
    repeats: int
    passes: int


def measure_headline(
    config: BenchConfig, keys: Keys, polynomial: DensePolynomial, x: Sequence[int], t: int
) -> Headline:
    field_ = polynomial.field
    mtd = keys.mtd
    k = polynomial.k
    m = required_servers(2, t)
    group = keys.group(m)
    matrix = polynomial.quadratic_matrix()
    samples: dict[str, list[tuple[float, float]]] = {"task": [], "verify": []}
    for _ in range(config.headline_repeats):
        wall, cpu, task = _timed2(lambda: prepare_task(mtd, polynomial, x, t))
        samples["task"].append((wall, cpu))
    passes: list[dict[str, list[tuple[float, float]]]] = []
    results: dict[int, CSNResult] = {}
    for _ in range(config.headline_passes):
        round_: dict[str, list[tuple[float, float]]] = {"online": [], "flint": []}
        for j in range(1, m + 1):
            wall, cpu, results[j] = _timed2(
                lambda j=j: process_task(keys.csn(j - 1), task.task_for(j), polynomial, mtd.address)  # type: ignore[misc]
            )
            round_["online"].append((wall, cpu))
            z = flint.fmpz_mod_mat(k + 1, 1, [1, *task.shares[j - 1].v], field_.ctx)
            wall, cpu, _ = _timed2(lambda z=z: matrix * z)  # type: ignore[misc]
            round_["flint"].append((wall, cpu))
        passes.append(round_)
    ordered = [results[j] for j in range(1, m + 1)]
    for _ in range(config.headline_repeats):
        wall, cpu, verdict = _timed2(
            lambda: verify_results(field_, task.transaction, task.secret.alpha, ordered, group)
        )
        if not verdict.accepted:
            raise RuntimeError(f"honest headline run rejected: {verdict.reason}")
        samples["verify"].append((wall, cpu))
    figures: list[dict[str, float]] = [{}, {}]
    for clock in (0, 1):
        out = figures[clock]
        out["task_ms"] = _median([s[clock] for s in samples["task"]])
        out["verify_ms"] = _median([s[clock] for s in samples["verify"]])
        for stage in ("online", "flint"):
            out[f"{stage}_slowest_ms"] = _median([max(s[clock] for s in p[stage]) for p in passes])
            out[f"{stage}_median_ms"] = _median([s[clock] for p in passes for s in p[stage]])
        out["online_over_flint"] = out["online_slowest_ms"] / out["flint_slowest_ms"]
        out["online_over_flint_median"] = out["online_median_ms"] / out["flint_median_ms"]
    return Headline(k, t, m, figures[0], figures[1], config.headline_repeats, config.headline_passes)


# ---------------------------------------------------------------------------------------- the run


@dataclass
class BenchResult:
    config: BenchConfig
    generation: list[tuple[int, int, int, Generated]] = field(default_factory=list)
    """(k, d, term count, times) per generated F."""
    fig4: list[StageTimes] = field(default_factory=list)
    fig6: list[StageTimes] = field(default_factory=list)
    fig5: list[AccountabilityTimes] = field(default_factory=list)
    headline: Headline | None = None
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seconds: float = 0.0

    def fig4_at(self, k: int, t: int) -> StageTimes:
        return next(row for row in self.fig4 if row.k == k and row.t == t)


@contextmanager
def _using_clock(clock: Callable[[], float]) -> Iterator[None]:
    _grid_clock[0] = clock
    try:
        yield
    finally:
        _grid_clock[0] = time.perf_counter


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeElapsedColumn()) as progress:
        yield progress


def run(config: BenchConfig, *, show_progress: bool = True) -> BenchResult:
    """Measure the whole grid (no files written)."""
    field_ = get_field()
    keys = Keys(derive(KEY_SEED + b"/mtd", 0))
    if config.clock not in CLOCKS:
        raise ValueError(f"clock must be one of {sorted(CLOCKS)}, got {config.clock!r}")
    result = BenchResult(config, load_before=os.getloadavg())
    start = time.perf_counter()
    with _using_clock(CLOCKS[config.clock]), _progress(show_progress) as progress:

        def bar(name: str, total: int) -> Callable[[str], None]:
            if progress is None:
                return lambda _label: None
            task_id: TaskID = progress.add_task(name, total=total)
            return lambda label: progress.update(task_id, advance=1, description=f"{name} {label}")

        step4 = bar("Fig. 4 (d = 2)", len(config.ks) * len(config.ts))
        for k in config.ks:
            generated = generate(field_, k, 2)
            result.generation.append((k, 2, generated.polynomial.term_count, generated))
            x = field_.random_elements(k)
            for t in config.ts:
                result.fig4.append(measure_stages(config, keys, generated.polynomial, x, t, baseline=True))
                step4(f"k={k} t={t}")
            if k == config.target_k:
                result.headline = measure_headline(config, keys, generated.polynomial, x, config.target_t)
            del generated

        step6 = bar(f"Fig. 6 (k = {config.high_k})", len(config.high_ds))
        for d in config.high_ds:
            generated = generate(field_, config.high_k, d)
            result.generation.append((config.high_k, d, generated.polynomial.term_count, generated))
            x = field_.random_elements(config.high_k)
            result.fig6.append(
                measure_stages(config, keys, generated.polynomial, x, config.high_t, baseline=False)
            )
            step6(f"d={d}")
            del generated

        step5 = bar("Fig. 5 (accountability)", len(config.acc_ms))
        acc_polynomial = generate(field_, config.acc_k, 2).polynomial
        x = field_.random_elements(config.acc_k)
        for m in config.acc_ms:
            result.fig5.append(measure_accountability(config, keys, acc_polynomial, x, m))
            step5(f"m={m}")
    result.seconds = time.perf_counter() - start
    result.load_after = os.getloadavg()
    return result


# ---------------------------------------------------------------------------------------- trends (R32)


@dataclass(frozen=True)
class Trend:
    figure: str
    claim: str
    measured: str
    holds: bool


def _rising(values: Sequence[float]) -> bool:
    """Last above first and most steps up (noise-tolerant monotonicity)."""
    if len(values) < 2:
        return False
    ups = sum(b > a for a, b in itertools.pairwise(values))
    return values[-1] > values[0] and ups * 2 >= len(values) - 1


FLAT = 0.25
"""A series counts as flat when its least-squares line changes by at most 25 % of its mean over the range
(a single noisy point does not decide, as it would with max/min)."""


def _relative_change(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The least-squares line's change over the x range, relative to the mean of ys."""
    if len(xs) < 2:
        return 0.0
    slope = statistics.linear_regression(xs, ys).slope
    return slope * (max(xs) - min(xs)) / statistics.fmean(ys)


def check_trends(result: BenchResult) -> list[Trend]:
    """The paper's qualitative claims (spec §6.4, R32) against our measurements."""
    config = result.config
    trends: list[Trend] = []
    k_max, t_max, k_min = config.target_k, config.target_t, min(config.ks)
    multi_t, multi_k = len(config.ts) > 1, len(config.ks) > 1
    if multi_k:
        for t in config.ts:
            series = [result.fig4_at(k, t).task_ms for k in config.ks]
            trends.append(
                Trend(
                    "4(a)",
                    f"task processing rises with k (t={t})",
                    f"{series[0]:.2f} → {series[-1]:.2f} ms",
                    _rising(series),
                )
            )
    if multi_t:
        series = [result.fig4_at(k_max, t).task_ms for t in config.ts]
        trends.append(
            Trend(
                "4(a)",
                f"task processing rises with t (k={k_max})",
                " / ".join(f"{v:.2f}" for v in series) + " ms",
                _rising(series),
            )
        )
    wins = [row for row in result.fig4 if row.t == t_max and row.zw_task_ms is not None]
    below = [row for row in wins if row.task_ms < (row.zw_task_ms or 0.0)]
    trends.append(
        Trend(
            "4(a)",
            f"Meta-BMEOC task processing below Zhang-Wang+sig. (t={t_max})",
            f"below at {len(below)}/{len(wins)} k",
            len(below) == len(wins),
        )
    )
    if multi_t:
        for attr, label in (("online_ms", "slowest of the m CSNs"), ("online_median_csn_ms", "median CSN")):
            series = [float(getattr(result.fig4_at(k_max, t), attr)) for t in config.ts]
            change = _relative_change([float(t) for t in config.ts], series)
            trends.append(
                Trend(
                    "4(b)",
                    f"online time independent of t (k={k_max}; {label})",
                    " / ".join(f"{v:.1f}" for v in series) + f" ms; fitted change over t = {change:+.0%}",
                    abs(change) <= FLAT,
                )
            )
    ratios = [(row.zw_online_ms or 0.0) / row.online_ms for row in result.fig4 if row.zw_online_ms]
    ratio = _median(ratios)
    trends.append(
        Trend(
            "4(b)",
            "Zhang-Wang online 'marginally longer' (it checks the MTD's signature)",
            f"median Zhang-Wang/ours = {ratio:.3f} (ours also checks one signature)",
            ratio > 1.0,
        )
    )
    if multi_k:
        series = [result.fig4_at(k, t_max).verify_ms for k in config.ks]
        change = _relative_change([float(k) for k in config.ks], series)
        trends.append(
            Trend(
                "4(c)",
                f"verification barely depends on k (t={t_max})",
                f"{min(series):.2f} to {max(series):.2f} ms; fitted change over k = {change:+.0%}",
                abs(change) <= FLAT,
            )
        )
    if multi_t:
        series = [result.fig4_at(k_min, t).verify_ms for t in config.ts]
        trends.append(
            Trend(
                "4(c)",
                f"verification rises with t (k={k_min})",
                " / ".join(f"{v:.2f}" for v in series) + " ms",
                _rising(series),
            )
        )
    if len(result.fig6) > 1:
        for stage, name in (("task_ms", "task processing"), ("verify_ms", "verification")):
            series = [float(getattr(row, stage)) for row in result.fig6]
            trends.append(
                Trend(
                    "6(a)" if stage == "task_ms" else "6(c)",
                    f"{name} rises with d",
                    f"{series[0]:.2f} → {series[-1]:.2f} ms",
                    _rising(series),
                )
            )
        series = [row.online_ms for row in result.fig6]
        spread = max(series) / min(series)
        trends.append(
            Trend(
                "6(b)",
                "d has 'negligible impact' on online time",
                f"max/min over d = {spread:,.1f}; terms "
                f"{_terms(result, config.high_k, config.high_ds[0]):,} → "
                f"{_terms(result, config.high_k, config.high_ds[-1]):,}",
                spread <= 2.0,
            )
        )
    if result.fig5:
        for attr, label in (
            ("fvp_acc_ms", "its vote alone"),
            ("fvp_total_ms", "vote + redundant evaluations"),
        ):
            faster = sum(row.acc_ms < float(getattr(row, attr)) for row in result.fig5)
            trends.append(
                Trend(
                    "5",
                    f"Meta-BMEOC accountability faster than FVP-EOC (approximation: {label})",
                    f"faster at {faster}/{len(result.fig5)} m",
                    faster == len(result.fig5),
                )
            )
        series = [row.acc_ms for row in result.fig5]
        if len(series) > 1:
            trends.append(
                Trend(
                    "5",
                    "accountability latency rises with m",
                    f"{series[0]:.2f} → {series[-1]:.2f} ms",
                    _rising(series),
                )
            )
    return trends


def _terms(result: BenchResult, k: int, d: int) -> int:
    return next(terms for kk, dd, terms, _ in result.generation if kk == k and dd == d)


# ---------------------------------------------------------------------------------------- report


def _fmt_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in load)


def summary_figures(result: BenchResult) -> dict[str, Any]:
    """The machine-readable figures (``summary.json``), from the headline point (k = max ks, d = 2,
    t = max ts, measured with more repeats): wall-clock medians, and ``*_cpu`` the thread's CPU time."""
    config = result.config
    head = result.headline
    if head is None:
        raise ValueError("the headline point was not measured")
    k, t = head.k, head.t
    grid = result.fig4_at(k, t)
    gen = next(g for kk, d, _, g in result.generation if kk == k and d == 2)
    wall, cpu = head.wall, head.cpu
    figures: dict[str, Any] = {
        f"online_over_flint_k{k}_d2": wall["online_over_flint"],
        f"online_ms_k{k}_d2": wall["online_slowest_ms"],
        f"flint_matvec_ms_k{k}_d2": wall["flint_slowest_ms"],
        f"online_median_csn_over_flint_k{k}_d2": wall["online_over_flint_median"],
        f"online_median_csn_ms_k{k}_d2": wall["online_median_ms"],
        f"task_ms_k{k}_t{t}": wall["task_ms"],
        f"verify_ms_t{t}": wall["verify_ms"],
        f"online_over_flint_k{k}_d2_cpu": cpu["online_over_flint"],
        f"online_ms_k{k}_d2_cpu": cpu["online_slowest_ms"],
        f"flint_matvec_ms_k{k}_d2_cpu": cpu["flint_slowest_ms"],
        f"task_ms_k{k}_t{t}_cpu": cpu["task_ms"],
        f"verify_ms_t{t}_cpu": cpu["verify_ms"],
        f"verify_m_t{t}": head.m,
        f"zw_task_ms_k{k}_t{t}": grid.zw_task_ms,
        f"f_generation_ms_k{k}_d2": gen.generate_ms,
        f"f_digest_ms_k{k}_d2": gen.digest_ms,
        f"f_prepare_ms_k{k}_d2": gen.prepare_ms,
        "outsourcing_load_average_before": list(result.load_before),
        "outsourcing_load_average_after": list(result.load_after),
        "outsourcing_bench_seconds": result.seconds,
        "outsourcing_grid": {
            "ks": list(config.ks),
            "ts": list(config.ts),
            "high_k": config.high_k,
            "high_ds": list(config.high_ds),
            "acc_ms": list(config.acc_ms),
        },
    }
    if result.fig5:
        last = result.fig5[-1]
        figures[f"acc_ms_m{last.m}"] = last.acc_ms
        figures[f"fvp_acc_ms_m{last.m}"] = last.fvp_acc_ms
        figures[f"fvp_vote_plus_redundant_ms_m{last.m}"] = last.fvp_total_ms
    figures["outsourcing_targets"] = {
        clock: {
            "online_over_flint_at_most_1_5": values["online_over_flint"] <= 1.5,
            "online_under_60_ms": values["online_slowest_ms"] < 60.0,
            "task_under_20_ms": values["task_ms"] < 20.0,
            "verify_under_10_ms": values["verify_ms"] < 10.0,
        }
        for clock, values in (("wall", wall), ("cpu", cpu))
    }
    return figures


def _stage_table(title: str, rows: Sequence[StageTimes], notes: list[str], *, baseline: bool) -> Table:
    columns = [
        "k",
        "d",
        "t",
        "m",
        "task ms",
        "online ms (slowest CSN)",
        "online ms (median CSN)",
        "verify ms",
    ]
    if baseline:
        columns += ["FLINT Q·z ms (slowest)", "online / FLINT", "ZW task ms", "ZW online ms", "ZW verify ms"]
    table = Table(title, columns, notes=notes)
    for row in rows:
        cells: list[Any] = [
            row.k,
            row.d,
            row.t,
            row.m,
            row.task_ms,
            row.online_ms,
            row.online_median_csn_ms,
            row.verify_ms,
        ]
        if baseline:
            ratio = row.online_ms / row.bare_ms if row.bare_ms else None
            cells += [row.bare_ms, ratio, row.zw_task_ms, row.zw_online_ms, row.zw_verify_ms]
        table.add(*cells)
    return table


def tables(result: BenchResult) -> list[Table]:
    config = result.config
    gen = Table(
        "F generation (excluded from task processing)",
        ["k", "d", "terms C(k+d,d)", "coefficients ms", "H(F) ms", "prepare ms"],
        notes=[
            "Coefficients from the OS CSPRNG; H(F) = SHA-256 of the tagged encoding; prepare = "
            "the d = 2 matrix Q (FLINT fmpz_mod_mat) or the FLINT fmpz_mod_mpoly for d > 2."
        ],
    )
    for k, d, terms, g in result.generation:
        gen.add(k, d, terms, g.generate_ms, g.digest_ms, g.prepare_ms)
    fig4 = _stage_table(
        "Fig. 4: stages vs k (d = 2)",
        result.fig4,
        [
            f"Medians of {config.repeats} runs (task, verification) and of up to "
            f"{config.online_repeats} passes over the m CSNs (online: per pass the slowest CSN; FLINT Q·z "
            "is timed right after each CSN on the same point). ZW = Zhang-Wang + per-server signatures "
            "(approximation, spec §7 item 29)."
        ],
        baseline=True,
    )
    fig6 = _stage_table(
        "Fig. 6: stages vs d (k = 9 in the paper's grid)",
        result.fig6,
        [
            f"k = {config.high_k}. The paper holds t constant without saying its value; here t = "
            f"{config.high_t}. d > 2 evaluates with FLINT fmpz_mod_mpoly."
        ],
        baseline=False,
    )
    fig5 = Table(
        "Fig. 5: accountability latency vs m (d = 2, one cheating CSN)",
        [
            "m",
            "t",
            "TX_acc build ms (MTD)",
            "ACC ms (Algorithm 1)",
            "FVP-EOC servers",
            "FVP-EOC vote ms",
            "FVP-EOC redundant evaluations ms",
            "FVP-EOC vote + redundant ms",
        ],
        notes=[
            f"k = {config.acc_k}, t = ⌊(m−1)/3⌋. FVP-EOC approximation (spec §7 item 30): "
            f"{config.replicas} replicas per subtask, EC-ElGamal (secp256k1) encrypted results, "
            "per-replica signature check, decryption and majority vote. Its redundant computation, the "
            f"{config.replicas - 1}·m extra evaluations of F that it runs on every task (ours recomputes m "
            "only when verification fails), is shown apart as a serial sum."
        ],
    )
    for row in result.fig5:
        fig5.add(
            row.m,
            row.t,
            row.build_ms,
            row.acc_ms,
            row.fvp_servers,
            row.fvp_acc_ms,
            row.fvp_redundant_ms,
            row.fvp_total_ms,
        )
    trends = Table("Trends: the paper's claims (R32) vs ours", ["figure", "paper's claim", "ours", "holds"])
    for trend in check_trends(result):
        trends.add(trend.figure, trend.claim, trend.measured, "yes" if trend.holds else "**no**")
    head = result.headline
    assert head is not None
    targets = Table(
        "Targets (this run)",
        ["target", "wall-clock", "met", "CPU time", "met (CPU)"],
        notes=[
            f"The headline point k = {head.k}, d = 2, t = {head.t} (m = {head.m}), measured apart with "
            f"{head.repeats} runs (task, verification) and {head.passes} passes over the m CSNs (online: "
            "the slowest CSN per pass; the bare FLINT product Q·z timed right after each CSN on its point). "
            "Medians. Wall-clock is the paper's metric; CPU time is this thread's, so it leaves out the "
            "time the scheduler gave to other jobs on the shared machine."
        ],
    )

    def yes(flag: bool) -> str:
        return "yes" if flag else "**no**"

    w, c = head.wall, head.cpu
    targets.add(
        "online ≤ 1.5× bare FLINT Q·z (slowest CSN vs slowest Q·z)",
        f"{w['online_over_flint']:.3f}×",
        yes(w["online_over_flint"] <= 1.5),
        f"{c['online_over_flint']:.3f}×",
        yes(c["online_over_flint"] <= 1.5),
    )
    targets.add(
        "online (median CSN vs median Q·z), for reference",
        f"{w['online_over_flint_median']:.3f}×",
        yes(w["online_over_flint_median"] <= 1.5),
        f"{c['online_over_flint_median']:.3f}×",
        yes(c["online_over_flint_median"] <= 1.5),
    )
    targets.add(
        "online (slowest CSN) < 60 ms",
        f"{w['online_slowest_ms']:.2f} ms (Q·z {w['flint_slowest_ms']:.2f})",
        yes(w["online_slowest_ms"] < 60.0),
        f"{c['online_slowest_ms']:.2f} ms (Q·z {c['flint_slowest_ms']:.2f})",
        yes(c["online_slowest_ms"] < 60.0),
    )
    targets.add(
        "task processing < 20 ms (F generation excluded)",
        f"{w['task_ms']:.2f} ms",
        yes(w["task_ms"] < 20.0),
        f"{c['task_ms']:.2f} ms",
        yes(c["task_ms"] < 20.0),
    )
    targets.add(
        f"verification (m = {head.m} signatures + interpolation) < 10 ms",
        f"{w['verify_ms']:.2f} ms",
        yes(w["verify_ms"] < 10.0),
        f"{c['verify_ms']:.2f} ms",
        yes(c["verify_ms"] < 10.0),
    )
    return [targets, trends, fig4, fig6, fig5, gen]


def _line_plots(
    path: Path,
    title: str,
    x_label: str,
    panels: Sequence[tuple[str, dict[str, tuple[list[float], list[float]]]]],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), dpi=110, squeeze=False)
    for ax, (panel_title, series) in zip(axes[0], panels, strict=True):
        for name, (xs, ys) in series.items():
            style = "--" if name.startswith(("ZW", "FLINT", "FVP")) else "-"
            ax.plot(xs, ys, style, marker="o", markersize=3, label=name)
        ax.set_title(panel_title)
        ax.set_xlabel(x_label)
        ax.set_ylabel("ms")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def plots(result: BenchResult, directory: Path) -> list[str]:
    config = result.config
    ks = [float(k) for k in config.ks]
    t_max = config.target_t

    def by_t(attr: str) -> dict[str, tuple[list[float], list[float]]]:
        series = {
            f"t={t}": (ks, [float(getattr(result.fig4_at(k, t), attr)) for k in config.ks]) for t in config.ts
        }
        zw = getattr(result.fig4_at(config.ks[0], t_max), f"zw_{attr}")
        if zw is not None:
            series[f"ZW t={t_max}"] = (
                ks,
                [float(getattr(result.fig4_at(k, t_max), f"zw_{attr}")) for k in config.ks],
            )
        return series

    online = by_t("online_ms")
    online[f"FLINT Q·z t={t_max}"] = (ks, [float(result.fig4_at(k, t_max).bare_ms or 0.0) for k in config.ks])
    names = ["fig4_stages_vs_k.png", "fig6_stages_vs_d.png", "fig5_accountability_vs_m.png"]
    _line_plots(
        directory / names[0],
        "Fig. 4: d = 2",
        "k",
        [
            ("(a) task processing", by_t("task_ms")),
            ("(b) online (slowest CSN)", online),
            ("(c) verification", by_t("verify_ms")),
        ],
    )
    ds = [float(row.d) for row in result.fig6]
    _line_plots(
        directory / names[1],
        f"Fig. 6: k = {config.high_k}, t = {config.high_t}",
        "d",
        [
            (title, {"Meta-BMEOC": (ds, [float(getattr(row, attr)) for row in result.fig6])})
            for title, attr in (
                ("(a) task processing", "task_ms"),
                ("(b) online (slowest CSN)", "online_ms"),
                ("(c) verification", "verify_ms"),
            )
        ],
    )
    ms = [float(row.m) for row in result.fig5]
    _line_plots(
        directory / names[2],
        f"Fig. 5: accountability, k = {config.acc_k}, d = 2",
        "m",
        [
            (
                "accountability latency",
                {
                    "Meta-BMEOC ACC": (ms, [row.acc_ms for row in result.fig5]),
                    "FVP-EOC vote (approx.)": (ms, [row.fvp_acc_ms for row in result.fig5]),
                    "FVP-EOC vote + redundant evaluations": (ms, [row.fvp_total_ms for row in result.fig5]),
                },
            )
        ],
    )
    return names


def write(result: BenchResult, directory: Path) -> Path:
    """CSV per table, ``outsourcing.md``, three PNGs and the keys of ``summary.json`` (other keys kept)."""
    directory.mkdir(parents=True, exist_ok=True)
    summary = summary_figures(result)
    names = plots(result, directory)
    intro = "\n\n".join(
        [
            "Meta-BMEOC (seed 000) evaluation: `make bench-outsourcing` (`metatrust bench outsourcing`).",
            PAPER_NOTE,
            f"Load average (1/5/15 min) before: {_fmt_load(result.load_before)}, after: "
            f"{_fmt_load(result.load_after)} on {os.cpu_count()} cores; the run took {result.seconds:.0f} s. "
            "The machine was shared with other jobs: medians damp the noise but wall-clock times are "
            "inflated and noisy.",
            f"**Clock of the grid (Figs. 4-6, trends): {result.config.clock}** "
            "(`wall`: wall-clock, the paper's metric; `cpu`: this thread's CPU time, without the time the "
            "scheduler gave to other jobs). The targets table records both clocks.",
        ]
    )
    return write_report(directory, REPORT_NAME, tables(result), summary, names, intro)


def run_and_write(
    config: BenchConfig, directory: Path, *, show_progress: bool = True
) -> tuple[BenchResult, Path]:
    result = run(config, show_progress=show_progress)
    return result, write(result, directory)


__all__ = [
    "BenchConfig",
    "BenchResult",
    "check_trends",
    "run",
    "run_and_write",
    "summary_figures",
    "write",
]

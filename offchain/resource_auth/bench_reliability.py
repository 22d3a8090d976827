"""The RSMS reliability benchmark (``metatrust bench resource-auth-reliability``): Figs. 5–7 of seed 002.

Runs the Monte Carlo model of :mod:`offchain.resource_auth.reliability` over the three sweeps of the paper
(service-time range, join rate, leave rate), both variants on common random numbers, and writes under
``reports/resource_auth/``: ``reliability.md``, one CSV per table, ``reliability_fig5.png``,
``reliability_fig6.png``, ``reliability_fig7.png``, and the keys ``tp_gap_within_ci`` and ``reliability``
of ``summary.json`` (read, updated, written back: other benchmarks own the other keys). The paper prints
no throughput values, so there is nothing to put beside ours but its qualitative claims, checked here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from offchain.bench.report import Table, update_summary, write_report
from offchain.resource_auth.reliability import (
    MS_PER_MINUTE,
    ArrivalUnit,
    ConfigResult,
    Dimensions,
    Estimate,
    ModelConfig,
    RsmsCosts,
    SweepPoint,
    arrival_rate_per_minute,
    fig5_points,
    fig6_points,
    fig7_points,
    simulate,
)

REPORT_NAME = "reliability"
SENSITIVITY_SCALES = (1.0, 10.0, 100.0, 1_000.0)
FIGURES = {
    "fig5": ("Fig. 5: TP against the service-time range", "[T_MS_min, T_MS_max] (min)"),
    "fig6": ("Fig. 6: TP against the join rate", "λ_j (per min)"),
    "fig7": ("Fig. 7: TP against the leave rate", "λ_l (per min)"),
}
COLUMNS = (
    "x",
    "TP without",
    "without lo",
    "without hi",
    "TP with RSMS",
    "with lo",
    "with hi",
    "paired diff",
    "diff lo",
    "diff hi",
    "rel gap %",
    "within CI",
)


@dataclass(frozen=True)
class StudySize:
    """How many Monte Carlo runs each configuration takes."""

    runs: int = 10_000
    seed: int = 2

    @classmethod
    def quick(cls) -> StudySize:
        return cls(runs=1_000)


@dataclass(frozen=True)
class PointResult:
    point: SweepPoint
    result: ConfigResult


def _without(result: ConfigResult) -> Estimate:
    return result.without


def _with(result: ConfigResult) -> Estimate:
    return result.with_rsms


def _sci(value: float) -> str:
    return f"{value:+.2e}"


def _row(label: str, result: ConfigResult) -> tuple[Any, ...]:
    without, with_rsms, diff = result.without, result.with_rsms, result.difference
    return (
        label,
        f"{without.mean:.4f}",
        f"{without.low:.4f}",
        f"{without.high:.4f}",
        f"{with_rsms.mean:.4f}",
        f"{with_rsms.low:.4f}",
        f"{with_rsms.high:.4f}",
        _sci(diff.mean),
        _sci(diff.low),
        _sci(diff.high),
        _sci(100 * result.relative_gap),
        "yes" if result.gap_within_ci else "NO",
    )


def _config_record(result: ConfigResult) -> dict[str, Any]:
    return {
        "tp_without": result.without.mean,
        "tp_without_ci95": [result.without.low, result.without.high],
        "tp_with": result.with_rsms.mean,
        "tp_with_ci95": [result.with_rsms.low, result.with_rsms.high],
        "paired_diff": result.difference.mean,
        "paired_diff_ci95": [result.difference.low, result.difference.high],
        "relative_gap": result.relative_gap,
        "within_ci": result.gap_within_ci,
    }


def _plot(path: Path, figure: str, points: Sequence[PointResult]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title, xlabel = FIGURES[figure]
    xs = list(range(len(points)))
    labels = [p.point.label for p in points]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 6.5), dpi=120, sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for offset, name, pick in ((-0.06, "without RSMS", _without), (0.06, "with RSMS", _with)):
        means = [pick(p.result).mean for p in points]
        halves = [pick(p.result).half_width for p in points]
        top.errorbar([x + offset for x in xs], means, yerr=halves, marker="o", capsize=4, label=name)
    top.set_ylabel("TP (services completed in 30 min)")
    top.set_title(title + " (mean, 95 % CI)")
    top.legend()
    top.grid(alpha=0.3)
    diffs = [1_000 * p.result.difference.mean for p in points]
    diff_halves = [1_000 * p.result.difference.half_width for p in points]
    bottom.errorbar(xs, diffs, yerr=diff_halves, marker="s", capsize=4, color="tab:red")
    bottom.axhline(0, color="grey", linewidth=0.8)
    bottom.set_ylabel("paired TP difference\n(with − without) × 10³")
    bottom.set_xlabel(xlabel)
    bottom.set_xticks(xs)
    bottom.set_xticklabels(labels)
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def run(
    out: Path,
    size: StudySize,
    console: Console,
    *,
    base: ModelConfig | None = None,
    costs: RsmsCosts | None = None,
) -> dict[str, Any]:
    """Run the three sweeps, the literal per-day reading and a cost sensitivity; write the reports.
    Returns the ``summary.json`` updates."""
    base = base or ModelConfig()
    costs = costs or RsmsCosts()
    sweeps = {"fig5": fig5_points(base), "fig6": fig6_points(base), "fig7": fig7_points(base)}
    all_points = [p for points in sweeps.values() for p in points]
    dims = Dimensions.for_configs([p.config for p in all_points])
    literal = replace(base, arrival_rate=arrival_rate_per_minute(base.arrival_rate, ArrivalUnit.DAY))
    stall_points = [
        replace(p, config=replace(p.config, churn_stalls=True)) for p in sweeps["fig6"] + sweeps["fig7"]
    ]
    total = size.runs * (len(all_points) + 1 + len(SENSITIVITY_SCALES) + len(stall_points))

    results: dict[str, list[PointResult]] = {}
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        task = progress.add_task("RSMS reliability Monte Carlo (runs)", total=total)

        def advance(count: int) -> None:
            progress.advance(task, count)

        for figure, sweep in sweeps.items():
            results[figure] = [
                PointResult(
                    p, simulate(p.config, costs, runs=size.runs, seed=size.seed, dims=dims, progress=advance)
                )
                for p in sweep
            ]
        literal_result = simulate(literal, costs, runs=size.runs, seed=size.seed, progress=advance)
        sensitivity = [
            (
                scale,
                simulate(
                    base,
                    replace(costs, scale=scale),
                    runs=size.runs,
                    seed=size.seed,
                    dims=dims,
                    progress=advance,
                ),
            )
            for scale in SENSITIVITY_SCALES
        ]
        stalls = [
            PointResult(
                p, simulate(p.config, costs, runs=size.runs, seed=size.seed, dims=dims, progress=advance)
            )
            for p in stall_points
        ]

    tables: list[Table] = []
    notes_common = [
        f"{size.runs:,} runs per configuration, seed {size.seed}, common random numbers (both variants "
        "and all points of a figure share the draws). CI: mean ± 1.96·s/√runs. `paired diff` is the mean of "
        "TP(with) − TP(without) run by run; `within CI` is the paper's claim: TP with RSMS lies inside the "
        "95 % CI of TP without it.",
    ]
    for figure, figure_results in results.items():
        title, xlabel = FIGURES[figure]
        table = Table(f"Reliability {title}", COLUMNS, notes=[f"x = {xlabel}.", *notes_common])
        for item in figure_results:
            table.add(*_row(item.point.label, item.result))
        tables.append(table)

    n = base.group_size
    cost_table = Table(
        "Reliability protocol times on a group's critical path",
        ("event", "paper formula", "ms", "minutes"),
        notes=[f"Table II of the paper (spec 002 §7.2), N = {n} RNs per group; scale {costs.scale:g}."],
    )
    cost_table.add(
        "group set-up (GMA + GSKA, per party)",
        "11.312 + 5.667·N",
        f"{costs.group_setup_min(n) * MS_PER_MINUTE:.3f}",
        f"{costs.group_setup_min(n):.3e}",
    )
    cost_table.add(
        "RN leaves (GSKU)", "11.312", f"{costs.leave_min() * MS_PER_MINUTE:.3f}", f"{costs.leave_min():.3e}"
    )
    cost_table.add(
        "replacement RN joins (re-auth RN + RPM, then GMA + GSKA)",
        "22.634 + 11.297 + 11.312 + 5.667·N",
        f"{costs.join_min(n) * MS_PER_MINUTE:.3f}",
        f"{costs.join_min(n):.3e}",
    )
    tables.append(cost_table)

    units = Table(
        "Reliability reading of the paper's rate units",
        COLUMNS,
        notes=[
            'The paper gives λ_a = 0.5 "per day" for a 30-minute window. Read literally (0.5 / 1,440 per '
            "minute) a window sees 0.0104 requests on average and TP ≈ 0, which cannot produce the paper's "
            "curves; the figures above read λ_a, λ_j and λ_l per minute (the simulation's time unit). "
            f"Base configuration: [{base.service_min},{base.service_max}] min, λ_j = {base.join_rate}, "
            f"λ_l = {base.leave_rate}.",
        ],
    )
    units.add(*_row("λ_a = 0.5 per day (literal)", literal_result))
    base_result = next(p.result for p in results["fig5"] if p.point.config == base)
    units.add(*_row("λ_a = 0.5 per minute (used)", base_result))
    tables.append(units)

    sens = Table(
        "Reliability cost sensitivity",
        ("cost scale", *COLUMNS[1:]),
        notes=[
            "The base configuration with every protocol time multiplied: how slow RSMS would have to be "
            "before its cost shows in the throughput (common random numbers make the paired difference "
            "visible long before the CI test fails).",
        ],
    )
    for scale, result in sensitivity:
        sens.add(*_row(f"×{scale:g}", result))
    tables.append(sens)

    ablation = Table(
        "Reliability ablation: churn stalls the group",
        ("figure", *COLUMNS),
        notes=[
            "Not the paper's model: here a group stops serving after an RN leaves until its replacement "
            "joins (Exp(λ_j) later). TP then depends on λ_j and λ_l for both variants, which the paper's "
            "flat Figs. 6–7 rule out; RSMS's share of the time stays as small.",
        ],
    )
    for stalled in stalls:
        ablation.add(stalled.point.figure, *_row(stalled.point.label, stalled.result))
    tables.append(ablation)

    plots = []
    for figure, figure_results in results.items():
        name = f"{REPORT_NAME}_{figure}.png"
        _plot(out / name, figure, figure_results)
        plots.append(name)

    all_results = [item for figure_results in results.values() for item in figure_results]
    within = all(item.result.gap_within_ci for item in all_results)
    claims = _claims(results)
    intro = "\n".join(
        [
            "Monte Carlo throughput (TP) of the resource-sharing system with and without RSMS, Figs. 5–7 of "
            "seed 002, on the model of spec 002 §5 (see `docs/resource_auth_ledger.md`). The paper prints no "
            "TP values; its claims are checked below.",
            "",
            f"* TP with RSMS inside the 95 % CI of TP without it, every configuration: **{within}**",
            *(f"* {text}: **{ok}**" for text, ok in claims.items()),
        ]
    )
    write_report(out, REPORT_NAME, tables, summary=None, plots=plots, intro=intro)

    updates: dict[str, Any] = {
        "tp_gap_within_ci": within,
        "reliability": {
            "runs": size.runs,
            "seed": size.seed,
            "rate_units": "per minute (lambda_a, lambda_j, lambda_l); the paper's per-day lambda_a is "
            "read as per simulation time unit",
            "base": {
                "period_min": base.period_min,
                "arrival_rate_per_min": base.arrival_rate,
                "service_range_min": [base.service_min, base.service_max],
                "join_rate_per_min": base.join_rate,
                "leave_rate_per_min": base.leave_rate,
                "group_size": base.group_size,
                "pool_rns": base.pool_rns,
            },
            "max_abs_relative_gap": max(abs(item.result.relative_gap) for item in all_results),
            "claims": claims,
            "configs": {
                f"{item.point.figure}:{item.point.label}": _config_record(item.result) for item in all_results
            },
            "literal_per_day": _config_record(literal_result),
            "cost_sensitivity": {f"x{scale:g}": _config_record(result) for scale, result in sensitivity},
            "ablation_churn_stalls": {
                f"{item.point.figure}:{item.point.label}": _config_record(item.result) for item in stalls
            },
        },
    }
    update_summary(out / "summary.json", updates)
    return updates


def _claims(results: dict[str, list[PointResult]]) -> dict[str, bool]:
    """The paper's qualitative statements about Figs. 5–7, checked on our numbers."""
    fig5 = [item.result for item in results["fig5"]]
    decline = all(a.without.mean > b.without.mean for a, b in itertools.pairwise(fig5))

    def flat(figure: str) -> bool:
        """Both variants: the spread of the means across the figure is within one CI half-width."""
        items = [item.result for item in results[figure]]
        for pick in (_without, _with):
            means = [pick(r).mean for r in items]
            if max(means) - min(means) > max(pick(r).half_width for r in items):
                return False
        return True

    small = all(abs(item.result.relative_gap) < 0.01 for points in results.values() for item in points)
    return {
        "Fig. 5: TP declines as the service time grows": decline,
        "Fig. 6: TP nearly flat across λ_j": flat("fig6"),
        "Fig. 7: TP nearly flat across λ_l": flat("fig7"),
        "|TP with − TP without| / TP without < 1 % everywhere": small,
    }

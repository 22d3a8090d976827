"""Evaluation models of seed 004 (Fig. 5a, Fig. 5b, attack vs hops) and the benchmark command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from offchain import cli
from offchain.web3compute.bench_onion import BenchSize, run
from offchain.web3compute.evaluation import (
    DamageParams,
    DelayParams,
    HopsParams,
    NetworkParams,
    attack_vs_hops,
    build_overlay,
    check_fig5a,
    check_fig5b,
    check_hops,
    fig5a,
    fig5b,
    p_herbivore,
    p_onion_correlation,
    p_onion_disruption,
    p_onion_full_path,
    p_traditional,
    random_regular_graph,
)

SMALL = NetworkParams(nodes=100)


def test_closed_forms_match_the_spec_sanity_table() -> None:
    """Spec §5.5 (N = 100, h = 3, k = 3, c = 8): our model's values, not the paper's."""
    assert p_onion_correlation(100, 10, 3) == pytest.approx(0.0095, abs=5e-5)
    assert p_onion_correlation(100, 50, 3) == pytest.approx(0.258, abs=5e-4)
    assert p_traditional(100, 10, 3) == pytest.approx(0.279, abs=5e-4)
    assert p_traditional(100, 50, 3) == pytest.approx(0.886, abs=5e-4)
    assert p_herbivore(100, 50, 8) == pytest.approx(6.7e-3, abs=5e-5)
    assert p_onion_full_path(100, 50, 3) == pytest.approx(0.129, abs=5e-4)
    assert p_onion_disruption(100, 20, 3) == pytest.approx(p_traditional(100, 20, 3))
    assert p_onion_correlation(100, 10, 1) == pytest.approx(10 / 98)


def test_overlay_is_regular_connected_and_paths_are_consistent() -> None:
    rng = np.random.default_rng(1)
    adjacency = random_regular_graph(40, 4, rng)
    assert all(len(neighbours) == 4 for neighbours in adjacency)
    assert all(a in adjacency[b] for a in range(40) for b in adjacency[a])
    overlay = build_overlay(NetworkParams(nodes=40), rng)
    mask = ~np.eye(40, dtype=bool)
    assert (overlay.latency_s[mask] > 0).all()
    assert not overlay.through[np.arange(40), np.arange(40)].any()
    # a path's latency is at least one link per intermediate plus one
    hops = overlay.through.sum(axis=2) + 1
    assert (overlay.latency_s[mask] >= hops[mask] * 0.010 - 1e-12).all()
    with pytest.raises(ValueError, match="even"):
        random_regular_graph(5, 3, rng)


def test_fig5a_orderings_hold_on_a_small_run() -> None:
    params = DamageParams(malicious=(0, 10, 20, 30, 40, 50), transmissions=400, runs=4, network=SMALL)
    result = fig5a(params, seed=7)
    checks = check_fig5a(result)
    assert all(check.holds for check in checks), [c for c in checks if not c.holds]
    mean = result.curves
    assert mean["traditional"].mean[0] == mean["onion"].mean[0] == mean["herbivore"].mean[0] == 0.0
    assert mean["onion"].mean[-1] < mean["traditional"].mean[-1]
    assert mean["onion_full_path"].mean[-1] <= mean["onion"].mean[-1]


def test_fig5b_orderings_hold_on_a_small_run() -> None:
    params = DelayParams(computing_nodes=(2, 6, 10, 14), runs=4, rounds=3, network=SMALL)
    result = fig5b(params, seed=7)
    checks = check_fig5b(result)
    assert all(check.holds for check in checks), [c for c in checks if not c.holds]
    curves = result.curves
    assert curves["herbivore"].mean[-1] > curves["onion"].mean[-1] > curves["traditional"].mean[-1] > 0


def test_onion_delay_grows_with_the_per_hop_cost_and_sandbox_overhead() -> None:
    base = DelayParams(computing_nodes=(4,), runs=2, rounds=2, network=SMALL)
    slow = DelayParams(
        computing_nodes=(4,), runs=2, rounds=2, network=SMALL, per_hop_s=0.05, sandbox_create_s=1.0
    )
    fast, slower = fig5b(base, seed=3).curves, fig5b(slow, seed=3).curves
    assert slower["traditional"].mean == fast["traditional"].mean  # common random numbers
    assert slower["onion"].mean[0] > fast["onion"].mean[0] + 1.0


def test_attack_success_vs_hops_trends() -> None:
    rows = attack_vs_hops(HopsParams(hops=(1, 2, 3, 6), fractions=(0.2,), transmissions=500, runs=3), seed=5)
    assert all(check.holds for check in check_hops(rows))
    by_k = {row.hops: row for row in rows}
    assert by_k[1].mean["onion"] > 3 * by_k[3].mean["onion"]  # one hop sees both ends
    assert by_k[6].mean["onion_disruption"] > by_k[1].mean["onion_disruption"]
    assert by_k[6].mean["onion_full_path"] < by_k[2].mean["onion_full_path"]
    for row in rows:
        assert row.mean["onion"] == pytest.approx(row.analytic["onion"], abs=0.04)


def test_bench_smoke_writes_csv_markdown_plots_and_merges_summary(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"channel_updates_per_s": 1234.5}))
    size = BenchSize(
        runs=2, transmissions=100, calibration_messages=3, crypto_reps=5, sandbox_reps=1, attack_messages=12
    )
    values = run(tmp_path, size, Console(quiet=True))
    for name in ("fig5a_damage_rate", "fig5b_task_delay", "attack_vs_hops"):
        assert (tmp_path / f"{name}.csv").stat().st_size > 0
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (tmp_path / "fig5a_damage_rate.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["malicious nodes"]) for row in rows] == list(DamageParams().malicious)
    assert float(rows[-1]["traditional mean"]) > float(rows[-1]["onion mean"])
    markdown = (tmp_path / "web3compute-onion.md").read_text()
    assert "ordering checks" in markdown
    assert "per-hop processing" in markdown
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["channel_updates_per_s"] == 1234.5  # another helper's key survives
    assert summary["onion_runs_per_point"] == 2
    assert summary["onion_per_hop_ms"] == pytest.approx(values["onion_per_hop_ms"])
    assert summary["onion_circuit_rtt_ms_k3"] > 0
    assert set(summary["onion_damage_rate_m50"]) == {"traditional", "onion", "herbivore"}
    real = summary["onion_real_attack_success"]
    assert set(real) == {"1", "2", "3", "4", "5", "6"}
    assert all(0.0 <= entry["measured"] <= 1.0 for entry in real.values())
    assert real["1"]["model"] == pytest.approx(4 / 12)
    assert "attack on real routers" in markdown
    manifest = json.loads((tmp_path / "onion_parameters.json").read_text())
    assert manifest["fig5a"]["runs"] == 2
    assert manifest["calibration"]["sandbox_create_s"] > 0


def test_bench_command_is_registered() -> None:
    result = CliRunner().invoke(cli.app, ["bench", "--help"])
    assert result.exit_code == 0
    assert "web3compute-onion" in result.output

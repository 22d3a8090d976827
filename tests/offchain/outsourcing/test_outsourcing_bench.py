"""Smoke test of ``metatrust bench outsourcing`` on a tiny grid, and the two baselines' logic."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest
from bmeoc_helpers import keys
from coincurve import PrivateKey

from offchain.outsourcing import get_field, random_dense
from offchain.outsourcing.baselines import (
    elgamal_decrypt,
    elgamal_encrypt,
    fvp_accountability,
    fvp_result,
    zw_prepare,
    zw_process,
    zw_verify,
)
from offchain.outsourcing.bench import BenchConfig, check_trends, run_and_write

TINY = BenchConfig(
    ks=(8, 16),
    ts=(1, 2),
    high_k=3,
    high_ds=(2, 4),
    acc_k=8,
    acc_ms=(4, 7),
    repeats=2,
    online_repeats=2,
    headline_repeats=3,
    headline_passes=2,
)


def test_bench_writes_every_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"other_system_key": 1}))
    result, report = run_and_write(TINY, tmp_path, show_progress=False)

    assert len(result.fig4) == 4
    assert len(result.fig6) == 2
    assert len(result.fig5) == 2
    assert [row.m for row in result.fig4 if row.k == 16] == [4, 7]  # m = (d+1)t + 1
    assert [row.m for row in result.fig6] == [4, 6]
    for row in result.fig4:
        assert row.task_ms > 0
        assert row.online_ms >= row.online_median_csn_ms > 0
        assert row.verify_ms > 0
        assert row.bare_ms is not None
        assert row.zw_task_ms is not None
        assert row.zw_online_ms is not None
    assert all(row.fvp_servers == 3 * row.m for row in result.fig5)

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["other_system_key"] == 1  # other systems' keys are kept
    for key in ("online_over_flint_k16_d2", "online_ms_k16_d2", "task_ms_k16_t2", "verify_ms_t2"):
        assert isinstance(summary[key], float), key
        assert summary[key] > 0, key
    assert summary["online_over_flint_k16_d2"] == pytest.approx(
        summary["online_ms_k16_d2"] / summary["flint_matvec_ms_k16_d2"]
    )
    for clock in ("wall", "cpu"):
        assert set(summary["outsourcing_targets"][clock]) == {
            "online_over_flint_at_most_1_5",
            "online_under_60_ms",
            "task_under_20_ms",
            "verify_under_10_ms",
        }
        assert summary[f"verify_ms_t2{'_cpu' if clock == 'cpu' else ''}"] > 0
    assert result.headline is not None
    assert result.headline.m == 7
    assert result.headline.cpu["online_slowest_ms"] >= result.headline.cpu["online_median_ms"] > 0
    assert len(summary["outsourcing_load_average_before"]) == 3
    assert "environment" in summary

    text = report.read_text()
    for heading in ("Targets", "Trends", "Fig. 4", "Fig. 5", "Fig. 6", "F generation", "Machine"):
        assert heading in text, heading
    for png in ("fig4_stages_vs_k.png", "fig5_accountability_vs_m.png", "fig6_stages_vs_d.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG", png
    fig4_csv = next(tmp_path.glob("fig__4*.csv"))
    with fig4_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert {row["t"] for row in rows} == {"1", "2"}

    trends = check_trends(result)
    assert {trend.figure for trend in trends} >= {"4(a)", "4(b)", "4(c)", "5", "6(a)", "6(b)", "6(c)"}


def test_zhang_wang_baseline_is_the_same_math_with_m_signatures() -> None:
    field = get_field()
    polynomial = random_dense(field, 5, 2)
    x = field.random_elements(5)
    mtd, *csns = keys(8, "zw")
    task = zw_prepare(mtd, polynomial, x, 2)
    assert len(task.subtasks) == 7
    assert len({s.signature for s in task.subtasks}) == 7
    results = [zw_process(csns[i], s, polynomial, mtd.address) for i, s in enumerate(task.subtasks)]
    verdict = zw_verify(field, task, results, [c.address for c in csns])
    assert verdict.accepted
    assert verdict.value == polynomial.evaluate(x)
    with pytest.raises(ValueError, match="not signed by the MTD"):
        zw_process(csns[0], task.subtasks[0], polynomial, csns[1].address)


def test_fvp_vote_flags_exactly_the_minority_replica() -> None:
    key = PrivateKey()
    secret = int.from_bytes(key.secret, "big")
    assert (
        elgamal_decrypt(secret, elgamal_encrypt(key.public_key, 42))
        == PrivateKey.from_int(42).public_key.format()
    )
    servers = keys(9, "fvp")
    values = [10, 10, 11, 20, 20, 20, 30, 30, 30]  # replica 3 of subtask 1 lies
    results = [
        fvp_result(s, key.public_key, i // 3 + 1, i % 3, v)
        for i, (s, v) in enumerate(zip(servers, values, strict=True))
    ]
    flagged = fvp_accountability(secret, results, [s.address for s in servers], 3)
    assert flagged == [servers[2].address]
    split = [fvp_result(s, key.public_key, 1, i, 10 + i) for i, s in enumerate(servers[:3])]
    with pytest.raises(ValueError, match="no honest majority"):
        fvp_accountability(secret, split, [s.address for s in servers[:3]], 3)


def test_bench_cpu_clock_and_bad_clock(tmp_path: Path) -> None:
    small = replace(TINY, ks=(8,), ts=(1,), high_ds=(2,), acc_ms=(4,), clock="cpu")
    result, report = run_and_write(small, tmp_path, show_progress=False)
    assert result.fig4[0].task_ms > 0
    assert "Clock of the grid (Figs. 4-6, trends): cpu" in report.read_text()
    with pytest.raises(ValueError, match="clock must be one of"):
        run_and_write(replace(TINY, clock="sundial"), tmp_path, show_progress=False)

"""The RSMS cost benchmark runs end to end on tiny sizes, writes every report file and keeps other keys."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from offchain.resource_auth.bench import BenchSize, run


def test_bench_writes_report_and_merges_summary(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"tp_gap_within_ci": True}))
    figures = run(
        tmp_path, BenchSize(op_samples=3, auth_runs=3, group_sizes=(1, 3), group_runs=1), Console(quiet=True)
    )
    for name in (
        "costs.md",
        "table_ii_operations.csv",
        "per_protocol_costs.csv",
        "table_iii_communication.csv",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
    for name in ("table_ii.png", "protocols.png", "group_vs_n.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["tp_gap_within_ci"] is True  # the other RSMS benchmark's key survives
    for key in ("scalar_mult_ms", "init_auth_rn_ms", "init_auth_rpm_ms"):
        assert summary[key] == figures[key] > 0
    markdown = (tmp_path / "costs.md").read_text()
    assert "| Initial authentication | RN | 833 | 129 |" in markdown  # PID_1 is a 48-byte point
    assert "22.6" in markdown

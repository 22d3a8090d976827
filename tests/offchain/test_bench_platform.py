"""The platform benchmark runs end to end on tiny sizes and writes every report file."""

import json
from pathlib import Path

from rich.console import Console

from offchain.bench.platform import BenchSize, run


def test_platform_bench_writes_its_report(tmp_path: Path) -> None:
    size = BenchSize(crypto=5, http_sequential=5, http_concurrent=8, concurrency=4, transactions=3)
    figures = run(tmp_path, size, Console(quiet=True))
    for name in ("platform.md", "throughput.csv", "latency.csv", "throughput.png", "summary.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["register_gas"] == figures["register_gas"] > 100_000
    assert all(value > 0 for value in figures.values())
    assert "machine" in summary["environment"]
    assert "| sign a request envelope" in (tmp_path / "platform.md").read_text()

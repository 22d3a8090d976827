"""The channel benchmark runs end to end on tiny sizes, keeps other keys of summary.json, and its gas
figures agree with the issue's targets."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from offchain.web3compute.bench_channel import RAIDEN_LIFECYCLE, BenchSize, run


def test_channel_bench_writes_its_report_and_merges_the_summary(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"fig5a_checked": True}))
    size = BenchSize(updates=32, http_updates=16, window=8, chain_updates=3, primitives=10)
    figures = run(tmp_path, size, Console(quiet=True))
    for name in (
        "channel.md",
        "channel_throughput.csv",
        "channel_gas.csv",
        "channel_throughput.png",
        "channel_gas.png",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["fig5a_checked"] is True  # someone else's key survives
    assert summary["channel_updates_per_s"] == figures["channel_updates_per_s"] > 0
    assert summary["channel_onchain_updates_per_s"] > 0
    assert figures["channel_gas_cooperative_lifecycle"] <= 200_000
    assert figures["channel_gas_dispute_lifecycle"] <= 300_000
    assert 2 * figures["channel_gas_cooperative_lifecycle"] <= RAIDEN_LIFECYCLE
    assert not list(tmp_path.glob(".bench-channel-*"))  # scratch space removed

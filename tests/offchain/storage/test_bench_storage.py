"""The storage benchmark writes its report (two small sizes only: the real run is ``make bench-storage``)."""

import json
from pathlib import Path

from rich.console import Console

from offchain.storage.bench import PAPER_TABLE_4_2, BenchSize, run


def test_bench_writes_csv_markdown_png_and_its_summary_keys(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"other_key": 1}))
    updates = run(tmp_path, BenchSize(runs=2, max_kb=20_000), Console(quiet=True))
    assert updates["storage_sizes"] == 2  # Reuters and MobileNet
    assert updates["storage_upload_mb_s"] > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["other_key"] == 1
    assert summary["storage_runs"] == 2
    assert (tmp_path / "table_4_2.png").stat().st_size > 0
    markdown = (tmp_path / "storage.md").read_text()
    assert "| Reuters | 3,931 | 79.1 |" in markdown
    assert len(PAPER_TABLE_4_2) == 17

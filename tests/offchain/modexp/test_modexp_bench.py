"""Smoke test of the MExpm benchmark code path (`metatrust bench modexp --quick`) into a tmp dir: a real
devnet, every table, plot and summary key, and the merge rules for summary.json and the market CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.console import Console

from offchain.modexp.bench import SUMMARY_KEYS, BenchSize, communication_bits, run


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_quick_bench_writes_every_report(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"other_helper_key": 42}))
    (tmp_path / "market_flow_gas.csv").write_text("step,gas\ncreateTask,123456\n")
    summary = run(tmp_path, BenchSize.quick(), Console(quiet=True))

    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["other_helper_key"] == 42  # another writer's key survives
    assert set(SUMMARY_KEYS) <= set(written)
    assert 0 < written["client_over_local_n100"] == summary["client_over_local_n100"]
    assert written["detection_rate_min"] == 1.0
    assert written["detection_rate_min_hardened"] == 1.0
    assert written["false_positive_rate"] == 0.0
    assert 0 < written["gas_paper_scale_n1_r32"] < written["gas_faithful_n1"] < written["gas_hardened_n1"]

    for plot in ("time_vs_n.png", "gas_vs_n.png", "gas_vs_r_bits.png", "attacks.png"):
        assert (tmp_path / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (tmp_path / "modexp.md").read_text()
    assert "Beside the paper's figures" in markdown
    assert "16,509" in markdown
    assert "Market flow gas" in markdown
    assert "createTask" in markdown

    gas = rows(tmp_path / "verify_gas_vs_n.csv")
    assert [int(r["n"]) for r in gas] == list(BenchSize.quick().gas_ns)
    assert all(int(r["paper-scale (32-bit values)"]) < int(r["faithful (1024-bit L)"]) for r in gas)
    assert int(gas[1]["faithful (1024-bit L)"]) > int(gas[0]["faithful (1024-bit L)"])

    trials = rows(tmp_path / "checkability_trials.csv")
    assert len(trials) == 8
    for row in trials:
        assert int(row["trials"]) == BenchSize.quick().checkability_trials
        expected = 0 if row["behaviour"] == "honest" else int(row["trials"])
        assert int(row["rejected"]) == expected

    attacks = {r["attack (spec §5.4)"]: r for r in rows(tmp_path / "attack_success_rates.csv")}
    assert len(attacks) == 10
    negate_all = next(r for name, r in attacks.items() if "negate every" in name)
    assert negate_all["faithful success"].startswith("100.")
    assert negate_all["hardened success"].startswith("0.")

    timing = rows(tmp_path / "time_per_phase__ms.csv")
    assert [int(r["n"]) for r in timing] == list(BenchSize.quick().ns)
    assert all(float(r["Recovery (online)"]) > 0 for r in timing)
    assert all(float(r["KeyGen (online)"]) > 0 for r in timing)


def test_communication_accounting_matches_spec_3_8() -> None:
    bits = communication_bits(1, 512)
    assert bits["IV -> server (TK, VK)"] == 4 * 2048  # (2n+2)·2048 for n = 1
    assert bits["server -> chain (sigmaE, piE)"] == 4 * 1024
    assert bits["SA -> IV (Params, RK)"] == 1024 * 2 + 512
    hardened = communication_bits(2, 512, rho=3)  # n = 2 is padded to 3
    assert hardened["server -> chain (sigmaE, piE)"] == 3 * 8 * 1024

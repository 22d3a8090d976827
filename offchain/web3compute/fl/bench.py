"""``metatrust bench web3compute-fl``: the FedAvg task in sandboxes, onion-routed vs direct delivery.

Writes to ``reports/web3compute/``: ``web3compute-fl.md`` (tables, plots, machine record), one CSV per
table, ``fl_accuracy.png`` (held-out accuracy per round, with the majority-class baseline),
``fl_round_time.png`` (wall-clock per round) and the ``fl_*`` keys of ``summary.json`` (read first, only
these keys rewritten).
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from offchain.bench.report import Table, update_summary, write_report
from offchain.web3compute.fl.network import Courier, local_overlay
from offchain.web3compute.fl.task import FLConfig, FLResult, run_fl_task
from offchain.web3compute.sandbox.limits import network_isolation_available


@dataclass(frozen=True)
class BenchSize:
    rounds: int = 10
    node_counts: tuple[int, ...] = (3, 4, 5)
    routers: int = 6
    hops: int = 3

    @classmethod
    def quick(cls) -> BenchSize:
        return cls(rounds=3, node_counts=(3,))


async def _one(nodes: int, rounds: int, onion: bool, size: BenchSize, seed: int) -> FLResult:
    config = FLConfig(nodes=nodes, rounds=rounds, seed=seed, host_prefix="127.0.7.")
    if not onion:
        return await run_fl_task(config, courier=Courier())
    async with local_overlay(size.routers, host_prefix="127.0.8.") as routers:
        return await run_fl_task(config, courier=Courier(routers=routers, hops=size.hops))


def _plots(out_dir: Path, runs: dict[tuple[int, bool], FLResult], base_nodes: int) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(6.5, 4.5), dpi=120)
    for onion in (True, False):
        result = runs[(base_nodes, onion)]
        axis.plot(
            [r.round + 1 for r in result.rounds],
            [r.accuracy for r in result.rounds],
            marker="o" if onion else "x",
            linestyle="-" if onion else "--",
            label=f"FedAvg, {base_nodes} nodes, {'onion k=3' if onion else 'direct'}",
        )
    baseline = runs[(base_nodes, True)].baseline_accuracy
    axis.axhline(baseline, color="grey", linestyle=":", label=f"majority class ({baseline:.3f})")
    axis.set_ylim(0, 1)
    axis.set_xlabel("round")
    axis.set_ylabel("held-out accuracy (digits)")
    axis.set_title("FedAvg in sandboxes: accuracy per round")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "fl_accuracy.png")
    plt.close(fig)

    fig, axis = plt.subplots(figsize=(6.5, 4.5), dpi=120)
    for (nodes, onion), result in sorted(runs.items()):
        axis.plot(
            [r.round + 1 for r in result.rounds],
            [r.seconds * 1000 for r in result.rounds],
            marker="o" if onion else "x",
            linestyle="-" if onion else "--",
            label=f"{nodes} nodes, {'onion k=3' if onion else 'direct'}",
        )
    axis.set_yscale("log")
    axis.set_xlabel("round")
    axis.set_ylabel("wall-clock per round (ms)")
    axis.set_title("FedAvg in sandboxes: time per round")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "fl_round_time.png")
    plt.close(fig)
    return ["fl_accuracy.png", "fl_round_time.png"]


def run(out_dir: Path, size: BenchSize, console: Console, seed: int = 0) -> dict[str, Any]:
    runs: dict[tuple[int, bool], FLResult] = {}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("FedAvg tasks", total=2 * len(size.node_counts))
        for nodes in size.node_counts:
            for onion in (True, False):
                runs[(nodes, onion)] = asyncio.run(_one(nodes, size.rounds, onion, size, seed))
                progress.advance(task)
    base = size.node_counts[0]

    per_round = Table(
        "FedAvg per round",
        ["nodes", "delivery", "round", "accuracy", "round (ms)"],
        notes=[
            "Held-out accuracy of the round's global model, as the SP decrypts and evaluates it; the "
            "wall-clock covers local training in every sandbox, the encrypted updates to the global "
            "node, FedAvg, the next model back and the result to the SP. Round 1 includes each "
            "sandbox's first NumPy import."
        ],
    )
    for (nodes, onion), result in sorted(runs.items()):
        for r in result.rounds:
            per_round.add(
                nodes, "onion k=3" if onion else "direct", r.round + 1, r.accuracy, r.seconds * 1000
            )

    summary_table = Table(
        "FedAvg task summary",
        [
            "nodes",
            "delivery",
            "final accuracy",
            "baseline",
            "setup (s)",
            "median round (ms)",
            "teardown (s)",
            "messages",
            "bytes on the wire",
        ],
        notes=[
            "Setup = step 4 (one sandbox per server, task key drawn and wrapped) + step 5 (config, model "
            "and data shards injected). Teardown = step 10 (every sandbox zeroised, killed, its "
            f"directory wiped). Network namespace isolation: {network_isolation_available()}."
        ],
    )
    for (nodes, onion), result in sorted(runs.items()):
        summary_table.add(
            nodes,
            "onion k=3" if onion else "direct",
            result.final_accuracy,
            result.baseline_accuracy,
            result.setup_seconds,
            statistics.median(r.seconds for r in result.rounds) * 1000,
            result.teardown_seconds,
            len(result.transmissions),
            result.wire_bytes,
        )
    plots = _plots(out_dir, runs, base)
    write_report(
        out_dir,
        "web3compute-fl",
        [summary_table, per_round],
        plots=plots,
        intro=(
            "FedAvg (softmax regression) on scikit-learn's digits, each computing node's training in "
            "its own sandbox, every message sealed to the task key (or the SP) and carried by onion "
            "circuits over real TCP routers on loopback, or directly (baseline). "
            "Command: `metatrust bench web3compute-fl`."
        ),
    )
    onion_run, direct_run = runs[(base, True)], runs[(base, False)]
    values: dict[str, Any] = {
        "fl_nodes": base,
        "fl_rounds": size.rounds,
        "fl_final_accuracy": onion_run.final_accuracy,
        "fl_baseline_accuracy": onion_run.baseline_accuracy,
        "fl_round_ms_median_onion": statistics.median(r.seconds for r in onion_run.rounds) * 1000,
        "fl_round_ms_median_direct": statistics.median(r.seconds for r in direct_run.rounds) * 1000,
        "fl_setup_s_onion": onion_run.setup_seconds,
        "fl_teardown_s_onion": onion_run.teardown_seconds,
        "fl_sandbox_network_isolated": network_isolation_available(),
    }
    update_summary(out_dir / "summary.json", values)
    return values

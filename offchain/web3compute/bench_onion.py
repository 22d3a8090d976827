"""Onion benchmark (``metatrust bench web3compute-onion``): Fig. 5a, Fig. 5b, attack success vs hops.

First it calibrates the delay model on this machine: the round trip of real TCP onion routers on loopback
for k = 1..6 (the slope is the per-hop processing time), building and peeling a cell, sealing a sandbox
key, and starting and destroying an isolated ``python -I`` worker process (what a subprocess sandbox
costs). Then it runs the models of :mod:`offchain.web3compute.evaluation` with ten runs per point and
checks the paper's orderings. Writes ``reports/web3compute/``: ``web3compute-onion.md``, one CSV per
table, ``fig5a_damage_rate.png``, ``fig5b_task_delay.png``, ``attack_vs_hops.png``,
``onion_parameters.json``, and the ``onion_*`` keys of ``summary.json`` (other keys are kept).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress

from offchain.bench.report import Table, update_summary, write_report
from offchain.crypto import ecies
from offchain.crypto.keys import derive
from offchain.web3compute.evaluation import (
    Check,
    Curve,
    DamageParams,
    DelayParams,
    HopsParams,
    NetworkParams,
    attack_vs_hops,
    check_fig5a,
    check_fig5b,
    check_hops,
    check_ip_adversary,
    fig5a,
    fig5b,
    p_onion_correlation,
    parameters_manifest,
)
from offchain.web3compute.onion.adversary import Sent, correlate, success_rate
from offchain.web3compute.onion.cells import DEFAULT_FORMAT, Hop, build_onion, peel
from offchain.web3compute.onion.directory import RouterInfo
from offchain.web3compute.onion.e2e import max_request_size, seal_request
from offchain.web3compute.onion.endpoint import SandboxEndpoint
from offchain.web3compute.onion.proxy import ExitInfo, OnionProxy
from offchain.web3compute.onion.router import OnionRouter

REPORT_NAME = "web3compute-onion"
LABELS = {
    "traditional": "traditional routing",
    "onion": "onion routing (ours, k=3)",
    "herbivore": "Herbivore (DC-net cliques)",
    "onion_full_path": "onion, full-path adversary (b)",
    "onion_disruption": "onion, disruption (c)",
    "onion_with_ip": "onion, correlation incl. IP relays (a+IP)",
}
HOPS_LABELS = {**LABELS, "onion": "onion, end-to-end correlation (a)"}


@dataclass(frozen=True)
class BenchSize:
    runs: int = 10
    transmissions: int = 1000
    calibration_messages: int = 60
    crypto_reps: int = 300
    sandbox_reps: int = 10
    nodes: int = 100
    attack_messages: int = 200
    attack_routers: int = 12
    attack_malicious: int = 4

    @classmethod
    def quick(cls) -> BenchSize:
        return cls(
            runs=3,
            transmissions=300,
            calibration_messages=8,
            crypto_reps=30,
            sandbox_reps=3,
            attack_messages=20,
        )


# ---------------------------------------------------------------------------------------- calibration


def _per_op(reps: int, body: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        body()
    return (time.perf_counter() - start) / reps


async def measure_circuits(messages: int, hops: Sequence[int] = (1, 2, 3, 4, 5, 6)) -> dict[int, float]:
    """Median round trip (seconds) of one message through k real TCP routers on loopback, per k."""
    routers = [
        await OnionRouter(derive(b"bench-or", i), host=f"127.0.0.{31 + i}", name=f"OR{i}").start()
        for i in range(max(hops))
    ]
    sandbox = await SandboxEndpoint(derive(b"bench-exit", 0), host="127.0.0.30").start()
    try:
        infos = [
            RouterInfo(f"0x{i + 1:040x}", r.address, r.keypair.compressed_public_key)
            for i, r in enumerate(routers)
        ]
        proxy = OnionProxy(infos, local_host="127.0.0.29")
        exit_info = ExitInfo(sandbox.address, sandbox.public_key)
        data = b"\x5a" * max_request_size(DEFAULT_FORMAT.payload_size)
        circuits = {k: proxy.build_circuit(exit_info, k=k) for k in hops}
        samples: dict[int, list[float]] = {k: [] for k in hops}
        for k in hops:
            await proxy.send(circuits[k], data)  # warm-up
        for _ in range(messages):  # round-robin over k, so background load hits every k alike
            for k in hops:
                start = time.perf_counter()
                await proxy.send(circuits[k], data)
                samples[k].append(time.perf_counter() - start)
        result = {k: statistics.median(values) for k, values in samples.items()}
        return result
    finally:
        for router in routers:
            await router.stop()
        await sandbox.stop()


async def measure_real_attack(
    messages: int, routers: int, malicious: int, hops: Sequence[int] = (1, 2, 3, 4, 5, 6), seed: int = 2026
) -> dict[int, float]:
    """Success of colluding real routers at linking senders to sandboxes from their own logs, per k.

    ``routers`` TCP routers of which the first ``malicious`` collude; two proxies send ``messages``
    messages per k, one at a time, to two sandbox endpoints over fresh uniform circuits.
    """
    nodes = [
        await OnionRouter(derive(b"attack-or", i), host=f"127.0.0.{81 + i}", name=f"OR{i}").start()
        for i in range(routers)
    ]
    sandboxes = [
        await SandboxEndpoint(derive(b"attack-exit", i), host=f"127.0.0.{111 + i}").start() for i in range(2)
    ]
    try:
        infos = [
            RouterInfo(f"0x{i + 1:040x}", r.address, r.keypair.compressed_public_key)
            for i, r in enumerate(nodes)
        ]
        proxies = [OnionProxy(infos, local_host=f"127.0.0.{101 + i}") for i in range(2)]
        pick = random.Random(seed)
        hosts = {router.host for router in nodes}
        result: dict[int, float] = {}
        for k in hops:
            for router in nodes:
                router.observations.clear()
            sent = []
            for _ in range(messages):
                proxy, sandbox = pick.choice(proxies), pick.choice(sandboxes)
                circuit = proxy.build_circuit(ExitInfo(sandbox.address, sandbox.public_key), k=k)
                started = time.monotonic()
                await proxy.send(circuit, b"sealed shard")
                sent.append(Sent(str(proxy.local_host), sandbox.address, started, time.monotonic()))
            pooled = itertools.chain.from_iterable(router.observations for router in nodes[:malicious])
            result[k] = success_rate(correlate(pooled, hosts), sent)
        return result
    finally:
        for router in nodes:
            await router.stop()
        for sandbox in sandboxes:
            await sandbox.stop()


def measure_sandbox(reps: int) -> tuple[float, float]:
    """Seconds to start an isolated worker (``python -I -S``, private 0700 dir) until it answers, and to
    kill it and delete its directory."""
    create, destroy = [], []
    for _ in range(reps):
        start = time.perf_counter()
        workdir = Path(tempfile.mkdtemp(prefix="onion-bench-sandbox-"))
        workdir.chmod(0o700)
        worker = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-S",
                "-c",
                "import sys; sys.stdout.write('up\\n'); sys.stdout.flush(); sys.stdin.read()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=workdir,
            env={},
        )
        assert worker.stdout is not None
        worker.stdout.readline()
        create.append(time.perf_counter() - start)
        start = time.perf_counter()
        worker.kill()
        worker.wait()
        if worker.stdin is not None:
            worker.stdin.close()
        worker.stdout.close()
        shutil.rmtree(workdir)
        destroy.append(time.perf_counter() - start)
    return statistics.median(create), statistics.median(destroy)


def calibrate(size: BenchSize) -> dict[str, float]:
    """Every measured input of the delay model (seconds)."""
    rtt = asyncio.run(measure_circuits(size.calibration_messages))
    ks = sorted(rtt)
    slope, intercept = np.polyfit(ks, [rtt[k] for k in ks], 1)
    routers = [derive(b"bench-or", i) for i in range(3)]
    path = [Hop(f"127.0.0.{31 + i}:9000", key.compressed_public_key) for i, key in enumerate(routers)]
    exit_key = derive(b"bench-exit", 0)
    payload, _ = seal_request(exit_key.compressed_public_key, b"x" * 1000, DEFAULT_FORMAT.payload_size)
    build_s = _per_op(size.crypto_reps, lambda: build_onion(path, "127.0.0.30:9000", payload))
    cell = build_onion(path, "127.0.0.30:9000", payload).cell
    peel_s = _per_op(size.crypto_reps, lambda: peel(routers[0], cell))
    sandbox_key = derive(b"bench-sandbox", 0)
    wrap_s = _per_op(
        size.crypto_reps, lambda: ecies.encrypt(exit_key.compressed_public_key, sandbox_key.private_key)
    )
    create_s, destroy_s = measure_sandbox(size.sandbox_reps)
    figures = {f"rtt_k{k}_s": value for k, value in rtt.items()}
    figures.update(
        per_hop_s=float(slope),
        rtt_intercept_s=float(intercept),
        build_k3_s=build_s,
        peel_s=peel_s,
        key_wrap_s=wrap_s,
        sandbox_create_s=create_s,
        sandbox_destroy_s=destroy_s,
    )
    return figures


# ---------------------------------------------------------------------------------------- output


def _line_plot(
    axis: Any,
    xs: Sequence[float],
    curves: dict[str, Curve],
    title: str,
    xlabel: str,
    ylabel: str,
    labels: dict[str, str] = LABELS,
) -> None:
    for name, curve in curves.items():
        axis.errorbar(xs, curve.mean, yerr=curve.std, marker="o", capsize=3, label=labels.get(name, name))
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def _figure(panels: int = 1) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, panels, figsize=(6.5 * panels, 4.5), dpi=120)


def _checks_table(groups: dict[str, list[Check]]) -> Table:
    table = Table("ordering checks", ["figure", "claim", "holds", "detail"])
    for figure, checks in groups.items():
        for check in checks:
            table.add(figure, check.name, "yes" if check.holds else "NO", check.detail or "")
    return table


def run(out_dir: Path, size: BenchSize, console: Console, seed: int = 2026) -> dict[str, Any]:
    """Calibrate, run the three evaluations, write the report; returns the summary keys written."""
    network = NetworkParams(nodes=size.nodes)
    damage_params = DamageParams(runs=size.runs, transmissions=size.transmissions, network=network)
    hops_params = HopsParams(runs=size.runs, transmissions=size.transmissions, network=network)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("calibrating on real TCP routers", total=None)
        calib = calibrate(size)
        progress.update(task, total=1, completed=1)
        task = progress.add_task("colluding real routers", total=None)
        real_attack = asyncio.run(
            measure_real_attack(size.attack_messages, size.attack_routers, size.attack_malicious)
        )
        progress.update(task, total=1, completed=1)
        delay_params = replace(
            DelayParams(runs=size.runs, network=network),
            per_hop_s=max(calib["per_hop_s"], 0.0),
            build_s=calib["build_k3_s"],
            sandbox_create_s=calib["sandbox_create_s"],
            sandbox_destroy_s=calib["sandbox_destroy_s"],
            key_wrap_s=calib["key_wrap_s"],
            cell_bytes=DEFAULT_FORMAT.cell_size,
            cell_payload_bytes=max_request_size(DEFAULT_FORMAT.payload_size),
        )
        steps = [
            ("Fig. 5a damage rate", len(damage_params.malicious) * size.runs),
            ("Fig. 5b task delay", len(delay_params.computing_nodes) * size.runs),
            ("attack vs hops", len(hops_params.hops) * len(hops_params.fractions) * size.runs),
        ]
        tasks = [progress.add_task(label, total=total) for label, total in steps]
        damage = fig5a(damage_params, seed, lambda: progress.advance(tasks[0]))
        delay = fig5b(delay_params, seed, lambda: progress.advance(tasks[1]))
        hops = attack_vs_hops(hops_params, seed, lambda: progress.advance(tasks[2]))

    checks = {
        "Fig. 5a": check_fig5a(damage),
        "Fig. 5b": check_fig5b(delay),
        "hops": check_hops(hops),
        "supplementary": check_ip_adversary(damage),
    }
    names5a = ["traditional", "onion", "herbivore", "onion_full_path", "onion_disruption", "onion_with_ip"]
    t5a = Table(
        "fig5a damage rate",
        ["malicious nodes", *[f"{n} mean" for n in names5a], *[f"{n} analytic" for n in names5a[:5]]],
        notes=[
            f"N = {network.nodes}, k = {damage_params.hops}, Herbivore clique c = {damage_params.clique}, "
            f"{size.transmissions} transmissions per run, mean of {size.runs} runs."
        ],
    )
    for i, m in enumerate(damage_params.malicious):
        t5a.add(
            m,
            *[round(damage.curves[n].mean[i], 5) for n in names5a],
            *[round(damage.analytic[n][i], 5) for n in names5a[:5]],
        )
    t5b = Table(
        "fig5b task delay",
        [
            "computing nodes",
            *[f"{n} mean (s)" for n in ("traditional", "onion", "herbivore")],
            *[f"{n} std (s)" for n in ("traditional", "onion", "herbivore")],
        ],
        notes=[
            f"FedAvg star, {delay_params.rounds} rounds, model {delay_params.model_bytes} bytes "
            f"({delay_params.cells_per_model} cells of {delay_params.cell_bytes} bytes through onion), "
            f"mean of {size.runs} runs."
        ],
    )
    for i, n in enumerate(delay_params.computing_nodes):
        t5b.add(
            n,
            *[round(delay.curves[s].mean[i], 3) for s in ("traditional", "onion", "herbivore")],
            *[round(delay.curves[s].std[i], 3) for s in ("traditional", "onion", "herbivore")],
        )
    models = ["onion", "onion_full_path", "onion_disruption", "onion_with_ip"]
    thops = Table(
        "attack vs hops",
        [
            "malicious fraction",
            "hops k",
            *[f"{m} mean" for m in models],
            *[f"{m} analytic" for m in models[:3]],
        ],
        notes=[
            "Success of locating the sandbox (linking sender and Exit) for (a), (b), (a+IP); (c) is the "
            "probability that a malicious router can drop the message."
        ],
    )
    for row in hops:
        thops.add(
            row.fraction,
            row.hops,
            *[round(row.mean[m], 5) for m in models],
            *[round(row.analytic[m], 5) for m in models[:3]],
        )
    treal = Table(
        "attack on real routers",
        ["hops k", "messages", "measured success", "model (a)"],
        notes=[
            f"{size.attack_malicious} of {size.attack_routers} real TCP routers collude and link senders to "
            "sandboxes by nesting of their log times (offchain/web3compute/onion/adversary.py); model (a) "
            "= m/R for k = 1, m(m-1)/(R(R-1)) otherwise."
        ],
    )
    for k, rate in real_attack.items():
        model = p_onion_correlation(size.attack_routers + 2, size.attack_malicious, k)
        treal.add(k, size.attack_messages, round(rate, 4), round(model, 4))
    tcal = Table("onion calibration", ["quantity", "value", "how"])
    for k in range(1, 7):
        tcal.add(
            f"round trip, k = {k} (ms)",
            round(calib[f"rtt_k{k}_s"] * 1000, 3),
            "median, real TCP routers on loopback",
        )
    tcal.add(
        "per-hop processing (ms)", round(calib["per_hop_s"] * 1000, 3), "slope of the round trips over k"
    )
    tcal.add("build a 3-hop cell (ms)", round(calib["build_k3_s"] * 1000, 3), "pure, one core")
    tcal.add("peel one layer (ms)", round(calib["peel_s"] * 1000, 3), "pure, one core")
    tcal.add("seal the sandbox key to one member (ms)", round(calib["key_wrap_s"] * 1000, 3), "ECIES")
    tcal.add(
        "start an isolated worker (ms)", round(calib["sandbox_create_s"] * 1000, 2), "python -I -S, 0700 dir"
    )
    tcal.add("destroy it (ms)", round(calib["sandbox_destroy_s"] * 1000, 2), "kill + delete its dir")
    tcal.add(
        "cell size (bytes)", DEFAULT_FORMAT.cell_size, f"{DEFAULT_FORMAT.max_hops} header slots + payload"
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    fig, axis = _figure()
    _line_plot(
        axis,
        damage_params.malicious,
        {n: damage.curves[n] for n in ("traditional", "onion", "herbivore")},
        "Fig. 5a analogue: damage rate",
        "malicious nodes",
        "damaged transmissions (fraction)",
    )
    _save(fig, out_dir / "fig5a_damage_rate.png")
    fig, axis = _figure()
    _line_plot(
        axis,
        delay_params.computing_nodes,
        delay.curves,
        "Fig. 5b analogue: task execution delay",
        "computing nodes",
        "task delay (s)",
    )
    _save(fig, out_dir / "fig5b_task_delay.png")
    fig, axes = _figure(len(hops_params.fractions))
    for axis, fraction in zip(np.atleast_1d(axes), hops_params.fractions, strict=True):
        series = [row for row in hops if row.fraction == fraction]
        curves = {m: Curve([r.mean[m] for r in series], [r.std[m] for r in series]) for m in models}
        _line_plot(
            axis,
            [r.hops for r in series],
            curves,
            f"attack success, m/N = {fraction}",
            "hops k",
            "probability",
            HOPS_LABELS,
        )
    _save(fig, out_dir / "attack_vs_hops.png")
    (out_dir / "onion_parameters.json").write_text(
        json.dumps(
            {**parameters_manifest(damage_params, delay_params, hops_params, seed), "calibration": calib},
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    intro = (
        "Seed 004 gives Fig. 5 only as captions and orderings, no numbers; every value below comes from our "
        "model (spec §3.3, §5.5) with per-hop costs measured on this machine. Orderings checked: Fig. 5a "
        "Herbivore < onion < traditional and Fig. 5b traditional < onion < Herbivore, all curves rising."
    )
    write_report(
        out_dir,
        REPORT_NAME,
        [_checks_table(checks), t5a, t5b, thops, treal, tcal],
        plots=["fig5a_damage_rate.png", "fig5b_task_delay.png", "attack_vs_hops.png"],
        intro=intro,
    )
    last_m, last_n = len(damage_params.malicious) - 1, len(delay_params.computing_nodes) - 1
    m_max, n_max = damage_params.malicious[-1], delay_params.computing_nodes[-1]
    values: dict[str, Any] = {
        "onion_fig5a_orderings_hold": all(c.holds for c in checks["Fig. 5a"]),
        "onion_fig5b_orderings_hold": all(c.holds for c in checks["Fig. 5b"]),
        "onion_with_ip_adversary_below_traditional": all(c.holds for c in checks["supplementary"]),
        "onion_failed_checks": [
            f"{fig}: {c.name} ({c.detail})" for fig, cs in checks.items() for c in cs if not c.holds
        ],
        "onion_runs_per_point": size.runs,
        f"onion_damage_rate_m{m_max}": {
            s: damage.curves[s].mean[last_m] for s in ("traditional", "onion", "herbivore")
        },
        f"onion_task_delay_s_n{n_max}": {
            s: delay.curves[s].mean[last_n] for s in ("traditional", "onion", "herbivore")
        },
        "onion_per_hop_ms": calib["per_hop_s"] * 1000,
        "onion_circuit_rtt_ms_k3": calib["rtt_k3_s"] * 1000,
        "onion_cell_bytes": DEFAULT_FORMAT.cell_size,
        "onion_real_attack_success": {
            str(k): {
                "measured": rate,
                "model": p_onion_correlation(size.attack_routers + 2, size.attack_malicious, k),
            }
            for k, rate in real_attack.items()
        },
    }
    update_summary(out_dir / "summary.json", values)
    return values

"""Platform benchmark (``make bench`` / ``metatrust bench platform``): what every system pays for.

Measures, on this machine: EIP-191 envelope signing and verification, ECIES sealing and opening of
1 KiB, signed HTTP round trips to an agent on loopback (sequential latency and concurrent throughput),
and the chain layer on a private anvil (sequential and pipelined transactions, registry registration).
Writes ``reports/platform/``: ``platform.md``, one CSV per table, ``throughput.png``
and ``summary.json``. The papers give no figures for these primitives; the numbers are new measurements.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.progress import Progress

from offchain.agents.client import AgentClient
from offchain.agents.envelope import build_envelope, verify_envelope
from offchain.agents.service import Agent
from offchain.bench.report import Table, bar_plot, write_report
from offchain.chain.connection import connect
from offchain.chain.devnet import Devnet, dev_accounts, free_port
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto import ecies
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, derive

MANIFEST = Path(".build/__local__.json")
SHORT_LABELS = {
    "envelope_sign_per_s": "sign envelope",
    "envelope_verify_per_s": "verify envelope",
    "ecies_seal_1k_per_s": "ECIES seal 1 KiB",
    "ecies_open_1k_per_s": "ECIES open 1 KiB",
    "http_sequential_per_s": "agent RPC, serial",
    "http_concurrent_per_s": "agent RPC, {concurrency} in flight",
    "tx_sequential_per_s": "tx, send + wait",
    "tx_pipelined_per_s": "tx, pipelined",
}


@dataclass(frozen=True)
class BenchSize:
    """How many repetitions each measurement takes."""

    crypto: int = 2_000
    http_sequential: int = 500
    http_concurrent: int = 2_000
    concurrency: int = 16
    transactions: int = 200

    @classmethod
    def quick(cls) -> BenchSize:
        return cls(crypto=200, http_sequential=50, http_concurrent=200, concurrency=8, transactions=20)


class Echo(BaseModel):
    text: str


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _timed_loop(progress: Progress, label: str, count: int, body: Callable[[], object]) -> float:
    task = progress.add_task(label, total=count)
    started = time.perf_counter()
    for _ in range(count):
        body()
        progress.advance(task)
    return time.perf_counter() - started


def bench_crypto(size: BenchSize, progress: Progress) -> dict[str, float]:
    alice, bob = derive(b"bench", 1), derive(b"bench", 2)
    payload = {"task": 7, "share": "0x" + "ab" * 32}
    envelope = build_envelope(alice, bob.address, "bench", payload)
    now = time.time()
    sign_s = _timed_loop(
        progress, "sign envelopes", size.crypto, lambda: build_envelope(alice, bob.address, "bench", payload)
    )
    verify_s = _timed_loop(
        progress, "verify envelopes", size.crypto, lambda: verify_envelope(envelope, bob.address, now)
    )
    plaintext = bytes(1024)
    enc = encryption_keypair(bob)
    blob = ecies.encrypt(enc.compressed_public_key, plaintext)
    seal_s = _timed_loop(
        progress, "ECIES seal 1 KiB", size.crypto, lambda: ecies.encrypt(enc.compressed_public_key, plaintext)
    )
    open_s = _timed_loop(progress, "ECIES open 1 KiB", size.crypto, lambda: ecies.decrypt(enc, blob))
    return {
        "envelope_sign_per_s": _rate(size.crypto, sign_s),
        "envelope_verify_per_s": _rate(size.crypto, verify_s),
        "ecies_seal_1k_per_s": _rate(size.crypto, seal_s),
        "ecies_open_1k_per_s": _rate(size.crypto, open_s),
    }


async def _bench_http(size: BenchSize, progress: Progress) -> dict[str, float]:
    server, client_key = derive(b"bench", 3), derive(b"bench", 4)
    agent = Agent(server, "bench-echo", replay_cache_size=10 * size.http_concurrent)

    async def echo(sender: str, request: Echo) -> Echo:
        return request

    agent.route("echo", Echo, echo)
    latencies: list[float] = []
    async with agent, AgentClient(client_key) as client:
        task = progress.add_task("agent round trips (sequential)", total=size.http_sequential)
        for index in range(size.http_sequential):
            started = time.perf_counter()
            await client.call(agent.endpoint, agent.address, "echo", Echo(text=str(index)), Echo)
            latencies.append((time.perf_counter() - started) * 1_000)
            progress.advance(task)

        task = progress.add_task(
            f"agent round trips ({size.concurrency} in flight)", total=size.http_concurrent
        )
        gate = asyncio.Semaphore(size.concurrency)

        async def one(index: int) -> None:
            async with gate:
                await client.call(agent.endpoint, agent.address, "echo", Echo(text=str(index)), Echo)
                progress.advance(task)

        started = time.perf_counter()
        await asyncio.gather(*(one(index) for index in range(size.http_concurrent)))
        concurrent_s = time.perf_counter() - started
    return {
        "http_p50_ms": statistics.median(latencies),
        "http_p95_ms": _percentile(latencies, 0.95),
        "http_sequential_per_s": 1_000 / statistics.mean(latencies),
        "http_concurrent_per_s": _rate(size.http_concurrent, concurrent_s),
    }


def _contract_type(name: str) -> dict[str, Any]:
    if not MANIFEST.exists():
        raise SystemExit(f"{MANIFEST} not found: compile first (make compile)")
    contract_type: dict[str, Any] = json.loads(MANIFEST.read_text())["contractTypes"][name]
    return contract_type


def bench_chain(size: BenchSize, progress: Progress) -> dict[str, float]:
    token_type, registry_type = _contract_type("MetaCoin"), _contract_type("RSC")
    with tempfile.TemporaryDirectory() as state, Devnet(port=free_port(), state_dir=Path(state)) as devnet:
        w3 = connect(devnet.rpc_url)
        owner, *others = dev_accounts(n=6)
        sender = TransactionSender(w3, owner)
        token_address, _ = sender.deploy(
            token_type["abi"],
            token_type["deploymentBytecode"]["bytecode"],
            [owner.address] * 4,
            [250_000_000 * 10**18] * 4,
        )
        registry_address, _ = sender.deploy(
            registry_type["abi"],
            registry_type["deploymentBytecode"]["bytecode"],
            owner.address,
            owner.address,
            0,
        )
        token = w3.eth.contract(address=token_address, abi=token_type["abi"])
        receiver = others[0].address

        started = time.perf_counter()
        task = progress.add_task("transactions (send and wait)", total=size.transactions)
        for _ in range(size.transactions):
            sender.send(token.functions.transfer(receiver, 1))
            progress.advance(task)
        sequential_s = time.perf_counter() - started

        calls = [token.functions.transfer(receiver, 1) for _ in range(size.transactions)]
        progress.add_task("transactions (pipelined)", total=None)
        started = time.perf_counter()
        sender.send_many(calls)
        pipelined_s = time.perf_counter() - started

        registry = w3.eth.contract(address=registry_address, abi=registry_type["abi"])
        node: KeyPair = derive(b"bench", 5)
        node_account = others[1]
        client = RegistryClient(registry, TransactionSender(w3, node_account))
        started = time.perf_counter()
        receipt = client.register(
            ActorRole.CSN, encryption_keypair(node).compressed_public_key, "http://127.0.0.1:8801"
        )
        register_ms = (time.perf_counter() - started) * 1_000
    return {
        "tx_sequential_per_s": _rate(size.transactions, sequential_s),
        "tx_pipelined_per_s": _rate(size.transactions, pipelined_s),
        "register_latency_ms": register_ms,
        "register_gas": float(receipt["gasUsed"]),
    }


def run(out_dir: Path, size: BenchSize, console: Console) -> dict[str, float]:
    """Run every measurement and write the report; returns the summary figures."""
    with Progress(console=console, transient=True) as progress:
        figures = bench_crypto(size, progress)
        figures.update(asyncio.run(_bench_http(size, progress)))
        figures.update(bench_chain(size, progress))

    throughput = Table(
        "Throughput",
        ["operation", "per second", "repetitions"],
        notes=["One process, one core in use; devnet transactions include anvil's own work."],
    )
    labels = {
        "envelope_sign_per_s": ("sign a request envelope (EIP-191, canonical JSON)", size.crypto),
        "envelope_verify_per_s": ("verify a request envelope", size.crypto),
        "ecies_seal_1k_per_s": ("ECIES seal 1 KiB (secp256k1 + HKDF + AES-GCM)", size.crypto),
        "ecies_open_1k_per_s": ("ECIES open 1 KiB", size.crypto),
        "http_sequential_per_s": ("signed agent round trip, one at a time", size.http_sequential),
        "http_concurrent_per_s": (
            f"signed agent round trips, {size.concurrency} in flight",
            size.http_concurrent,
        ),
        "tx_sequential_per_s": ("devnet transaction, send and wait", size.transactions),
        "tx_pipelined_per_s": ("devnet transactions, pipelined (send_many)", size.transactions),
    }
    for key, (label, repetitions) in labels.items():
        throughput.add(label, round(figures[key], 1), repetitions)
    latency = Table("Latency", ["measurement", "value"])
    latency.add("agent round trip p50 (ms)", round(figures["http_p50_ms"], 3))
    latency.add("agent round trip p95 (ms)", round(figures["http_p95_ms"], 3))
    latency.add("RSC.register latency on the devnet (ms)", round(figures["register_latency_ms"], 1))
    latency.add("RSC.register gas", int(figures["register_gas"]))

    bar_plot(
        out_dir / "throughput.png",
        "metatrust platform throughput (operations per second, log scale)",
        [SHORT_LABELS[key].format(concurrency=size.concurrency) for key in labels],
        {"this machine": [figures[key] for key in labels]},
        "operations / s",
        log=True,
    )
    path = write_report(
        out_dir,
        "platform",
        [throughput, latency],
        summary=figures,
        plots=["throughput.png"],
        intro="The primitives every metatrust system uses. The papers give no figures for them.",
    )
    console.print(f"wrote [bold]{path}[/]")
    return figures

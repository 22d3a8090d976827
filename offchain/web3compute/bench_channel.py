"""Channel benchmark (``metatrust bench web3compute-channel`` / ``make bench-web3compute``).

Measures, on this machine:

* off-chain state updates per second on one channel, every update co-signed by both parties (EIP-712,
  libsecp256k1) and durable at both (``fdatasync``) before it is acknowledged: strictly one at a time
  (window 1), with group commit (a window of proposals countersigned in order and made durable by one
  ``fdatasync`` before any signature is released), in process and over HTTP between two agents;
* the same updates sent as transactions on a private anvil devnet the bench starts itself (each update
  a ``challenge`` with the next co-signed state, which the contract verifies and stores), sent and
  awaited one by one, and pipelined;
* the gas of every channel operation and of the two lifecycles, beside Raiden's published figures.

Writes ``reports/web3compute/``: ``channel.md``, one CSV per table, ``channel_throughput.png``,
``channel_gas.png``, and the ``channel_*`` keys of ``summary.json`` (read, updated, written back).
The paper (seed 004) gives no figures for any of this; all numbers are new measurements.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.progress import Progress
from web3 import Web3
from web3.contract import Contract

from offchain.agents.client import AgentClient
from offchain.agents.service import Agent
from offchain.bench.report import Table, bar_plot, update_summary, write_report
from offchain.chain.connection import connect
from offchain.chain.devnet import Devnet, dev_accounts, free_port
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, derive, from_private_key
from offchain.crypto.signing import recover_hash_signer
from offchain.web3compute.agent import push_updates, serve_channels
from offchain.web3compute.chain import ChannelManagerClient
from offchain.web3compute.channel import ChannelInfo, ChannelParty
from offchain.web3compute.state import compact_signature, sign_state, state_digest
from offchain.web3compute.store import SignedState
from offchain.web3compute.tasks import Requirements, Topology, task_id_of

MANIFEST = Path(".build/__local__.json")
UNIT = 10**18
PAYLOAD = bytes(range(256)) * 4  # 1 KiB standing for one encrypted transmission
TARGET_UPDATES_PER_S = 2_000
#: Raiden's published gas (the issue's reference): open, deposit (x2), close, settle.
RAIDEN = {"open": 110_848, "deposit": 53_475, "close": 93_951, "settle": 83_636}
RAIDEN_LIFECYCLE = RAIDEN["open"] + 2 * RAIDEN["deposit"] + RAIDEN["close"] + RAIDEN["settle"]


@dataclass(frozen=True)
class BenchSize:
    """How many updates each measurement takes."""

    updates: int = 4_096
    http_updates: int = 1_024
    window: int = 64
    chain_updates: int = 100
    primitives: int = 500

    @classmethod
    def quick(cls) -> BenchSize:
        return cls(updates=512, http_updates=128, window=64, chain_updates=20, primitives=100)


def _info(chain_id: int, manager: str, task_id: bytes, x: KeyPair, y: KeyPair, deposit: int) -> ChannelInfo:
    return ChannelInfo.of(
        chain_id, manager, task_id, x.address, y.address, {x.address: deposit, y.address: deposit}
    )


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


# ---------------------------------------------------------------------------------------- off chain


def _timed(progress: Progress, label: str, count: int, body: Callable[[], object]) -> float:
    task = progress.add_task(label, total=count)
    started = time.perf_counter()
    for _ in range(count):
        body()
        progress.advance(task)
    return time.perf_counter() - started


def bench_primitives(scratch: Path, progress: Progress, count: int) -> dict[str, float]:
    """Microseconds per signature, per recovery and per durable slot write on this machine."""
    x = derive(b"bench-channel", 1)
    info = _info(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", bytes(32), x, derive(b"bc", 2), 10)
    state = info.initial_state().advance()
    separator = info.domain.separator
    signature = sign_state(x, separator, state)
    sign_s = _timed(progress, "sign a state", count, lambda: sign_state(x, separator, state))
    recover_s = _timed(
        progress,
        "recover a signer",
        count,
        lambda: recover_hash_signer(state_digest(separator, state), signature),
    )
    party = ChannelParty.create(scratch / "primitives", info, x)
    signed = SignedState(state, signature, signature)
    sync_s = _timed(
        progress, "durable write (pwrite + fdatasync)", count // 5, lambda: party.store.save(signed)
    )
    party.close()
    return {
        "sign_us": sign_s / count * 1e6,
        "recover_us": recover_s / count * 1e6,
        "durable_write_us": sync_s / (count // 5) * 1e6,
    }


def bench_in_process(scratch: Path, size: BenchSize, window: int, progress: Progress) -> float:
    """Updates per second between two parties in one process (both persist every acknowledged update)."""
    x, y = derive(b"bench-channel", 1), derive(b"bench-channel", 2)
    info = _info(
        31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", keccak256(b"w%d" % window), x, y, 10**24
    )
    px = ChannelParty.create(scratch / f"inproc-{window}" / "x", info, x, window=window)
    py = ChannelParty.create(scratch / f"inproc-{window}" / "y", info, y, window=window)
    task = progress.add_task(f"off-chain updates, window {window}", total=size.updates)
    started = time.perf_counter()
    done = 0
    while done < size.updates:
        batch = min(window, size.updates - done)
        proposals = [px.propose(PAYLOAD, pay=1) for _ in range(batch)]
        signatures = py.countersign_many([(p.state, p.signature, PAYLOAD) for p in proposals])
        px.accept_many([(p.state, s) for p, s in zip(proposals, signatures, strict=True)])
        done += batch
        progress.advance(task, batch)
    elapsed = time.perf_counter() - started
    if px.latest != py.latest or px.latest.nonce != size.updates:
        raise RuntimeError("the two parties disagree after the benchmark")
    px.close()
    py.close()
    return _rate(size.updates, elapsed)


async def bench_http(scratch: Path, size: BenchSize, window: int, progress: Progress) -> float:
    """Updates per second over HTTP between two agents on loopback (signed envelopes both ways)."""
    x, y = derive(b"bench-channel", 3), derive(b"bench-channel", 4)
    info = _info(
        31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", keccak256(b"h%d" % window), x, y, 10**24
    )
    px = ChannelParty.create(scratch / f"http-{window}" / "x", info, x, window=window)
    py = ChannelParty.create(scratch / f"http-{window}" / "y", info, y, window=window)
    agent = Agent(y, "bench-channel-peer", replay_cache_size=10 * size.http_updates)
    serve_channels(agent, {info.channel_id: py})
    task = progress.add_task(f"updates over HTTP, window {window}", total=size.http_updates)
    async with agent, AgentClient(x) as client:
        started = time.perf_counter()
        done = 0
        while done < size.http_updates:
            batch = min(window, size.http_updates - done)
            await push_updates(client, agent.endpoint, px, [PAYLOAD] * batch, pay=1)
            done += batch
            progress.advance(task, batch)
        elapsed = time.perf_counter() - started
    if py.latest.nonce != size.http_updates:
        raise RuntimeError("the peer did not keep every update")
    px.close()
    py.close()
    return _rate(size.http_updates, elapsed)


# ---------------------------------------------------------------------------------------- on chain


def _contract_type(name: str) -> dict[str, Any]:
    if not MANIFEST.exists():
        raise SystemExit(f"{MANIFEST} not found: compile first (make compile)")
    contract_type: dict[str, Any] = json.loads(MANIFEST.read_text())["contractTypes"][name]
    return contract_type


class _Chain:
    """The seed 004 contracts on a private devnet, with two computing servers on a running task."""

    def __init__(self, w3: Web3, accounts: list[LocalAccount], challenge_period: int) -> None:
        self.w3 = w3
        self.owner = TransactionSender(w3, accounts[0])
        self.gas: dict[str, list[int]] = {}
        token = self._deploy("MetaCoin", [accounts[0].address] * 4, [250_000_000 * UNIT] * 4)
        registry = self._deploy("RSC", accounts[0].address, accounts[0].address, 0)
        tasks = self._deploy("TaskManager", registry.address)
        self.manager = self._deploy(
            "StateChannelManager", token.address, tasks.address, challenge_period, 3_600
        )
        user, provider, *servers = accounts[1:9]
        self.keys = [from_private_key(bytes(a.key)) for a in servers]
        for account, role, resources in (
            (user, ActorRole.WEB3_USER, ("", 0, 0, 0, 0)),
            (provider, ActorRole.SERVICE_PROVIDER, ("", 0, 0, 0, 0)),
            *((a, ActorRole.COMPUTE_SERVER, ("127.0.0.1", 8, 16_384, 100, 1_000)) for a in servers),
        ):
            key = encryption_keypair(from_private_key(bytes(account.key))).compressed_public_key
            TransactionSender(w3, account).send(
                registry.functions.register(int(role), key, b"", "", resources, bytes(32))
            )
        requirements = Requirements(
            provider.address,
            keccak256(b"bench"),
            compute_nodes=len(servers),
            storage_nodes=0,
            topology=Topology.FULL,
        )
        TransactionSender(w3, user).send(tasks.functions.createTask(requirements.as_tuple()))
        self.task_id = task_id_of(1)
        TransactionSender(w3, user).send(
            tasks.functions.schedule(self.task_id, [a.address for a in servers], [])
        )
        self.clients: dict[str, ChannelManagerClient] = {}
        for account in servers:
            sender = TransactionSender(w3, account)
            sender.send(tasks.functions.acceptTask(self.task_id))
            self.owner.send(token.functions.transfer(account.address, 1_000_000 * UNIT))
            sender.send(token.functions.approve(self.manager.address, 2**256 - 1))
            self.clients[account.address] = ChannelManagerClient(self.manager, sender)
        self.chain_id = int(w3.eth.chain_id)

    def _deploy(self, name: str, *args: Any) -> Contract:
        contract_type = _contract_type(name)
        address, _ = self.owner.deploy(
            contract_type["abi"], contract_type["deploymentBytecode"]["bytecode"], *args
        )
        return self.w3.eth.contract(address=address, abi=contract_type["abi"])

    def record(self, operation: str, receipt: Any) -> int:
        used = int(receipt["gasUsed"])
        self.gas.setdefault(operation, []).append(used)
        return used

    def open_pair(self, x: KeyPair, y: KeyPair, deposit: int) -> tuple[ChannelInfo, int]:
        """open + join; returns the channel and the gas of both."""
        used = self.record("open", self.clients[x.address].open(self.task_id, y.address, deposit))
        used += self.record("join", self.clients[y.address].join(self.task_id, x.address, deposit))
        return _info(self.chain_id, self.manager.address, self.task_id, x, y, deposit), used


def _advance(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def _signed_states(info: ChannelInfo, x: KeyPair, y: KeyPair, count: int) -> list[SignedState]:
    keys = {x.address: x, y.address: y}
    separator = info.domain.separator
    state = info.initial_state()
    out = []
    for _ in range(count):
        state = state.advance(balance_a=state.balance_a - 1)
        out.append(
            SignedState(
                state,
                sign_state(keys[info.party_a], separator, state),
                sign_state(keys[info.party_b], separator, state),
            )
        )
    return out


def bench_chain(size: BenchSize, progress: Progress, scratch: Path) -> dict[str, Any]:
    """Gas of every operation, both lifecycles, and updates sent as transactions."""
    period = 3_600
    with Devnet(port=free_port(), state_dir=scratch / "devnet") as devnet:
        w3 = connect(devnet.rpc_url)
        chain = _Chain(w3, dev_accounts(n=9), period)
        a, b, c, d, e, f = chain.keys  # a is the global node of the star, b..f the local nodes
        task = progress.add_task("devnet: channel operations", total=None)
        deposit = 100 * UNIT

        # Cooperative lifecycle (the manager already escrows another channel: steady state).
        chain.open_pair(a, c, deposit)
        info, used = chain.open_pair(a, b, deposit)
        states = _signed_states(info, a, b, 3)
        final_state = states[-1].state.advance(result_hash=keccak256(b"result"), is_final=True)
        keys = {a.address: a, b.address: b}
        final = SignedState(
            final_state,
            sign_state(keys[info.party_a], info.domain, final_state),
            sign_state(keys[info.party_b], info.domain, final_state),
        )
        cooperative = used + chain.record(
            "cooperativeClose", chain.clients[a.address].cooperative_close(final, info)
        )

        # Dispute lifecycle on a fresh pair: stale close, challenge, settle.
        info, _ = chain.open_pair(a, d, deposit)
        states = _signed_states(info, a, d, 6)
        dispute = chain.record("close", chain.clients[d.address].close(states[1], info))
        dispute += chain.record("challenge", chain.clients[a.address].challenge(states[5], info))
        _advance(w3, period + 1)
        dispute += chain.record("settle", chain.clients[a.address].settle(states[5].state, info))

        # Updates as transactions: the channel a <-> c under a (long) challenge; every update a challenge.
        info = _info(chain.chain_id, chain.manager.address, chain.task_id, a, c, deposit)
        states = _signed_states(info, a, c, 1 + 2 * size.chain_updates)
        chain.record("close", chain.clients[c.address].close(states[0], info))
        sender = chain.clients[a.address]
        progress.update(task, description="devnet: updates as transactions (send and wait)")
        started = time.perf_counter()
        for signed in states[1 : 1 + size.chain_updates]:
            chain.record("challenge", sender.challenge(signed, info))
        sequential_s = time.perf_counter() - started
        progress.update(task, description="devnet: updates as transactions (pipelined)")
        assert sender.sender is not None
        calls = [
            chain.manager.functions.challenge(
                s.state.as_tuple(),
                info.party_a,
                info.party_b,
                compact_signature(s.sig_a),
                compact_signature(s.sig_b),
            )
            for s in states[1 + size.chain_updates :]
        ]
        started = time.perf_counter()
        receipts = sender.sender.send_many(calls)
        pipelined_s = time.perf_counter() - started
        for receipt in receipts:
            chain.record("challenge", receipt)

        # The remaining operations: closeInitial (nobody ever signed a state), cancelOpen (nobody joined).
        chain.open_pair(a, e, deposit)
        chain.record("closeInitial", chain.clients[e.address].close_initial(chain.task_id, a.address))
        chain.record("open", chain.clients[a.address].open(chain.task_id, f.address, deposit))
        _advance(w3, 3_601)
        chain.record("cancelOpen", chain.clients[a.address].cancel_open(chain.task_id, f.address))
        progress.update(task, total=1, completed=1)
    return {
        "gas": chain.gas,
        "cooperative": cooperative,
        "dispute": dispute,
        "tx_sequential_per_s": _rate(size.chain_updates, sequential_s),
        "tx_pipelined_per_s": _rate(len(calls), pipelined_s),
    }


# ---------------------------------------------------------------------------------------- report


def run(out_dir: Path, size: BenchSize, console: Console) -> dict[str, Any]:
    """Run every measurement, write the report, return the summary figures."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".bench-channel-", dir=out_dir))
    try:
        load_before = os.getloadavg()[0]
        with Progress(console=console, transient=True) as progress:
            primitives = bench_primitives(scratch, progress, size.primitives)
            strict = bench_in_process(scratch, size, 1, progress)
            middle = bench_in_process(scratch, size, max(1, size.window // 4), progress)
            grouped = bench_in_process(scratch, size, size.window, progress)
            http_strict = asyncio.run(bench_http(scratch, size, 1, progress))
            http_grouped = asyncio.run(bench_http(scratch, size, size.window, progress))
            chain = bench_chain(size, progress, scratch)
        load = max(load_before, os.getloadavg()[0])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    throughput = Table(
        "Channel throughput",
        ["how", "updates per second", "updates", "speed-up over devnet transactions"],
        notes=[
            "One channel. Off chain: every update is a new state co-signed by both parties (EIP-712, "
            "secp256k1) and durable at both (fdatasync) before it is acknowledged; a 1 KiB payload per "
            f"update. Window {size.window}: group commit (the receiver countersigns a batch in order and "
            "releases no signature before one fdatasync of the newest state; the sender likewise).",
            "On chain: each update is a `challenge` transaction carrying the next co-signed state (both "
            "signatures verified and its hash stored), on a private anvil started by the bench.",
            f"Per operation on this machine: sign {primitives['sign_us']:.0f} µs, recover "
            f"{primitives['recover_us']:.0f} µs, durable slot write {primitives['durable_write_us']:.0f} µs. "
            f"Load average during the run: up to {load:.1f} on {os.cpu_count()} cores (wall-clock rates "
            "fall when other processes share the cores and the disk).",
        ],
    )
    rows = [
        ("off chain, in process, window 1 (fdatasync per update)", strict, size.updates),
        (f"off chain, in process, window {max(1, size.window // 4)} (group commit)", middle, size.updates),
        (f"off chain, in process, window {size.window} (group commit)", grouped, size.updates),
        ("off chain, HTTP agents on loopback, window 1", http_strict, size.http_updates),
        (f"off chain, HTTP agents on loopback, window {size.window}", http_grouped, size.http_updates),
        (
            "on chain, one transaction per update, send and wait",
            chain["tx_sequential_per_s"],
            size.chain_updates,
        ),
        ("on chain, one transaction per update, pipelined", chain["tx_pipelined_per_s"], size.chain_updates),
    ]
    for label, rate, count in rows:
        throughput.add(label, round(rate, 1), count, round(rate / chain["tx_sequential_per_s"], 1))

    gas_table = Table(
        "Channel gas",
        ["operation", "calls", "median gas", "Raiden (published)"],
        notes=[
            "Gas used by mined transactions on the devnet (Prague). Deposits are non-zero MTC; open includes "
            "the TaskManager roster check of a star task (a full-topology task reads one more slot: about "
            "+2,100 gas on open). Raiden: the issue's reference figures.",
        ],
    )
    raiden_of = {
        "open": RAIDEN["open"],
        "join": RAIDEN["deposit"],
        "close": RAIDEN["close"],
        "settle": RAIDEN["settle"],
    }
    for operation, samples in sorted(chain["gas"].items()):
        median = sorted(samples)[len(samples) // 2]
        gas_table.add(operation, len(samples), median, raiden_of.get(operation))
    gas_table.add(
        "scenario: cooperative lifecycle (open + join + cooperativeClose)", 1, chain["cooperative"], None
    )
    gas_table.add("scenario: dispute (close + challenge + settle)", 1, chain["dispute"], None)
    gas_table.add("Raiden: open + 2 deposits + close + settle", 1, RAIDEN_LIFECYCLE, RAIDEN_LIFECYCLE)

    bar_plot(
        out_dir / "channel_throughput.png",
        "State updates per second on one channel (log scale)",
        [
            "in process, w=1",
            f"in process, w={max(1, size.window // 4)}",
            f"in process, w={size.window}",
            "HTTP, w=1",
            f"HTTP, w={size.window}",
            "devnet tx, serial",
            "devnet tx, pipelined",
        ],
        {
            "this machine": [rate for _, rate, _ in rows],
            "target (2,000/s)": [TARGET_UPDATES_PER_S] * 5 + [0, 0],
        },
        "updates / s",
        log=True,
    )
    bar_plot(
        out_dir / "channel_gas.png",
        "Channel lifecycle gas: this contract vs Raiden (published)",
        ["cooperative lifecycle", "dispute path"],
        {
            "StateChannelManager": [chain["cooperative"], chain["dispute"]],
            "Raiden open+2 deposits+close+settle": [RAIDEN_LIFECYCLE, RAIDEN_LIFECYCLE],
            "target": [200_000, 300_000],
        },
        "gas",
    )
    figures: dict[str, Any] = {
        "channel_updates_per_s": round(grouped, 1),
        "channel_updates_per_s_window": size.window,
        "channel_updates_per_s_strict": round(strict, 1),
        "channel_updates_per_s_http": round(http_grouped, 1),
        "channel_updates_per_s_http_strict": round(http_strict, 1),
        "channel_onchain_updates_per_s": round(chain["tx_sequential_per_s"], 1),
        "channel_onchain_updates_per_s_pipelined": round(chain["tx_pipelined_per_s"], 1),
        "channel_gas_cooperative_lifecycle": chain["cooperative"],
        "channel_gas_dispute_lifecycle": chain["dispute"],
        "channel_gas_raiden_lifecycle": RAIDEN_LIFECYCLE,
        "channel_bench_load_average": round(load, 2),
    }
    path = write_report(
        out_dir,
        "channel",
        [throughput, gas_table],
        summary=None,
        plots=["channel_throughput.png", "channel_gas.png"],
        intro="State channels of seed 004 (StateChannelManager + offchain/web3compute). "
        "The paper reports no channel figures; every number here is a new measurement.",
    )
    update_summary(out_dir / "summary.json", figures)
    console.print(f"wrote [bold]{path}[/] and {out_dir / 'summary.json'}")
    return figures

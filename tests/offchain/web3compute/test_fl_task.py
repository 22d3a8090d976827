"""FedAvg end to end: three local computing servers and a global one, each in its own sandbox, every
message through real onion routers on loopback; the SP decrypts, verifies and evaluates each round."""

from __future__ import annotations

import asyncio
import glob
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import derive
from offchain.crypto.signing import recover_hash_signer
from offchain.web3compute.fl import program as fedavg
from offchain.web3compute.fl.data import split_digits
from offchain.web3compute.fl.network import Courier, local_overlay
from offchain.web3compute.fl.task import (
    FLConfig,
    FLHooks,
    FLTaskError,
    Transmission,
    fedavg_program_hash,
    run_fl_task,
)
from offchain.web3compute.onion.proxy import ExitInfo
from offchain.web3compute.sandbox.envelope import members_digest
from offchain.web3compute.sandbox.host import DestroyReport, TaskKey
from offchain.web3compute.sandbox.limits import ResourceLimits

NODES, ROUNDS = 3, 3


def leftover_sandboxes() -> list[str]:
    return glob.glob(os.path.join(tempfile.gettempdir(), "metatrust-sandbox-*"))


def test_fedavg_over_onion_circuits_beats_the_baseline() -> None:
    registered: list[TaskKey] = []
    key_task_id = [b"\x5a" * 32]
    committed: list[Transmission] = []
    invalidated: list[Sequence[DestroyReport]] = []

    async def on_task_key(key: TaskKey, members: Sequence[bytes], signature: bytes) -> None:
        assert len(members) == NODES
        digest = members_digest(key_task_id[0], fedavg_program_hash(), list(members))
        assert recover_hash_signer(digest, signature) == key.address
        registered.append(key)

    async def on_transmission(item: Transmission) -> None:
        committed.append(item)

    async def on_destroyed(reports: Sequence[DestroyReport]) -> None:
        invalidated.append(reports)

    async def main() -> None:
        sp = derive(b"fl-test", 1)
        before = set(leftover_sandboxes())
        async with local_overlay(5, host_prefix="127.0.4.") as routers:
            courier = Courier(routers=routers, hops=3)
            result = await run_fl_task(
                FLConfig(nodes=NODES, rounds=ROUNDS, host_prefix="127.0.5."),
                sp=sp,
                courier=courier,
                task_id=key_task_id[0],
                hooks=FLHooks(on_task_key, on_transmission, on_destroyed),
            )
        assert result.onion
        assert courier.messages == len(result.transmissions)
        assert result.program_hash == fedavg_program_hash()
        # Accuracy: every round beats the trivial baseline, the last by a wide margin.
        assert len(result.rounds) == ROUNDS
        assert all(r.accuracy > result.baseline_accuracy + 0.3 for r in result.rounds)
        assert result.final_accuracy > 0.85
        assert result.final_accuracy > result.baseline_accuracy + 0.6
        assert all(r.seconds > 0 for r in result.rounds)
        # The delivered result is the verified final model, its hash what the channel records.
        assert fedavg.decode_model(result.result).round == ROUNDS
        assert result.result_hash == keccak256(result.result)
        # Transmissions: wrapped keys, config/model/data per node, then per round the updates, the next
        # global model (not after the last round) and the result to the SP. The hook saw every one.
        kinds = [t.kind for t in result.transmissions]
        assert kinds.count("key") == NODES
        assert kinds.count("data") == kinds.count("config") == NODES
        assert kinds.count("update") == NODES * ROUNDS
        assert kinds.count("model") == NODES + NODES * (ROUNDS - 1)
        assert kinds.count("result") == ROUNDS
        assert committed == list(result.transmissions)
        assert {t.receiver for t in result.transmissions if t.kind == "update"} == {"global"}
        # Step 4 and step 10: the key went to the hook before use; every sandbox was destroyed and zeroised.
        assert registered == [result.task_key]
        assert result.task_id == key_task_id[0]
        assert len(result.member_keys) == NODES
        assert len(result.destroy_reports) == NODES + 1
        assert all(r.zeroised and r.process_gone and r.directory_removed for r in result.destroy_reports)
        assert all(r.public_keys[-1] == result.task_key.public_key for r in result.destroy_reports)
        assert [tuple(reports) for reports in invalidated] == [result.destroy_reports]
        assert set(leftover_sandboxes()) <= before

    asyncio.run(main())


class TamperingCourier(Courier):
    """A courier whose network flips one bit of every data shard on the way (a malicious link)."""

    async def send(self, local_host: str, exit_info: ExitInfo, data: bytes, account: str = "") -> bytes:
        if local_host.endswith(".3"):  # the data owner's address
            data = data[:-1] + bytes([data[-1] ^ 1])
        return await super().send(local_host, exit_info, data, account)


def test_a_tampered_injection_fails_the_task_and_destroys_every_sandbox() -> None:
    async def main() -> None:
        before = set(leftover_sandboxes())
        with pytest.raises(FLTaskError, match="refused the data from owner: err:input_rejected"):
            await run_fl_task(FLConfig(nodes=3, rounds=1, host_prefix="127.0.6."), courier=TamperingCourier())
        assert set(leftover_sandboxes()) <= before

    asyncio.run(main())


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="at least one node"):
        FLConfig(nodes=0)
    with pytest.raises(ValueError, match="need 4 server keys"):
        asyncio.run(run_fl_task(FLConfig(nodes=3), servers=[derive(b"x", 0)]))
    with pytest.raises(ValueError, match="one shard per local node"):
        asyncio.run(run_fl_task(FLConfig(nodes=3), split=split_digits(2)))


def test_bench_smoke_writes_the_report_and_keeps_other_summary_keys(tmp_path: Path) -> None:
    from rich.console import Console

    from offchain.web3compute.fl.bench import BenchSize, run

    (tmp_path / "summary.json").write_text(json.dumps({"channel_updates_per_s": 1234}))
    values = run(tmp_path, BenchSize(rounds=2, node_counts=(3,), routers=4), Console(quiet=True))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["channel_updates_per_s"] == 1234
    assert summary["fl_final_accuracy"] == values["fl_final_accuracy"] > values["fl_baseline_accuracy"]
    for name in ("web3compute-fl.md", "fl_accuracy.png", "fl_round_time.png", "fedavg_per_round.csv"):
        assert (tmp_path / name).stat().st_size > 0
    rows = (tmp_path / "fedavg_per_round.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 2  # header + 2 rounds x (onion, direct)


def test_sandboxes_starved_of_memory_fail_the_task_cleanly() -> None:
    async def main() -> None:
        before = set(leftover_sandboxes())
        # Here: enough address space for the runtime, too little for the program's NumPy import in round 1
        # (elsewhere the runtime itself may not start). Either way the task fails and nothing is left.
        starved = ResourceLimits(memory_bytes=64 << 20)
        pattern = r"ProgramFailed: the program raised (ImportError|MemoryError)|sandbox creation failed"
        with pytest.raises(FLTaskError, match=pattern):
            await run_fl_task(FLConfig(nodes=3, rounds=1, limits=starved, host_prefix="127.0.9."))
        assert set(leftover_sandboxes()) <= before

    asyncio.run(main())

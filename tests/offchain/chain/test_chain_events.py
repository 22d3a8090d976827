"""EventWatcher and get_events against a private anvil."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from offchain.chain import EventWatcher, TransactionSender, get_events


@pytest.fixture(scope="module")
def emitter(w3: Web3, dev_keys: list[LocalAccount]) -> TransactionSender:
    return TransactionSender(w3, dev_keys[7], receipt_timeout=30)


def _values(events: list[Any]) -> list[int]:
    return [ev["args"]["value"] for ev in events]


def test_poll_returns_each_event_once_in_order(w3: Web3, emitter: TransactionSender, probe: Contract) -> None:
    watcher = EventWatcher(w3, probe, "Stored", from_block=w3.eth.block_number + 1, poll_interval=0.05)
    assert watcher.poll() == []

    emitter.send_many([probe.functions.store(v) for v in (11, 12, 13)])
    first = watcher.poll()
    assert _values(first) == [11, 12, 13]
    assert all(ev["event"] == "Stored" and ev["args"]["by"] == emitter.address for ev in first)
    assert watcher.poll() == []

    emitter.send(probe.functions.store(14))
    emitter.send(probe.functions.store(15))
    second = watcher.poll()
    assert _values(second) == [14, 15]
    assert watcher.poll() == []
    keys = [(ev["blockNumber"], ev["logIndex"]) for ev in first + second]
    assert keys == sorted(keys)
    seqs = [ev["args"]["seq"] for ev in first + second]
    assert seqs == list(range(seqs[0], seqs[0] + 5))


def test_small_ranges_give_same_events(w3: Web3, emitter: TransactionSender, probe: Contract) -> None:
    start = w3.eth.block_number + 1
    emitter.send_many([probe.functions.store(v) for v in (21, 22, 23, 24)])
    chunked = EventWatcher(w3, probe, "Stored", from_block=start, max_range=1).poll()
    assert _values(chunked) == [21, 22, 23, 24]
    assert _values(get_events(probe, "Stored", start, "latest", max_range=3)) == [21, 22, 23, 24]
    assert get_events(probe, "Stored", start + 100, start + 50) == []


def test_confirmations_hold_back_recent_blocks(w3: Web3, emitter: TransactionSender, probe: Contract) -> None:
    start = w3.eth.block_number + 1
    watcher = EventWatcher(w3, probe, "Stored", from_block=start, confirmations=1)
    emitter.send(probe.functions.store(31))
    assert watcher.poll() == []  # its block has no confirmation yet
    emitter.send(probe.functions.store(32))
    assert _values(watcher.poll()) == [31]
    assert watcher.next_block == w3.eth.block_number


def test_unknown_event_name_fails_early(w3: Web3, probe: Contract) -> None:
    with pytest.raises(Exception, match="Nope"):
        EventWatcher(w3, probe, "Nope")


def test_stream_yields_live_events(w3: Web3, emitter: TransactionSender, probe: Contract) -> None:
    watcher = EventWatcher(w3, probe, "Stored", from_block="latest", poll_interval=0.05)
    watcher.poll()  # skip anything already mined

    def produce() -> None:
        time.sleep(0.3)
        for v in (41, 42, 43):
            emitter.send(probe.functions.store(v))

    async def consume() -> list[Any]:
        got: list[Any] = []
        async for ev in watcher.stream(timeout=20):
            got.append(ev)
            if len(got) == 3:
                watcher.stop()
        return got

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        got = asyncio.run(asyncio.wait_for(consume(), timeout=30))
    finally:
        producer.join(timeout=30)
    assert _values(got) == [41, 42, 43]
    assert watcher.poll() == []  # nothing delivered twice


def test_stream_stop_event_and_early_exit_keep_undelivered(
    w3: Web3, emitter: TransactionSender, probe: Contract
) -> None:
    start = w3.eth.block_number + 1
    emitter.send_many([probe.functions.store(v) for v in (51, 52, 53)])
    watcher = EventWatcher(w3, probe, "Stored", from_block=start, poll_interval=0.05)

    async def take_one() -> Any:
        async for ev in watcher.stream(timeout=10):
            return ev
        return None

    first = asyncio.run(take_one())
    assert first is not None
    assert first["args"]["value"] == 51
    assert _values(watcher.poll()) == [52, 53]  # the rest of the batch was kept, not lost

    async def until_stopped() -> list[Any]:
        stop = asyncio.Event()
        got: list[Any] = []

        async def stopper() -> None:
            await asyncio.sleep(0.2)
            stop.set()

        task = asyncio.create_task(stopper())
        async for ev in watcher.stream(stop=stop, timeout=10):
            got.append(ev)
        await task
        return got

    began = time.monotonic()
    assert asyncio.run(until_stopped()) == []
    assert time.monotonic() - began < 5

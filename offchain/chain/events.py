"""Reading contract events: bounded ``eth_getLogs`` queries and a polling watcher.

Semantics: the watcher assumes a reorg-free chain (the anvil devnet, or any chain when
``confirmations`` is large enough to be final). It remembers the next block to scan; each poll scans
``[next_block, head - confirmations]`` in ranges of at most ``max_range`` blocks, returns the decoded
events ordered by ``(blockNumber, logIndex)`` and moves ``next_block`` past the scanned range only
once the whole poll succeeded, so every event is delivered exactly once and in order. A reorg deeper
than ``confirmations`` would not be noticed: events of dropped blocks are not retracted and events
of replacement blocks already scanned are missed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier, EventData

__all__ = ["MAX_BLOCK_RANGE", "EventWatcher", "get_events"]

log = logging.getLogger(__name__)

MAX_BLOCK_RANGE = 2000
"""Most blocks covered by one ``eth_getLogs`` query (public nodes cap ranges around this size)."""


def _resolve_block(w3: Web3, block: BlockIdentifier) -> int:
    if isinstance(block, int):
        return block
    if block == "earliest":
        return 0
    return int(w3.eth.get_block(block)["number"])


def _fetch(contract: Contract, event_name: str, start: int, end: int, max_range: int) -> list[EventData]:
    """Decoded ``event_name`` logs of blocks ``start..end`` (inclusive), in chunks of ``max_range``."""
    event = contract.events[event_name]()
    out: list[EventData] = []
    for chunk_start in range(start, end + 1, max_range):
        chunk_end = min(chunk_start + max_range - 1, end)
        out.extend(event.get_logs(from_block=chunk_start, to_block=chunk_end))
    out.sort(key=lambda ev: (ev["blockNumber"], ev["logIndex"]))
    return out


def get_events(
    contract: Contract,
    event_name: str,
    from_block: BlockIdentifier = 0,
    to_block: BlockIdentifier = "latest",
    *,
    max_range: int = MAX_BLOCK_RANGE,
) -> list[EventData]:
    """All decoded ``event_name`` events of ``contract`` in ``[from_block, to_block]``, in order.

    Queries ``eth_getLogs`` in ranges of at most ``max_range`` blocks.
    """
    w3 = contract.w3
    start = _resolve_block(w3, from_block)
    end = _resolve_block(w3, to_block)
    if end < start:
        return []
    return _fetch(contract, event_name, start, end, max_range)


class EventWatcher:
    """Delivers each ``event_name`` event of ``contract`` from ``from_block`` on exactly once, in order.

    Use :meth:`poll` from synchronous code (returns the events new since the previous call) or
    ``async for ev in watcher.stream(): ...`` from asyncio code; :meth:`stop` ends a running stream
    (from any thread). See the module docstring for the reorg-free semantics.
    """

    def __init__(
        self,
        w3: Web3,
        contract: Contract,
        event_name: str,
        from_block: BlockIdentifier = "latest",
        poll_interval: float = 0.5,
        *,
        max_range: int = MAX_BLOCK_RANGE,
        confirmations: int = 0,
    ) -> None:
        if max_range < 1:
            raise ValueError("max_range must be >= 1")
        # Fail early on a typo rather than at the first poll.
        contract.events[event_name]
        self.w3 = w3
        self.contract = contract
        self.event_name = event_name
        self.poll_interval = poll_interval
        self.max_range = max_range
        self.confirmations = confirmations
        self._next_block = _resolve_block(w3, from_block)
        self._lock = threading.RLock()
        self._undelivered: deque[EventData] = deque()
        self._stop = threading.Event()

    @property
    def next_block(self) -> int:
        """First block the next poll scans (everything before it was delivered)."""
        return self._next_block

    def poll(self) -> list[EventData]:
        """Events mined since the previous poll (or since ``from_block``), in chain order."""
        with self._lock:
            events = list(self._undelivered)
            self._undelivered.clear()
            events.extend(self._scan())
            return events

    def _scan(self) -> list[EventData]:
        head = int(self.w3.eth.block_number) - self.confirmations
        if head < self._next_block:
            return []
        events = _fetch(self.contract, self.event_name, self._next_block, head, self.max_range)
        self._next_block = head + 1
        if events:
            log.debug("%s: %d new events up to block %d", self.event_name, len(events), head)
        return events

    def stop(self) -> None:
        """Ask a running :meth:`stream` to finish (it returns within about ``poll_interval``)."""
        self._stop.set()

    async def stream(
        self, *, stop: asyncio.Event | None = None, timeout: float | None = None
    ) -> AsyncIterator[EventData]:
        """Yield events as they are mined until :meth:`stop`, ``stop`` is set, or ``timeout`` seconds.

        Polls in a worker thread every ``poll_interval`` seconds so the event loop is never blocked.
        Events fetched but not yet yielded when the stream ends (stop request, or the consumer
        leaving the ``async for``) are kept and delivered by the next :meth:`poll`/:meth:`stream`.
        """
        self._stop.clear()
        deadline = None if timeout is None else time.monotonic() + timeout

        def stop_requested() -> bool:
            return self._stop.is_set() or (stop is not None and stop.is_set())

        def finished() -> bool:
            return stop_requested() or (deadline is not None and time.monotonic() >= deadline)

        while not finished():
            batch = await asyncio.to_thread(self.poll)
            with self._lock:  # park the batch so an early exit keeps what was not yielded
                self._undelivered.extendleft(reversed(batch))
            while not stop_requested():
                with self._lock:
                    if not self._undelivered:
                        break
                    event = self._undelivered.popleft()
                yield event
            await self._sleep(finished)

    async def _sleep(self, finished: Callable[[], bool]) -> None:
        """Sleep ``poll_interval`` in small steps so stop requests are honoured promptly."""
        end = time.monotonic() + self.poll_interval
        while not finished():
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.05))

"""A watchtower (spec 004 R11, E4): answers a stale unilateral close with the newest co-signed state.

It follows ``ChannelClosing`` and ``ChannelChallenged`` events of the manager (``offchain.chain.events``)
for the channels it guards; whenever the state put under challenge is older than the newest co-signed
state in the guarded party's store, it sends ``challenge`` with that state before the deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier, EventData

from offchain.chain.errors import ChainError
from offchain.chain.events import EventWatcher
from offchain.web3compute.chain import ChannelManagerClient
from offchain.web3compute.channel import ChannelParty

log = logging.getLogger(__name__)

EVENTS = ("ChannelClosing", "ChannelChallenged")


@dataclass(frozen=True)
class Correction:
    """A challenge the watchtower sent."""

    channel_id: bytes
    stale_nonce: int
    newest_nonce: int
    tx_hash: str
    gas_used: int


class Watchtower:
    """Guards the channels in ``parties`` (by channel id); the mapping may change while it runs."""

    def __init__(
        self,
        w3: Web3,
        manager: Contract,
        client: ChannelManagerClient,
        parties: Mapping[bytes, ChannelParty],
        *,
        from_block: BlockIdentifier = "latest",
        poll_interval: float = 0.2,
    ) -> None:
        self.client = client
        self.parties = parties
        self.watchers = [EventWatcher(w3, manager, name, from_block, poll_interval) for name in EVENTS]
        self.corrections: list[Correction] = []
        self.errors: list[str] = []

    def check(self) -> list[Correction]:
        """Handle every event mined since the previous check; returns the challenges sent now."""
        events = sorted(
            (event for watcher in self.watchers for event in watcher.poll()),
            key=lambda ev: (ev["blockNumber"], ev["logIndex"]),
        )
        sent = [c for c in (self._handle(event) for event in events) if c is not None]
        self.corrections.extend(sent)
        return sent

    def _handle(self, event: EventData) -> Correction | None:
        channel_id = bytes(event["args"]["channelId"])
        party = self.parties.get(channel_id)
        if party is None:
            return None
        stale_nonce = int(event["args"]["nonce"])
        newest = party.latest_signed
        if newest is None or newest.state.nonce <= stale_nonce:
            return None
        try:
            receipt = self.client.challenge(newest, party.info)
        except ChainError as exc:  # e.g. a newer challenge already landed, or the period is over
            self.errors.append(f"{channel_id.hex()}: {exc}")
            log.warning("watchtower: challenge of %s failed: %s", channel_id.hex(), exc)
            return None
        log.info(
            "watchtower: answered nonce %d with %d on %s", stale_nonce, newest.state.nonce, channel_id.hex()
        )
        return Correction(
            channel_id,
            stale_nonce,
            newest.state.nonce,
            receipt["transactionHash"].to_0x_hex(),
            receipt["gasUsed"],
        )

    async def run(self, stop: asyncio.Event, interval: float = 0.2) -> None:
        """Check every ``interval`` seconds (chain calls off the event loop) until ``stop`` is set."""
        while not stop.is_set():
            await asyncio.to_thread(self.check)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                continue

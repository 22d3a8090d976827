"""An onion router (OR): a TCP service that peels one layer per cell and learns only the next hop.

Per connection: read exactly one cell, peel it (:func:`.cells.peel`), open a connection to the next hop,
forward, wait for the fixed-size reply, add this router's reply layer and send it back. A cell that is
short, does not authenticate, fails its payload MAC, names an unusable next hop or replays an earlier
layer is dropped with a logged reason; the router keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Self

from offchain.crypto.keys import KeyPair
from offchain.web3compute.onion.cells import (
    DEFAULT_FORMAT,
    CellFormat,
    Command,
    MalformedCell,
    peel,
    wrap_reply,
)
from offchain.web3compute.onion.transport import (
    Observation,
    TcpService,
    close,
    connect,
    peer_host,
    read_exactly,
)

LOG = logging.getLogger(__name__)


class OnionRouter(TcpService):
    """One onion router listening on ``host:port`` (``port=0``: any free port)."""

    def __init__(
        self,
        keypair: KeyPair,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        fmt: CellFormat = DEFAULT_FORMAT,
        name: str = "",
        timeout: float = 10.0,
        replay_cache_size: int = 65_536,
        bind_outgoing: bool = True,
    ) -> None:
        self.keypair = keypair
        self.host = host
        self.port = port
        self.fmt = fmt
        self.name = name or f"or@{host}"
        self.timeout = timeout
        self.bind_outgoing = bind_outgoing
        self.observations: list[Observation] = []
        self._replay: OrderedDict[bytes, None] = OrderedDict()
        self._replay_size = replay_cache_size
        self._server: asyncio.Server | None = None

    @property
    def drops(self) -> list[Observation]:
        return [item for item in self.observations if item.outcome == "dropped"]

    async def start(self) -> Self:
        await super().start()
        LOG.info("%s listening on %s", self.name, self.address)
        return self

    def _seen(self, tag: bytes) -> bool:
        if tag in self._replay:
            return True
        self._replay[tag] = None
        if len(self._replay) > self._replay_size:
            self._replay.popitem(last=False)
        return False

    def _drop(
        self, predecessor: str, reason: str, received: int, successor: str = "", started: float = 0.0
    ) -> None:
        LOG.warning("%s: dropped a cell from %s: %s", self.name, predecessor, reason)
        self.observations.append(Observation(predecessor, successor, "dropped", reason, received, 0, started))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        predecessor = peer_host(writer)
        started = time.monotonic()
        try:
            await self._serve(predecessor, reader, writer, started)
        except Exception as exc:  # never let one connection take the router down
            self._drop(predecessor, f"internal error: {type(exc).__name__}", 0, started=started)
        finally:
            await close(writer)

    async def _serve(
        self, predecessor: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, started: float
    ) -> None:
        try:
            cell = await read_exactly(reader, self.fmt.cell_size, self.timeout)
        except ValueError as exc:
            self._drop(predecessor, str(exc), 0, started=started)
            return
        try:
            layer = peel(self.keypair, cell, self.fmt)
        except MalformedCell as exc:
            self._drop(predecessor, exc.reason, len(cell), started=started)
            return
        if self._seen(layer.replay_tag):
            self._drop(predecessor, "replayed layer", len(cell), started=started)
            return
        try:
            next_reader, next_writer = await connect(
                layer.next_hop, self.host if self.bind_outgoing else None, self.timeout
            )
        except (OSError, TimeoutError, ValueError) as exc:
            self._drop(
                predecessor, f"next hop unreachable: {type(exc).__name__}", len(cell), layer.next_hop, started
            )
            return
        try:
            next_writer.write(layer.outgoing)
            await next_writer.drain()
            reply = await read_exactly(next_reader, self.fmt.reply_size, self.timeout)
        except (OSError, ValueError) as exc:
            self._drop(predecessor, f"no reply from next hop: {exc}", len(cell), layer.next_hop, started)
            return
        finally:
            await close(next_writer)
        writer.write(wrap_reply(layer.reply_key, reply))
        await writer.drain()
        outcome = "delivered" if layer.command is Command.DELIVER else "relayed"
        self.observations.append(
            Observation(predecessor, layer.next_hop, outcome, "", len(cell), len(layer.outgoing), started)
        )

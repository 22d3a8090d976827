"""The few asyncio stream helpers every onion service shares (one cell per connection)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Self

from offchain.web3compute.onion.cells import split_address


class TcpService:
    """The life cycle shared by every onion service: listen on ``host:port`` (``port=0``: any free port,
    read back after :meth:`start`), serve each connection with :meth:`_handle`, stop cleanly."""

    host: str
    port: int
    _server: asyncio.Server | None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()


@dataclass(frozen=True)
class Observation:
    """What one service saw of one cell: who handed it over and where it went (for logs and tests)."""

    predecessor: str
    """The peer's IP address as the TCP connection shows it."""
    successor: str
    """``host:port`` the cell went to (empty when nothing was forwarded)."""
    outcome: str
    """``relayed``, ``delivered``, ``answered`` or ``dropped``."""
    reason: str = ""
    received_bytes: int = 0
    sent_bytes: int = 0
    started: float = 0.0
    """``time.monotonic()`` when the connection was accepted."""
    finished: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the service was done with the cell (reply sent, or dropped)."""


async def connect(
    address: str, local_host: str | None, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection to ``host:port``, from ``local_host`` when given (so that, on loopback, the
    peer sees which service connected: every service owns one 127.0.0.0/8 address)."""
    host, port = split_address(address)
    local_addr = (local_host, 0) if local_host else None
    return await asyncio.wait_for(asyncio.open_connection(host, port, local_addr=local_addr), timeout)


async def read_exactly(reader: asyncio.StreamReader, size: int, timeout: float) -> bytes:
    """``size`` bytes or ``ValueError`` with a reason (short read, timeout)."""
    try:
        return await asyncio.wait_for(reader.readexactly(size), timeout)
    except asyncio.IncompleteReadError as exc:
        raise ValueError(f"short read: {len(exc.partial)} of {size} bytes") from None
    except TimeoutError:
        raise ValueError(f"timed out waiting for {size} bytes") from None


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


def peer_host(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if peer else "?"

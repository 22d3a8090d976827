"""The Exit: a sandbox endpoint that receives payloads from the last router and answers them.

In seed 004 the Exit is the destination (a computing sandbox, or the SP for the result), not a Tor-style
exit relay. The endpoint opens the end-to-end layer with its key (the sandbox key), hands the plaintext to
its handler and seals the handler's answer back to the proxy; what arrives not sealed to it is dropped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from offchain.crypto.keys import KeyPair
from offchain.web3compute.onion.cells import DEFAULT_FORMAT, CellFormat, MalformedCell
from offchain.web3compute.onion.e2e import max_reply_size, open_request, seal_reply
from offchain.web3compute.onion.transport import Observation, TcpService, close, peer_host, read_exactly

LOG = logging.getLogger(__name__)

Handler = Callable[[bytes], Awaitable[bytes] | bytes]


@dataclass(frozen=True)
class Delivery:
    """One message the endpoint received, with the address it came from (the last router)."""

    predecessor: str
    data: bytes


async def echo(data: bytes) -> bytes:
    return data


class SandboxEndpoint(TcpService):
    """A TCP service reached through onion circuits; ``handler`` maps a request to its reply."""

    def __init__(
        self,
        keypair: KeyPair,
        handler: Handler = echo,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        fmt: CellFormat = DEFAULT_FORMAT,
        name: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.keypair = keypair
        self.handler = handler
        self.host = host
        self.port = port
        self.fmt = fmt
        self.name = name or f"exit@{host}"
        self.timeout = timeout
        self.observations: list[Observation] = []
        self.deliveries: list[Delivery] = []
        self._server: asyncio.Server | None = None

    @property
    def public_key(self) -> bytes:
        return self.keypair.compressed_public_key

    def _drop(self, predecessor: str, reason: str, received: int) -> None:
        LOG.warning("%s: dropped a payload from %s: %s", self.name, predecessor, reason)
        self.observations.append(Observation(predecessor, "", "dropped", reason, received))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        predecessor = peer_host(writer)
        try:
            payload = await read_exactly(reader, self.fmt.payload_size, self.timeout)
            try:
                data, reply_key = open_request(self.keypair, payload)
            except MalformedCell as exc:
                self._drop(predecessor, exc.reason, len(payload))
                return
            self.deliveries.append(Delivery(predecessor, data))
            answer = self.handler(data)
            reply = await answer if inspect.isawaitable(answer) else answer
            if len(reply) > max_reply_size(self.fmt.payload_size):
                self._drop(
                    predecessor, f"handler reply of {len(reply)} bytes does not fit a cell", len(payload)
                )
                return
            sealed = seal_reply(reply_key, reply, self.fmt.payload_size)
            writer.write(sealed)
            await writer.drain()
            self.observations.append(Observation(predecessor, "", "answered", "", len(payload), len(sealed)))
        except ValueError as exc:
            self._drop(predecessor, str(exc), 0)
        except Exception as exc:  # a failing handler must not take the endpoint down
            self._drop(predecessor, f"internal error: {type(exc).__name__}", 0)
        finally:
            await close(writer)

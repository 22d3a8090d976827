"""How FL messages travel: through onion circuits from the on-chain directory (spec R25), or directly.

Every message a sandbox sends or receives is first sealed by the sandbox envelope (to the task key or the
SP); the courier adds the onion's end-to-end layer to the receiving server's Exit and the per-hop layers.
A computing server's Exit (:class:`~offchain.web3compute.onion.endpoint.SandboxEndpoint`) uses the
server's transport key (its RSC encryption key), never the sandbox key, which stays in the sandbox.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from offchain.crypto.keys import derive
from offchain.web3compute.onion.cells import CellFormat, MalformedCell
from offchain.web3compute.onion.directory import RouterInfo
from offchain.web3compute.onion.e2e import max_request_size, open_reply, seal_request
from offchain.web3compute.onion.proxy import CircuitError, ExitInfo, OnionProxy
from offchain.web3compute.onion.router import OnionRouter
from offchain.web3compute.onion.transport import close, connect, read_exactly

FL_CELL_FORMAT = CellFormat(max_hops=6, payload_size=64 * 1024)
"""One cell carries a data shard of a 3-node split (about 31 KB) or a model (2.6 KB)."""


@dataclass
class Courier:
    """Sends one message from a sender's address to an Exit and returns the Exit's answer.

    With ``routers`` (the directory, e.g. :func:`offchain.web3compute.onion.directory.fetch_routers` of
    RSC) every message takes a fresh circuit of ``hops`` routers; without, it goes straight to the Exit
    (still sealed end to end): the "traditional routing" baseline.
    """

    routers: Sequence[RouterInfo] | None = None
    hops: int = 3
    fmt: CellFormat = FL_CELL_FORMAT
    timeout: float = 60.0
    sent_bytes: int = field(default=0, init=False)
    """Bytes on every link, both ways (requests and replies), of all messages sent."""
    messages: int = field(default=0, init=False)

    @property
    def onion(self) -> bool:
        return self.routers is not None

    @property
    def capacity(self) -> int:
        return max_request_size(self.fmt.payload_size)

    async def send(self, local_host: str, exit_info: ExitInfo, data: bytes, account: str = "") -> bytes:
        if len(data) > self.capacity:
            raise ValueError(f"message of {len(data)} bytes exceeds one cell ({self.capacity} bytes)")
        self.messages += 1
        if self.routers is not None:
            proxy = OnionProxy(
                self.routers, fmt=self.fmt, local_host=local_host, account=account, timeout=self.timeout
            )
            # Cells on the k links up to the last router, the payload to the Exit, a reply on every link.
            forward = self.hops * self.fmt.cell_size + self.fmt.payload_size
            self.sent_bytes += forward + (self.hops + 1) * self.fmt.reply_size
            return await proxy.send(proxy.build_circuit(exit_info, self.hops), data)
        self.sent_bytes += self.fmt.payload_size + self.fmt.reply_size
        payload, reply_key = seal_request(exit_info.public_key, data, self.fmt.payload_size)
        try:
            reader, writer = await connect(exit_info.address, local_host, self.timeout)
        except (OSError, TimeoutError) as exc:
            raise CircuitError(f"{exit_info.address} unreachable: {type(exc).__name__}") from exc
        try:
            writer.write(payload)
            await writer.drain()
            reply = await read_exactly(reader, self.fmt.reply_size, self.timeout)
        except (OSError, ValueError) as exc:
            raise CircuitError(f"no reply from {exit_info.address}: {exc}") from exc
        finally:
            await close(writer)
        try:
            return open_reply(reply_key, reply)
        except MalformedCell as exc:
            raise CircuitError(exc.reason) from exc


@contextlib.asynccontextmanager
async def local_overlay(
    count: int = 5, fmt: CellFormat = FL_CELL_FORMAT, host_prefix: str = "127.0.2.", seed: bytes = b"fl-or"
) -> AsyncIterator[list[RouterInfo]]:
    """``count`` onion routers on loopback (for the bench and tests; the workflow reads RSC instead)."""
    routers = [
        await OnionRouter(
            derive(seed, i), host=f"{host_prefix}{10 + i}", fmt=fmt, name=f"OR{i}", timeout=60
        ).start()
        for i in range(count)
    ]
    try:
        yield [
            RouterInfo(f"0x{0xF1 << 152 | i:040x}", router.address, router.keypair.compressed_public_key)
            for i, router in enumerate(routers)
        ]
    finally:
        for router in routers:
            await router.stop()

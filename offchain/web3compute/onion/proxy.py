"""The onion proxy (OP): picks circuits from the on-chain directory and sends messages through them.

A :class:`Circuit` is a path of ``k`` routers (default 3, the paper's example) to one Exit. Every message
on it is a fresh onion (new ephemeral keys per hop, the paper's per-message layering), and its reply comes
back over the same TCP connections.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from offchain.chain.registry import RegistryClient
from offchain.web3compute.onion.cells import (
    DEFAULT_FORMAT,
    CellFormat,
    MalformedCell,
    build_onion,
    unwrap_reply,
)
from offchain.web3compute.onion.directory import RouterInfo, fetch_routers, select_path
from offchain.web3compute.onion.e2e import open_reply, seal_request
from offchain.web3compute.onion.transport import close, connect, read_exactly

DEFAULT_HOPS = 3


class CircuitError(Exception):
    """A message did not make the round trip: a hop dropped it, was unreachable, or the reply was forged."""


@dataclass(frozen=True)
class ExitInfo:
    """Where the Exit (sandbox endpoint) listens and the key its payloads are sealed to."""

    address: str
    public_key: bytes


@dataclass(frozen=True)
class Circuit:
    routers: tuple[RouterInfo, ...]
    exit: ExitInfo

    @property
    def hops(self) -> int:
        return len(self.routers)


class OnionProxy:
    """Sends messages through onion circuits; ``local_host`` is the address it connects from."""

    def __init__(
        self,
        routers: Sequence[RouterInfo],
        *,
        fmt: CellFormat = DEFAULT_FORMAT,
        local_host: str | None = None,
        account: str = "",
        timeout: float = 15.0,
        rng: random.Random | None = None,
    ) -> None:
        self.routers = list(routers)
        self.fmt = fmt
        self.local_host = local_host
        self.account = account
        self.timeout = timeout
        self.rng = rng

    @classmethod
    def from_registry(cls, registry: RegistryClient, **kwargs: object) -> OnionProxy:
        """A proxy whose directory is the active onion routers of RSC (spec R21)."""
        return cls(fetch_routers(registry), **kwargs)  # type: ignore[arg-type]

    def refresh(self, registry: RegistryClient) -> None:
        """Re-read the directory (inactive routers disappear, rotated keys take effect)."""
        self.routers = fetch_routers(registry)

    def build_circuit(
        self, exit_info: ExitInfo, k: int = DEFAULT_HOPS, exclude: Sequence[str] = ()
    ) -> Circuit:
        """``k`` distinct routers, never the proxy's own account nor the Exit (spec R22)."""
        banned = [*exclude, exit_info.address]
        if self.account:
            banned.append(self.account)
        if k > self.fmt.max_hops:
            raise ValueError(f"this cell format carries at most {self.fmt.max_hops} hops")
        return Circuit(tuple(select_path(self.routers, k, banned, self.rng)), exit_info)

    async def send(self, circuit: Circuit, data: bytes) -> bytes:
        """Deliver ``data`` to the circuit's Exit and return its reply; :class:`CircuitError` otherwise."""
        payload, reply_key = seal_request(circuit.exit.public_key, data, self.fmt.payload_size)
        onion = build_onion(
            [router.hop for router in circuit.routers], circuit.exit.address, payload, self.fmt
        )
        try:
            reader, writer = await connect(onion.first_hop, self.local_host, self.timeout)
        except (OSError, TimeoutError) as exc:
            raise CircuitError(f"first hop {onion.first_hop} unreachable: {type(exc).__name__}") from exc
        try:
            writer.write(onion.cell)
            await writer.drain()
            reply = await read_exactly(reader, self.fmt.reply_size, self.timeout)
        except (OSError, ValueError) as exc:
            raise CircuitError(f"no reply through the circuit (a hop dropped the cell?): {exc}") from exc
        finally:
            await close(writer)
        try:
            return open_reply(reply_key, unwrap_reply(onion.reply_keys, reply, self.fmt))
        except MalformedCell as exc:
            raise CircuitError(exc.reason) from exc

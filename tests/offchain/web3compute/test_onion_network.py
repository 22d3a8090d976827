"""Real TCP onion routers on loopback: delivery and reply, what each router sees, drops that never crash.

Every service owns one 127.0.0.0/8 address and connects out from it, so a router's view of its
predecessor (the TCP peer address) names the service that handed it the cell.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from offchain.crypto.keys import derive
from offchain.web3compute.onion.adversary import Sent, correlate, success_rate
from offchain.web3compute.onion.cells import CellFormat, build_onion
from offchain.web3compute.onion.directory import RouterInfo
from offchain.web3compute.onion.e2e import seal_request
from offchain.web3compute.onion.endpoint import SandboxEndpoint
from offchain.web3compute.onion.proxy import CircuitError, ExitInfo, OnionProxy
from offchain.web3compute.onion.router import OnionRouter
from offchain.web3compute.onion.transport import connect

FMT = CellFormat(max_hops=6, payload_size=2048)
PROXY_HOST = "127.0.0.2"
EXIT_HOST = "127.0.0.3"


@dataclass
class Overlay:
    routers: list[OnionRouter]
    exit: SandboxEndpoint
    proxy: OnionProxy

    @property
    def exit_info(self) -> ExitInfo:
        return ExitInfo(self.exit.address, self.exit.public_key)

    def router_at(self, address: str) -> OnionRouter:
        return next(router for router in self.routers if router.address == address)


@asynccontextmanager
async def overlay(count: int = 5) -> AsyncIterator[Overlay]:
    routers = [
        await OnionRouter(
            derive(b"or", i), host=f"127.0.0.{11 + i}", fmt=FMT, name=f"OR{i}", timeout=3
        ).start()
        for i in range(count)
    ]

    async def sandbox(data: bytes) -> bytes:
        return b"ack:" + data[::-1]

    exit_node = await SandboxEndpoint(derive(b"exit", 0), sandbox, host=EXIT_HOST, fmt=FMT, timeout=3).start()
    infos = [
        RouterInfo(f"0x{i + 1:040x}", router.address, router.keypair.compressed_public_key)
        for i, router in enumerate(routers)
    ]
    try:
        yield Overlay(routers, exit_node, OnionProxy(infos, fmt=FMT, local_host=PROXY_HOST, timeout=5))
    finally:
        for router in routers:
            await router.stop()
        await exit_node.stop()


def run(test: Callable[[Overlay], Awaitable[None]], count: int = 5) -> None:
    async def main() -> None:
        async with overlay(count) as net:
            await test(net)

    asyncio.run(main())


async def send_raw(address: str, data: bytes) -> bytes:
    reader, writer = await connect(address, PROXY_HOST, 3)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    return answer


def test_three_hop_circuit_delivers_and_returns() -> None:
    async def check(net: Overlay) -> None:
        circuit = net.proxy.build_circuit(net.exit_info, k=3)
        assert circuit.hops == 3
        assert len({router.address for router in circuit.routers}) == 3
        for message in (b"inject dataset shard", b"", b"x" * 1900):
            assert await net.proxy.send(circuit, message) == b"ack:" + message[::-1]
        assert [delivery.data for delivery in net.exit.deliveries][-1] == b"x" * 1900

    run(check)


def test_each_router_sees_only_its_predecessor_and_successor(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def check(net: Overlay) -> None:
        circuit = net.proxy.build_circuit(net.exit_info, k=3)
        secret = b"the sandbox's private training data"
        await net.proxy.send(circuit, secret)
        chain = [PROXY_HOST, *(router.address for router in circuit.routers), net.exit.address]
        hosts = [address.split(":")[0] for address in chain]
        for index, info in enumerate(circuit.routers, start=1):
            router = net.router_at(info.address)
            assert len(router.observations) == 1
            seen = router.observations[0]
            assert seen.predecessor == hosts[index - 1]
            assert seen.successor == chain[index + 1]
            assert seen.outcome == ("delivered" if index == 3 else "relayed")
            assert seen.received_bytes == FMT.cell_size  # the same size at every hop
            others = set(hosts) - {hosts[index - 1], hosts[index], hosts[index + 1].split(":")[0]}
            assert not others & {seen.predecessor, seen.successor.split(":")[0]}
        assert net.exit.deliveries[0].predecessor == hosts[3]  # the Exit sees only OR_3
        # Only OR_1 saw the proxy, only OR_3 the Exit; routers off the circuit saw nothing.
        views = {r.address: r.observations for r in net.routers}
        assert [a for a, obs in views.items() if any(o.predecessor == PROXY_HOST for o in obs)] == [chain[1]]
        assert [a for a, obs in views.items() if any(o.successor == net.exit.address for o in obs)] == [
            chain[3]
        ]
        unused = [r for r in net.routers if r.address not in chain]
        assert unused
        assert all(not r.observations for r in unused)

    run(check)
    assert "training data" not in caplog.text


def test_tampered_garbage_short_and_replayed_cells_are_dropped_and_the_router_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def check(net: Overlay) -> None:
        circuit = net.proxy.build_circuit(net.exit_info, k=3)
        first = net.router_at(circuit.routers[0].address)
        payload, _ = seal_request(net.exit.public_key, b"hi", FMT.payload_size)
        onion = build_onion([r.hop for r in circuit.routers], net.exit.address, payload, FMT)
        tampered = bytearray(onion.cell)
        tampered[FMT.header_size + 10] ^= 0xFF
        assert await send_raw(first.address, bytes(tampered)) == b""
        assert await send_raw(first.address, b"\x07" * FMT.cell_size) == b""
        assert await send_raw(first.address, b"short") == b""
        assert len(await send_raw(first.address, onion.cell)) == FMT.reply_size  # genuine: answered
        assert await send_raw(first.address, onion.cell) == b""  # the same cell again: a replay
        reasons = [obs.reason for obs in first.drops]
        assert any("MAC mismatch" in reason for reason in reasons)
        assert any("does not authenticate" in reason or "ephemeral" in reason for reason in reasons)
        assert any("short read" in reason for reason in reasons)
        assert "replayed layer" in reasons
        assert await net.proxy.send(circuit, b"still alive") == b"ack:" + b"still alive"[::-1]

    caplog.set_level(logging.WARNING)
    run(check)
    assert "dropped a cell" in caplog.text


def test_a_dead_next_hop_or_a_wrong_exit_key_fails_the_circuit_cleanly() -> None:
    async def check(net: Overlay) -> None:
        circuit = net.proxy.build_circuit(net.exit_info, k=3)
        middle = net.router_at(circuit.routers[1].address)
        await middle.stop()
        with pytest.raises(CircuitError, match="no reply"):
            await net.proxy.send(circuit, b"lost")
        first = net.router_at(circuit.routers[0].address)
        assert "next hop unreachable" in first.drops[-1].reason
        await middle.start()  # same port again
        wrong = ExitInfo(net.exit.address, derive(b"not-the-exit", 0).compressed_public_key)
        with pytest.raises(CircuitError):
            await net.proxy.send(net.proxy.build_circuit(wrong, k=2), b"to the wrong key")
        assert "not sealed to this Exit" in net.exit.observations[-1].reason
        assert await net.proxy.send(circuit, b"back") == b"ack:kcab"

    run(check)


def test_path_selection_excludes_the_exit_and_the_proxy_and_needs_enough_routers() -> None:
    async def check(net: Overlay) -> None:
        proxy = OnionProxy(net.proxy.routers, fmt=FMT, account=net.proxy.routers[0].account)
        for _ in range(30):
            circuit = proxy.build_circuit(net.exit_info, k=4)
            assert net.proxy.routers[0] not in circuit.routers
        with pytest.raises(ValueError, match="needs 5"):
            proxy.build_circuit(net.exit_info, k=5)
        with pytest.raises(ValueError, match="at most 6"):
            net.proxy.build_circuit(net.exit_info, k=7)

    run(check, count=5)


@pytest.mark.parametrize("k", [1, 3])
def test_colluding_routers_locate_the_sandbox_exactly_when_they_hold_both_ends(k: int) -> None:
    """Timing correlation from the colluders' own logs (model (a)): a message is linked to its sender and
    sandbox if and only if OR_1 and OR_k are both colluders."""

    async def check(net: Overlay) -> None:
        colluders = net.routers[:3]
        colluding = {router.address for router in colluders}
        sent, expected = [], []
        for _ in range(24):
            circuit = net.proxy.build_circuit(net.exit_info, k=k)
            started = time.monotonic()
            await net.proxy.send(circuit, b"shard")
            sent.append(Sent(PROXY_HOST, net.exit.address, started, time.monotonic()))
            ends = {circuit.routers[0].address, circuit.routers[-1].address}
            expected.append(ends <= colluding)
        pooled = [obs for router in colluders for obs in router.observations]
        links = correlate(pooled, {router.host for router in net.routers})
        linked = [success_rate(links, [message]) == 1.0 for message in sent]
        assert linked == expected
        assert any(expected) or k == 3  # with 3 of 5 colluding, k = 1 links some messages
        assert success_rate(links, sent) == sum(expected) / len(sent)

    run(check, count=5)


def test_a_larger_cell_format_carries_a_model_sized_message() -> None:
    """The cell size is per overlay: 64 KiB payloads carry a 60 KB model in one message."""
    big = CellFormat(max_hops=4, payload_size=65_536)

    async def main() -> None:
        routers = [
            await OnionRouter(derive(b"big-or", i), host=f"127.0.0.{51 + i}", fmt=big).start()
            for i in range(3)
        ]
        sandbox = await SandboxEndpoint(derive(b"big-exit", 0), host="127.0.0.5", fmt=big).start()
        try:
            infos = [
                RouterInfo(f"0x{i + 1:040x}", r.address, r.keypair.compressed_public_key)
                for i, r in enumerate(routers)
            ]
            proxy = OnionProxy(infos, fmt=big, local_host=PROXY_HOST)
            model = bytes(range(256)) * 240
            circuit = proxy.build_circuit(ExitInfo(sandbox.address, sandbox.public_key), k=3)
            assert await proxy.send(circuit, model) == model
            assert all(r.observations[0].received_bytes == big.cell_size for r in routers)
        finally:
            for router in routers:
                await router.stop()
            await sandbox.stop()

    asyncio.run(main())

"""RSMS group authentication over HTTP: RN party agents on loopback, the User relaying (spec 002 §3.5)."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import AsyncExitStack

import pytest

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.agents.service import Agent
from offchain.resource_auth.agents import Wire, throwaway_key
from offchain.resource_auth.flows import World
from offchain.resource_auth.group import generator
from offchain.resource_auth.group_agents import (
    POINTS,
    SETUP,
    UPDATE,
    Frames,
    GroupRelay,
    PartyPeer,
    serve_party,
)
from offchain.resource_auth.group_auth import GroupManager
from offchain.resource_auth.messages import PartyPoint


async def _run(n: int, tamper: str) -> dict[str, object]:
    world = World.create(pools=2)
    nodes = [world.register_rn(1 + i % 2, f"rn-{i}".encode()) for i in range(n)]
    for node in nodes:
        world.initial_auth(node, node.credentials.pool_id)
    manager = GroupManager(world.msrp)
    user = world.party_for_user(world.register_user(b"alice"))
    agents = [Agent(throwaway_key(), name=f"rn-{i}", role="resource-node") for i in range(n)]
    parties = [world.party_for_rn(node) for node in nodes]
    for agent, party in zip(agents, parties, strict=True):
        serve_party(agent, party)
    out: dict[str, object] = {}
    async with AsyncExitStack() as stack:
        for agent in agents:
            await stack.enter_async_context(agent)
        client = await stack.enter_async_context(AgentClient(throwaway_key()))
        peers = [PartyPeer(p.pid, a.endpoint, a.address) for p, a in zip(parties, agents, strict=True)]
        relay = GroupRelay(user, peers, client)
        setups = manager.start_group(user.pid, [peer.pid for peer in peers])
        if tamper == "points":
            # a relay that swaps the User's C_1 for another point: every RN's membership check refuses
            points = list(user.on_setup(next(s for s in setups if s.recipient == user.pid)))
            points[1] = dataclasses.replace(points[1], point=points[1].point + generator())
            for setup in setups[1:]:
                peer = relay.peers[setup.recipient]
                answer = await client.call(
                    peer.endpoint, peer.address, SETUP, Wire.of(setup.to_bytes()), Frames
                )
                points.extend(PartyPoint.from_bytes(frame) for frame in answer.raw())
            broadcast = Frames.of([m.to_bytes() for m in points])  # the RN orders f(x_j)·P before C_j
            refusals = []
            for peer in peers:
                try:
                    await client.call(peer.endpoint, peer.address, POINTS, broadcast, Frames)
                except AgentCallError as exc:
                    refusals.append((exc.status, exc.code))
            out["refused"] = refusals
            return out
        key = await relay.agree(setups)
        out["key_is_msrps"] = key == manager.sessions[setups[0].session].s_serv
        out["answers"] = [await relay.exchange(peer, b"x") for peer in peers]
        updates = manager.update_group(setups[0].session, [peers[-1].pid])
        if tamper == "update":
            forged_update = dataclasses.replace(updates[1], q_point=updates[1].q_point + generator())
            target = relay.peers[forged_update.recipient]
            try:
                await client.call(
                    target.endpoint, target.address, UPDATE, Wire.of(forged_update.to_bytes()), Wire
                )
            except AgentCallError as exc:
                out["refused"] = (exc.status, exc.code)
            return out
        await relay.update(updates)
        out["after"] = [await relay.exchange(peer, b"y") for peer in peers[:-1]]
        try:
            await relay.exchange(peers[-1], b"y")
        except AgentCallError as exc:
            out["departed"] = (exc.status, exc.code)
    return out


@pytest.mark.parametrize("n", [1, 3])
def test_group_over_http_agrees_and_rekeys_when_an_rn_leaves(n: int) -> None:
    out = asyncio.run(_run(n, ""))
    assert out["key_is_msrps"] is True
    assert out["answers"] == [b"ack x"] * n
    assert out["after"] == [b"ack y"] * (n - 1)
    assert out["departed"] == (403, "decryption-failed")  # backward secrecy: the departed RN cannot read


def test_a_relay_that_alters_a_commitment_is_refused() -> None:
    assert asyncio.run(_run(2, "points"))["refused"] == [(403, "membership-check-failed")] * 2


def test_a_forged_key_update_is_refused() -> None:
    assert asyncio.run(_run(2, "update"))["refused"] == (403, "key-update-rejected")

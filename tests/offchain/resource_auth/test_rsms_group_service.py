"""The whole group protocol between network services on the devnet: the MSRP and the RPMs are agents found
in RSC, the RNs anonymous party agents found through their RPMs, the User a client; tampered, replayed and
wrong-party group messages at the MSRP's routes get 4xx with reasons."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import pytest
from eth_account import Account

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.agents.service import Agent
from offchain.chain.connection import connect, contract
from offchain.chain.deployments import load_deployments
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.deploy import Deployment, write_deployments
from offchain.resource_auth.agents import (
    Wire,
    approve_pending,
    find_msrp,
    find_rpm,
    pool_provider,
    rn_authenticate,
    serve_msrp,
    serve_rpm,
    throwaway_key,
)
from offchain.resource_auth.flows import World
from offchain.resource_auth.group_agents import Frames, serve_party
from offchain.resource_auth.group_auth import GroupManager
from offchain.resource_auth.group_service import (
    LEAVE,
    MEMBERS,
    OPEN,
    PENDING,
    GroupDesk,
    GroupUser,
    MemberList,
    announce,
    serve_msrp_groups,
    sign_request,
)
from offchain.resource_auth.messages import GroupSetup
from offchain.resource_auth.parties import UserCredentials

pytestmark = pytest.mark.chain


async def _refusal(call: Any) -> tuple[int, str, str]:
    try:
        await call
    except AgentCallError as exc:
        return exc.status, exc.code, exc.reason
    return 200, "", ""


async def _scenario(
    rpc_url: str, chain_id: int, path: Any, keys: list[KeyPair], auditor: KeyPair
) -> dict[str, Any]:
    deployments = load_deployments(path)
    w3 = connect(rpc_url, expected_chain_id=chain_id)

    def registry(key: KeyPair | None = None) -> RegistryClient:
        sender = (
            None
            if key is None
            else TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
        )
        return RegistryClient(contract(w3, deployments, "RSC"), sender)

    msrp_key, *rpm_keys = keys
    world = World.create(pools=2)
    desk = GroupDesk(GroupManager(world.msrp))
    msrp_agent = Agent(msrp_key, name="msrp", role="resource-provider")
    serve_msrp(msrp_agent, world.msrp, registry(msrp_key))
    serve_msrp_groups(msrp_agent, desk)
    rpm_clients = [AgentClient(key) for key in rpm_keys]
    rpm_agents = []
    for pool_id, key in enumerate(rpm_keys, start=1):
        agent = Agent(key, name=f"rpm-{pool_id}", role="pool-manager")
        serve_rpm(agent, world.rpms[pool_id], rpm_clients[pool_id - 1], registry(key))
        rpm_agents.append(agent)
    out: dict[str, Any] = {}
    reader = registry()
    async with AsyncExitStack() as stack:
        for agent in (msrp_agent, *rpm_agents):
            await stack.enter_async_context(agent)
        for client in rpm_clients:
            await stack.enter_async_context(client)
        registry(msrp_key).ensure_registered(
            ActorRole.RESOURCE_PROVIDER,
            encryption_keypair(msrp_key).compressed_public_key,
            msrp_agent.endpoint,
        )
        approve_pending(registry(auditor), msrp_key.address, ActorRole.RESOURCE_PROVIDER)
        for pool_id, (key, agent) in enumerate(zip(rpm_keys, rpm_agents, strict=True), start=1):
            registry(key).ensure_registered(
                ActorRole.POOL_MANAGER,
                encryption_keypair(key).compressed_public_key,
                agent.endpoint,
                provider=pool_provider(pool_id),
            )
            approve_pending(registry(auditor), key.address, ActorRole.POOL_MANAGER)

        # four RNs authenticate at pools 1, 2 over HTTP, serve as party agents and announce to their RPM
        nodes = []
        for i in range(4):
            node, key = world.register_rn(1 + i % 2, f"svc-rn-{i}".encode()), throwaway_key()
            await rn_authenticate(node, 1 + i % 2, reader, initial=True, key=key)
            agent = Agent(key, name=f"rn-{i}", role="resource-node")
            serve_party(agent, world.party_for_rn(node))
            await stack.enter_async_context(agent)
            nodes.append((node, key, agent))
        stranger = throwaway_key()
        async with AgentClient(stranger) as client:  # not the key that authenticated the pseudonym
            node, _, agent = nodes[0]
            out["hijack"] = await _refusal(
                announce(client, await find_rpm(reader, 1), node.pid, "http://evil:1")
            )
        for i, (node, key, agent) in enumerate(nodes):
            async with AgentClient(key) as client:
                await announce(client, await find_rpm(reader, 1 + i % 2), node.pid, agent.endpoint)
        out["rns_in_rsc"] = [reader.node(agent.address).active for _, _, agent in nodes]

        alice = world.register_user(b"alice")
        bob = world.register_user(b"bob")
        client = await stack.enter_async_context(AgentClient(throwaway_key()))
        user = GroupUser(alice, world.party_for_user(alice), reader, client)
        group_key = await user.open(3)
        out["key_is_msrps"] = group_key == desk.manager.sessions[user.session].s_serv
        out["open_members"] = user.members()
        out["answers"] = [await user.exchange(pid, b"x") for pid in user.members()]

        msrp = await find_msrp(reader)

        async def call(action: str, request: Any) -> tuple[int, str, str]:
            return await _refusal(client.call(msrp.endpoint, msrp.address, action, request, Frames))

        # tampered: the signed request with another leaving list
        signed = sign_request(alice, LEAVE, session=user.session, leaving=[user.members()[0]])
        out["tampered"] = await call(
            LEAVE, signed.model_copy(update={"leaving": ["0x" + user.members()[1].hex()]})
        )
        # wrong party: Bob (a registered User) for Alice's session; a key that is not Alice's under her PID
        out["other_user"] = await call(LEAVE, sign_request(bob, LEAVE, session=user.session))
        impostor = UserCredentials(bob.sk, bob.pk, alice.pid)
        out["impostor"] = await call(PENDING, sign_request(impostor, PENDING, session=user.session))
        out["unknown_user"] = await call(
            OPEN, sign_request(UserCredentials(bob.sk, bob.pk, b"\x01" * 48), OPEN, size=1)
        )
        # replayed: an accepted request sent again (fresh envelope, same signed request)
        fetch = sign_request(alice, PENDING, session=user.session)
        out["first_fetch"] = await call(PENDING, fetch)
        out["replayed"] = await call(PENDING, fetch)
        out["malformed"] = await call(OPEN, {"user": "0xzz", "nonce": "0x00", "signature": "0x00"})
        out["too_many"] = await call(OPEN, sign_request(bob, OPEN, size=9))
        # the RPM's roster: a forged set-up gets nothing
        rpm = await find_rpm(reader, 1)
        mine = desk.manager.start_group(bob.pid, [nodes[0][0].pid])[0]
        forged = GroupSetup(
            mine.session,
            mine.epoch,
            mine.pids,
            mine.q_point,
            mine.key_check,
            mine.recipient,
            mine.enc_share,
            bytes(len(mine.signature)),
        )
        out["forged_setup"] = await _refusal(
            client.call(rpm.endpoint, rpm.address, MEMBERS, Wire.of(forged.to_bytes()), MemberList)
        )
        listed = await client.call(rpm.endpoint, rpm.address, MEMBERS, Wire.of(mine.to_bytes()), MemberList)
        out["listed"] = [member.pid for member in listed.members]
        out["bob_rn"] = "0x" + nodes[0][0].pid.hex()

        # leave, join, revocation
        leaving = user.members()[-1]
        await user.leave([leaving])
        out["after_leave"] = [await user.exchange(pid, b"y") for pid in user.members()]
        out["departed"] = await _refusal(user.exchange(leaving, b"y"))
        staying = user.members()
        await user.replace([], 1)
        out["joined"] = [pid for pid in user.members() if pid not in staying]
        out["spare"] = nodes[3][0].pid
        out["after_join"] = [await user.exchange(pid, b"z") for pid in user.members()]
        revoked = user.members()[0]
        touched = desk.revoke(world.msrp.trace(revoked))
        out["touched"] = touched == [user.session, mine.session] or touched == [user.session]
        out["poll"] = await user.poll()
        out["epoch"] = user.party.epoch
        out["after_revoke"] = [await user.exchange(pid, b"w") for pid in user.members()]
        out["revoked_in_group"] = revoked in user.members()
        out["revoked"] = await _refusal(user.exchange(revoked, b"w"))
        out["nothing_pending"] = await user.poll()
    return out


@pytest.fixture(scope="module")
def outcome(
    platform: Deployment, accounts: Any, auditor: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    path = write_deployments(platform, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    deployments = load_deployments(path)
    keys = [from_private_key(accounts[i].private_key) for i in (6, 7, 8)]
    return asyncio.run(
        _scenario(
            deployments.rpc_url, deployments.chain_id, path, keys, from_private_key(auditor.private_key)
        )
    )


def test_group_protocol_between_network_services(outcome: dict[str, Any]) -> None:
    assert outcome["key_is_msrps"] is True
    assert len(outcome["open_members"]) == 3
    assert outcome["answers"] == [b"ack x"] * 3
    assert outcome["after_leave"] == [b"ack y"] * 2
    assert outcome["departed"][:2] == (403, "decryption-failed")  # backward secrecy over HTTP
    assert outcome["joined"] == [outcome["spare"]]  # the MSRP allocated the fourth RN, found via its RPM
    assert outcome["after_join"] == [b"ack z"] * 3
    assert outcome["poll"] is not None
    assert outcome["epoch"] == 4
    assert outcome["revoked_in_group"] is False
    assert outcome["after_revoke"] == [b"ack w"] * 2
    assert outcome["revoked"][:2] == (403, "decryption-failed")
    assert outcome["nothing_pending"] is None


def test_rns_are_found_through_their_rpm_not_rsc(outcome: dict[str, Any]) -> None:
    assert outcome["rns_in_rsc"] == [False] * 4  # anonymous: no RN account is registered in RSC
    assert outcome["hijack"][:2] == (403, "not-admitted")
    assert outcome["forged_setup"][:2] == (403, "unauthorized-sender")
    assert outcome["listed"] == [outcome["bob_rn"]]  # only the members of the presented group


def test_bad_group_requests_get_4xx_with_reasons(outcome: dict[str, Any]) -> None:
    assert outcome["tampered"][:2] == (403, "unauthorized-sender")
    assert "not signed by this User" in outcome["tampered"][2]
    assert outcome["other_user"][:2] == (403, "unauthorized-sender")
    assert "not the User of this session" in outcome["other_user"][2]
    assert outcome["impostor"][:2] == (403, "unauthorized-sender")
    assert outcome["unknown_user"][:2] == (403, "unauthorized-sender")
    assert outcome["first_fetch"] == (200, "", "")
    assert outcome["replayed"][:2] == (409, "replay-detected")
    assert outcome["malformed"][0] == 400
    assert outcome["too_many"][:2] == (403, "not-allocatable")

"""MExpm with real agents on loopback against the devnet: SA, MEC server, RSU and vehicle meeting through
RSC; the market client; bad, undecryptable, unauthorised and replayed messages get a 4xx with a reason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from rich.console import Console

from offchain.agents.client import AgentClient
from offchain.agents.envelope import build_envelope
from offchain.agents.errors import AgentCallError
from offchain.chain.connection import connect
from offchain.chain.deployments import Deployments, load_deployments
from offchain.chain.roles import ActorRole
from offchain.crypto import ecies
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.deploy import Deployment, deploy_modexp, write_deployments
from offchain.modexp.agents import (
    OFFER,
    RELAY,
    SETUP,
    MecServer,
    Node,
    OfferReply,
    RelayReply,
    RelayRequest,
    RoadsideUnit,
    ServiceAgency,
    SetupReply,
    SetupRequest,
    TaskOffer,
    Vehicle,
)
from offchain.modexp.flow import FlowKeys, _register, run_modexp_flow
from offchain.modexp.market import TaskStatus

QUIET = Console(quiet=True)


@pytest.fixture(scope="module")
def deployments(
    project: Any, deployer: Any, platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any
) -> Deployments:
    deploy_modexp(project, deployer, platform, dispute_window=600, min_reveal_window=60)
    path = write_deployments(platform, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


@pytest.fixture(scope="module")
def w3(deployments: Deployments) -> Any:
    return connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)


def key_of(account: Any) -> KeyPair:
    return from_private_key(account.private_key)


@pytest.fixture(scope="module")
def keys(auditor: Any, pool_holders: Any, accounts: Any) -> FlowKeys:
    return FlowKeys(
        auditor=key_of(auditor),
        funder=key_of(pool_holders[0]),
        agency=key_of(accounts[6]),
        server=key_of(accounts[7]),
        rsu=key_of(accounts[8]),
        vehicle=key_of(accounts[9]),
    )


def test_the_flow_pays_the_honest_server_refunds_a_forgery_and_defeats_a_malicious_iv(
    w3: Any, deployments: Deployments, keys: FlowKeys, tmp_path: Any
) -> None:
    report = asyncio.run(
        run_modexp_flow(w3, deployments, keys, QUIET, n=1, scenarios=("honest", "forged", "malicious-iv"))
    )
    by = {line.scenario: line for line in report.tasks}
    assert by["honest"].accepted
    assert by["honest"].result_matches
    assert by["honest"].status is TaskStatus.VERIFIED
    assert not by["forged"].accepted
    assert by["forged"].status is TaskStatus.REJECTION_FINAL
    assert by["malicious-iv"].server_won_dispute is True
    assert by["malicious-iv"].status is TaskStatus.DISPUTE_WON
    functions = {(actor, function) for actor, function, _ in report.gas}
    assert ("honest/rsu", "submitResultSigned") in functions
    assert ("honest/iv", "revealAndVerify") in functions
    assert ("forged/iv", "finalizeRejection") in functions
    assert ("malicious-iv/server", "disputeRejection") in functions
    csv_path, md_path = report.write_gas(tmp_path)
    assert "revealAndVerify" in csv_path.read_text()
    assert "gas used" in md_path.read_text()


@pytest.fixture
def agents(w3: Any, deployments: Deployments, keys: FlowKeys) -> Iterator[dict[str, Any]]:
    nodes = {
        name: Node(getattr(keys, name), w3, deployments)
        for name in ("auditor", "agency", "server", "rsu", "vehicle")
    }
    return nodes


def test_bad_messages_get_4xx_and_the_agents_keep_serving(
    w3: Any, deployments: Deployments, keys: FlowKeys, agents: dict[str, Node], accounts: Any
) -> None:
    stranger = key_of(accounts[5])

    async def scenario() -> dict[str, Any]:
        agency = ServiceAgency(agents["agency"])
        server = MecServer(agents["server"], via_rsu=False)
        rsu = RoadsideUnit(agents["rsu"])
        results: dict[str, Any] = {}
        async with agency.agent, server, rsu.agent:
            for node, roles, endpoint in (
                (agents["agency"], ActorRole.SERVICE_AGENCY, agency.agent.endpoint),
                (agents["server"], ActorRole.MEC_SERVER, server.agent.endpoint),
                (agents["rsu"], ActorRole.RSU, rsu.agent.endpoint),
                (agents["vehicle"], ActorRole.VEHICLE, ""),
            ):
                await asyncio.to_thread(_register, node, roles, endpoint, agents["auditor"].registry, QUIET)
            vehicle_key = agents["vehicle"].key
            url = f"{server.agent.endpoint}/rpc/{OFFER}"
            async with aiohttp.ClientSession() as session, session.post(url, data=b"{oops") as response:
                results["garbage"] = (response.status, (await response.json())["reason"])
            async with AgentClient(stranger) as rpc:  # not a registered vehicle
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(
                        agency.agent.endpoint, agency.agent.address, SETUP, SetupRequest(n=1), SetupReply
                    )
                results["stranger"] = refused.value.status
            async with AgentClient(vehicle_key) as rpc:
                with pytest.raises(AgentCallError) as refused:  # n above the market's bound
                    await rpc.call(agency.agent.endpoint, agency.agent.address, SETUP, {"n": 33}, SetupReply)
                results["too-many"] = (refused.value.status, refused.value.reason)
                bad_seal = TaskOffer(
                    task_id=0,
                    sealed_task="0x"
                    + ecies.encrypt(agents["vehicle"].encryption.compressed_public_key, b"x").hex(),
                )
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(server.agent.endpoint, server.agent.address, OFFER, bad_seal, OfferReply)
                results["undecryptable"] = (refused.value.status, refused.value.code)
                not_json = TaskOffer(
                    task_id=0,
                    sealed_task="0x"
                    + ecies.encrypt(
                        agents["server"].encryption.compressed_public_key,
                        b"not json",
                        associated_data=bytes.fromhex(vehicle_key.address[2:]),
                    ).hex(),
                )
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(server.agent.endpoint, server.agent.address, OFFER, not_json, OfferReply)
                results["not-json"] = (refused.value.status, refused.value.code)
                unknown = TaskOffer(
                    task_id=10**6,
                    sealed_task="0x"
                    + ecies.encrypt(
                        agents["server"].encryption.compressed_public_key,
                        json.dumps({"pairs": "0x00", "salt": "0x" + "11" * 32}).encode(),
                        associated_data=bytes.fromhex(vehicle_key.address[2:]),
                    ).hex(),
                )
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(server.agent.endpoint, server.agent.address, OFFER, unknown, OfferReply)
                results["unknown-task"] = (refused.value.status, refused.value.code)
            async with AgentClient(agents["server"].key) as rpc:  # a relay for a task nobody accepted
                relay = RelayRequest(task_id=10**6, outputs="0x00", signature="0x" + "00" * 65)
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(rsu.agent.endpoint, rsu.agent.address, RELAY, relay, RelayReply)
                results["relay-unknown"] = (refused.value.status, refused.value.code)

            # A real task, then the same offer again (a replay at the protocol level) and a tampered TK.
            vehicle = Vehicle(agents["vehicle"])
            sa_peer = _peer(agency.agent, agents["agency"])
            server_peer = _peer(server.agent, agents["server"])
            for who in (agents["vehicle"], agents["server"]):
                funder = Node(keys.funder, w3, deployments)
                funder.sender.send(funder.market.token.functions.transfer(who.address, 100 * 10**18))
            outcome, _ = await vehicle.offload(
                sa_peer, server_peer, (12345,), payment=10**18, collateral=10**17, reveal_window=120
            )
            results["outcome"] = outcome
            results["health"] = await _health(server.agent.endpoint)
        return results

    results = asyncio.run(scenario())
    assert results["garbage"][0] == 400
    assert "not JSON" in results["garbage"][1]
    assert results["stranger"] == 403
    assert results["too-many"][0] == 400
    assert results["undecryptable"] == (422, "undecryptable")
    assert results["not-json"] == (400, "invalid-task")
    assert results["unknown-task"] == (404, "unknown-task")
    assert results["relay-unknown"] == (404, "unknown-task")
    outcome = results["outcome"]
    assert outcome.accepted
    assert outcome.result == outcome.expected
    assert results["health"] == 200


def test_replayed_and_tampered_offers_are_refused(
    w3: Any, deployments: Deployments, keys: FlowKeys, agents: dict[str, Node]
) -> None:
    from offchain.modexp import core
    from offchain.modexp.encoding import Opening, encode_pairs, new_salt, pairs_commitment

    async def scenario() -> dict[str, Any]:
        server = MecServer(agents["server"], via_rsu=False)
        results: dict[str, Any] = {}
        async with server:
            await asyncio.to_thread(
                _register,
                agents["server"],
                ActorRole.MEC_SERVER,
                server.agent.endpoint,
                agents["auditor"].registry,
                QUIET,
            )
            await asyncio.to_thread(
                _register, agents["vehicle"], ActorRole.VEHICLE, "", agents["auditor"].registry, QUIET
            )
            funder = Node(keys.funder, w3, deployments)
            for who in (agents["vehicle"], agents["server"]):
                funder.sender.send(funder.market.token.functions.transfer(who.address, 100 * 10**18))
            N = core.random_prime(256)
            params, rk, _ = core.setup((5,), N, p_bits=256)
            kg = core.keygen((7,), params, rk)
            task = core.server_task(kg.tk, kg.vk, kg.secret, params.L)
            pairs, salt = encode_pairs(task), new_salt()
            market = agents["vehicle"].market
            task_id, _ = market.create_task(
                params.L,
                len(task.pairs) // 2 - 1,
                payment=10**18,
                collateral=0,
                aux_commit=Opening.build(kg.aux, kg.secret, params.L, new_salt()).commitment(),
                pairs_commit=pairs_commitment(pairs, salt),
                submit_deadline=market.now() + 600,
                reveal_window=120,
            )

            def offer(payload: bytes) -> TaskOffer:
                body = json.dumps({"pairs": "0x" + payload.hex(), "salt": "0x" + salt.hex()}).encode()
                sealed = ecies.encrypt(
                    agents["server"].encryption.compressed_public_key,
                    body,
                    associated_data=bytes.fromhex(agents["vehicle"].address[2:]),
                )
                return TaskOffer(task_id=task_id, sealed_task="0x" + sealed.hex())

            tampered = bytearray(pairs)
            tampered[-1] ^= 1
            async with AgentClient(agents["vehicle"].key) as rpc:
                endpoint, address = server.agent.endpoint, server.agent.address
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(endpoint, address, OFFER, offer(bytes(tampered)), OfferReply)
                results["tampered"] = (refused.value.status, refused.value.code)
                envelope = build_envelope(agents["vehicle"].key, address, OFFER, offer(bytes(tampered)))
                statuses = []
                async with aiohttp.ClientSession() as session:
                    for _ in range(2):  # the very same signed envelope twice
                        url = f"{endpoint}/rpc/{OFFER}"
                        async with session.post(url, data=envelope.to_json()) as response:
                            statuses.append((response.status, (await response.json())["error"]))
                results["envelope-replay"] = statuses
                reply = await rpc.call(endpoint, address, OFFER, offer(pairs), OfferReply)
                results["reply"] = reply
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(endpoint, address, OFFER, offer(pairs), OfferReply)
                results["replayed"] = (refused.value.status, refused.value.code)
            results["status"] = market.task(task_id).status
        return results

    results = asyncio.run(scenario())
    assert results["tampered"] == (422, "pairs-mismatch")
    assert results["envelope-replay"] == [(422, "pairs-mismatch"), (409, "replayed-nonce")]
    assert results["replayed"] == (409, "task-not-open")
    assert results["status"] is TaskStatus.SUBMITTED


def test_market_client_timeouts_and_reads(
    w3: Any, deployments: Deployments, keys: FlowKeys, agents: dict[str, Node]
) -> None:
    from offchain.chain.errors import ContractRevert
    from offchain.modexp.market import advance_devnet_time

    market = agents["vehicle"].market
    funder = Node(keys.funder, w3, deployments)
    funder.sender.send(funder.market.token.functions.transfer(agents["vehicle"].address, 10 * 10**18))
    L = 143 * 2**250 + 1  # any odd modulus: nothing is computed in this test
    before = market.balance()
    task_id, _ = market.create_task(
        L,
        1,
        payment=10**18,
        collateral=0,
        aux_commit=bytes(32),
        pairs_commit=bytes(32),
        submit_deadline=market.now() + 100,
        reveal_window=60,
    )
    assert market.modulus(task_id) == L
    assert market.task(task_id).status is TaskStatus.CREATED
    assert market.submitted_outputs(task_id) is None
    with pytest.raises(ContractRevert) as refused:
        market.claim_by_timeout(task_id)
    assert refused.value.error_name == "DeadlineNotReached"
    advance_devnet_time(w3, 101)
    market.claim_by_timeout(task_id)
    assert market.task(task_id).status is TaskStatus.REFUNDED
    assert market.balance() == before
    assert [name for name, _ in market.gas][-1] == "claimByTimeout"


def _peer(agent: Any, node: Node) -> Any:
    from offchain.agents.discovery import Peer

    return Peer(node.address, agent.endpoint, node.encryption.compressed_public_key, ActorRole(0))


async def _health(endpoint: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{endpoint}/health") as response:
        return response.status


def test_agent_runner_installs_the_mexpm_actions(agents: dict[str, Node]) -> None:
    from offchain.agents.runner import ROLE_SERVICES
    from offchain.agents.service import Agent

    node = agents["server"]

    async def scenario() -> list[str]:
        agent = Agent(node.key, "runner-test")
        for role in (ActorRole.SERVICE_AGENCY, ActorRole.MEC_SERVER, ActorRole.RSU):
            ROLE_SERVICES[role](agent, node.registry, node.encryption)
        await asyncio.sleep(0)  # the server's rejection watcher runs in the loop
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()
        return agent.actions

    assert asyncio.run(scenario()) == [OFFER, RELAY, SETUP]

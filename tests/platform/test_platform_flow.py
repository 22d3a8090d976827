"""The platform flow of ``make demo`` on the devnet, and the pieces agents use to meet through RSC."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from rich.console import Console

from offchain.agents.client import AgentClient
from offchain.agents.discovery import find_peers, registry_authorizer
from offchain.agents.errors import AgentCallError
from offchain.agents.runner import sync_registration
from offchain.agents.sealed import ACTION, SealedReceipt, seal, serve_sealed_notes
from offchain.agents.service import Agent
from offchain.chain.connection import connect, contract
from offchain.chain.deployments import Deployments, load_deployments
from offchain.chain.registry import NodeStatus, RegistryClient, Resources
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.deploy import Deployment, write_deployments
from offchain.platform_flow import run_platform_flow

QUIET = Console(quiet=True)


@pytest.fixture(scope="module")
def deployments(platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any) -> Deployments:
    path = write_deployments(platform, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


@pytest.fixture(scope="module")
def w3(deployments: Deployments) -> Any:
    return connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)


def key_of(account: Any) -> KeyPair:
    return from_private_key(account.private_key)


def registry_for(w3: Any, deployments: Deployments, key: KeyPair) -> RegistryClient:
    sender = TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
    return RegistryClient(contract(w3, deployments, "RSC"), sender)


def test_the_demo_flow_runs_end_to_end(
    w3: Any, deployments: Deployments, auditor: Any, accounts: Any
) -> None:
    server, client = key_of(accounts[6]), key_of(accounts[7])
    report = asyncio.run(run_platform_flow(w3, deployments, key_of(auditor), server, client, QUIET))
    assert report.bad_message_status == 400
    assert "not JSON" in report.bad_message_reason
    assert report.revert_name == "InvalidEncryptionKey"
    assert len(report.steps) == 8
    reader = RegistryClient(contract(w3, deployments, "RSC"))
    record = reader.node(server.address)
    assert record.has(ActorRole.CSN)
    assert record.encryption_key == encryption_keypair(server).compressed_public_key
    assert record.endpoint.startswith("http://127.0.0.1:")
    assert record.provider.rstrip(b"\0") == b"demo-provider-a"
    assert record.resources == Resources("127.0.0.1", 2, 24_576, 50, 1_000)
    assert reader.node(client.address).endpoint == ""


def test_encryption_key_is_separate_from_the_account_key(accounts: Any) -> None:
    account = key_of(accounts[6])
    enc = encryption_keypair(account)
    assert enc.private_key != account.private_key
    assert enc == encryption_keypair(account)  # deterministic


def test_unregistered_callers_are_refused_with_403(w3: Any, deployments: Deployments, accounts: Any) -> None:
    server, stranger = key_of(accounts[8]), key_of(accounts[9])
    registry = registry_for(w3, deployments, server)

    async def scenario() -> AgentCallError:
        agent = Agent(server, "csn", authorizer=registry_authorizer(registry, {ACTION: ActorRole.MTD}))
        serve_sealed_notes(agent, encryption_keypair(server), registry)
        async with agent:
            registry.register(
                ActorRole.AVATAR, encryption_keypair(server).compressed_public_key, agent.endpoint
            )
            peer = (await find_peers(registry, ActorRole.AVATAR))[0]
            note = seal(peer.encryption_key, stranger.address, b"hello")
            async with AgentClient(stranger) as rpc:
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(peer.endpoint, peer.address, ACTION, note, SealedReceipt)
                return refused.value

    error = asyncio.run(scenario())
    assert error.status == 403


def test_sealed_notes_for_another_key_get_422(w3: Any, deployments: Deployments, accounts: Any) -> None:
    server, client = key_of(accounts[6]), key_of(accounts[7])
    server_registry = registry_for(w3, deployments, server)
    client_registry = registry_for(w3, deployments, client)
    client_registry.register(ActorRole.MTD, encryption_keypair(client).compressed_public_key, "")

    async def scenario() -> AgentCallError:
        agent = Agent(server, "csn", authorizer=registry_authorizer(server_registry, {}))
        serve_sealed_notes(agent, encryption_keypair(server), server_registry)
        async with agent, AgentClient(client) as rpc:
            wrong_key = encryption_keypair(client).compressed_public_key  # not the agent's key
            with pytest.raises(AgentCallError) as refused:
                await rpc.call(agent.endpoint, agent.address, ACTION, seal(wrong_key, client.address, b"x"))
            return refused.value

    error = asyncio.run(scenario())
    assert error.status == 422
    assert error.code == "undecryptable"


def test_sync_registration_registers_then_updates(w3: Any, deployments: Deployments, accounts: Any) -> None:
    node = key_of(accounts[6])
    registry = registry_for(w3, deployments, node)
    enc = encryption_keypair(node).compressed_public_key
    sync_registration(registry, ActorRole.MTD, enc, "http://127.0.0.1:9000", QUIET)
    assert registry.node(node.address).endpoint == "http://127.0.0.1:9000"
    other_key = encryption_keypair(key_of(accounts[7])).compressed_public_key
    sync_registration(registry, ActorRole.MTD | ActorRole.CSN, other_key, "http://127.0.0.1:9001", QUIET)
    record = registry.node(node.address)
    assert record.endpoint == "http://127.0.0.1:9001"
    assert record.encryption_key == other_key
    assert record.roles == ActorRole.MTD
    assert record.pending_roles == ActorRole.CSN


def test_sync_registration_refuses_a_blacklisted_node(
    w3: Any, deployments: Deployments, registry: Any, deployer: Any, accounts: Any
) -> None:
    node = key_of(accounts[6])
    client = registry_for(w3, deployments, node)
    client.register(ActorRole.MTD, encryption_keypair(node).compressed_public_key, "")
    registry.grantRole(registry.BLACKLISTER_ROLE(), deployer, sender=deployer)
    registry.blacklist(node.address, bytes(32), sender=deployer)
    assert client.node(node.address).status is NodeStatus.BLACKLISTED
    with pytest.raises(SystemExit, match="blacklisted"):
        sync_registration(client, ActorRole.MTD, encryption_keypair(node).compressed_public_key, "", QUIET)


def test_discovery_pages_beyond_one_call(w3: Any, deployments: Deployments, accounts: Any) -> None:
    for index in (6, 7, 8):
        key = key_of(accounts[index])
        registry_for(w3, deployments, key).register(
            ActorRole.WEB3_USER, encryption_keypair(key).compressed_public_key, ""
        )
    reader = RegistryClient(contract(w3, deployments, "RSC"))
    found = list(reader.addresses_with(ActorRole.WEB3_USER, page_size=1))
    assert found == [accounts[i].address for i in (6, 7, 8)]


def test_read_only_client_refuses_to_write(w3: Any, deployments: Deployments) -> None:
    with pytest.raises(RuntimeError, match="read-only"):
        RegistryClient(contract(w3, deployments, "RSC")).deregister()


def test_deployments_file_holds_every_contract(deployments: Deployments, tmp_path: Path) -> None:
    assert set(deployments.contracts) >= {"MetaCoin", "RSC"}
    assert any(entry.get("name") == "register" for entry in deployments.contract_info("RSC").abi)

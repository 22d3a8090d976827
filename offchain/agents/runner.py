"""Run one agent as a long-lived service: ``metatrust agent run ROLE``.

The agent loads its account from a keystore, reads the chain and contract addresses from a deployments
file, starts listening, then makes its registry record match what it serves (registers, or updates the
endpoint, encryption key and roles), and serves until SIGINT or SIGTERM. Every agent serves the
platform's ``sealed-note`` action; each system adds its role's actions to ``ROLE_SERVICES`` as it lands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from rich.console import Console

from offchain.agents.discovery import registry_authorizer
from offchain.agents.sealed import serve_sealed_notes
from offchain.agents.service import Agent
from offchain.chain.connection import connect, contract
from offchain.chain.deployments import load_deployments
from offchain.chain.registry import NodeStatus, RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, load_keystore
from offchain.outsourcing.agent import install_csn_service

#: Per-role installers of system actions: ``installer(agent, registry, encryption_key)``.
RoleService = Callable[[Agent, RegistryClient, KeyPair], None]
ROLE_SERVICES: dict[ActorRole, RoleService] = {ActorRole.CSN: install_csn_service}


@dataclass(frozen=True)
class AgentSettings:
    """Everything ``metatrust agent run`` needs."""

    roles: ActorRole
    keystore: Path
    password: str
    deployments: Path
    rpc_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    public_url: str | None = None


def sync_registration(
    registry: RegistryClient, roles: ActorRole, encryption_key: bytes, endpoint: str, console: Console
) -> None:
    """Make the sender's registry record serve ``endpoint`` with ``encryption_key`` and ``roles``."""
    if registry.sender is None:
        raise RuntimeError("sync_registration needs a registry client that can send transactions")
    record = registry.node(registry.sender.address)
    if record.status is NodeStatus.BLACKLISTED:
        raise SystemExit(f"{record.address} is blacklisted in the registry and cannot serve")
    if record.status is not NodeStatus.ACTIVE:
        registry.register(roles, encryption_key, endpoint)
        console.print(f"registered {record.address} as {roles.label} at {endpoint}")
    else:
        if record.endpoint != endpoint:
            registry.update_endpoint(endpoint)
            console.print(f"endpoint updated to {endpoint}")
        if record.encryption_key != encryption_key:
            registry.update_keys(encryption_key, record.bls_key)
            console.print("encryption key updated")
        missing = roles & ~(record.roles | record.pending_roles)
        if missing:
            registry.request_roles(missing)
            console.print(f"requested roles {missing.label}")
    record = registry.node(registry.sender.address)
    if record.pending_roles:
        console.print(f"[yellow]roles waiting for an auditor:[/] {record.pending_roles.label}")


async def run_agent(settings: AgentSettings, console: Console) -> None:
    """Start, register and serve until a signal arrives."""
    account = load_keystore(settings.keystore, settings.password)
    deployments = load_deployments(settings.deployments)
    w3 = connect(settings.rpc_url or deployments.rpc_url, expected_chain_id=deployments.chain_id)
    sender = TransactionSender(w3, Account.from_key(account.private_key), deployments=deployments)
    registry = RegistryClient(contract(w3, deployments, "RSC"), sender)
    encryption_key = encryption_keypair(account)

    agent = Agent(
        account,
        name=f"{settings.roles.label.replace('|', '+')}-{account.address[2:10]}".lower(),
        role=settings.roles.label,
        host=settings.host,
        port=settings.port,
        authorizer=registry_authorizer(registry, {}),
    )
    serve_sealed_notes(agent, encryption_key, registry)
    for role, install in ROLE_SERVICES.items():
        if role & settings.roles:
            install(agent, registry, encryption_key)

    await agent.start()
    endpoint = settings.public_url or agent.endpoint
    sync_registration(registry, settings.roles, encryption_key.compressed_public_key, endpoint, console)
    console.print(f"[bold]{agent.name}[/] serving {', '.join(agent.actions)} at {endpoint}; Ctrl-C stops it")
    await agent.run_forever()

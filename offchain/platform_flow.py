"""The platform's end-to-end flow for ``make demo``: registration round trip through RSC.

1. An edge-server agent (role CSN) starts as an HTTP service on loopback and registers its endpoint,
   encryption key and resources in RSC; the auditor approves its permissioned role.
2. A client (role MTD) registers, discovers the CSN through RSC (no hard-coded port), sends it a signed,
   ECIES-sealed note, and opens the sealed reply encrypted to its own registered key.
3. A malformed message gets a 400 with the reason, and the agent keeps serving.
4. A malformed registration reverts with a named custom error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
from eth_account import Account
from rich.console import Console
from web3 import Web3

from offchain.agents.client import AgentClient
from offchain.agents.discovery import find_peers, registry_authorizer
from offchain.agents.sealed import ACTION, SealedReceipt, open_reply, seal, serve_sealed_notes
from offchain.agents.service import Agent
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.errors import ContractRevert
from offchain.chain.registry import RegistryClient, Resources
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.hashing import sha256
from offchain.crypto.keys import KeyPair


@dataclass
class FlowReport:
    """What the flow showed, for the caller to check."""

    steps: list[str] = field(default_factory=list)
    bad_message_status: int | None = None
    bad_message_reason: str = ""
    revert_name: str = ""

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


def _registry(w3: Web3, deployments: Deployments, key: KeyPair) -> RegistryClient:
    sender = TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
    return RegistryClient(contract(w3, deployments, "RSC"), sender)


async def run_platform_flow(
    w3: Web3,
    deployments: Deployments,
    auditor: KeyPair,
    server: KeyPair,
    client: KeyPair,
    console: Console,
) -> FlowReport:
    """Run the flow with three funded accounts; the auditor must hold RSC's AUDITOR_ROLE."""
    report = FlowReport()
    console.rule("[bold]platform: registry round trip")
    server_registry = _registry(w3, deployments, server)
    client_registry = _registry(w3, deployments, client)
    auditor_registry = _registry(w3, deployments, auditor)
    server_enc, client_enc = encryption_keypair(server), encryption_keypair(client)

    agent = Agent(
        server,
        name="edge-server-1",
        role="csn",
        authorizer=registry_authorizer(server_registry, {ACTION: ActorRole.MTD}),
    )
    serve_sealed_notes(agent, server_enc, server_registry)
    async with agent:
        server_registry.register(
            ActorRole.CSN,
            server_enc.compressed_public_key,
            agent.endpoint,
            resources=Resources("127.0.0.1", 2, 24_576, 50, 1_000),
            provider="demo-provider-a",
        )
        report.note(
            console, f"CSN agent {server.address} serves {agent.endpoint} and registered it (pending audit)"
        )
        auditor_registry.approve_roles(server.address, ActorRole.CSN)
        report.note(console, "auditor approved the CSN role")

        client_registry.register(ActorRole.MTD, client_enc.compressed_public_key, endpoint="")
        report.note(console, f"client {client.address} registered as MTD (a pure client: no endpoint)")

        peers = await find_peers(client_registry, ActorRole.CSN)
        if not peers:
            raise RuntimeError("discovery found no CSN")
        peer = peers[0]
        report.note(
            console, f"client discovered {len(peers)} CSN through RSC: {peer.address} at {peer.endpoint}"
        )

        note = b"metatrust: a note only the edge server can read"
        async with AgentClient(client) as rpc:

            async def send_note() -> SealedReceipt:
                sealed = seal(peer.encryption_key, client.address, note)
                return await rpc.call(peer.endpoint, peer.address, ACTION, sealed, SealedReceipt)

            answer = await send_note()
            if answer.digest != "0x" + sha256(note).hex():
                raise RuntimeError("the agent returned a wrong digest")
            reply = open_reply(client_enc, peer.address, answer)
            report.note(console, f"sealed note answered and verified; sealed reply reads {reply[:9]!r}…")

            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{peer.endpoint}/rpc/{ACTION}", data=b"{not json") as response,
            ):
                body = await response.json()
                report.bad_message_status = response.status
                report.bad_message_reason = str(body.get("reason", ""))
            report.note(
                console, f"malformed message → HTTP {report.bad_message_status}: {report.bad_message_reason}"
            )

            if (await send_note()).digest != answer.digest:
                raise RuntimeError("the agent stopped serving correctly after a malformed message")
            report.note(console, "the agent keeps serving: the next valid call succeeds")

    try:
        _registry(w3, deployments, auditor).register(ActorRole.MTD, b"\x02" + bytes(32), "http://127.0.0.1:2")
    except ContractRevert as exc:
        report.revert_name = exc.error_name
        report.note(console, f"malformed registration (bad encryption key) reverted with {exc.error_name}")
    else:
        raise RuntimeError("a malformed registration was accepted")
    return report

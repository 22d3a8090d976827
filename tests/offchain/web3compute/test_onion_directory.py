"""The on-chain onion directory: routers registered in RSC on the devnet carry a real circuit."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from offchain.chain.connection import connect, contract
from offchain.chain.deployments import Deployments, load_deployments
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, derive, from_private_key
from offchain.deploy import Deployment, write_deployments
from offchain.web3compute.onion.directory import RouterInfo, endpoint_address, register_router, select_path
from offchain.web3compute.onion.endpoint import SandboxEndpoint
from offchain.web3compute.onion.proxy import CircuitError, ExitInfo, OnionProxy
from offchain.web3compute.onion.router import OnionRouter


def infos(count: int) -> list[RouterInfo]:
    return [
        RouterInfo(f"0x{i + 1:040x}", f"127.0.0.{11 + i}:9000", derive(b"or", i).compressed_public_key)
        for i in range(count)
    ]


def test_select_path_is_uniform_distinct_and_honours_exclusions() -> None:
    routers = infos(6)
    counts: Counter[str] = Counter()
    for _ in range(600):
        path = select_path(routers, 3, exclude=[routers[0].account, routers[1].address])
        assert len({r.address for r in path}) == 3
        assert routers[0] not in path
        assert routers[1] not in path
        counts.update(r.address for r in path)
    assert set(counts) == {r.address for r in routers[2:]}
    assert all(350 < value < 550 for value in counts.values())  # 450 expected each
    with pytest.raises(ValueError, match="at least one hop"):
        select_path(routers, 0)


@pytest.mark.parametrize(
    ("endpoint", "address"),
    [
        ("tcp://127.0.0.1:9000", "127.0.0.1:9000"),
        ("tcp://[::1]:80", "[::1]:80"),
        ("tcp://host.lan:1/", "host.lan:1"),
    ],
)
def test_endpoint_parsing(endpoint: str, address: str) -> None:
    assert endpoint_address(endpoint) == address


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9000", "tcp://127.0.0.1", "tcp://127.0.0.1:9/x"])
def test_bad_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(ValueError, match="tcp://host:port"):
        endpoint_address(endpoint)


@pytest.fixture(scope="module")
def deployments(platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any) -> Deployments:
    path = write_deployments(platform, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


def registry_of(w3: Any, deployments: Deployments, key: KeyPair) -> RegistryClient:
    sender = TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
    return RegistryClient(contract(w3, deployments, "RSC"), sender)


@pytest.mark.chain
def test_routers_discovered_from_rsc_carry_a_circuit(
    deployments: Deployments, auditor: Any, accounts: Any, tmp_path: Path
) -> None:
    """Four routers register (ONION_ROUTER, tcp endpoint, encryption key); the auditor approves three; a
    proxy reading RSC builds a 3-hop circuit over exactly those three and reaches the sandbox endpoint."""
    w3 = connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)
    auditor_registry = registry_of(w3, deployments, from_private_key(auditor.private_key))
    accounts_keys = [from_private_key(accounts[6 + i].private_key) for i in range(4)]

    async def scenario() -> None:
        routers = [
            await OnionRouter(encryption_keypair(key), host=f"127.0.0.{21 + i}", name=f"OR{i}").start()
            for i, key in enumerate(accounts_keys)
        ]
        sandbox = await SandboxEndpoint(derive(b"sandbox", 0), host="127.0.0.4").start()
        try:
            for key, router in zip(accounts_keys, routers, strict=True):
                register_router(registry_of(w3, deployments, key), router.keypair, router.address)
            for key in accounts_keys[:3]:  # the fourth stays pending: never in the directory
                auditor_registry.approve_roles(key.address, ActorRole.ONION_ROUTER)
            reader = RegistryClient(contract(w3, deployments, "RSC"))
            proxy = OnionProxy.from_registry(reader, local_host="127.0.0.2")
            assert {r.account for r in proxy.routers} == {k.address for k in accounts_keys[:3]}
            assert {r.address for r in proxy.routers} == {r.address for r in routers[:3]}
            circuit = proxy.build_circuit(ExitInfo(sandbox.address, sandbox.public_key), k=3)
            assert await proxy.send(circuit, b"sealed model M0") == b"sealed model M0"
            assert all(len(router.observations) == 1 for router in routers[:3])
            assert routers[3].observations == []
            # A rotated key: cells built from the stale directory are dropped at that hop; after a
            # refresh the new key is used at once (spec S9).
            rotated = derive(b"rotated-onion-key", 0)
            registry_of(w3, deployments, accounts_keys[1]).update_keys(rotated.compressed_public_key)
            routers[1].keypair = rotated
            with pytest.raises(CircuitError):
                await proxy.send(circuit, b"built with the stale key")
            assert "does not authenticate" in routers[1].drops[-1].reason
            proxy.refresh(reader)
            fresh = proxy.build_circuit(ExitInfo(sandbox.address, sandbox.public_key), k=3)
            assert await proxy.send(fresh, b"after the refresh") == b"after the refresh"
            # A router that deregisters leaves the directory at the next refresh.
            registry_of(w3, deployments, accounts_keys[0]).deregister()
            proxy.refresh(reader)
            assert accounts_keys[0].address not in {r.account for r in proxy.routers}
        finally:
            for router in routers:
                await router.stop()
            await sandbox.stop()

    asyncio.run(scenario())

"""Shared helpers of the seed 004 contract tests (imported by ``conftest.py`` and the test modules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offchain.chain.roles import ActorRole
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import from_private_key
from offchain.web3compute.tasks import Requirements, Topology

PROGRAM_HASH = keccak256(b"fedavg-program-v1")
COMPUTE_RESOURCES = ("127.0.0.1", 8, 16_384, 100, 1_000)
STORAGE_RESOURCES = ("127.0.0.1", 2, 4_096, 2_000, 1_000)


@dataclass
class Actors:
    """Accounts registered in RSC with the roles of seed 004."""

    user: Any
    provider: Any
    compute: list[Any]
    storage: list[Any]


def register(registry: Any, account: Any, roles: ActorRole, resources: tuple[Any, ...]) -> None:
    key = encryption_keypair(from_private_key(account.private_key)).compressed_public_key
    registry.register(int(roles), key, b"", "", resources, b"web3".ljust(32, b"\0"), sender=account)


def requirements(actors: Actors, **overrides: Any) -> Requirements:
    values: dict[str, Any] = {
        "service_provider": actors.provider.address,
        "program_hash": PROGRAM_HASH,
        "data_type": keccak256(b"tabular/float32"),
        "data_digest": keccak256(b"dataset"),
        "min_cpu_cores": 4,
        "min_bandwidth_mbps": 100,
        "min_storage_gib": 500,
        "compute_nodes": 3,
        "storage_nodes": 1,
        "topology": Topology.STAR,
        "accept_window": 600,
        "duration": 3_600,
    }
    values.update(overrides)
    return Requirements(**values)

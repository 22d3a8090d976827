"""Task scheduling of seed 004 (spec §3.2.6–3.2.7): the selection rule and the sandbox-key co-signature.

``TaskManager`` verifies a schedule on chain (roles, resources, busy servers) but does not search the
registry; :func:`select_servers` is the deterministic rule a requester runs over RSC records: among the
eligible computing servers, highest CPU cores first, then lowest address; the first is the global node.
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_utils.address import to_canonical_address

from offchain.chain.registry import NodeRecord
from offchain.chain.roles import ActorRole
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import sign_typed_data, typed_data_hash

TASK_DOMAIN_NAME = "Web3PPDC-Task"
TASK_DOMAIN_VERSION = "1"
SANDBOX_KEY_TYPES: dict[str, list[dict[str, str]]] = {
    "SandboxKey": [
        {"name": "taskId", "type": "bytes32"},
        {"name": "keyHash", "type": "bytes32"},
        {"name": "signer", "type": "address"},
        {"name": "programHash", "type": "bytes32"},
    ]
}


class Topology(IntEnum):
    """``TaskManager.Topology``."""

    STAR = 0
    FULL = 1


class TaskStatus(IntEnum):
    """``TaskManager.Status``."""

    NONE = 0
    CREATED = 1
    SCHEDULED = 2
    ACCEPTED = 3
    SANDBOX_READY = 4
    RESULT_SUBMITTED = 5
    COMPLETED = 6
    FAILED = 7


@dataclass(frozen=True)
class Requirements:
    """``TaskManager.Requirements``."""

    service_provider: str
    program_hash: bytes
    data_type: bytes = bytes(32)
    data_digest: bytes = bytes(32)
    min_cpu_cores: int = 1
    min_bandwidth_mbps: int = 0
    min_storage_gib: int = 0
    compute_nodes: int = 3
    storage_nodes: int = 1
    topology: Topology = Topology.STAR
    accept_window: int = 3_600
    duration: int = 86_400

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple for ``createTask``."""
        return (
            self.service_provider,
            self.program_hash,
            self.data_type,
            self.data_digest,
            self.min_cpu_cores,
            self.min_bandwidth_mbps,
            self.min_storage_gib,
            self.compute_nodes,
            self.storage_nodes,
            int(self.topology),
            self.accept_window,
            self.duration,
        )


class NotEnoughServers(LookupError):  # noqa: N818 (domain name)
    """Fewer eligible servers in the registry than the task needs."""


@dataclass(frozen=True)
class Selection:
    """Which servers a task goes to; ``compute[0]`` is the global node."""

    compute: list[str]
    storage: list[str]

    @property
    def global_node(self) -> str:
        return self.compute[0]


def select_servers(
    records: Iterable[NodeRecord],
    requirements: Requirements,
    *,
    busy: Iterable[str] = (),
    storage_candidates: Sequence[str] | None = None,
) -> Selection:
    """§3.2.7 (a): eligible computing servers (active, COMPUTE_SERVER, enough cores and bandwidth, not
    busy) by CPU cores descending then address ascending; storage servers (STORAGE_SERVER, enough
    storage), restricted to ``storage_candidates`` (the holders of the task's data) when given, by address.
    Raises :class:`NotEnoughServers` when either set is too small."""
    busy_set = {to_canonical_address(a) for a in busy}
    nodes = list(records)
    compute = [
        n
        for n in nodes
        if n.has(ActorRole.COMPUTE_SERVER)
        and n.resources.cpu_cores >= requirements.min_cpu_cores
        and n.resources.network_mbps >= requirements.min_bandwidth_mbps
        and to_canonical_address(n.address) not in busy_set
    ]
    compute.sort(key=lambda n: (-n.resources.cpu_cores, to_canonical_address(n.address)))
    allowed = None if storage_candidates is None else {to_canonical_address(a) for a in storage_candidates}
    storage = [
        n
        for n in nodes
        if n.has(ActorRole.STORAGE_SERVER)
        and n.resources.storage_gib >= requirements.min_storage_gib
        and (allowed is None or to_canonical_address(n.address) in allowed)
    ]
    storage.sort(key=lambda n: to_canonical_address(n.address))
    for kind, found, needed in (
        ("computing", len(compute), requirements.compute_nodes),
        ("storage", len(storage), requirements.storage_nodes),
    ):
        if found < needed:
            raise NotEnoughServers(f"{found} eligible {kind} servers, {needed} needed")
    return Selection(
        [n.address for n in compute[: requirements.compute_nodes]],
        [n.address for n in storage[: requirements.storage_nodes]],
    )


def task_domain(chain_id: int, task_manager: str) -> dict[str, Any]:
    """The EIP-712 domain of a ``TaskManager``."""
    return {
        "name": TASK_DOMAIN_NAME,
        "version": TASK_DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": task_manager,
    }


def _sandbox_message(
    task_id: bytes, encryption_key: bytes, signer: str, program_hash: bytes
) -> dict[str, Any]:
    return {
        "taskId": task_id,
        "keyHash": keccak256(encryption_key),
        "signer": signer,
        "programHash": program_hash,
    }


def sandbox_key_digest(
    domain: dict[str, Any], task_id: bytes, encryption_key: bytes, signer: str, program_hash: bytes
) -> bytes:
    """The digest ``TaskManager.sandboxKeyDigest`` computes."""
    message = _sandbox_message(task_id, encryption_key, signer, program_hash)
    return typed_data_hash(domain, SANDBOX_KEY_TYPES, "SandboxKey", message)


def sign_sandbox_key(
    server: KeyPair,
    domain: dict[str, Any],
    task_id: bytes,
    encryption_key: bytes,
    signer: str,
    program_hash: bytes,
) -> bytes:
    """A computing server's approval of the task's sandbox key (``registerSandboxKey`` needs all of them)."""
    message = _sandbox_message(task_id, encryption_key, signer, program_hash)
    return sign_typed_data(server, domain, SANDBOX_KEY_TYPES, "SandboxKey", message)


def task_id_of(number: int) -> bytes:
    """Task ids are ``bytes32(uint256(n))`` for the n-th task."""
    return number.to_bytes(32, "big")

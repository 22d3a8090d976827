"""Typed client of the registry contract (RSC): register, update, read and discover nodes.

Agents use it to publish their endpoint and keys and to find peers by role; nothing else in metatrust
hard-codes where an agent listens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from eth_typing import ChecksumAddress
from web3 import Web3

from offchain.chain.contract_client import ContractClient
from offchain.chain.roles import ActorRole

if TYPE_CHECKING:
    from web3.types import TxReceipt


DISCOVERY_PAGE = 200


class NodeStatus(IntEnum):
    UNREGISTERED = 0
    ACTIVE = 1
    DEREGISTERED = 2
    BLACKLISTED = 3


@dataclass(frozen=True)
class Resources:
    """The resource tuple (IP, R_CPU, R_RAM, R_Storage, R_Network) of seed 000."""

    ip: str = ""
    cpu_cores: int = 0
    ram_mib: int = 0
    storage_gib: int = 0
    network_mbps: int = 0

    def as_tuple(self) -> tuple[str, int, int, int, int]:
        return (self.ip, self.cpu_cores, self.ram_mib, self.storage_gib, self.network_mbps)


@dataclass(frozen=True)
class NodeRecord:
    """One registry entry as the chain holds it."""

    address: ChecksumAddress
    status: NodeStatus
    roles: ActorRole
    pending_roles: ActorRole
    registered_at: int
    provider: bytes
    encryption_key: bytes
    bls_key: bytes
    endpoint: str
    resources: Resources

    @property
    def active(self) -> bool:
        return self.status is NodeStatus.ACTIVE

    def has(self, roles: ActorRole) -> bool:
        """Active and holding every role in ``roles`` (granted, not pending)."""
        return self.active and (self.roles & roles) == roles


def _provider_id(provider: bytes | str) -> bytes:
    raw = provider.encode() if isinstance(provider, str) else provider
    if len(raw) > 32:
        raise ValueError(f"provider id is longer than 32 bytes: {raw!r}")
    return raw.ljust(32, b"\0")


class RegistryClient(ContractClient):
    """Reads RSC with plain calls and writes it through the shared ``TransactionSender``."""

    # ------------------------------------------------------------------ writes (the sender's own record)

    def register(
        self,
        roles: ActorRole,
        encryption_key: bytes,
        endpoint: str,
        *,
        bls_key: bytes = b"",
        resources: Resources | None = None,
        provider: bytes | str = b"",
    ) -> TxReceipt:
        """Register the sender's account; permissioned roles wait for an auditor."""
        call = self.contract.functions.register(
            int(roles),
            encryption_key,
            bls_key,
            endpoint,
            (resources or Resources()).as_tuple(),
            _provider_id(provider),
        )
        return self._send(call)

    def ensure_registered(
        self,
        roles: ActorRole,
        encryption_key: bytes,
        endpoint: str,
        *,
        bls_key: bytes = b"",
        resources: Resources | None = None,
        provider: bytes | str = b"",
    ) -> None:
        """Register the sender, or, when it is active already (a second run on one devnet), point its record
        at ``endpoint`` and request ``roles`` if it neither holds nor awaits any of them."""
        if self.sender is None:
            raise RuntimeError("this RegistryClient is read-only: give it a TransactionSender to write")
        record = self.node(self.sender.address)
        if record.status is NodeStatus.ACTIVE:
            if record.endpoint != endpoint:
                self.update_endpoint(endpoint)
            if not (record.roles | record.pending_roles) & roles:
                self.request_roles(roles)
            return
        self.register(
            roles, encryption_key, endpoint, bls_key=bls_key, resources=resources, provider=provider
        )

    def update_endpoint(self, endpoint: str) -> TxReceipt:
        return self._send(self.contract.functions.updateEndpoint(endpoint))

    def update_keys(self, encryption_key: bytes, bls_key: bytes = b"") -> TxReceipt:
        return self._send(self.contract.functions.updateKeys(encryption_key, bls_key))

    def update_resources(self, resources: Resources) -> TxReceipt:
        return self._send(self.contract.functions.updateResources(resources.as_tuple()))

    def request_roles(self, roles: ActorRole) -> TxReceipt:
        return self._send(self.contract.functions.requestRoles(int(roles)))

    def deregister(self) -> TxReceipt:
        return self._send(self.contract.functions.deregister())

    def approve_roles(self, node: str, roles: ActorRole) -> TxReceipt:
        """Auditor only: grant pending permissioned roles."""
        return self._send(self.contract.functions.approveRoles(Web3.to_checksum_address(node), int(roles)))

    # ------------------------------------------------------------------ reads

    def node(self, address: str) -> NodeRecord:
        checksum = Web3.to_checksum_address(address)
        raw = self.contract.functions.getNode(checksum).call()
        status, roles, pending, registered_at, provider, enc_key, bls_key, endpoint, res = raw
        return NodeRecord(
            address=checksum,
            status=NodeStatus(status),
            roles=ActorRole(roles),
            pending_roles=ActorRole(pending),
            registered_at=int(registered_at),
            provider=bytes(provider),
            encryption_key=bytes(enc_key),
            bls_key=bytes(bls_key),
            endpoint=str(endpoint),
            resources=Resources(str(res[0]), int(res[1]), int(res[2]), int(res[3]), int(res[4])),
        )

    def is_active(self, address: str, roles: ActorRole | None = None) -> bool:
        """Active and holding every role in ``roles`` (just active when ``roles`` is None)."""
        mask = int(roles) if roles is not None else 0
        return bool(self.contract.functions.isActive(Web3.to_checksum_address(address), mask).call())

    def addresses_with(self, roles: ActorRole, page_size: int = DISCOVERY_PAGE) -> Iterator[ChecksumAddress]:
        """Active nodes holding every role in ``roles``, page by page (bounded calls)."""
        total = int(self.contract.functions.listedCount().call())
        offset = 0
        while offset < total:
            page, offset = self.contract.functions.nodesWithRoles(int(roles), offset, page_size).call()
            yield from (Web3.to_checksum_address(address) for address in page)

    def discover(self, roles: ActorRole) -> list[NodeRecord]:
        """Full records of the active nodes holding ``roles``, in registration order."""
        return [self.node(address) for address in self.addresses_with(roles)]

"""Agents find each other through the registry (RSC): endpoints, encryption keys and roles on chain.

- :func:`find_peers` lists the active nodes holding a role set, with the endpoint and key to reach them.
- :func:`registry_authorizer` makes an :class:`~offchain.agents.service.Agent` accept only senders that
  are active in the registry with the roles each action requires (answers are cached for a short time,
  so a blacklisting takes effect within ``ttl`` seconds).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

from offchain.agents.service import Authorizer
from offchain.chain.registry import NodeRecord, RegistryClient
from offchain.chain.roles import ActorRole


@dataclass(frozen=True)
class Peer:
    """How to reach one registered agent."""

    address: str
    endpoint: str
    encryption_key: bytes
    roles: ActorRole

    @classmethod
    def from_record(cls, record: NodeRecord) -> Peer:
        return cls(record.address, record.endpoint, record.encryption_key, record.roles)


async def find_peers(registry: RegistryClient, roles: ActorRole) -> list[Peer]:
    """Active nodes holding every role in ``roles``, in registration order (chain reads off the loop)."""
    records = await asyncio.to_thread(registry.discover, roles)
    return [Peer.from_record(record) for record in records]


async def lookup_peer(registry: RegistryClient, address: str) -> Peer | None:
    """The registered, active peer at ``address``, or None."""
    record = await asyncio.to_thread(registry.node, address)
    return Peer.from_record(record) if record.active else None


def registry_authorizer(
    registry: RegistryClient,
    required: Mapping[str, ActorRole],
    *,
    default: ActorRole | None = None,
    ttl: float = 5.0,
) -> Authorizer:
    """An authorizer that asks RSC whether the sender holds the roles ``required[action]``.

    Actions missing from ``required`` need ``default`` (None: any active registered node).
    """
    cache: dict[tuple[str, int], tuple[float, bool]] = {}

    async def authorize(sender: str, action: str) -> bool:
        roles = required.get(action, default)
        mask = int(roles) if roles is not None else 0
        key = (sender, mask)
        now = time.monotonic()
        hit = cache.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        allowed = await asyncio.to_thread(registry.is_active, sender, ActorRole(mask))
        cache[key] = (now, allowed)
        return allowed

    return authorize

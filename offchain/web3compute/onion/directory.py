"""The onion directory is RSC: routers register with the ``ONION_ROUTER`` role, a ``tcp://host:port``
endpoint and their secp256k1 encryption key; the proxy reads the active ones and picks a path.

``ONION_ROUTER`` is a permissioned role (``offchain.chain.roles.DEFAULT_PERMISSIONED``): a router is used
only once an auditor has approved it, and a deregistered or blacklisted one drops out of discovery.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from offchain.chain.registry import NodeRecord, RegistryClient
from offchain.chain.roles import ActorRole
from offchain.crypto.ecies import parse_public_key
from offchain.crypto.errors import InvalidPublicKey
from offchain.crypto.keys import KeyPair
from offchain.web3compute.onion.cells import Hop, encode_address

if TYPE_CHECKING:
    from web3.types import TxReceipt

LOG = logging.getLogger(__name__)
SCHEME = "tcp"


@dataclass(frozen=True)
class RouterInfo:
    """One directory entry: the router's account, where it listens and its encryption key."""

    account: str
    address: str
    """``host:port``."""
    public_key: bytes

    @property
    def hop(self) -> Hop:
        return Hop(self.address, self.public_key)

    @property
    def endpoint(self) -> str:
        return f"{SCHEME}://{self.address}"


def endpoint_address(endpoint: str) -> str:
    """``tcp://127.0.0.1:9000`` → ``127.0.0.1:9000``; ``ValueError`` for anything else."""
    parts = urlsplit(endpoint)
    if parts.scheme != SCHEME or not parts.hostname or parts.port is None or parts.path not in ("", "/"):
        raise ValueError(f"not a tcp://host:port endpoint: {endpoint!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    address = f"{host}:{parts.port}"
    encode_address(address)
    return address


def router_from_record(record: NodeRecord) -> RouterInfo:
    """A registry record as a directory entry; ``ValueError`` when it cannot serve as a router."""
    if not record.has(ActorRole.ONION_ROUTER):
        raise ValueError(f"{record.address} is not an active onion router")
    try:
        key = parse_public_key(record.encryption_key)
    except InvalidPublicKey as exc:
        raise ValueError(f"{record.address} has no usable encryption key") from exc
    return RouterInfo(record.address, endpoint_address(record.endpoint), key)


def fetch_routers(registry: RegistryClient) -> list[RouterInfo]:
    """The active onion routers of RSC, skipping (and logging) entries with unusable endpoints or keys."""
    routers: list[RouterInfo] = []
    for record in registry.discover(ActorRole.ONION_ROUTER):
        try:
            routers.append(router_from_record(record))
        except ValueError as exc:
            LOG.warning("directory: skipping %s: %s", record.address, exc)
    return routers


def register_router(
    registry: RegistryClient, onion_key: KeyPair, address: str, provider: bytes | str = b""
) -> TxReceipt:
    """Register the registry client's account as an onion router listening at ``address`` (host:port)."""
    endpoint = f"{SCHEME}://{address}"
    endpoint_address(endpoint)
    return registry.register(
        ActorRole.ONION_ROUTER, onion_key.compressed_public_key, endpoint, provider=provider
    )


def select_path(
    routers: Sequence[RouterInfo],
    k: int = 3,
    exclude: Iterable[str] = (),
    rng: random.Random | None = None,
) -> list[RouterInfo]:
    """``k`` distinct routers drawn uniformly without replacement (CSPRNG by default).

    ``exclude`` holds accounts or ``host:port`` addresses (the proxy itself, the Exit) never to use.
    """
    banned = {item.lower() for item in exclude}
    candidates = [r for r in routers if r.account.lower() not in banned and r.address.lower() not in banned]
    if k < 1:
        raise ValueError("a circuit has at least one hop")
    if len(candidates) < k:
        raise ValueError(f"the directory lists {len(candidates)} usable routers, a circuit needs {k}")
    return (rng or secrets.SystemRandom()).sample(candidates, k)

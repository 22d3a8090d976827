"""The ``deployments/<network>.json`` file: where each contract lives on a network and its ABI.

Written by the deploy step (``make deploy`` / ``metatrust deploy``), read by every agent and client::

    {"network": "local", "chain_id": 31337, "rpc_url": "http://127.0.0.1:8545",
     "deployed_at": "2025-01-01T00:00:00+00:00",
     "contracts": {"MetaCoin": {"address": "0x...", "abi": [...], "block": 3, "tx_hash": "0x..."}}}
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from offchain.chain.errors import DeploymentNotFound, DeploymentsFileNotFound

__all__ = ["DEFAULT_ROOT", "ContractInfo", "Deployments", "deployments_path", "load_deployments"]

DEFAULT_ROOT = Path("deployments")

_HOW_TO_DEPLOY = "run `make deploy` (or `metatrust deploy`) against a running devnet first"


class ContractInfo(BaseModel):
    """One deployed contract: checksummed address, ABI, and where it was deployed."""

    model_config = ConfigDict(extra="forbid")

    address: ChecksumAddress
    abi: list[dict[str, Any]]
    block: int | None = None
    tx_hash: str | None = None

    @field_validator("address", mode="before")
    @classmethod
    def _checksum(cls, value: Any) -> ChecksumAddress:
        if not isinstance(value, str) or not is_address(value):
            raise ValueError(f"not an Ethereum address: {value!r}")
        return to_checksum_address(value)


class Deployments(BaseModel):
    """All contracts deployed on one network (the content of ``deployments/<network>.json``)."""

    model_config = ConfigDict(extra="forbid")

    network: str
    chain_id: int
    rpc_url: str
    deployed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    contracts: dict[str, ContractInfo] = Field(default_factory=dict)

    def contract_info(self, name: str) -> ContractInfo:
        """The entry of contract ``name``; raises :class:`DeploymentNotFound` listing known names."""
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(self.contracts)) or "none"
            raise DeploymentNotFound(
                f"contract {name!r} is not deployed on network {self.network!r} "
                f"(known contracts: {known}); {_HOW_TO_DEPLOY}"
            ) from None

    def address(self, name: str) -> ChecksumAddress:
        """Address of contract ``name``."""
        return self.contract_info(name).address

    def name_of(self, address: str) -> str | None:
        """Reverse lookup: the contract name deployed at ``address``, if any."""
        if not is_address(address):
            return None
        wanted = to_checksum_address(address)
        return next((n for n, c in self.contracts.items() if c.address == wanted), None)

    def add(
        self,
        name: str,
        address: str,
        abi: list[dict[str, Any]],
        *,
        block: int | None = None,
        tx_hash: str | None = None,
    ) -> ContractInfo:
        """Record (or replace) a deployed contract and return its entry."""
        info = ContractInfo.model_validate(
            {"address": address, "abi": abi, "block": block, "tx_hash": tx_hash}
        )
        self.contracts[name] = info
        return info

    def save(self, path: str | Path) -> Path:
        """Write the file atomically (temp file + rename), creating parent folders; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = self.model_dump_json(indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target


def deployments_path(path_or_network: str | Path, root: Path = DEFAULT_ROOT) -> Path:
    """Resolve a network name (``"local"`` → ``root/local.json``) or pass a file path through."""
    if isinstance(path_or_network, Path):
        return path_or_network
    if path_or_network.endswith(".json") or os.sep in path_or_network or "/" in path_or_network:
        return Path(path_or_network)
    return root / f"{path_or_network}.json"


def load_deployments(path_or_network: str | Path, root: Path = DEFAULT_ROOT) -> Deployments:
    """Load ``deployments/<network>.json`` (or an explicit path).

    Raises :class:`DeploymentsFileNotFound` (a :class:`DeploymentNotFound`) when the file is missing,
    and :class:`DeploymentNotFound` when it is not valid.
    """
    path = deployments_path(path_or_network, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeploymentsFileNotFound(f"no deployments file at {path}: {_HOW_TO_DEPLOY}") from None
    try:
        return Deployments.model_validate_json(text)
    except ValidationError as exc:
        raise DeploymentNotFound(
            f"deployments file {path} is invalid ({exc}); {_HOW_TO_DEPLOY} again"
        ) from exc

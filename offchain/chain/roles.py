"""Actor roles of the registry (RSC), mirroring ``contracts/platform/ActorRoles.sol`` bit for bit."""

from __future__ import annotations

from enum import IntFlag


class ActorRole(IntFlag):
    """Role bits of every actor of every metatrust system (a node's role set is an OR of these)."""

    # Meta-BMEOC (seed 000)
    MTD = 1 << 0
    CSN = 1 << 1
    ENCLAVE = 1 << 2
    # MetaAICM (seed 001)
    MSP = 1 << 3
    ML_WORKER = 1 << 4
    DATA_WORKER = 1 << 5
    ORACLE = 1 << 6
    COMMITTEE = 1 << 7
    AVATAR = 1 << 8
    # RSMS (seed 002)
    RESOURCE_PROVIDER = 1 << 9
    POOL_MANAGER = 1 << 10
    RESOURCE_NODE = 1 << 11
    SERVICE_USER = 1 << 12
    # MExpm (seed 003)
    VEHICLE = 1 << 13
    MEC_SERVER = 1 << 14
    SERVICE_AGENCY = 1 << 15
    RSU = 1 << 16
    # Web3 data computing (seed 004)
    WEB3_USER = 1 << 17
    STORAGE_SERVER = 1 << 18
    COMPUTE_SERVER = 1 << 19
    SERVICE_PROVIDER = 1 << 20
    ONION_ROUTER = 1 << 21

    @classmethod
    def all(cls) -> ActorRole:
        """Every defined bit (equals ``RSC.knownRoles()``)."""
        mask = cls(0)
        for member in cls:
            mask |= member
        return mask

    @property
    def label(self) -> str:
        """``"csn|mtd"``: the lower-case names of the set's roles (``"none"`` for the empty set)."""
        names = [member.name.lower() for member in type(self) if member.name and member in self]
        return "|".join(names) or "none"

    @classmethod
    def parse(cls, text: str) -> ActorRole:
        """``"csn,mtd"`` or ``"CSN|MTD"`` to a role set; unknown names raise ``ValueError``."""
        mask = cls(0)
        for name in text.replace("|", ",").split(","):
            key = name.strip().upper().replace("-", "_")
            if not key:
                continue
            try:
                mask |= cls[key]
            except KeyError:
                known = ", ".join(member.name.lower() for member in cls if member.name)
                raise ValueError(f"unknown role {name.strip()!r}; known roles: {known}") from None
        if not mask:
            raise ValueError("no role given")
        return mask


#: Roles that an auditor must approve by default: infrastructure that others trust with data or money.
DEFAULT_PERMISSIONED = (
    ActorRole.CSN
    | ActorRole.ENCLAVE
    | ActorRole.ORACLE
    | ActorRole.COMMITTEE
    | ActorRole.RESOURCE_PROVIDER
    | ActorRole.POOL_MANAGER
    | ActorRole.RESOURCE_NODE
    | ActorRole.MEC_SERVER
    | ActorRole.SERVICE_AGENCY
    | ActorRole.RSU
    | ActorRole.STORAGE_SERVER
    | ActorRole.COMPUTE_SERVER
    | ActorRole.ONION_ROUTER
)

"""RSSC's selection seed, which no single member of the environment chooses (pure, no I/O).

Every member signs one fixed message per task with its BLS key::

    abi.encode(SEED_TAG, chainId, MSC, envId, taskId)

under a domain-separation tag of its own (``SEED_DST``, so a seed share can never pass as an install,
execution or environment signature that MSC or ASC would accept). BLS signatures are unique, so the
aggregate σ of every current member's signature is the one signature of that message under the
environment's aggregate key, and ``seed = keccak256(σ)`` is a function of the task and the environment's
keys only: the Leader can neither pick it nor grind it, and every member checks σ against the environment's
current aggregate key (MSC's) before it executes a ScheduleTask step.
"""

from __future__ import annotations

from collections.abc import Iterable

from eth_abi.abi import encode

from offchain.crypto import bls
from offchain.crypto.hashing import keccak256

SEED_TAG = keccak256(b"metatrust.bmeoc.rssc.seed")
SEED_DST = b"METATRUST-BMEOC-RSSC-SEED-V1_BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_"


def seed_message(chain_id: int, msc: str, env_id: int, task_id: bytes) -> bytes:
    """The per-task message every member signs: ``abi.encode(SEED_TAG, chainId, MSC, envId, taskId)``."""
    if len(task_id) != 32:
        raise ValueError(f"task id must be 32 bytes, got {len(task_id)}")
    return encode(
        ["bytes32", "uint256", "address", "uint256", "bytes32"], [SEED_TAG, chain_id, msc, env_id, task_id]
    )


def sign_seed_share(bls_secret: int, message: bytes) -> bytes:
    """One member's share: its BLS signature (seed DST) on :func:`seed_message`."""
    return bls.sign(bls_secret, message, SEED_DST)


def aggregate_seed(shares: Iterable[bytes]) -> bytes:
    """σ, the aggregate of every member's share."""
    return bls.aggregate_signatures(shares)


def seed_of(sigma: bytes) -> bytes:
    """The selection seed ``keccak256(σ)``."""
    return keccak256(sigma)


def check_seed(aggregate_key: bytes, message: bytes, sigma: bytes, seed: bytes) -> str | None:
    """None when ``seed`` is ``keccak256(σ)`` and σ verifies under ``aggregate_key``, else the reason."""
    if not bls.verify(aggregate_key, message, sigma, SEED_DST):  # malformed points verify as False
        return "the seed signature does not verify under the environment's aggregate key"
    if seed != seed_of(sigma):
        return "the seed is not keccak256 of the environment's aggregate seed signature"
    return None

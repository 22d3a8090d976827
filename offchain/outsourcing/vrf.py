"""The environment VRF of Meta-BMEOC (spec 000 §3.8 B.2, §7 item 22), exactly as ``MSC.sol`` checks it.

The VRF is a unique BLS signature (min-sig, :mod:`offchain.crypto.bls`): the proof π is the signature on the
environment seed 𝒮 under :data:`DST_VRF`, the output β = d is ``keccak256(π)`` read as a 256-bit integer.
Uniqueness comes from BLS: for a key in G2's prime-order subgroup exactly one G1 point verifies. The seed is
``keccak256(abi.encode(envId, blockhash(creation block - 1), MSC address, chain id))``, fixed on chain before
any proof is known, so no enclave can grind it. Roles (§7 item 22): the ``size`` smallest outputs, ascending
(ties by lower address): Leader, Execution, then Monitoring. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from eth_abi.abi import encode

from offchain.crypto import bls
from offchain.crypto.hashing import keccak256

DST_VRF: Final = b"METATRUST_VRF_BLS12381G1_XMD:SHA-256_SSWU_RO_"


@dataclass(frozen=True)
class VrfProof:
    """A VRF evaluation: the proof π (128-byte G1 point) and the output d = keccak256(π)."""

    proof: bytes
    output: int


@dataclass(frozen=True)
class Roles:
    """The roles of an environment, by ascending VRF output."""

    leader: str
    executor: str
    monitors: tuple[str, ...]

    @property
    def members(self) -> tuple[str, ...]:
        return (self.leader, self.executor, *self.monitors)


def environment_seed(env_id: int, block_hash: bytes, msc_address: str, chain_id: int) -> bytes:
    """𝒮 = keccak256(abi.encode(envId, blockhash, MSC, chainid)), as ``MSC.createEnvironment`` fixes it."""
    return keccak256(
        encode(["uint256", "bytes32", "address", "uint256"], [env_id, block_hash, msc_address, chain_id])
    )


def output_of(proof: bytes) -> int:
    """The VRF output d of a proof."""
    return int.from_bytes(keccak256(proof), "big")


def prove(secret: int, seed: bytes) -> VrfProof:
    """Evaluate the VRF on ``seed`` with the enclave's BLS secret."""
    proof = bls.sign(secret, seed, DST_VRF)
    return VrfProof(proof=proof, output=output_of(proof))


def verify(public_key: bytes, seed: bytes, proof: bytes) -> int | None:
    """The output if ``proof`` is the VRF proof of ``public_key`` on ``seed``, else None."""
    if not bls.verify(public_key, seed, proof, DST_VRF):
        return None
    return output_of(proof)


def assign_roles(outputs: Mapping[str, int], size: int) -> Roles:
    """The environment of ``size`` enclaves with the smallest outputs (ties: lower address), ascending."""
    if size < 2 or size > len(outputs):
        raise ValueError(f"cannot form an environment of {size} from {len(outputs)} candidates")
    ranked = sorted(outputs, key=lambda address: (outputs[address], int(address, 16)))[:size]
    return Roles(leader=ranked[0], executor=ranked[1], monitors=tuple(ranked[2:]))

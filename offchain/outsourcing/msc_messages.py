"""The byte strings enclaves sign for ``MSC.sol`` (pure, no I/O).

* the simulated attestation quote: an EIP-191 signature by the test attestation authority over
  ``keccak256(abi.encode(QUOTE_TAG, chainid, MSC, enclave, measurement, keccak256(blsKey)))``; a real TEE
  backend would put a hardware quote over the same report data (see docs/outsourcing-onchain.md);
* the installation and execution confirmations every member of an environment signs with its BLS key
  (the corrected Eq. (13): one common message, aggregated and checked with one pairing);
* the environment message through which ASC accepts a digest (anchor, settlement, voucher) as signed by an
  environment (``MSC.verifyEnvironmentSignature``, the ``IEnvironmentVerifier`` of ASC), and the 384-byte
  ``aggregateSignature`` ASC forwards to MSC: the aggregate key (G2, 256 bytes) followed by σ (G1, 128 bytes).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from eth_abi.abi import encode

from offchain.crypto import bls
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, derive
from offchain.crypto.signing import sign_message

INSTALL_TAG: Final = keccak256(b"metatrust.msc.install")
EXECUTION_TAG: Final = keccak256(b"metatrust.msc.execution")
QUOTE_TAG: Final = keccak256(b"metatrust.msc.quote")
ENVIRONMENT_TAG: Final = keccak256(b"metatrust.msc.environment")
G1_LENGTH: Final = 128
G2_LENGTH: Final = 256
#: ``MSC.ENVIRONMENT_SIGNATURE_LENGTH``: aggregate key ‖ σ.
ENVIRONMENT_SIGNATURE_LENGTH: Final = G2_LENGTH + G1_LENGTH
#: The code measurement of the simulated enclave program (a real TEE would report MRENCLAVE or similar).
TEST_MEASUREMENT: Final = keccak256(b"metatrust.osctee.enclave.v1")


def simulated_attestation_authority() -> KeyPair:
    """The deterministic *test* attestation authority (simulation only: anyone can derive this key)."""
    return derive(b"metatrust.test-attestation-authority", 0)


def quote_digest(chain_id: int, msc: str, enclave: str, measurement: bytes, bls_key: bytes) -> bytes:
    """The digest the attestation authority signs (``MSC.quoteDigest``)."""
    return keccak256(
        encode(
            ["bytes32", "uint256", "address", "address", "bytes32", "bytes32"],
            [QUOTE_TAG, chain_id, msc, enclave, measurement, keccak256(bls_key)],
        )
    )


def simulated_quote(
    authority: KeyPair, chain_id: int, msc: str, enclave: str, measurement: bytes, bls_key: bytes
) -> bytes:
    """A simulated attestation quote: the test authority's EIP-191 signature over :func:`quote_digest`."""
    return sign_message(authority, quote_digest(chain_id, msc, enclave, measurement, bls_key))


def install_message(chain_id: int, msc: str, env_id: int, id_sc: int, code_hash: bytes) -> bytes:
    """What every member signs to confirm installing ``id_sc`` (``MSC.installMessage``)."""
    return encode(
        ["bytes32", "uint256", "address", "uint256", "uint256", "bytes32"],
        [INSTALL_TAG, chain_id, msc, env_id, id_sc, code_hash],
    )


def execution_message(chain_id: int, msc: str, env_id: int, id_sc: int, seq: int, state_root: bytes) -> bytes:
    """What every member signs to confirm execution step ``seq`` (``MSC.executionMessage``)."""
    return encode(
        ["bytes32", "uint256", "address", "uint256", "uint256", "uint64", "bytes32"],
        [EXECUTION_TAG, chain_id, msc, env_id, id_sc, seq, state_root],
    )


def environment_message(chain_id: int, msc: str, env_id: int, message_hash: bytes) -> bytes:
    """What every member of environment ``env_id`` signs (message DST) so that ASC accepts ``message_hash``
    (``MSC.environmentMessage``)."""
    if len(message_hash) != 32:
        raise ValueError(f"message hash must be 32 bytes, got {len(message_hash)}")
    return encode(
        ["bytes32", "uint256", "address", "uint256", "bytes32"],
        [ENVIRONMENT_TAG, chain_id, msc, env_id, message_hash],
    )


def encode_environment_signature(aggregate_key: bytes, sigma: bytes) -> bytes:
    """The ``aggregateSignature`` of ``IEnvironmentVerifier``: the environment's aggregate key (256-byte
    EIP-2537 G2) followed by the aggregate signature σ (128-byte EIP-2537 G1)."""
    if len(aggregate_key) != G2_LENGTH:
        raise ValueError(f"aggregate key must be {G2_LENGTH} bytes (EIP-2537 G2), got {len(aggregate_key)}")
    if len(sigma) != G1_LENGTH:
        raise ValueError(f"signature must be {G1_LENGTH} bytes (EIP-2537 G1), got {len(sigma)}")
    return aggregate_key + sigma


def asc_environment_id(env_id: int) -> bytes:
    """ASC's ``environmentId`` of MSC environment ``env_id``: ``bytes32(uint256(envId))``."""
    if not 0 < env_id < 2**256:
        raise ValueError(f"MSC environment ids are positive uint256, got {env_id}")
    return env_id.to_bytes(32, "big")


def msc_environment_id(environment_id: bytes) -> int:
    """The MSC environment id behind ASC's ``environmentId`` (inverse of :func:`asc_environment_id`)."""
    if len(environment_id) != 32:
        raise ValueError(f"environment id must be 32 bytes, got {len(environment_id)}")
    return int.from_bytes(environment_id, "big")


def environment_signature(member_keys: Iterable[bytes], member_signatures: Iterable[bytes]) -> bytes:
    """What the Leader hands ASC: Σ pk_i ‖ Σ σ_i over every member's key and signature on the same
    :func:`environment_message` (the sum is order-free, so it equals MSC's stored aggregate key)."""
    return encode_environment_signature(
        bls.aggregate_public_keys(member_keys), bls.aggregate_signatures(member_signatures)
    )

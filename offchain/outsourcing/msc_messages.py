"""The byte strings enclaves sign for ``MSC.sol`` (pure, no I/O).

* the simulated attestation quote: an EIP-191 signature by the test attestation authority over
  ``keccak256(abi.encode(QUOTE_TAG, chainid, MSC, enclave, measurement, keccak256(blsKey)))``; a real TEE
  backend would put a hardware quote over the same report data (see docs/outsourcing-onchain.md);
* the installation and execution confirmations every member of an environment signs with its BLS key
  (the corrected Eq. (13): one common message, aggregated and checked with one pairing).
"""

from __future__ import annotations

from typing import Final

from eth_abi.abi import encode

from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, derive
from offchain.crypto.signing import sign_message

INSTALL_TAG: Final = keccak256(b"metatrust.msc.install")
EXECUTION_TAG: Final = keccak256(b"metatrust.msc.execution")
QUOTE_TAG: Final = keccak256(b"metatrust.msc.quote")
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

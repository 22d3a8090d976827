"""INTERIM (until helper B's msc_messages lands): the environment message ASC digests are wrapped in."""

from __future__ import annotations

from typing import Final

from eth_abi.abi import encode

from offchain.crypto.hashing import keccak256
from offchain.outsourcing.msc_messages import execution_message, install_message

ENVIRONMENT_TAG: Final = keccak256(b"metatrust.msc.environment")

__all__ = ["environment_message", "execution_message", "install_message"]


def environment_message(chain_id: int, msc: str, env_id: int, message_hash: bytes) -> bytes:
    return encode(
        ["bytes32", "uint256", "address", "uint256", "bytes32"],
        [ENVIRONMENT_TAG, chain_id, msc, env_id, message_hash],
    )

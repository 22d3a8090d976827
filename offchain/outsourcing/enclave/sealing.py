"""What travels encrypted between the MTD and the enclaves (pure, no I/O).

* **TX_acc and F** go from the MTD to *each member* of the environment, ECIES-encrypted to the member's
  registered encryption key and bound (associated data) to the ASC task id and the member's address: the
  Leader forwards ciphertexts it cannot open for the others, and nothing of TX_acc ever reaches the chain
  (spec §3.10 (b), R14).
* **Group_C** (the CSNs in index order and the commitment's salt) goes from the Leader to the MTD,
  encrypted to the MTD's registered key, bound to the task id and the MTD's address.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from offchain.crypto import ecies
from offchain.crypto.keys import KeyPair
from offchain.outsourcing.accountability import AccountabilityTransaction
from offchain.outsourcing.errors import MalformedMessage
from offchain.outsourcing.osc.messages import tx_acc_from_json, tx_acc_to_json
from offchain.outsourcing.polynomial import AnyPolynomial, polynomial_from_wire

ACC_TAG = b"metatrust/bmeoc/enclave/TX_acc/v1"
GROUP_TAG = b"metatrust/bmeoc/enclave/Group_C/v1"


def _aad(tag: bytes, task_id: bytes, address: str) -> bytes:
    return tag + task_id + bytes.fromhex(address[2:])


def accountability_to_json(tx_acc: AccountabilityTransaction, polynomial: AnyPolynomial) -> dict[str, Any]:
    """TX_acc (helper C's JSON form) and F (every share included: this must only ever be encrypted)."""
    return {"tx_acc": tx_acc_to_json(tx_acc), "polynomial": polynomial.to_wire()}


def accountability_from_json(document: Mapping[str, Any]) -> tuple[AccountabilityTransaction, AnyPolynomial]:
    """Inverse of :func:`accountability_to_json`; raises :class:`MalformedMessage`."""
    try:
        return tx_acc_from_json(document["tx_acc"]), polynomial_from_wire(document["polynomial"])
    except MalformedMessage:
        raise
    except Exception as exc:  # OscRequestError, KeyError, ValueError, TypeError: a malformed TX_acc
        raise MalformedMessage(f"malformed TX_acc: {exc}") from exc


def seal_accountability(
    tx_acc: AccountabilityTransaction,
    polynomial: AnyPolynomial,
    task_id: bytes,
    members: Mapping[str, bytes],
) -> dict[str, str]:
    """TX_acc and F encrypted once per member (address → 0x-hex ciphertext for its encryption key)."""
    plain = json.dumps(accountability_to_json(tx_acc, polynomial), separators=(",", ":")).encode()
    return {
        address: "0x" + ecies.encrypt(key, plain, _aad(ACC_TAG, task_id, address)).hex()
        for address, key in members.items()
    }


def open_accountability(
    encryption_key: KeyPair, address: str, task_id: bytes, sealed: str
) -> tuple[AccountabilityTransaction, AnyPolynomial]:
    """A member opens its own copy; raises DecryptionError or MalformedMessage."""
    plain = ecies.decrypt(encryption_key, bytes.fromhex(sealed[2:]), _aad(ACC_TAG, task_id, address))
    try:
        document = json.loads(plain)
    except ValueError as exc:
        raise MalformedMessage(f"TX_acc is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedMessage("TX_acc is not a JSON object")
    return accountability_from_json(document)


@dataclass(frozen=True)
class GroupC:
    """What the MTD learns from the Leader: the CSNs in index order (j = position + 1) and the salt of the
    anchored commitment."""

    group: tuple[str, ...]
    salt: bytes


def seal_group(group: GroupC, task_id: bytes, mtd: str, mtd_encryption_key: bytes) -> str:
    plain = json.dumps({"group": list(group.group), "salt": "0x" + group.salt.hex()}).encode()
    return "0x" + ecies.encrypt(mtd_encryption_key, plain, _aad(GROUP_TAG, task_id, mtd)).hex()


def open_group(encryption_key: KeyPair, task_id: bytes, mtd: str, sealed: str) -> GroupC:
    plain = ecies.decrypt(encryption_key, bytes.fromhex(sealed[2:]), _aad(GROUP_TAG, task_id, mtd))
    document = json.loads(plain)
    return GroupC(tuple(document["group"]), bytes.fromhex(document["salt"][2:]))

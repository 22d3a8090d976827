"""Channel states of ``StateChannelManager`` (spec 004 §2.6, §3.2.1–3.2.2): pure data and hashing, no I/O.

A state is signed by both parties as EIP-712 typed data in the domain ``Web3PPDC-Channel`` / ``1`` of one
manager contract on one chain. :func:`state_digest` computes the digest by hand (``abi.encode`` of ten
words), which is ~50x faster than building the typed-data document; :func:`typed_data` gives the same
document to :func:`offchain.crypto.signing.typed_data_hash`, and the tests keep both and the contract's
``stateDigest`` equal.

Transcript hash chain over the transmissions of a channel::

    T_0 = 0x00…00
    T_j = keccak256(T_{j-1} || keccak256(ciphertext_j) || sender_j || receiver_j || uint256(j))

(addresses as 20 bytes, ``abi.encodePacked``); state number ``j`` carries ``nonce = msgCount = j`` and
``transcriptHash = T_j`` (a state may also advance the nonce without a transmission, e.g. a payment).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from eth_utils.address import to_canonical_address, to_checksum_address

from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import SIGNATURE_LENGTH, recover_hash_signer, sign_hash

DOMAIN_NAME = "Web3PPDC-Channel"
DOMAIN_VERSION = "1"
ZERO32 = bytes(32)
UINT256_MAX = 2**256 - 1

STATE_FIELDS: list[dict[str, str]] = [
    {"name": "channelId", "type": "bytes32"},
    {"name": "taskId", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "balanceA", "type": "uint256"},
    {"name": "balanceB", "type": "uint256"},
    {"name": "msgCount", "type": "uint256"},
    {"name": "transcriptHash", "type": "bytes32"},
    {"name": "resultHash", "type": "bytes32"},
    {"name": "isFinal", "type": "bool"},
]
STATE_TYPES: dict[str, list[dict[str, str]]] = {"State": STATE_FIELDS}
STATE_TYPE = "State(" + ",".join(f"{f['type']} {f['name']}" for f in STATE_FIELDS) + ")"
STATE_TYPEHASH = keccak256(STATE_TYPE.encode())
_DOMAIN_TYPEHASH = keccak256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


class MalformedState(ValueError):  # noqa: N818 (domain name)
    """A state or signature that can never be valid (wrong sizes, out-of-range numbers, wrong signer)."""


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + to_canonical_address(address)


@dataclass(frozen=True)
class ChannelDomain:
    """The EIP-712 domain of one ``StateChannelManager`` on one chain."""

    chain_id: int
    manager: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.manager),
        }

    @property
    def separator(self) -> bytes:
        """``keccak256(abi.encode(EIP712Domain typehash, name, version, chainId, verifyingContract))``."""
        return keccak256(
            _DOMAIN_TYPEHASH
            + keccak256(DOMAIN_NAME.encode())
            + keccak256(DOMAIN_VERSION.encode())
            + _word(self.chain_id)
            + _address_word(self.manager)
        )

    def channel_id(self, task_id: bytes, x: str, y: str) -> bytes:
        """``keccak256(abi.encode(chainId, manager, taskId, partyA, partyB))`` with ``partyA < partyB``."""
        a, b = sorted_parties(x, y)
        return keccak256(
            _word(self.chain_id)
            + _address_word(self.manager)
            + _bytes32(task_id, "task id")
            + _address_word(a)
            + _address_word(b)
        )


def sorted_parties(x: str, y: str) -> tuple[str, str]:
    """``(partyA, partyB)``: the two addresses in the contract's order (numerically ascending)."""
    if to_canonical_address(x) == to_canonical_address(y):
        raise MalformedState("a channel needs two distinct parties")
    first, second = (x, y) if to_canonical_address(x) < to_canonical_address(y) else (y, x)
    return to_checksum_address(first), to_checksum_address(second)


def _bytes32(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise MalformedState(f"{what} must be 32 bytes")
    return bytes(value)


def _uint(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
        raise MalformedState(f"{what} must be an integer in [0, 2**256)")
    return value


@dataclass(frozen=True)
class ChannelState:
    """One channel state, field for field the contract's ``State`` struct."""

    channel_id: bytes
    task_id: bytes
    nonce: int
    balance_a: int
    balance_b: int
    msg_count: int = 0
    transcript_hash: bytes = ZERO32
    result_hash: bytes = ZERO32
    is_final: bool = False

    def __post_init__(self) -> None:
        _bytes32(self.channel_id, "channel id")
        _bytes32(self.task_id, "task id")
        _bytes32(self.transcript_hash, "transcript hash")
        _bytes32(self.result_hash, "result hash")
        for name in ("nonce", "balance_a", "balance_b", "msg_count"):
            _uint(getattr(self, name), name)
        if not isinstance(self.is_final, bool):
            raise MalformedState("is_final must be a bool")

    @classmethod
    def initial(cls, channel_id: bytes, task_id: bytes, deposit_a: int, deposit_b: int) -> ChannelState:
        """The implicit state 0 of an open channel: balances = deposits, empty transcript."""
        return cls(channel_id, task_id, 0, deposit_a, deposit_b)

    @property
    def escrow(self) -> int:
        return self.balance_a + self.balance_b

    def struct_hash(self) -> bytes:
        """``keccak256(abi.encode(STATE_TYPEHASH, fields…))``, the contract's ``_structHash``."""
        return keccak256(
            STATE_TYPEHASH
            + self.channel_id
            + self.task_id
            + _word(self.nonce)
            + _word(self.balance_a)
            + _word(self.balance_b)
            + _word(self.msg_count)
            + self.transcript_hash
            + self.result_hash
            + _word(int(self.is_final))
        )

    def message(self) -> dict[str, Any]:
        """The EIP-712 message (field names of the Solidity struct)."""
        return {
            "channelId": self.channel_id,
            "taskId": self.task_id,
            "nonce": self.nonce,
            "balanceA": self.balance_a,
            "balanceB": self.balance_b,
            "msgCount": self.msg_count,
            "transcriptHash": self.transcript_hash,
            "resultHash": self.result_hash,
            "isFinal": self.is_final,
        }

    def as_tuple(self) -> tuple[bytes, bytes, int, int, int, int, bytes, bytes, bool]:
        """The ABI tuple for contract calls."""
        return (
            self.channel_id,
            self.task_id,
            self.nonce,
            self.balance_a,
            self.balance_b,
            self.msg_count,
            self.transcript_hash,
            self.result_hash,
            self.is_final,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form (hex strings, decimal integers as strings so no precision is lost anywhere)."""
        return {
            "channelId": "0x" + self.channel_id.hex(),
            "taskId": "0x" + self.task_id.hex(),
            "nonce": str(self.nonce),
            "balanceA": str(self.balance_a),
            "balanceB": str(self.balance_b),
            "msgCount": str(self.msg_count),
            "transcriptHash": "0x" + self.transcript_hash.hex(),
            "resultHash": "0x" + self.result_hash.hex(),
            "isFinal": self.is_final,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChannelState:
        """Inverse of :meth:`to_json`; raises :class:`MalformedState` on anything else."""
        try:
            return cls(
                channel_id=_hex32(data["channelId"]),
                task_id=_hex32(data["taskId"]),
                nonce=_decimal(data["nonce"]),
                balance_a=_decimal(data["balanceA"]),
                balance_b=_decimal(data["balanceB"]),
                msg_count=_decimal(data["msgCount"]),
                transcript_hash=_hex32(data["transcriptHash"]),
                result_hash=_hex32(data["resultHash"]),
                is_final=_boolean(data["isFinal"]),
            )
        except (KeyError, TypeError) as exc:
            raise MalformedState(f"not a channel state: {exc!r}") from exc

    def advance(
        self,
        *,
        transcript_hash: bytes | None = None,
        messages: int = 0,
        balance_a: int | None = None,
        result_hash: bytes | None = None,
        is_final: bool = False,
    ) -> ChannelState:
        """The next state: nonce + 1, ``messages`` more transmissions, optional new split of the escrow."""
        if self.is_final:
            raise MalformedState("a final state has no successor")
        new_a = self.balance_a if balance_a is None else balance_a
        if not 0 <= new_a <= self.escrow:
            raise MalformedState(f"balance {new_a} outside the escrow {self.escrow}")
        return replace(
            self,
            nonce=self.nonce + 1,
            msg_count=self.msg_count + messages,
            transcript_hash=self.transcript_hash if transcript_hash is None else transcript_hash,
            balance_a=new_a,
            balance_b=self.escrow - new_a,
            result_hash=self.result_hash if result_hash is None else result_hash,
            is_final=is_final,
        )


def _hex32(value: object) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise MalformedState(f"expected 0x + 64 hex digits, got {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise MalformedState(f"not hex: {value!r}") from exc


def _decimal(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedState(f"expected a decimal integer, got {value!r}")
    if isinstance(value, str) and (not value.isdigit() or len(value) > 78):
        raise MalformedState(f"expected a decimal integer, got {value!r}")
    return int(value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise MalformedState(f"expected a boolean, got {value!r}")
    return value


def state_digest(domain: ChannelDomain | bytes, state: ChannelState) -> bytes:
    """The EIP-712 digest both parties sign: ``keccak256(0x1901 || separator || structHash)``.

    Pass the domain's ``separator`` (bytes) when hashing many states of one domain.
    """
    separator = domain.separator if isinstance(domain, ChannelDomain) else domain
    return keccak256(b"\x19\x01" + separator + state.struct_hash())


def sign_state(keypair: KeyPair, domain: ChannelDomain | bytes, state: ChannelState) -> bytes:
    """``keypair``'s 65-byte signature (``r || s || v``, low ``s``) of ``state``."""
    return sign_hash(keypair, state_digest(domain, state))


def state_signer(domain: ChannelDomain | bytes, state: ChannelState, signature: bytes) -> str:
    """The checksummed address that signed ``state`` (raises ``SignatureError`` on a malformed signature)."""
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedState(f"a signature is {SIGNATURE_LENGTH} bytes, got {len(signature)}")
    return recover_hash_signer(state_digest(domain, state), signature)


def next_transcript(previous: bytes, ciphertext_hash: bytes, sender: str, receiver: str, index: int) -> bytes:
    """``T_j`` from ``T_{j-1}`` (§3.2.2): ``keccak256(T_{j-1} || H(c_j) || sender || receiver || j)``."""
    return next_transcript_raw(
        previous, ciphertext_hash, to_canonical_address(sender), to_canonical_address(receiver), index
    )


def next_transcript_raw(
    previous: bytes, ciphertext_hash: bytes, sender: bytes, receiver: bytes, index: int
) -> bytes:
    """:func:`next_transcript` with the two addresses as 20 raw bytes (the hot path of channel parties)."""
    if len(sender) != 20 or len(receiver) != 20:
        raise MalformedState("addresses are 20 bytes")
    return keccak256(
        _bytes32(previous, "previous transcript hash")
        + _bytes32(ciphertext_hash, "ciphertext hash")
        + sender
        + receiver
        + _word(_uint(index, "index"))
    )


def compact_signature(signature: bytes) -> tuple[bytes, bytes]:
    """The EIP-2098 form ``(r, vs)`` of a 65-byte ``r || s || v`` signature, as the manager takes it.

    A malformed signature gives a pair the contract rejects (``InvalidSignature``), never an exception, so
    that refusals stay the contract's to name.
    """
    if len(signature) != 65 or signature[64] not in (0, 1, 27, 28):
        return bytes(32), bytes(32)
    parity = signature[64] - 27 if signature[64] >= 27 else signature[64]
    vs = int.from_bytes(signature[32:64], "big") | (parity << 255)
    return bytes(signature[:32]), vs.to_bytes(32, "big")

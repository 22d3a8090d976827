"""JSON forms of the Meta-BMEOC messages for the agents (pydantic, validated on arrival).

Integers of F_q travel as 0x-hex strings, hashes and signatures as 0x-hex of fixed length, F as the
polynomial's own wire form. The share ∂_j never appears here in the clear: it travels ECIES-encrypted to the
CSN's registered key, bound to (task id, j, CSN, MTD) as associated data (:func:`seal_share`).
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils.address import is_checksum_address
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from offchain.crypto import ecies
from offchain.outsourcing.csn import CSNResult
from offchain.outsourcing.errors import InvalidParameters, MalformedMessage
from offchain.outsourcing.field import Field as PrimeField
from offchain.outsourcing.task import Share, TaskParams, TaskTransaction

ACTION = "bmeoc-compute"
SHARE_AAD_TAG = b"metatrust/bmeoc/share/v1"

Hash32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]
Signature = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{130}$")]
HexInt = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{1,1100}$")]
HexBlob = Annotated[str, StringConstraints(pattern=r"^0x(?:[0-9a-fA-F]{2})+$", max_length=64 * 1024 * 1024)]


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:])


class TaskTransactionModel(BaseModel):
    """TX_t on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: Hash32
    task_hashes: list[Hash32] = Field(min_length=1, max_length=10_000)
    mtd: str
    deposit: HexInt
    q: HexInt
    k: int = Field(ge=1, le=1 << 20)
    d: int = Field(ge=1, le=1 << 10)
    t: int = Field(ge=1, le=10_000)
    m: int = Field(ge=1, le=10_000)
    polynomial_digest: Hash32
    timestamp: int = Field(ge=0, lt=2**64)
    signature: Signature

    @field_validator("mtd")
    @classmethod
    def _checksummed(cls, value: str) -> str:
        if not is_checksum_address(value):
            raise ValueError("mtd must be an EIP-55 checksummed address")
        return value

    @classmethod
    def of(cls, tx: TaskTransaction) -> TaskTransactionModel:
        p = tx.params
        return cls(
            task_id=_hex(tx.task_id),
            task_hashes=[_hex(h) for h in tx.task_hashes],
            mtd=tx.mtd,
            deposit=hex(tx.deposit),
            q=hex(p.q),
            k=p.k,
            d=p.d,
            t=p.t,
            m=p.m,
            polynomial_digest=_hex(tx.polynomial_digest),
            timestamp=tx.timestamp,
            signature=_hex(tx.signature),
        )

    def to_core(self) -> TaskTransaction:
        """The core TX_t; raises :class:`MalformedMessage` when parameters are out of range."""
        try:
            params = TaskParams(int(self.q, 16), self.k, self.d, self.t, self.m)
            return TaskTransaction(
                task_id=_bytes(self.task_id),
                task_hashes=tuple(_bytes(h) for h in self.task_hashes),
                mtd=self.mtd,
                deposit=int(self.deposit, 16),
                params=params,
                polynomial_digest=_bytes(self.polynomial_digest),
                timestamp=self.timestamp,
                signature=_bytes(self.signature),
            )
        except InvalidParameters as exc:
            raise MalformedMessage(str(exc)) from exc


class ComputeRequest(BaseModel):
    """T_j for CSN j: TX_t, the index, the sealed share and (unless the CSN has it cached) F."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transaction: TaskTransactionModel
    j: int = Field(ge=1, le=10_000)
    sealed_share: HexBlob
    polynomial: dict[str, Any] | None = None


class ComputeResponse(BaseModel):
    """R_j on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: Hash32
    j: int = Field(ge=1, le=10_000)
    task_hash: Hash32
    c: HexInt
    b: HexInt
    signature: Signature

    @classmethod
    def of(cls, result: CSNResult) -> ComputeResponse:
        return cls(
            task_id=_hex(result.task_id),
            j=result.j,
            task_hash=_hex(result.task_hash),
            c=hex(result.c),
            b=hex(result.b),
            signature=_hex(result.signature),
        )

    def to_core(self) -> CSNResult:
        return CSNResult(
            _bytes(self.task_id),
            self.j,
            _bytes(self.task_hash),
            int(self.c, 16),
            int(self.b, 16),
            _bytes(self.signature),
        )


def share_aad(task_id: bytes, j: int, csn: str, mtd: str) -> bytes:
    """Associated data binding a sealed share to its task, index, CSN and MTD."""
    return SHARE_AAD_TAG + task_id + j.to_bytes(4, "big") + _bytes(csn) + _bytes(mtd)


def seal_share(
    field: PrimeField, csn_encryption_key: bytes, share: Share, task_id: bytes, csn: str, mtd: str
) -> str:
    """``∂_j`` encrypted to the CSN's registered key (0x-hex)."""
    blob = ecies.encrypt(csn_encryption_key, share.encode(field), share_aad(task_id, share.j, csn, mtd))
    return _hex(blob)


def open_share(
    field: PrimeField, encryption_key: Any, sealed: str, k: int, task_id: bytes, j: int, csn: str, mtd: str
) -> Share:
    """Decrypt a sealed share; raises :class:`~offchain.crypto.errors.DecryptionError` or MalformedMessage."""
    plain = ecies.decrypt(encryption_key, _bytes(sealed), share_aad(task_id, j, csn, mtd))
    share = Share.decode(field, k, plain)
    if share.j != j:
        raise MalformedMessage(f"the sealed share is for index {share.j}, not {j}")
    return share

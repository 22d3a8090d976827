"""Requests to the off-chain contracts and their results (frozen dataclasses with a JSON form).

Requests travel from the Leader to the Execution and Monitoring Enclaves over HTTP, so each has
``to_json()`` (a JSON-ready dict with a ``"kind"``) and ``from_json()`` (a dict or its JSON text); anything
malformed raises :class:`~offchain.outsourcing.osc.errors.OscRequestError` naming the field. The JSON form is
canonical: ``from_json(r.to_json()) == r``, and every enclave executes exactly the same bytes.

* :class:`ScheduleTask` (OCTVSC → RSSC), :class:`Account` (ACCSC), :class:`Settle` and :class:`DefaultPayout`
  (SSC);
* :class:`OscResult` carries the step number, the state root after the step and the step's output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from eth_utils.address import is_address, to_checksum_address
from pydantic import ValidationError

from offchain.outsourcing.accountability import AccountabilityTransaction
from offchain.outsourcing.asc import sorted_mlist
from offchain.outsourcing.errors import MalformedMessage
from offchain.outsourcing.field import get_field
from offchain.outsourcing.osc.errors import OscRequestError
from offchain.outsourcing.osc.selection import Candidate, canonical_candidates
from offchain.outsourcing.polynomial import AnyPolynomial, polynomial_from_wire
from offchain.outsourcing.task import Share, TaskTransaction
from offchain.outsourcing.wire import ComputeResponse, TaskTransactionModel

UINT256_MAX = 2**256 - 1
T = TypeVar("T")
Out = TypeVar("Out", "ScheduleOutput", "AccountOutput", "SettleOutput", "DefaultPayoutOutput")


# ------------------------------------------------------------------------------------------ helpers


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _load(data: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise OscRequestError(f"not JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise OscRequestError("a request or result is a JSON object")
    return data


def _get(data: Mapping[str, Any], name: str) -> Any:
    if name not in data:
        raise OscRequestError(f"missing field {name!r}")
    return data[name]


def _bytes(data: Mapping[str, Any], name: str, length: int | None = 32) -> bytes:
    value = _get(data, name)
    try:
        if not isinstance(value, str) or not value.startswith("0x"):
            raise ValueError("not 0x-hex")
        raw = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise OscRequestError(f"{name} must be 0x-hex: {exc}") from exc
    if length is not None and len(raw) != length:
        raise OscRequestError(f"{name} must be {length} bytes, got {len(raw)}")
    return raw


def _int(data: Mapping[str, Any], name: str) -> int:
    value = _get(data, name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise OscRequestError(f"{name} must be an integer")
    try:
        number = value if isinstance(value, int) else int(value, 0)
    except ValueError as exc:
        raise OscRequestError(f"{name} must be an integer: {exc}") from exc
    return check_uint(name, number)


def _list(data: Mapping[str, Any], name: str) -> list[Any]:
    value = _get(data, name)
    if not isinstance(value, list):
        raise OscRequestError(f"{name} must be a list")
    return value


def check_uint(name: str, value: object) -> int:
    """``value`` as a uint256, or :class:`OscRequestError`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
        raise OscRequestError(f"{name} must be an integer in [0, 2^256), got {value!r}")
    return value


def check_bytes32(name: str, value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise OscRequestError(f"{name} must be 32 bytes")
    return value


def check_address(name: str, value: object) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise OscRequestError(f"{name} must be an address, got {value!r}")
    return to_checksum_address(value)


def _guard(what: str, build: Callable[[], T]) -> T:
    """Turns the core's and pydantic's validation errors into :class:`OscRequestError`."""
    try:
        return build()
    except OscRequestError:
        raise
    except (MalformedMessage, ValidationError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise OscRequestError(f"malformed {what}: {exc}") from exc


def tx_to_json(tx: TaskTransaction) -> dict[str, Any]:
    return TaskTransactionModel.of(tx).model_dump()


def tx_from_json(data: Any) -> TaskTransaction:
    return _guard("TX_t", lambda: TaskTransactionModel.model_validate(data).to_core())


def tx_acc_to_json(tx_acc: AccountabilityTransaction) -> dict[str, Any]:
    field_ = get_field(tx_acc.transaction.params.q)
    return {
        "transaction": tx_to_json(tx_acc.transaction),
        "shares": [_hex(share.encode(field_)) for share in tx_acc.shares],
        "results": [ComputeResponse.of(result).model_dump() for result in tx_acc.results],
        "group": list(tx_acc.group),
        "timestamp": tx_acc.timestamp,
        "signature": _hex(tx_acc.signature),
    }


def tx_acc_from_json(data: Any) -> AccountabilityTransaction:
    def build() -> AccountabilityTransaction:
        body = _load(data)
        tx = tx_from_json(_get(body, "transaction"))
        field_ = get_field(tx.params.q)
        shares = tuple(
            Share.decode(field_, tx.params.k, bytes.fromhex(str(s)[2:])) for s in _list(body, "shares")
        )
        results = tuple(ComputeResponse.model_validate(r).to_core() for r in _list(body, "results"))
        group = tuple(check_address("group", a) for a in _list(body, "group"))
        timestamp = _get(body, "timestamp")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp < 2**64:
            raise OscRequestError("timestamp must be an integer in [0, 2^64)")
        return AccountabilityTransaction(tx, shares, results, group, timestamp, _bytes(body, "signature", 65))

    return _guard("TX_acc", build)


# ------------------------------------------------------------------------------------------ requests


@dataclass(frozen=True)
class ScheduleTask:
    """OCTVSC checks TX_t, then RSSC picks m of ``candidates`` (≤ t per provider) from ``seed``.

    ``escrowed_deposit`` is the deposit ASC escrowed for the task (``ASC.getTask``); when given, OCTVSC
    requires TX_t's Dep. to equal it (None: not checked)."""

    KIND: ClassVar[str] = "schedule-task"

    tx_t: TaskTransaction
    candidates: tuple[Candidate, ...]
    seed: bytes
    escrowed_deposit: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tx_t, TaskTransaction):
            raise OscRequestError("tx_t must be a TaskTransaction")
        if not all(isinstance(c, Candidate) for c in self.candidates):
            raise OscRequestError("candidates must be Candidate objects")
        object.__setattr__(self, "candidates", canonical_candidates(self.candidates))
        check_bytes32("seed", self.seed)
        if self.escrowed_deposit is not None:
            check_uint("escrowed_deposit", self.escrowed_deposit)
            if self.escrowed_deposit == 0:
                raise OscRequestError("escrowed_deposit is positive (ASC never escrows 0)")
        if self.tx_t.params.q > UINT256_MAX:
            raise OscRequestError("q must fit in 256 bits for OCTVSC")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "tx_t": tx_to_json(self.tx_t),
            "candidates": [
                {"address": c.address, "provider": _hex(c.provider), "eligible": c.eligible}
                for c in self.candidates
            ],
            "seed": _hex(self.seed),
            "escrowed_deposit": None if self.escrowed_deposit is None else str(self.escrowed_deposit),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> ScheduleTask:
        body = _load(data)
        _check_kind(body, cls.KIND)
        candidates = []
        for item in _list(body, "candidates"):
            if not isinstance(item, Mapping):
                raise OscRequestError("a candidate is an object")
            eligible = _get(item, "eligible")
            if not isinstance(eligible, bool):
                raise OscRequestError("a candidate's eligible flag is a bool")
            address = check_address("candidate", _get(item, "address"))
            candidates.append(Candidate(address, _bytes(item, "provider"), eligible))
        escrowed = None if body.get("escrowed_deposit") is None else _int(body, "escrowed_deposit")
        return cls(tx_from_json(_get(body, "tx_t")), tuple(candidates), _bytes(body, "seed"), escrowed)


@dataclass(frozen=True)
class Account:
    """ACCSC: Algorithm 1 on TX_acc for a scheduled task. F (public, committed to by TX_t) travels with it;
    the group, the MTD and the task's status come from the contracts' state. TX_acc carries every share, so
    this request must only ever travel encrypted between enclaves."""

    KIND: ClassVar[str] = "account"

    task_id: bytes
    tx_acc: AccountabilityTransaction
    polynomial: AnyPolynomial = field(compare=False)

    def __post_init__(self) -> None:
        check_bytes32("task_id", self.task_id)
        if not isinstance(self.tx_acc, AccountabilityTransaction):
            raise OscRequestError("tx_acc must be an AccountabilityTransaction")
        if not hasattr(self.polynomial, "to_wire") or not hasattr(self.polynomial, "digest"):
            raise OscRequestError("polynomial must be a DensePolynomial or SparsePolynomial")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "task_id": _hex(self.task_id),
            "tx_acc": tx_acc_to_json(self.tx_acc),
            "polynomial": self.polynomial.to_wire(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> Account:
        body = _load(data)
        _check_kind(body, cls.KIND)
        polynomial = _guard("polynomial", lambda: polynomial_from_wire(_get(body, "polynomial")))
        return cls(_bytes(body, "task_id"), tx_acc_from_json(_get(body, "tx_acc")), polynomial)


@dataclass(frozen=True)
class Settle:
    """SSC: Eq. (14) for a task with ACCSC's ``mlist`` (empty when not accounted or ACC returned 0).

    ``stakes`` is the bonded stake in ASC (``ASC.stakeOf(csn).bonded``) of each CSN of ``mlist``, in the same
    order, and ``incentive_pool`` ASC's pool: the inputs the on-chain slashing and bonus depend on. The
    request is canonical: ``mlist`` sorted as ASC wants it (``asc.sorted_mlist``), ``stakes`` with it."""

    KIND: ClassVar[str] = "settle"

    task_id: bytes
    mlist: tuple[str, ...]
    incentive_pool: int
    stakes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_bytes32("task_id", self.task_id)
        check_uint("incentive_pool", self.incentive_pool)
        mlist = tuple(check_address("mlist", a) for a in self.mlist)
        stakes = tuple(check_uint("stakes", s) for s in self.stakes)
        if len(stakes) != len(mlist):
            raise OscRequestError(f"stakes must give one bonded stake per MList entry ({len(mlist)})")
        if len(set(mlist)) != len(mlist):
            raise OscRequestError("a CSN appears twice in mlist")
        order = sorted_mlist(mlist)
        by_csn = dict(zip(mlist, stakes, strict=True))
        object.__setattr__(self, "mlist", tuple(order))
        object.__setattr__(self, "stakes", tuple(by_csn[a] for a in order))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "task_id": _hex(self.task_id),
            "mlist": list(self.mlist),
            "incentive_pool": str(self.incentive_pool),
            "stakes": [str(s) for s in self.stakes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> Settle:
        body = _load(data)
        _check_kind(body, cls.KIND)
        stakes = tuple(_int({"stake": s}, "stake") for s in _list(body, "stakes"))
        mlist = tuple(check_address("mlist", a) for a in _list(body, "mlist"))
        return cls(_bytes(body, "task_id"), mlist, _int(body, "incentive_pool"), stakes)


@dataclass(frozen=True)
class DefaultPayout:
    """SSC credits B_mtd to each CSN of the group (no dispute), as ``ASC.finalizeDefault``."""

    KIND: ClassVar[str] = "default-payout"

    task_id: bytes

    def __post_init__(self) -> None:
        check_bytes32("task_id", self.task_id)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.KIND, "task_id": _hex(self.task_id)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> DefaultPayout:
        body = _load(data)
        _check_kind(body, cls.KIND)
        return cls(_bytes(body, "task_id"))


OscRequest = ScheduleTask | Account | Settle | DefaultPayout
_REQUESTS: dict[str, type[ScheduleTask] | type[Account] | type[Settle] | type[DefaultPayout]] = {
    cls.KIND: cls for cls in (ScheduleTask, Account, Settle, DefaultPayout)
}


def _check_kind(body: Mapping[str, Any], kind: str) -> None:
    if body.get("kind") != kind:
        raise OscRequestError(f"kind must be {kind!r}, got {body.get('kind')!r}")


def request_from_json(data: Mapping[str, Any] | str | bytes) -> OscRequest:
    """Any request from its JSON form (dispatch on ``"kind"``)."""
    body = _load(data)
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in _REQUESTS:
        raise OscRequestError(f"unknown request kind {kind!r}; expected one of {sorted(_REQUESTS)}")
    return _REQUESTS[kind].from_json(body)


# ------------------------------------------------------------------------------------------ outputs


def _pairs(items: Sequence[tuple[str, int]]) -> list[list[str]]:
    return [[a, str(v)] for a, v in items]


def _pairs_from(body: Mapping[str, Any], name: str) -> tuple[tuple[str, int], ...]:
    out = []
    for item in _list(body, name):
        if not isinstance(item, list) or len(item) != 2:
            raise OscRequestError(f"{name} holds [address, amount] pairs")
        out.append((check_address(name, item[0]), _int({"v": item[1]}, "v")))
    return tuple(out)


@dataclass(frozen=True)
class ScheduleOutput:
    """Group_C (index j = position + 1: private), the salt and ``groupCommitment`` for
    ``ASC.anchorSchedule``."""

    KIND: ClassVar[str] = "schedule-task"

    task_id: bytes
    group: tuple[str, ...]
    salt: bytes
    group_commitment: bytes

    def index_of(self, csn: str) -> int:
        """j of a CSN (1-based); ValueError when it is not in the group."""
        return self.group.index(to_checksum_address(csn)) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "task_id": _hex(self.task_id),
            "group": list(self.group),
            "salt": _hex(self.salt),
            "group_commitment": _hex(self.group_commitment),
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ScheduleOutput:
        group = tuple(check_address("group", a) for a in _list(body, "group"))
        return cls(_bytes(body, "task_id"), group, _bytes(body, "salt"), _bytes(body, "group_commitment"))


@dataclass(frozen=True)
class AccountOutput:
    """Algorithm 1's answer: ``mlist`` (sorted as ASC wants it; empty = ACC returned 0), whether TX_acc passed
    isTransaction / isPublicKeyConsistent, the reason, the flagged indices and TX_acc's digest."""

    KIND: ClassVar[str] = "account"

    task_id: bytes
    valid: bool
    reason: str
    mlist: tuple[str, ...]
    indices: tuple[int, ...]
    tx_acc_digest: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "task_id": _hex(self.task_id),
            "valid": self.valid,
            "reason": self.reason,
            "mlist": list(self.mlist),
            "indices": list(self.indices),
            "tx_acc_digest": _hex(self.tx_acc_digest),
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> AccountOutput:
        valid, reason, indices = _get(body, "valid"), _get(body, "reason"), _list(body, "indices")
        if not isinstance(valid, bool) or not isinstance(reason, str):
            raise OscRequestError("valid is a bool and reason a string")
        if not all(isinstance(j, int) and not isinstance(j, bool) for j in indices):
            raise OscRequestError("indices are integers")
        return cls(
            _bytes(body, "task_id"),
            valid,
            reason,
            tuple(check_address("mlist", a) for a in _list(body, "mlist")),
            tuple(indices),
            _bytes(body, "tx_acc_digest"),
        )


@dataclass(frozen=True)
class SettleOutput:
    """The settlement: ``(task_id, mlist, bonus)`` + the result's ``state_root`` are ``ASC.settle``'s
    arguments; the rest is what ASC will move (``honest_credit``, ``mtd_refund``, ``to_pool``) and the
    private per-CSN ``credits`` / ``slashed`` of this task."""

    KIND: ClassVar[str] = "settle"

    task_id: bytes
    mlist: tuple[str, ...]
    bonus: int
    b_mtd: int
    slashed_total: int
    honest_credit: int
    mtd_refund: int
    to_pool: int
    credits: tuple[tuple[str, int], ...]
    slashed: tuple[tuple[str, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "task_id": _hex(self.task_id),
            "mlist": list(self.mlist),
            "bonus": str(self.bonus),
            "b_mtd": str(self.b_mtd),
            "slashed_total": str(self.slashed_total),
            "honest_credit": str(self.honest_credit),
            "mtd_refund": str(self.mtd_refund),
            "to_pool": str(self.to_pool),
            "credits": _pairs(self.credits),
            "slashed": _pairs(self.slashed),
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> SettleOutput:
        return cls(
            task_id=_bytes(body, "task_id"),
            mlist=tuple(check_address("mlist", a) for a in _list(body, "mlist")),
            bonus=_int(body, "bonus"),
            b_mtd=_int(body, "b_mtd"),
            slashed_total=_int(body, "slashed_total"),
            honest_credit=_int(body, "honest_credit"),
            mtd_refund=_int(body, "mtd_refund"),
            to_pool=_int(body, "to_pool"),
            credits=_pairs_from(body, "credits"),
            slashed=_pairs_from(body, "slashed"),
        )


@dataclass(frozen=True)
class DefaultPayoutOutput:
    """The default payout: B_mtd per CSN, m·B_mtd credited, ``Dep. mod m`` refunded (as
    ``ASC.finalizeDefault``)."""

    KIND: ClassVar[str] = "default-payout"

    task_id: bytes
    per_csn: int
    credited: int
    mtd_refund: int

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "task_id": _hex(self.task_id),
            "per_csn": str(self.per_csn),
            "credited": str(self.credited),
            "mtd_refund": str(self.mtd_refund),
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DefaultPayoutOutput:
        return cls(
            _bytes(body, "task_id"), _int(body, "per_csn"), _int(body, "credited"), _int(body, "mtd_refund")
        )


OscOutput = ScheduleOutput | AccountOutput | SettleOutput | DefaultPayoutOutput
_OUTPUTS: dict[
    str, type[ScheduleOutput] | type[AccountOutput] | type[SettleOutput] | type[DefaultPayoutOutput]
] = {cls.KIND: cls for cls in (ScheduleOutput, AccountOutput, SettleOutput, DefaultPayoutOutput)}


@dataclass(frozen=True)
class OscResult:
    """One executed step: its number ``seq`` (1-based), the state root after it and its output."""

    seq: int
    state_root: bytes
    output: OscOutput

    def output_as(self, kind: type[Out]) -> Out:
        """The output, typed (``result.output_as(ScheduleOutput).group``); OscRequestError if another kind."""
        if not isinstance(self.output, kind):
            produced = type(self.output).__name__
            raise OscRequestError(f"step {self.seq} produced a {produced}, not {kind.__name__}")
        return self.output

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "state_root": _hex(self.state_root), "output": self.output.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> OscResult:
        body = _load(data)
        output = _get(body, "output")
        if not isinstance(output, Mapping) or output.get("kind") not in _OUTPUTS:
            raise OscRequestError("output must be an object with a known kind")
        seq = _get(body, "seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise OscRequestError("seq is a positive integer")
        parsed = _guard("output", lambda: _OUTPUTS[str(output["kind"])].from_json(output))
        return cls(seq, _bytes(body, "state_root"), parsed)

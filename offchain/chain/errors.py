"""Exceptions of the chain layer and a decoder for Solidity revert data.

Every error raised by :mod:`offchain.chain` derives from :class:`ChainError`, so callers that only
care about "the chain did not do what I asked" can catch that one class.

Revert data is decoded by :func:`decode_revert`: Solidity custom errors (``error TooLarge(uint256
value, uint256 max)``) are matched by their 4-byte selector against the ``"type": "error"`` entries
of the ABI(s) given, and the two built-ins ``Error(string)`` and ``Panic(uint256)`` are always known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

__all__ = [
    "PANIC_CODES",
    "ChainError",
    "ChainIdMismatch",
    "ChainUnavailable",
    "ContractRevert",
    "DeploymentNotFound",
    "DeploymentsFileNotFound",
    "TransactionFailed",
    "decode_revert",
    "error_selector",
    "error_signature",
    "format_revert",
    "revert_data_from_exception",
]


class ChainError(Exception):
    """Base class of every error raised by the chain layer."""


class ChainUnavailable(ChainError):  # noqa: N818 (public name fixed by the API)
    """The JSON-RPC node does not answer (not started, wrong URL, network down)."""


class ChainIdMismatch(ChainError):  # noqa: N818 (public name fixed by the API)
    """The node answers but serves another chain than the one expected."""

    def __init__(self, expected: int, actual: int, rpc_url: str) -> None:
        self.expected = expected
        self.actual = actual
        self.rpc_url = rpc_url
        super().__init__(
            f"node at {rpc_url} serves chain id {actual}, expected {expected}: "
            "is the RPC URL or the deployments file for another network?"
        )


class DeploymentNotFound(ChainError, LookupError):  # noqa: N818 (public name fixed by the API)
    """A deployments file or a contract inside it does not exist."""


class DeploymentsFileNotFound(DeploymentNotFound, FileNotFoundError):  # noqa: N818 (public name fixed by the API)
    """The ``deployments/<network>.json`` file does not exist (nothing was deployed yet)."""


class ContractRevert(ChainError):  # noqa: N818 (public name fixed by the API)
    """A contract call reverted; ``error_name``/``error_args`` are the decoded Solidity error.

    Raised before a transaction is sent when gas estimation reverts (the usual way to see a named
    custom error), and attached to :class:`TransactionFailed` when a mined transaction failed.
    """

    def __init__(
        self,
        contract: str,
        error_name: str,
        args: Mapping[str, Any],
        tx_hash: str | None = None,
        *,
        data: bytes = b"",
    ) -> None:
        self.contract = contract
        self.error_name = error_name
        self.args_dict: dict[str, Any] = dict(args)
        self.tx_hash = tx_hash
        self.data = data
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"{contract} reverted with {format_revert(error_name, self.args_dict)}{where}")

    @property
    def error_args(self) -> dict[str, Any]:
        """The decoded error arguments by name (unnamed ones are ``arg0``, ``arg1``, ...)."""
        return self.args_dict


class TransactionFailed(ChainError):  # noqa: N818 (public name fixed by the API)
    """A transaction was mined with status 0, or could not be sent or confirmed at all.

    ``revert`` holds the decoded revert reason when it could be recovered (replaying the call with
    ``eth_call`` at the block the transaction was mined in), else ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        tx_hash: str | None = None,
        receipt: Any = None,
        revert: ContractRevert | None = None,
    ) -> None:
        self.tx_hash = tx_hash
        self.receipt = receipt
        self.revert = revert
        super().__init__(message)

    @property
    def error_name(self) -> str | None:
        """Name of the decoded revert error, if known."""
        return self.revert.error_name if self.revert else None


PANIC_CODES: dict[int, str] = {
    0x00: "generic compiler inserted panic",
    0x01: "assertion failed (assert)",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "conversion to an invalid enum value",
    0x22: "access to an incorrectly encoded storage byte array",
    0x31: "pop() on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory (too much memory allocated or array too large)",
    0x51: "call to a zero-initialized internal function variable",
}

_ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]
_PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]


def _canonical_type(param: Mapping[str, Any]) -> str:
    """ABI type of one parameter as used in signatures (tuples expanded to ``(t1,t2)``)."""
    typ = str(param["type"])
    if typ.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param.get("components", []))
        return f"({inner}){typ[len('tuple') :]}"
    return typ


def error_signature(entry: Mapping[str, Any]) -> str:
    """``Name(type1,type2)`` of an ABI error (or function/event) entry."""
    types = ",".join(_canonical_type(p) for p in entry.get("inputs", []))
    return f"{entry['name']}({types})"


def error_selector(entry: Mapping[str, Any]) -> bytes:
    """The 4-byte selector of an ABI error entry: first 4 bytes of keccak(signature)."""
    return keccak(text=error_signature(entry))[:4]


def format_revert(name: str, args: Mapping[str, Any]) -> str:
    """Human readable ``Name(a=1, b=2)``."""
    inner = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return f"{name}({inner})"


def _flatten_abis(abi: Sequence[Mapping[str, Any]] | Iterable[Sequence[Mapping[str, Any]]]) -> list[Any]:
    entries: list[Any] = []
    for item in abi:
        if isinstance(item, Mapping):
            entries.append(item)
        else:  # a list of ABIs
            entries.extend(e for e in item if isinstance(e, Mapping))
    return entries


def _checksum_addresses(typ: str, value: Any) -> Any:
    """Checksum decoded ``address`` values (also inside ``address[]``/``address[n]`` arrays)."""
    if typ == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if typ.startswith("address[") and isinstance(value, list | tuple):
        inner = typ[: typ.rindex("[")]
        return type(value)(_checksum_addresses(inner, v) for v in value)
    return value


def decode_revert(abi: Sequence[Mapping[str, Any]], revert_data: bytes | str) -> tuple[str, dict[str, Any]]:
    """Decode revert data into ``(error_name, args)``.

    ``abi`` is a contract ABI (only its ``"type": "error"`` entries are used); a list of ABIs is
    accepted too, to decode errors bubbled up from other contracts. ``revert_data`` is the raw
    revert bytes (or their 0x hex). Built-ins: ``Error(string)`` gives ``("Error", {"message": s})``
    and ``Panic(uint256)`` gives ``("Panic", {"code": c, "meaning": "..."})``. Anything else that
    does not match a known selector (including empty data from a bare ``revert()``) gives
    ``("UnknownError", {"data": "0x..."})``.
    """
    data = bytes.fromhex(revert_data.removeprefix("0x")) if isinstance(revert_data, str) else revert_data
    unknown: tuple[str, dict[str, Any]] = ("UnknownError", {"data": "0x" + data.hex()})
    if len(data) < 4:
        return unknown
    selector, payload = data[:4], data[4:]
    try:
        if selector == _ERROR_STRING_SELECTOR:
            (message,) = abi_decode(["string"], payload)
            return "Error", {"message": message}
        if selector == _PANIC_SELECTOR:
            (code,) = abi_decode(["uint256"], payload)
            meaning = PANIC_CODES.get(int(code), "unknown panic code")
            return "Panic", {"code": int(code), "meaning": meaning}
        for entry in _flatten_abis(abi):
            if entry.get("type") != "error" or error_selector(entry) != selector:
                continue
            inputs = list(entry.get("inputs", []))
            # Every argument takes at least one 32-byte head slot. Checked here because some
            # environments (Ape) patch eth_abi to zero-pad short uint data instead of failing.
            if len(payload) % 32 or len(payload) < 32 * len(inputs):
                return unknown
            values = abi_decode([_canonical_type(p) for p in inputs], payload)
            args = {
                (p.get("name") or f"arg{i}"): _checksum_addresses(str(p["type"]), v)
                for i, (p, v) in enumerate(zip(inputs, values, strict=True))
            }
            return str(entry["name"]), args
    except Exception:  # malformed payload for a known selector: report it raw rather than crash
        return unknown
    return unknown


def revert_data_from_exception(exc: BaseException) -> bytes | None:
    """Extract raw revert bytes from a web3 exception (``ContractLogicError`` or an RPC error).

    Returns ``None`` when the exception carries no revert data.
    """
    candidates: list[Any] = [getattr(exc, "data", None)]
    rpc_response = getattr(exc, "rpc_response", None)
    if isinstance(rpc_response, Mapping):
        error = rpc_response.get("error")
        if isinstance(error, Mapping):
            candidates.append(error.get("data"))
    candidates.extend(a for a in getattr(exc, "args", ()) if isinstance(a, Mapping | str))
    for cand in candidates:
        if isinstance(cand, Mapping):
            cand = cand.get("data")
        if isinstance(cand, bytes):
            return cand
        if isinstance(cand, str) and cand.startswith("0x"):
            try:
                return bytes.fromhex(cand[2:])
            except ValueError:
                continue
    return None

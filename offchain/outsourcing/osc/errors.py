"""Errors of the off-chain contract runtime (:mod:`offchain.outsourcing.osc`).

Every failure of a request is an :class:`OscError` naming the problem: a malformed request
(:class:`OscRequestError`), a revert of one of the four contracts decoded to its custom error
(:class:`OscRevert`, e.g. ``SignerMismatch``), a rejected accountability transaction
(:class:`OscRejected`) or missing build artifacts (:class:`OscArtifactError`). No request crashes the runtime,
and a failed request changes no state.
"""

from __future__ import annotations

from collections.abc import Sequence

from offchain.outsourcing.errors import OutsourcingError


class OscError(OutsourcingError):
    """Base class of every error raised by :mod:`offchain.outsourcing.osc`."""


class OscRequestError(OscError, ValueError):
    """A request (or its JSON form) is malformed: wrong type, length, range or a missing field."""


class OscArtifactError(OscError):
    """The compiled contracts are missing from the build manifest (run ``make compile``)."""


class OscRejected(OscError):  # noqa: N818 (reads as the state it reports)
    """The runtime refuses a request before it reaches the EVM (e.g. TX_acc not signed by the task's MTD)."""


class OscRevert(OscError):  # noqa: N818
    """A contract reverted; ``name`` is the custom error (``"Error"``/``"Panic"`` for the built-in ones)."""

    def __init__(self, contract: str, name: str, args: Sequence[object] = (), data: bytes = b"") -> None:
        shown = ", ".join(_show(a) for a in args)
        super().__init__(f"{contract} reverted with {name}({shown})")
        self.contract = contract
        self.name = name
        self.args_ = tuple(args)
        self.data = data


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)

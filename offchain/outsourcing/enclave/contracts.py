"""The off-chain contracts as one enclave hosts them: helper C's :class:`~offchain.outsourcing.osc.OscRuntime`
(OCTVSC, RSSC, ACCSC and SSC in an in-process EVM), one per installed ``id_sc``.

The host turns a request's JSON (as it travels between enclaves) into a step of the runtime and returns what
the environment signs: the step's sequence number and state root (MSC's execution message) and, when the
step has one, the digest ASC checks (``anchorDigest`` of a schedule, ``settlementDigest`` of a settlement).
Every step is deterministic, so the Monitoring Enclaves' roots equal the Execution Enclave's.

``public`` output may travel between enclaves and to the users; ``private`` output (Group_C and its salt)
stays in the enclave that computed it (the Leader encrypts it to the MTD). An ``account`` request carries no
TX_acc: each enclave opens its own sealed copy and passes it here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from offchain.crypto.hashing import keccak256
from offchain.outsourcing.accountability import AccountabilityTransaction
from offchain.outsourcing.errors import MalformedMessage
from offchain.outsourcing.osc import (
    Account,
    AccountOutput,
    DefaultPayoutOutput,
    OscConfig,
    OscRejected,
    OscRequestError,
    OscRevert,
    OscRuntime,
    ScheduleOutput,
    SettleOutput,
    request_from_json,
)
from offchain.outsourcing.polynomial import AnyPolynomial


class StepRejected(Exception):  # noqa: N818 (reads as the outcome)
    """The off-chain contracts refuse a request (nothing changes; the reason is returned to the caller)."""


@dataclass(frozen=True)
class Step:
    """One executed request."""

    seq: int
    state_root: bytes
    public: dict[str, Any]
    private: dict[str, Any] = field(default_factory=dict)
    asc_digest: bytes | None = None


class ContractHost:
    """The off-chain contracts of one environment, installed in one enclave."""

    def __init__(self, config: OscConfig) -> None:
        self.config = config
        self.runtime = OscRuntime(config)

    @property
    def code_hash(self) -> bytes:
        """What ``MSC.registerContract`` receives and every member signs in ``install_message``."""
        return self.runtime.code_hash

    @property
    def seq(self) -> int:
        return self.runtime.seq

    @property
    def state_root(self) -> bytes:
        return self.runtime.state_root

    def claim_digest(self, csn: str) -> tuple[int, bytes]:
        """``(cumulative credit, ASC claim digest)`` of ``csn`` from this enclave's SSC ledger."""
        return self.runtime.claim(csn)

    def execute(
        self,
        request: Mapping[str, Any],
        accountability: tuple[AccountabilityTransaction, AnyPolynomial] | None = None,
    ) -> Step:
        """Run one request; raises :class:`StepRejected` (state unchanged) or MalformedMessage."""
        try:
            if request.get("kind") == Account.KIND:
                if accountability is None:
                    raise StepRejected("ACCSC needs TX_acc")
                task_id = bytes.fromhex(str(request["task_id"])[2:])
                parsed: Any = Account(task_id, accountability[0], accountability[1])
            else:
                parsed = request_from_json(dict(request))
            result = self.runtime.execute(parsed)
        except (OscRequestError, KeyError, ValueError) as exc:
            raise MalformedMessage(f"malformed request: {exc}") from exc
        except (OscRejected, OscRevert) as exc:
            raise StepRejected(str(exc)) from exc
        output = result.output
        if isinstance(output, ScheduleOutput):
            return Step(
                result.seq,
                result.state_root,
                {"task_id": "0x" + output.task_id.hex(), "commitment": "0x" + output.group_commitment.hex()},
                {"group": list(output.group), "salt": "0x" + output.salt.hex()},
                self.runtime.anchor_digest(output),
            )
        if isinstance(output, AccountOutput):
            public = {"mlist": list(output.mlist), "valid": output.valid, "reason": output.reason}
            return Step(result.seq, result.state_root, public)
        if isinstance(output, SettleOutput):
            public = {"mlist": list(output.mlist), "bonus": str(output.bonus)}
            return Step(result.seq, result.state_root, public, {}, self.runtime.settlement_digest(result))
        assert isinstance(output, DefaultPayoutOutput)
        return Step(result.seq, result.state_root, {"per_csn": str(output.per_csn)})


def request_hash(request: Mapping[str, Any]) -> bytes:
    """A stable hash of a request's JSON (what a challenge names)."""
    return keccak256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode())

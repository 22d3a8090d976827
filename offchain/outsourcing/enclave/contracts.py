"""The off-chain contracts as one enclave hosts them: one :class:`ContractHost` per installed ``id_sc``.

The host turns the JSON requests that travel between enclaves into steps of the off-chain contracts
(OCTVSC + RSSC on ``schedule``, ACCSC on ``account``, SSC on ``settle`` and ``default``), and gives back
what the environment signs: the step's sequence number and state root (MSC's execution message) and, when
the step has one, the digest ASC will check (``anchorDigest`` of a schedule, ``settlementDigest`` of a
settlement). Each step is deterministic: the same request sequence gives byte-identical roots in every
enclave, which is what the Monitoring Enclaves compare.

``public`` output may travel between enclaves and to the users; ``private`` output (Group_C, the salt)
stays in the enclave that computed it (the Leader encrypts it to the MTD).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address

from offchain.crypto.hashing import keccak256
from offchain.outsourcing.accountability import AccountabilityContext, AccountabilityTransaction, audit
from offchain.outsourcing.asc import (
    RewardLedger,
    anchor_digest,
    claim_digest,
    group_commitment,
    id_tasks_hash,
    settlement_digest,
    sorted_mlist,
    task_id,
)
from offchain.outsourcing.errors import MalformedMessage
from offchain.outsourcing.incentives import SettlementParams, default_payout, settle_task
from offchain.outsourcing.polynomial import AnyPolynomial
from offchain.outsourcing.wire import TaskTransactionModel

CODE_TAG = b"metatrust/bmeoc/osc/interim/v1"
ROOT_TAG = b"metatrust/bmeoc/osc/root/v1"


class StepRejected(Exception):  # noqa: N818 (reads as the outcome)
    """The off-chain contracts refuse a request (nothing changes; the reason is returned to the caller)."""


def asc_environment_id(env_id: int) -> bytes:
    """ASC's ``environmentId`` of MSC environment ``env_id``: ``bytes32(uint256(envId))``."""
    return env_id.to_bytes(32, "big")


@dataclass(frozen=True)
class HostConfig:
    """Identical in every enclave of an environment."""

    chain_id: int
    asc: str
    msc: str
    env_id: int
    params: SettlementParams

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> HostConfig:
        try:
            params = document["params"]
            return cls(
                int(document["chain_id"]),
                to_checksum_address(str(document["asc"])),
                to_checksum_address(str(document["msc"])),
                int(document["env_id"]),
                SettlementParams(
                    int(params["penalty_wad"]), int(params["basic_stake"]), int(params["reward_per_honest"])
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedMessage(f"malformed contract configuration: {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "asc": self.asc,
            "msc": self.msc,
            "env_id": self.env_id,
            "params": {
                "penalty_wad": str(self.params.penalty_wad),
                "basic_stake": str(self.params.basic_stake),
                "reward_per_honest": str(self.params.reward_per_honest),
            },
        }


@dataclass(frozen=True)
class Step:
    """One executed request."""

    seq: int
    state_root: bytes
    public: dict[str, Any]
    private: dict[str, Any] = field(default_factory=dict)
    asc_digest: bytes | None = None


@dataclass
class _Task:
    mtd: str
    deposit: int
    group: tuple[str, ...]
    mlist: tuple[str, ...] | None = None
    settled: bool = False


class ContractHost:
    """The off-chain contracts of one environment, installed in one enclave."""

    def __init__(self, config: HostConfig) -> None:
        self.config = config
        self.seq = 0
        self._ledger = RewardLedger()
        self._tasks: dict[bytes, _Task] = {}
        self._root = self._compute_root()

    @property
    def code_hash(self) -> bytes:
        """What ``MSC.registerContract`` receives and every member signs in ``install_message``."""
        return keccak256(CODE_TAG)

    @property
    def state_root(self) -> bytes:
        return self._root

    def voucher(self, csn: str) -> int:
        """The cumulative credit of ``csn`` (what a ``claim`` voucher carries)."""
        return self._ledger.cumulative(csn)

    def claim_digest(self, csn: str) -> tuple[int, bytes]:
        cumulative = self.voucher(csn)
        env = asc_environment_id(self.config.env_id)
        return cumulative, claim_digest(self.config.chain_id, self.config.asc, env, csn, cumulative)

    def _compute_root(self) -> bytes:
        tasks = b"".join(
            tid
            + bytes.fromhex(t.mtd[2:])
            + t.deposit.to_bytes(32, "big")
            + keccak256(b"".join(bytes.fromhex(a[2:]) for a in t.group))
            + (b"\x01" if t.settled else b"\x00")
            for tid, t in sorted(self._tasks.items())
        )
        return keccak256(ROOT_TAG + self.seq.to_bytes(8, "big") + self._ledger.root() + keccak256(tasks))

    def _commit(self, public: dict[str, Any], private: dict[str, Any], digest: bytes | None) -> Step:
        self.seq += 1
        self._root = self._compute_root()
        return Step(self.seq, self._root, public, private, digest)

    def execute(
        self,
        request: Mapping[str, Any],
        accountability: tuple[AccountabilityTransaction, AnyPolynomial] | None = None,
    ) -> Step:
        """Run one request; raises :class:`StepRejected` (state unchanged) or MalformedMessage."""
        kind = request.get("kind")
        try:
            tid = bytes.fromhex(str(request["task_id"])[2:])
        except (KeyError, ValueError) as exc:
            raise MalformedMessage(f"request without a valid task_id: {exc}") from exc
        if kind == "schedule":
            return self._schedule(tid, request)
        task = self._tasks.get(tid)
        if task is None:
            raise StepRejected(f"task 0x{tid.hex()} was not scheduled by this environment")
        if task.settled:
            raise StepRejected(f"task 0x{tid.hex()} is already settled")
        if kind == "account":
            if accountability is None:
                raise StepRejected("ACCSC needs TX_acc")
            tx_acc, polynomial = accountability
            report = audit(
                tx_acc, polynomial, AccountabilityContext(registered_mtd=task.mtd, assigned_group=task.group)
            )
            task.mlist = tuple(sorted_mlist(report.flagged))
            return self._commit(
                {"mlist": list(task.mlist), "valid": report.valid, "reason": report.reason}, {}, None
            )
        if kind == "settle":
            if task.mlist is None:
                raise StepRejected("SSC settles a disputed task only after ACCSC")
            return self._settle(tid, task, request)
        if kind == "default":
            self._ledger.apply(default_payout(task.deposit, task.group))
            task.settled = True
            return self._commit({"paid": len(task.group)}, {}, None)
        raise MalformedMessage(f"unknown request kind {kind!r}")

    def _schedule(self, tid: bytes, request: Mapping[str, Any]) -> Step:
        if tid in self._tasks:
            raise StepRejected(f"task 0x{tid.hex()} is already scheduled")
        try:
            tx = TaskTransactionModel.model_validate(request["transaction"]).to_core()
            candidates = [
                (to_checksum_address(str(c["address"])), str(c["provider"]), bool(c["eligible"]))
                for c in request["candidates"]
            ]
            seed = bytes.fromhex(str(request["seed"])[2:])
        except Exception as exc:
            raise MalformedMessage(f"malformed schedule request: {exc}") from exc
        # OCTVSC
        if not tx.is_signed_by_mtd():
            raise StepRejected("TX_t is not signed by the MTD it names")
        params = tx.params
        if params.m < (params.d + 1) * params.t + 1:
            raise StepRejected(f"m = {params.m} < (d+1)t+1")
        expected = task_id(self.config.chain_id, self.config.asc, tx.mtd, id_tasks_hash(list(tx.task_hashes)))
        if expected != tid:
            raise StepRejected("the ASC task id does not commit to this TX_t")
        # RSSC: m eligible CSNs, at most t per provider, in an order drawn from the seed
        pool = sorted({c for c in candidates if c[2]})
        random.Random(seed).shuffle(pool)
        group: list[str] = []
        per_provider: dict[str, int] = {}
        for address, provider, _ in pool:
            if len(group) == params.m:
                break
            if per_provider.get(provider, 0) >= params.t:
                continue
            per_provider[provider] = per_provider.get(provider, 0) + 1
            group.append(address)
        if len(group) < params.m:
            raise StepRejected(f"only {len(group)} eligible CSNs with at most t = {params.t} per provider")
        salt = keccak256(b"metatrust/bmeoc/salt" + seed + tid)
        commitment = group_commitment(group, salt)
        self._tasks[tid] = _Task(tx.mtd, tx.deposit, tuple(group))
        env = asc_environment_id(self.config.env_id)
        digest = anchor_digest(self.config.chain_id, self.config.asc, env, tid, commitment)
        return self._commit(
            {"task_id": "0x" + tid.hex(), "commitment": "0x" + commitment.hex()},
            {"group": group, "salt": "0x" + salt.hex()},
            digest,
        )

    def _settle(self, tid: bytes, task: _Task, request: Mapping[str, Any]) -> Step:
        try:
            pool = int(request["incentive_pool"])
            stakes = {str(a).lower(): int(v) for a, v in dict(request["stakes"]).items()}
        except Exception as exc:
            raise MalformedMessage(f"malformed settle request: {exc}") from exc
        mlist: Sequence[str] = task.mlist or ()
        settlement = settle_task(
            task.deposit,
            task.group,
            mlist,
            stakes,
            self._ledger.reputation_of(task.group),
            self.config.params,
            incentive_pool=pool,
        )
        self._ledger.apply(settlement)
        task.settled = True
        step = self._commit({"mlist": list(mlist), "bonus": str(settlement.bonus_paid)}, {}, None)
        env = asc_environment_id(self.config.env_id)
        digest = settlement_digest(
            self.config.chain_id,
            self.config.asc,
            env,
            tid,
            list(mlist),
            settlement.bonus_paid,
            step.state_root,
        )
        return Step(step.seq, step.state_root, step.public, {}, digest)


def request_hash(request: Mapping[str, Any]) -> bytes:
    """A stable hash of a request (what a challenge names)."""
    import json

    return keccak256(encode(["string"], [json.dumps(request, sort_keys=True, separators=(",", ":"))]))

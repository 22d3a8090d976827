"""The off-chain contract runtime of one enclave: OCTVSC, RSSC, ACCSC and SSC in an in-process EVM (pyrevm).

Every enclave of an execution environment builds an :class:`OscRuntime` from the same :class:`OscConfig`:
a fresh EVM (Prague rules, chain id = the devnet's, a fixed block), the four contracts deployed from the
compiled artifacts (``.build/__local__.json``) by a fixed deployer, so every enclave gets the same
addresses and the same :attr:`~OscRuntime.code_hash`. :meth:`~OscRuntime.execute` applies one request; the
same request sequence gives byte-identical results and state roots in every enclave, which is what the
Leader compares (``S_e^o = S_s^o``, spec §3.8 B.4).

What runs where (spec §2.4-2.7):

* in the EVM: every check of TX_t (signature by ecrecover, |ID_T| = m, m >= (d+1)t+1, deposit, task id,
  freshness), the whole selection of Group_C, the recording of MList with its subset and status checks, the
  whole Eq. (14) settlement and default payout, the ledger of credits, T_i and the blacklist;
* natively (Python, in the same enclave): Algorithm 1's recomputation ``c'_j = F(v(j))``, ``b'_j = c_j·w(j)``
  and its signature and share-hash checks (:func:`offchain.outsourcing.accountability.audit`, fed with the
  group and the MTD read from the contracts), because evaluating F over F_q with k up to thousands in the
  EVM would cost far more than it proves here.

State root: each contract folds every transition into ``stateHash``; the root is ``keccak256(ROOT_TAG ‖
code_hash ‖ abi.encode(chain id, ASC, env id, min deposit, ϱ, 𝒳, R, seq) ‖ stateHash × 4)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyrevm
from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_utils.address import to_checksum_address

from offchain.crypto.hashing import keccak256
from offchain.outsourcing.accountability import AccountabilityContext, audit
from offchain.outsourcing.asc import (
    anchor_digest,
    claim_digest,
    group_commitment,
    settlement_digest,
    sorted_mlist,
)
from offchain.outsourcing.incentives import SettlementParams
from offchain.outsourcing.osc.errors import OscArtifactError, OscRejected, OscRequestError, OscRevert
from offchain.outsourcing.osc.messages import (
    Account,
    AccountOutput,
    DefaultPayout,
    DefaultPayoutOutput,
    OscOutput,
    OscRequest,
    OscResult,
    ScheduleOutput,
    ScheduleTask,
    Settle,
    SettleOutput,
    check_address,
    check_uint,
    request_from_json,
)

CONTRACTS = ("OCTVSC", "RSSC", "ACCSC", "SSC")
"""The four contracts, in the order of deployment and of :attr:`OscRuntime.code_hash`."""

ROOT_TAG = keccak256(b"metatrust/bmeoc/OSC/state-root/v1")
DEPLOYER = to_checksum_address(keccak256(b"metatrust/bmeoc/OSC/deployer/v1")[12:])
"""The fixed deployer (and operator) of the four contracts in every enclave's EVM."""
BLOCK_NUMBER = 1
BLOCK_TIMESTAMP = 1_700_000_000
CALL_GAS = 1_000_000_000
SPEC_ID = "PRAGUE"
DEFAULT_MANIFEST = Path(__file__).resolve().parents[3] / ".build" / "__local__.json"

_REVERT = re.compile(r"Revert \{ gas_used: \d+, output: 0x([0-9a-fA-F]*) \}")
_ERROR_STRING = bytes.fromhex("08c379a0")
_PANIC = bytes.fromhex("4e487b71")


class TaskStatus(IntEnum):
    """``TaskStatus`` of ``IOsc.sol``."""

    NONE = 0
    SCHEDULED = 1
    ACCOUNTED = 2
    SETTLED = 3
    PAID_BY_DEFAULT = 4


@dataclass(frozen=True)
class OscConfig:
    """Identical in every enclave of an environment.

    ``params`` are the CSN settlement parameters of Eq. (14) (ϱ as a WAD, 𝒳, R): they must equal ASC's
    ``penaltyWad`` / ``basicStake`` and the R the environment pays bonuses with. ``min_deposit`` is OCTVSC's
    minimum Dep."""

    chain_id: int
    asc: str
    env_id: int
    params: SettlementParams = field(default_factory=SettlementParams)
    min_deposit: int = 1

    def __post_init__(self) -> None:
        chain_id = self.chain_id
        if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 < chain_id < 2**64:
            raise OscRequestError("chain_id must be a positive 64-bit integer")
        object.__setattr__(self, "asc", check_address("asc", self.asc))
        check_uint("env_id", self.env_id)
        if check_uint("min_deposit", self.min_deposit) == 0:
            raise OscRequestError("min_deposit must be at least 1")
        if not isinstance(self.params, SettlementParams):
            raise OscRequestError("params must be a SettlementParams")
        for name in ("penalty_wad", "basic_stake", "reward_per_honest"):
            check_uint(f"params.{name}", getattr(self.params, name))

    def to_json(self) -> dict[str, Any]:
        p = self.params
        return {
            "chain_id": self.chain_id,
            "asc": self.asc,
            "env_id": str(self.env_id),
            "penalty_wad": str(p.penalty_wad),
            "basic_stake": str(p.basic_stake),
            "reward_per_honest": str(p.reward_per_honest),
            "min_deposit": str(self.min_deposit),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OscConfig:
        try:
            params = SettlementParams(
                int(data["penalty_wad"]), int(data["basic_stake"]), int(data["reward_per_honest"])
            )
            return cls(
                int(data["chain_id"]), str(data["asc"]), int(data["env_id"]), params, int(data["min_deposit"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise OscRequestError(f"malformed OscConfig: {exc}") from exc


# ------------------------------------------------------------------------------------------ artifacts


@dataclass(frozen=True)
class _Artifact:
    name: str
    abi: tuple[Mapping[str, Any], ...]
    deployment: bytes
    runtime: bytes


def _abi_type(item: Mapping[str, Any]) -> str:
    kind = str(item["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + kind[len("tuple") :]
    return kind


def _types(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return [_abi_type(i) for i in items]


@lru_cache(maxsize=4)
def _load_manifest(path: str, mtime: float) -> dict[str, _Artifact]:
    del mtime  # part of the cache key only
    types = json.loads(Path(path).read_text())["contractTypes"]
    out = {}
    for name in CONTRACTS:
        if name not in types:
            raise OscArtifactError(f"{name} is missing from {path}: run `make compile`")
        entry = types[name]
        out[name] = _Artifact(
            name,
            tuple(entry["abi"]),
            bytes.fromhex(entry["deploymentBytecode"]["bytecode"][2:]),
            bytes.fromhex(entry["runtimeBytecode"]["bytecode"][2:]),
        )
    return out


def load_artifacts(manifest: Path | None = None) -> dict[str, _Artifact]:
    """The four contracts' ABI and bytecode from the build manifest."""
    path = (manifest or DEFAULT_MANIFEST).resolve()
    if not path.is_file():
        raise OscArtifactError(f"no build manifest at {path}: run `make compile`")
    return _load_manifest(str(path), path.stat().st_mtime)


class _Contract:
    """One deployed contract: encodes calls from its ABI, decodes results and custom errors."""

    def __init__(self, artifact: _Artifact, address: str) -> None:
        self.name = artifact.name
        self.address = address
        self.functions = {str(i["name"]): i for i in artifact.abi if i.get("type") == "function"}
        self.events = {
            keccak256(f"{i['name']}({','.join(_types(i['inputs']))})".encode()): i
            for i in artifact.abi
            if i.get("type") == "event"
        }
        self.errors = {
            keccak256(f"{i['name']}({','.join(_types(i['inputs']))})".encode())[:4]: i
            for i in artifact.abi
            if i.get("type") == "error"
        }

    def calldata(self, function: str, args: Sequence[Any]) -> bytes:
        item = self.functions[function]
        types = _types(item["inputs"])
        selector = keccak256(f"{function}({','.join(types)})".encode())[:4]
        return selector + encode(types, list(args))

    def decode_output(self, function: str, data: bytes) -> tuple[Any, ...]:
        return tuple(decode(_types(self.functions[function]["outputs"]), data))

    def revert(self, data: bytes) -> OscRevert:
        selector, payload = data[:4], data[4:]
        try:
            if selector in self.errors:
                item = self.errors[selector]
                return OscRevert(self.name, str(item["name"]), decode(_types(item["inputs"]), payload), data)
            if selector == _ERROR_STRING:
                return OscRevert(self.name, "Error", decode(["string"], payload), data)
            if selector == _PANIC:
                return OscRevert(self.name, "Panic", decode(["uint256"], payload), data)
        except DecodingError:
            pass
        return OscRevert(self.name, "UnknownError", (data,), data)


# ------------------------------------------------------------------------------------------ runtime


class OscRuntime:
    """One enclave's off-chain contracts (see the module docstring)."""

    def __init__(self, config: OscConfig, *, manifest: Path | None = None) -> None:
        self.config = config
        artifacts = load_artifacts(manifest)
        self._evm = pyrevm.EVM(
            env=pyrevm.Env(
                cfg=pyrevm.CfgEnv(chain_id=config.chain_id),
                block=pyrevm.BlockEnv(number=BLOCK_NUMBER, timestamp=BLOCK_TIMESTAMP, gas_limit=2**62),
            ),
            spec_id=SPEC_ID,
        )
        p = config.params
        constructor_args: dict[str, tuple[list[str], list[Any]]] = {
            "OCTVSC": (["address", "uint256", "uint256"], [config.asc, config.env_id, config.min_deposit]),
            "RSSC": ([], []),
            "ACCSC": ([], []),
            "SSC": (
                ["uint256", "uint256", "uint256"],
                [p.penalty_wad, p.basic_stake, p.reward_per_honest],
            ),
        }
        self._contracts: dict[str, _Contract] = {}
        self._gas = 0
        for name in CONTRACTS:
            types, values = constructor_args[name]
            code = artifacts[name].deployment + encode(types, values)
            try:
                address = self._evm.deploy(DEPLOYER, code, gas=CALL_GAS)
            except RuntimeError as exc:
                raise OscArtifactError(f"deploying {name} failed: {exc}") from exc
            self._contracts[name] = _Contract(artifacts[name], to_checksum_address(address))
        addresses = [self._contracts[name].address for name in CONTRACTS]
        for name in CONTRACTS:
            self._call(name, "bind", addresses)
        self._code = tuple(bytes(self._evm.get_code(a) or b"") for a in addresses)
        self.code_hash: bytes = keccak256(b"".join(self._code))
        """keccak256 over the four runtime bytecodes (OCTVSC, RSSC, ACCSC, SSC): what MSC.registerContract
        receives and every enclave signs in its installation confirmation."""
        self.seq: int = 0
        """Steps applied so far."""
        self.last_gas_used: int = 0
        """EVM gas of the last step (state-changing calls only; a measurement, not part of the state)."""

    # -------------------------------------------------------------------- public API

    @property
    def addresses(self) -> dict[str, str]:
        """Where the four contracts live in this EVM (the same in every enclave)."""
        return {name: c.address for name, c in self._contracts.items()}

    @property
    def runtime_code(self) -> tuple[bytes, ...]:
        """The four runtime bytecodes in :data:`CONTRACTS` order."""
        return self._code

    def state_hashes(self) -> tuple[bytes, ...]:
        """Each contract's running transition hash, in :data:`CONTRACTS` order."""
        return tuple(self._view(name, "stateHash")[0] for name in CONTRACTS)

    @property
    def state_root(self) -> bytes:
        """32-byte commitment to the state of all four contracts (and the configuration and step count)."""
        c, p = self.config, self.config.params
        return keccak256(
            ROOT_TAG
            + self.code_hash
            + encode(
                ["uint256", "address", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256"],
                [
                    c.chain_id,
                    c.asc,
                    c.env_id,
                    c.min_deposit,
                    p.penalty_wad,
                    p.basic_stake,
                    p.reward_per_honest,
                    self.seq,
                ],
            )
            + b"".join(self.state_hashes())
        )

    def execute(self, request: OscRequest) -> OscResult:
        """Applies one request; raises an :class:`~offchain.outsourcing.osc.errors.OscError` (and changes
        nothing) when it is rejected."""
        output: OscOutput
        self._gas = 0
        if isinstance(request, ScheduleTask):
            output = self._schedule(request)
        elif isinstance(request, Account):
            output = self._account(request)
        elif isinstance(request, Settle):
            output = self._settle(request)
        elif isinstance(request, DefaultPayout):
            output = self._default_payout(request)
        else:
            raise OscRequestError(f"unknown request type {type(request).__name__}")
        self.last_gas_used, self._gas = self._gas, 0
        self.seq += 1
        return OscResult(self.seq, self.state_root, output)

    def execute_json(self, data: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
        """:meth:`execute` on a request's JSON form; the result's JSON form."""
        return self.execute(request_from_json(data)).to_json()

    def voucher(self, csn: str) -> int:
        """The CSN's cumulative credit (what ``ASC.claim`` pays up to)."""
        return int(self._view("SSC", "credit", [check_address("csn", csn)])[0])

    def reputation(self, csn: str) -> int:
        """T_i of a CSN (consecutive honest tasks)."""
        return int(self._view("SSC", "reputation", [check_address("csn", csn)])[0])

    def is_blacklisted(self, csn: str) -> bool:
        return bool(self._view("SSC", "isBlacklisted", [check_address("csn", csn)])[0])

    @property
    def asc_environment_id(self) -> bytes:
        """ASC's ``environmentId`` of this environment: ``bytes32(uint256(env_id))``."""
        return self.config.env_id.to_bytes(32, "big")

    def anchor_digest(self, output: ScheduleOutput) -> bytes:
        """What the environment signs for ``ASC.anchorSchedule(taskId, groupCommitment, σ)``."""
        c, env = self.config, self.asc_environment_id
        return anchor_digest(c.chain_id, c.asc, env, output.task_id, output.group_commitment)

    def settlement_digest(self, result: OscResult) -> bytes:
        """What the environment signs for ``ASC.settle(taskId, mlist, bonus, state_root, σ)`` of a Settle
        step (``state_root`` is the root right after that step)."""
        out = result.output
        if not isinstance(out, SettleOutput):
            raise OscRequestError("a settlement digest needs the result of a Settle step")
        c, env = self.config, self.asc_environment_id
        return settlement_digest(
            c.chain_id, c.asc, env, out.task_id, list(out.mlist), out.bonus, result.state_root
        )

    def claim(self, csn: str) -> tuple[int, bytes]:
        """``(cumulative, digest)`` the environment signs for ``ASC.claim(csn, cumulative, σ)``."""
        cumulative = self.voucher(csn)
        c, env = self.config, self.asc_environment_id
        digest = claim_digest(c.chain_id, c.asc, env, check_address("csn", csn), cumulative)
        return cumulative, digest

    def task_status(self, task_id: bytes) -> TaskStatus:
        return TaskStatus(int(self._task(task_id)[3]))

    def group(self, task_id: bytes) -> tuple[str, ...]:
        """Group_C of a task (private: for the Leader to tell the MTD), empty when unknown."""
        return tuple(to_checksum_address(a) for a in self._view("RSSC", "groupOf", [task_id])[0])

    # -------------------------------------------------------------------- steps

    def _schedule(self, request: ScheduleTask) -> ScheduleOutput:
        tx = request.tx_t
        p = tx.params
        txt = (
            tx.task_id,
            list(tx.task_hashes),
            tx.mtd,
            tx.deposit,
            p.m,
            p.k,
            p.d,
            p.t,
            p.q,
            tx.polynomial_digest,
            tx.timestamp,
            tx.signature,
        )
        candidates = [(c.address, c.provider, c.eligible) for c in request.candidates]
        group, salt, commitment = self._call(
            "OCTVSC", "schedule", [txt, candidates, request.seed, request.escrowed_deposit or 0]
        )
        members = tuple(to_checksum_address(a) for a in group)
        assert group_commitment(members, salt) == commitment  # RSSC and offchain.outsourcing.asc agree
        return ScheduleOutput(tx.task_id, members, salt, commitment)

    def _account(self, request: Account) -> AccountOutput:
        tx_acc = request.tx_acc
        task_id = request.task_id
        if tx_acc.transaction.task_id != task_id:
            raise OscRejected("TX_acc is about another task than task_id")
        mtd, _, _, status, _, tx_digest = self._task(task_id)
        status = TaskStatus(int(status))
        valid, reason = False, f"the task is {status.name}, not disputable"
        flagged: tuple[str, ...] = ()
        indices: tuple[int, ...] = ()
        if status is TaskStatus.SCHEDULED:
            if tx_acc.transaction.digest() != tx_digest:
                raise OscRejected("TX_acc does not carry the TX_t this environment accepted for the task")
            if tx_acc.signer() != to_checksum_address(mtd):
                raise OscRejected("TX_acc is not signed by the task's MTD")
            context = AccountabilityContext(
                registered_mtd=to_checksum_address(mtd),
                assigned_group=self.group(task_id),
                is_disputable=lambda _task: True,  # the status was checked here and ACCSC checks it again
            )
            try:
                report = audit(tx_acc, request.polynomial, context)
            except (ValueError, TypeError, ArithmeticError, IndexError) as exc:  # MalformedMessage included
                raise OscRejected(f"TX_acc cannot be judged: {exc}") from exc
            valid, reason, flagged, indices = report.valid, report.reason, report.flagged, report.indices
        mlist = tuple(sorted_mlist(flagged))
        digest = tx_acc.digest()
        self._call("ACCSC", "record", [task_id, valid, list(mlist), digest])
        return AccountOutput(task_id, valid, reason, mlist, tuple(sorted(indices)), digest)

    def _settle(self, request: Settle) -> SettleOutput:
        out = self._call(
            "SSC",
            "settle",
            [request.task_id, list(request.mlist), list(request.stakes), request.incentive_pool],
        )[0]
        reward, slashed_total, _share, dust, bonus, honest_credit, refund = (int(v) for v in out)
        credits = tuple((a, v) for a, v in self._logged("Credited"))
        slashed = tuple((a, v) for a, v in self._logged("Slashed"))
        return SettleOutput(
            request.task_id,
            request.mlist,
            bonus,
            reward,
            slashed_total,
            honest_credit,
            refund,
            dust,
            credits,
            slashed,
        )

    def _default_payout(self, request: DefaultPayout) -> DefaultPayoutOutput:
        per_csn, credited, refund = self._call("SSC", "defaultPayout", [request.task_id])
        return DefaultPayoutOutput(request.task_id, int(per_csn), int(credited), int(refund))

    # -------------------------------------------------------------------- EVM plumbing

    def _task(self, task_id: bytes) -> tuple[Any, ...]:
        return tuple(self._view("OCTVSC", "getTask", [task_id])[0])

    def _call(self, name: str, function: str, args: Sequence[Any] = ()) -> tuple[Any, ...]:
        contract = self._contracts[name]
        try:
            data = contract.calldata(function, args)
        except (EncodingError, TypeError, ValueError, OverflowError) as exc:
            raise OscRequestError(f"{name}.{function}: cannot encode the arguments: {exc}") from exc
        try:
            raw = self._evm.message_call(DEPLOYER, contract.address, data, gas=CALL_GAS)
        except RuntimeError as exc:
            raise self._decode_failure(contract, exc) from None
        if self._evm.result is not None:
            self._gas += int(self._evm.result.gas_used)
        return contract.decode_output(function, bytes(raw))

    def _view(self, name: str, function: str, args: Sequence[Any] = ()) -> tuple[Any, ...]:
        contract = self._contracts[name]
        try:
            raw = self._evm.message_call(
                DEPLOYER, contract.address, contract.calldata(function, args), gas=CALL_GAS, is_static=True
            )
        except RuntimeError as exc:
            raise self._decode_failure(contract, exc) from None
        return contract.decode_output(function, bytes(raw))

    def _decode_failure(self, called: _Contract, exc: RuntimeError) -> OscRevert:
        match = _REVERT.search(str(exc))
        if match is None:
            return OscRevert(called.name, "Halt", (str(exc),))
        data = bytes.fromhex(match.group(1))
        # a revert bubbles up from a sibling unchanged: name it after whichever contract declares the error
        for contract in [called, *self._contracts.values()]:
            if data[:4] in contract.errors:
                return contract.revert(data)
        return called.revert(data)

    def _logged(self, event: str) -> list[tuple[str, int]]:
        """(csn, amount) of each ``event`` (SSC's Credited / Slashed) of the last call, in order."""
        ssc = self._contracts["SSC"]
        result = self._evm.result
        out: list[tuple[str, int]] = []
        if result is None:
            return out
        for log in result.logs:
            topics = [bytes.fromhex(str(t)[2:]) for t in log.topics]
            item = ssc.events.get(topics[0]) if topics else None
            if item is None or item["name"] != event or to_checksum_address(log.address) != ssc.address:
                continue
            data = _log_data(log)
            values = decode([_abi_type(i) for i in item["inputs"] if not i["indexed"]], data)
            out.append((to_checksum_address(topics[2][12:]), int(values[0])))
        return out


def _log_data(log: Any) -> bytes:
    data = log.data
    if isinstance(data, tuple):  # pyrevm 0.3: (topics, data)
        data = data[1]
    return bytes(data)

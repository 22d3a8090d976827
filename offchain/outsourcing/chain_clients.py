"""Typed web3 clients of Meta-BMEOC's on-chain contracts MSC and ASC (seed 000 §2.2, §2.3), on the shared
:class:`~offchain.chain.contract_client.ContractClient` base.

:class:`MscClient` covers what an enclave or a user does with MSC (register with quote and PoP, π_b,
environments by VRF, contracts, confirmations, challenges) and :class:`AscClient` what the MTD, the CSNs and
the Leader do with ASC (stakes, tasks, anchor, dispute, default payout, settlement, claims). Writes go
through a :class:`~offchain.chain.sender.TransactionSender`, so a refused call raises
:class:`~offchain.chain.errors.ContractRevert` with the named Solidity error before any gas is spent.
Events come back as frozen dataclasses: from a receipt (:meth:`MscClient.decode`), from a block range
(:meth:`MscClient.events`) or from a polling :class:`~offchain.chain.events.EventWatcher`
(``EventType.from_event`` on what it yields).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Self, TypeVar

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import BlockIdentifier, EventData, TxReceipt

from offchain.chain.contract_client import ContractClient, ReadOnlyClient
from offchain.chain.events import EventWatcher, get_events
from offchain.outsourcing import msc_messages
from offchain.outsourcing.vrf import Roles

__all__ = [
    "AscClient",
    "ChainEvent",
    "ChallengeAnswered",
    "ChallengeInfo",
    "ChallengeOpened",
    "Claimed",
    "ContractInstalled",
    "ContractRegistered",
    "DefaultPayoutPaid",
    "DisputeOpened",
    "EnclaveActivated",
    "EnclaveInfo",
    "EnclaveLeft",
    "EnclaveRegistered",
    "EnclaveRemoved",
    "EnclaveStatus",
    "EnvStatus",
    "EnvironmentChanged",
    "EnvironmentCreated",
    "EnvironmentDissolved",
    "EnvironmentInfo",
    "EnvironmentRequested",
    "EnvironmentSet",
    "MscClient",
    "ScStatus",
    "Slashed",
    "SmartContractInfo",
    "StakeInfo",
    "StateSynced",
    "TaskInfo",
    "TaskOpened",
    "TaskScheduled",
    "TaskSettled",
    "TaskStatus",
    "VrfSubmitted",
]

UINT256_MAX = 2**256 - 1
#: Gas limit of a block-sync proof sent without estimation (``confirmSync`` uses about 80k).
CONFIRM_SYNC_GAS = 150_000


def _address(value: Any) -> ChecksumAddress:
    return Web3.to_checksum_address(str(value))


def _addresses(values: Sequence[Any]) -> tuple[ChecksumAddress, ...]:
    return tuple(_address(v) for v in values)


# ------------------------------------------------------------------------------------------ enums


class EnclaveStatus(IntEnum):
    """``MSC.EnclaveStatus``."""

    NONE = 0
    REGISTERED = 1
    ACTIVE = 2
    REMOVED = 3
    LEFT = 4


class EnvStatus(IntEnum):
    """``MSC.EnvStatus``."""

    NONE = 0
    SELECTING = 1
    LIVE = 2
    DISSOLVED = 3


class ScStatus(IntEnum):
    """``MSC.ScStatus``."""

    NONE = 0
    REGISTERED = 1
    INSTALLED = 2


class TaskStatus(IntEnum):
    """``ASC.Status``."""

    NONE = 0
    OPEN = 1
    SCHEDULED = 2
    DISPUTED = 3
    SETTLED = 4
    PAID_BY_DEFAULT = 5
    REFUNDED = 6


# ------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class EnclaveInfo:
    """``MSC.enclaveInfo``."""

    address: ChecksumAddress
    status: EnclaveStatus
    registered_block: int
    live_environments: int
    stake: int
    bls_key: bytes


@dataclass(frozen=True)
class EnvironmentInfo:
    """``MSC.environmentInfo``; ``members`` in ascending VRF order (Leader, Execution, Monitoring)."""

    env_id: int
    status: EnvStatus
    creator: ChecksumAddress
    size: int
    seed: bytes
    vrf_deadline: int
    candidates: tuple[ChecksumAddress, ...]
    members: tuple[ChecksumAddress, ...]
    aggregate_key: bytes

    @property
    def roles(self) -> Roles | None:
        """The current roles (None unless the environment is live)."""
        if self.status is not EnvStatus.LIVE or len(self.members) < 2:
            return None
        return Roles(leader=self.members[0], executor=self.members[1], monitors=self.members[2:])


@dataclass(frozen=True)
class SmartContractInfo:
    """``MSC.contractInfo``: an off-chain contract program registered in MSC."""

    id_sc: int
    status: ScStatus
    code_hash: bytes
    owner: ChecksumAddress
    env_id: int
    seq: int
    state_root: bytes


@dataclass(frozen=True)
class ChallengeInfo:
    """``MSC.challengeInfo``."""

    challenge_id: int
    challenger: ChecksumAddress
    target: ChecksumAddress
    env_id: int
    deadline: int
    resolved: bool
    request_hash: bytes


@dataclass(frozen=True)
class TaskInfo:
    """``ASC.getTask``."""

    task_id: bytes
    mtd: ChecksumAddress
    m: int
    status: TaskStatus
    deadline: int
    deposit: int
    id_tasks_hash: bytes
    group_commitment: bytes


@dataclass(frozen=True)
class StakeInfo:
    """``ASC.stakeOf``."""

    bonded: int
    unbonding: int
    unlock_at: int


# ------------------------------------------------------------------------------------------ events


E = TypeVar("E", bound="ChainEvent")


@dataclass(frozen=True)
class ChainEvent:
    """Base of the decoded events (of MSC and ASC): ``EVENT`` names the Solidity event."""

    EVENT: ClassVar[str] = ""
    block_number: int

    @classmethod
    def from_event(cls, event: EventData) -> Self:
        """Decode one log as web3 returns it (``process_receipt``, ``get_logs``, an EventWatcher)."""
        if event["event"] != cls.EVENT:
            raise ValueError(f"expected a {cls.EVENT} event, got {event['event']}")
        return cls._from_args(event["args"], int(event["blockNumber"]))

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        raise NotImplementedError


@dataclass(frozen=True)
class EnclaveRegistered(ChainEvent):
    EVENT: ClassVar[str] = "EnclaveRegistered"
    enclave: ChecksumAddress
    bls_key: bytes
    measurement: bytes
    stake: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(
            block_number, _address(args["enclave"]), bytes(args["blsKey"]), bytes(args["measurement"]),
            int(args["stake"]),
        )  # fmt: skip


@dataclass(frozen=True)
class EnclaveActivated(ChainEvent):
    EVENT: ClassVar[str] = "EnclaveActivated"
    enclave: ChecksumAddress
    height: int
    block_hash: bytes

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, _address(args["enclave"]), int(args["height"]), bytes(args["blockHash"]))


@dataclass(frozen=True)
class EnclaveLeft(ChainEvent):
    EVENT: ClassVar[str] = "EnclaveLeft"
    enclave: ChecksumAddress
    stake_returned: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, _address(args["enclave"]), int(args["stakeReturned"]))


@dataclass(frozen=True)
class EnvironmentRequested(ChainEvent):
    EVENT: ClassVar[str] = "EnvironmentRequested"
    env_id: int
    creator: ChecksumAddress
    size: int
    seed: bytes

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(
            block_number,
            int(args["envId"]),
            _address(args["creator"]),
            int(args["size"]),
            bytes(args["seed"]),
        )


@dataclass(frozen=True)
class VrfSubmitted(ChainEvent):
    EVENT: ClassVar[str] = "VrfSubmitted"
    env_id: int
    enclave: ChecksumAddress
    output: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, int(args["envId"]), _address(args["enclave"]), int(args["output"]))


@dataclass(frozen=True)
class EnvironmentCreated(ChainEvent):
    """An environment is live: its roles (by ascending VRF output) and aggregate key."""

    EVENT: ClassVar[str] = "EnvironmentCreated"
    env_id: int
    roles: Roles
    aggregate_key: bytes

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        roles = Roles(
            leader=_address(args["leader"]),
            executor=_address(args["executor"]),
            monitors=_addresses(args["monitors"]),
        )
        return cls(block_number, int(args["envId"]), roles, bytes(args["aggregateKey"]))


@dataclass(frozen=True)
class ContractRegistered(ChainEvent):
    EVENT: ClassVar[str] = "ContractRegistered"
    id_sc: int
    owner: ChecksumAddress
    code_hash: bytes

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, int(args["idSc"]), _address(args["owner"]), bytes(args["codeHash"]))


@dataclass(frozen=True)
class ContractInstalled(ChainEvent):
    EVENT: ClassVar[str] = "ContractInstalled"
    id_sc: int
    env_id: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, int(args["idSc"]), int(args["envId"]))


@dataclass(frozen=True)
class StateSynced(ChainEvent):
    EVENT: ClassVar[str] = "StateSynced"
    id_sc: int
    seq: int
    state_root: bytes

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, int(args["idSc"]), int(args["seq"]), bytes(args["stateRoot"]))


@dataclass(frozen=True)
class ChallengeOpened(ChainEvent):
    EVENT: ClassVar[str] = "ChallengeOpened"
    challenge_id: int
    env_id: int
    target: ChecksumAddress
    challenger: ChecksumAddress
    request_hash: bytes

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(
            block_number, int(args["challengeId"]), int(args["envId"]), _address(args["target"]),
            _address(args["challenger"]), bytes(args["requestHash"]),
        )  # fmt: skip


@dataclass(frozen=True)
class ChallengeAnswered(ChainEvent):
    EVENT: ClassVar[str] = "ChallengeAnswered"
    challenge_id: int
    response_hash: bytes

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, int(args["challengeId"]), bytes(args["responseHash"]))


@dataclass(frozen=True)
class EnclaveRemoved(ChainEvent):
    EVENT: ClassVar[str] = "EnclaveRemoved"
    challenge_id: int
    enclave: ChecksumAddress
    penalty: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, int(args["challengeId"]), _address(args["enclave"]), int(args["penalty"]))


@dataclass(frozen=True)
class EnvironmentChanged(ChainEvent):
    """A member was removed: the remaining members (VRF order kept, roles shift up) and the new key."""

    EVENT: ClassVar[str] = "EnvironmentChanged"
    env_id: int
    members: tuple[ChecksumAddress, ...]
    aggregate_key: bytes

    @property
    def roles(self) -> Roles:
        return Roles(leader=self.members[0], executor=self.members[1], monitors=self.members[2:])

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, int(args["envId"]), _addresses(args["members"]), bytes(args["aggregateKey"]))


@dataclass(frozen=True)
class EnvironmentDissolved(ChainEvent):
    EVENT: ClassVar[str] = "EnvironmentDissolved"
    env_id: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, int(args["envId"]))


@dataclass(frozen=True)
class EnvironmentSet(ChainEvent):
    EVENT: ClassVar[str] = "EnvironmentSet"
    environment_id: bytes
    by: ChecksumAddress

    @property
    def msc_env_id(self) -> int:
        return msc_messages.msc_environment_id(self.environment_id)

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, bytes(args["envId"]), _address(args["by"]))


@dataclass(frozen=True)
class TaskOpened(ChainEvent):
    EVENT: ClassVar[str] = "TaskOpened"
    task_id: bytes
    mtd: ChecksumAddress
    deposit: int
    m: int
    id_tasks_hash: bytes

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(
            block_number, bytes(args["taskId"]), _address(args["mtd"]), int(args["deposit"]), int(args["m"]),
            bytes(args["idTasksHash"]),
        )  # fmt: skip


@dataclass(frozen=True)
class TaskScheduled(ChainEvent):
    EVENT: ClassVar[str] = "TaskScheduled"
    task_id: bytes
    environment_id: bytes
    group_commitment: bytes
    dispute_deadline: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(
            block_number, bytes(args["taskId"]), bytes(args["envId"]), bytes(args["groupCommitment"]),
            int(args["disputeDeadline"]),
        )  # fmt: skip


@dataclass(frozen=True)
class DisputeOpened(ChainEvent):
    EVENT: ClassVar[str] = "DisputeOpened"
    task_id: bytes
    settlement_deadline: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, bytes(args["taskId"]), int(args["settlementDeadline"]))


@dataclass(frozen=True)
class Slashed(ChainEvent):
    EVENT: ClassVar[str] = "Slashed"
    task_id: bytes
    csn: ChecksumAddress
    amount: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, bytes(args["taskId"]), _address(args["csn"]), int(args["amount"]))


@dataclass(frozen=True)
class TaskSettled(ChainEvent):
    EVENT: ClassVar[str] = "TaskSettled"
    task_id: bytes
    environment_id: bytes
    malicious: int
    honest_credit: int
    mtd_refund: int
    bonus: int
    to_pool: int
    ssc_state_root: bytes

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(
            block_number, bytes(args["taskId"]), bytes(args["envId"]), int(args["malicious"]),
            int(args["honestCredit"]), int(args["mtdRefund"]), int(args["bonus"]), int(args["toPool"]),
            bytes(args["sscStateRoot"]),
        )  # fmt: skip


@dataclass(frozen=True)
class DefaultPayoutPaid(ChainEvent):
    """``ASC.DefaultPayout``."""

    EVENT: ClassVar[str] = "DefaultPayout"
    task_id: bytes
    per_csn: int
    credited: int
    mtd_refund: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(
            block_number, bytes(args["taskId"]), int(args["perCsn"]), int(args["credited"]),
            int(args["mtdRefund"]),
        )  # fmt: skip


@dataclass(frozen=True)
class Claimed(ChainEvent):
    EVENT: ClassVar[str] = "Claimed"
    csn: ChecksumAddress
    amount: int
    cumulative: int

    @classmethod
    def _from_args(cls, args: Any, block_number: int) -> Self:
        return cls(block_number, _address(args["csn"]), int(args["amount"]), int(args["cumulative"]))


# ------------------------------------------------------------------------------------------ clients


class _BmeocClient(ContractClient):
    """Shared pieces: MTC approvals and typed event decoding."""

    def approve(self, token: Contract, amount: int = UINT256_MAX) -> TxReceipt:
        """Let this contract pull ``amount`` MTC from the sender (stakes, deposits, incentive funding)."""
        return self._send(token.functions.approve(self.contract.address, amount))

    def decode(self, receipt: TxReceipt, event_type: type[E]) -> list[E]:
        """Every ``event_type`` event this contract emitted in ``receipt``."""
        logs = getattr(self.contract.events, event_type.EVENT)().process_receipt(receipt, errors=DISCARD)
        return [event_type.from_event(log) for log in logs if log["address"] == self.contract.address]

    def decode_one(self, receipt: TxReceipt, event_type: type[E]) -> E:
        """The one ``event_type`` event of ``receipt`` (raises LookupError when there is none)."""
        found = self.decode(receipt, event_type)
        if not found:
            raise LookupError(
                f"no {event_type.EVENT} event in transaction {receipt['transactionHash'].hex()}"
            )
        return found[0]

    def events(
        self, event_type: type[E], from_block: BlockIdentifier = 0, to_block: BlockIdentifier = "latest"
    ) -> list[E]:
        """Every ``event_type`` event in ``[from_block, to_block]``, in chain order."""
        return [
            event_type.from_event(ev)
            for ev in get_events(self.contract, event_type.EVENT, from_block, to_block)
        ]

    def watcher(
        self, event_type: type[ChainEvent], from_block: BlockIdentifier = "latest", poll_interval: float = 0.5
    ) -> EventWatcher:
        """A polling watcher of ``event_type``; decode what it yields with ``event_type.from_event``."""
        return EventWatcher(self.contract.w3, self.contract, event_type.EVENT, from_block, poll_interval)


class MscClient(_BmeocClient):
    """MSC for one account (``sender``: an enclave, a user, the Leader), or read-only without one."""

    # --- enclave registry ------------------------------------------------------------------------

    def register_enclave(
        self,
        bls_key: bytes,
        pop: bytes,
        quote: bytes,
        stake: int,
        measurement: bytes = msc_messages.TEST_MEASUREMENT,
    ) -> TxReceipt:
        """B.1: register the sender with its BLS key, proof of possession and attestation quote; pulls
        ``stake`` MTC (call :meth:`approve` with the token first)."""
        return self._send(self.contract.functions.registerEnclave(bls_key, pop, measurement, quote, stake))

    def confirm_sync(self, height: int | None = None, block_hash: bytes | None = None) -> TxReceipt:
        """B.1 π_b: prove the enclave follows the chain with the height and hash of a block at or after its
        registration (by default the newest such block).

        MSC needs ``height < block.number``, and nodes estimate gas in the context of the latest block, so
        a proof naming the head itself fails estimation although it is valid once mined in the next block.
        The default therefore names the block before the head when that is at or after the registration;
        when the head *is* the registration block (an automining devnet with no block since), it names the
        head and sends with :data:`CONFIRM_SYNC_GAS` instead of an estimate."""
        w3 = self.contract.w3
        gas: int | None = None
        if height is None:
            head = int(w3.eth.block_number)
            registered = self.enclave(self._own_address()).registered_block
            height = head - 1 if head - 1 >= registered else head
            gas = CONFIRM_SYNC_GAS if height == head else None
        if block_hash is None:
            block_hash = bytes(w3.eth.get_block(height)["hash"])
        call = self.contract.functions.confirmSync(height, block_hash)
        if gas is None:
            return self._send(call)
        assert self.sender is not None  # _own_address checked it
        return self.sender.send(call, gas=gas)

    def _own_address(self) -> ChecksumAddress:
        if self.sender is None:
            raise ReadOnlyClient(
                f"this {type(self).__name__} is read-only: give it a TransactionSender to write"
            )
        return _address(self.sender.address)

    def leave(self) -> TxReceipt:
        return self._send(self.contract.functions.leave())

    def withdraw_remaining(self) -> TxReceipt:
        return self._send(self.contract.functions.withdrawRemaining())

    # --- environments ------------------------------------------------------------------------------

    def create_environment(self, size: int) -> tuple[EnvironmentRequested, TxReceipt]:
        """B.2: ask for an environment of ``size`` enclaves; returns its id and seed (the event)."""
        receipt = self._send(self.contract.functions.createEnvironment(size))
        return self.decode_one(receipt, EnvironmentRequested), receipt

    def submit_vrf(self, env_id: int, proof: bytes) -> tuple[VrfSubmitted, TxReceipt]:
        """B.2: submit the sender's VRF proof (``vrf.prove(secret, seed).proof``)."""
        receipt = self._send(self.contract.functions.submitVrf(env_id, proof))
        return self.decode_one(receipt, VrfSubmitted), receipt

    def finalize_environment(self, env_id: int) -> tuple[EnvironmentCreated, TxReceipt]:
        """B.2: fix the members and roles; returns them with the aggregate key."""
        receipt = self._send(self.contract.functions.finalizeEnvironment(env_id))
        return self.decode_one(receipt, EnvironmentCreated), receipt

    # --- contracts -----------------------------------------------------------------------------------

    def register_contract(self, code_hash: bytes) -> tuple[int, TxReceipt]:
        """B.3: register an off-chain contract program by code hash; returns id_sc."""
        receipt = self._send(self.contract.functions.registerContract(code_hash))
        return self.decode_one(receipt, ContractRegistered).id_sc, receipt

    def confirm_install(
        self, id_sc: int, env_id: int, aggregate_key: bytes, aggregate_signature: bytes
    ) -> TxReceipt:
        """B.3 (Leader): every member signed ``install_message``; σ is their sum."""
        return self._send(
            self.contract.functions.confirmInstall(id_sc, env_id, aggregate_key, aggregate_signature)
        )

    def confirm_execution(
        self, id_sc: int, seq: int, state_root: bytes, aggregate_key: bytes, aggregate_signature: bytes
    ) -> TxReceipt:
        """B.4 (Leader): every member signed ``execution_message`` for step ``seq`` and ``state_root``."""
        call = self.contract.functions.confirmExecution(
            id_sc, seq, state_root, aggregate_key, aggregate_signature
        )
        return self._send(call)

    # --- challenges ----------------------------------------------------------------------------------

    def challenge(self, env_id: int, target: str, request_hash: bytes) -> tuple[ChallengeOpened, TxReceipt]:
        """B.5: challenge a member of ``env_id`` that did not answer ``request_hash``."""
        receipt = self._send(self.contract.functions.challenge(env_id, _address(target), request_hash))
        return self.decode_one(receipt, ChallengeOpened), receipt

    def respond(self, challenge_id: int, response_hash: bytes) -> TxReceipt:
        """B.5: the challenged enclave answers in time."""
        return self._send(self.contract.functions.respond(challenge_id, response_hash))

    def timeout_challenge(self, challenge_id: int) -> tuple[EnclaveRemoved, TxReceipt]:
        """B.5: after the window, remove and slash the silent enclave (anyone may call). The receipt also
        holds :class:`EnvironmentChanged` or :class:`EnvironmentDissolved` (see :meth:`decode`)."""
        receipt = self._send(self.contract.functions.timeoutChallenge(challenge_id))
        return self.decode_one(receipt, EnclaveRemoved), receipt

    # --- reads ---------------------------------------------------------------------------------------

    def token_address(self) -> ChecksumAddress:
        return _address(self.contract.functions.token().call())

    def min_stake(self) -> int:
        return int(self.contract.functions.minStake().call())

    def vrf_window(self) -> int:
        return int(self.contract.functions.vrfWindow().call())

    def response_window(self) -> int:
        return int(self.contract.functions.responseWindow().call())

    def measurement(self) -> bytes:
        return bytes(self.contract.functions.measurement().call())

    def enclave(self, address: str) -> EnclaveInfo:
        status, registered, live, stake, key = self.contract.functions.enclaveInfo(_address(address)).call()
        return EnclaveInfo(
            _address(address), EnclaveStatus(status), int(registered), int(live), int(stake), bytes(key)
        )

    def active_enclaves(self) -> tuple[ChecksumAddress, ...]:
        return _addresses(self.contract.functions.activeEnclaves().call())

    def environment_count(self) -> int:
        return int(self.contract.functions.environmentCount().call())

    def environment(self, env_id: int) -> EnvironmentInfo:
        status, creator, size, seed, deadline, candidates, members, key = (
            self.contract.functions.environmentInfo(env_id).call()
        )
        return EnvironmentInfo(
            env_id, EnvStatus(status), _address(creator), int(size), bytes(seed), int(deadline),
            _addresses(candidates), _addresses(members), bytes(key),
        )  # fmt: skip

    def is_member(self, env_id: int, enclave: str) -> bool:
        return bool(self.contract.functions.isMember(env_id, _address(enclave)).call())

    def vrf_output(self, env_id: int, enclave: str) -> int | None:
        output, submitted = self.contract.functions.vrfOutput(env_id, _address(enclave)).call()
        return int(output) if submitted else None

    def smart_contract(self, id_sc: int) -> SmartContractInfo:
        status, code_hash, owner, env_id, seq, root = self.contract.functions.contractInfo(id_sc).call()
        return SmartContractInfo(
            id_sc, ScStatus(status), bytes(code_hash), _address(owner), int(env_id), int(seq), bytes(root)
        )

    def challenge_info(self, challenge_id: int) -> ChallengeInfo:
        challenger, target, env_id, deadline, resolved, request = self.contract.functions.challengeInfo(
            challenge_id
        ).call()
        return ChallengeInfo(
            challenge_id, _address(challenger), _address(target), int(env_id), int(deadline), bool(resolved),
            bytes(request),
        )  # fmt: skip

    def open_challenges(self, enclave: str) -> int:
        return int(self.contract.functions.openChallenges(_address(enclave)).call())

    def quote_digest(self, enclave: str, measurement: bytes, bls_key: bytes) -> bytes:
        return bytes(self.contract.functions.quoteDigest(_address(enclave), measurement, bls_key).call())

    def install_message(self, id_sc: int, env_id: int) -> bytes:
        return bytes(self.contract.functions.installMessage(id_sc, env_id).call())

    def execution_message(self, id_sc: int, env_id: int, seq: int, state_root: bytes) -> bytes:
        return bytes(self.contract.functions.executionMessage(id_sc, env_id, seq, state_root).call())

    def environment_message(self, env_id: int, message_hash: bytes) -> bytes:
        return bytes(self.contract.functions.environmentMessage(env_id, message_hash).call())

    def verify_environment_signature(
        self, env_id: int, message_hash: bytes, aggregate_signature: bytes
    ) -> bool:
        """``IEnvironmentVerifier``: whether ``aggregate_signature`` (key ‖ σ) is env ``env_id``'s signature.

        A plain ``eth_call`` with the node's default gas cap, so the pairing has all the gas it needs."""
        environment_id = msc_messages.asc_environment_id(env_id)
        call = self.contract.functions.verifyEnvironmentSignature(
            environment_id, message_hash, aggregate_signature
        )
        return bool(call.call())


class AscClient(_BmeocClient):
    """ASC for one account (the MTD, a CSN, the Leader, the deployer), or read-only without one."""

    # --- administration and stakes ---------------------------------------------------------------------

    def set_environment(self, env_id: int) -> TxReceipt:
        """Bind ASC to MSC environment ``env_id`` (``ENVIRONMENT_ADMIN_ROLE``)."""
        return self._send(self.contract.functions.setEnvironment(msc_messages.asc_environment_id(env_id)))

    def fund_incentives(self, amount: int) -> TxReceipt:
        return self._send(self.contract.functions.fundIncentives(amount))

    def deposit_stake(self, amount: int) -> TxReceipt:
        return self._send(self.contract.functions.depositStake(amount))

    def request_unstake(self, amount: int) -> TxReceipt:
        return self._send(self.contract.functions.requestUnstake(amount))

    def withdraw_stake(self) -> TxReceipt:
        return self._send(self.contract.functions.withdrawStake())

    # --- tasks -----------------------------------------------------------------------------------------

    def open_task(self, id_tasks_hash: bytes, m: int, deposit: int) -> tuple[bytes, TxReceipt]:
        """The MTD escrows ``deposit`` for a task of ``m`` CSNs; returns the task id."""
        receipt = self._send(self.contract.functions.openTask(id_tasks_hash, m, deposit))
        return self.decode_one(receipt, TaskOpened).task_id, receipt

    def anchor_schedule(
        self, task_id: bytes, group_commitment: bytes, aggregate_signature: bytes
    ) -> tuple[TaskScheduled, TxReceipt]:
        """The Leader anchors H(Group_C ‖ salt) with the environment's signature on ``anchor_digest``."""
        receipt = self._send(
            self.contract.functions.anchorSchedule(task_id, group_commitment, aggregate_signature)
        )
        return self.decode_one(receipt, TaskScheduled), receipt

    def cancel_task(self, task_id: bytes) -> TxReceipt:
        return self._send(self.contract.functions.cancelTask(task_id))

    def open_dispute(self, task_id: bytes) -> tuple[DisputeOpened, TxReceipt]:
        receipt = self._send(self.contract.functions.openDispute(task_id))
        return self.decode_one(receipt, DisputeOpened), receipt

    def expire_dispute(self, task_id: bytes) -> TxReceipt:
        return self._send(self.contract.functions.expireDispute(task_id))

    def finalize_default(self, task_id: bytes) -> tuple[DefaultPayoutPaid, TxReceipt]:
        receipt = self._send(self.contract.functions.finalizeDefault(task_id))
        return self.decode_one(receipt, DefaultPayoutPaid), receipt

    def settle(
        self,
        task_id: bytes,
        mlist: Sequence[str],
        bonus: int,
        state_root: bytes,
        aggregate_signature: bytes,
    ) -> tuple[TaskSettled, TxReceipt]:
        """The Leader settles with SSC's output (MList sorted ascending, bonus, new root) and the
        environment's signature on ``settlement_digest``; :class:`Slashed` events are in the receipt."""
        call = self.contract.functions.settle(
            task_id, [_address(a) for a in mlist], bonus, state_root, aggregate_signature
        )
        receipt = self._send(call)
        return self.decode_one(receipt, TaskSettled), receipt

    def claim(self, csn: str, cumulative: int, aggregate_signature: bytes) -> tuple[Claimed, TxReceipt]:
        """Pay ``csn`` up to its cumulative credit (a voucher signed by the environment)."""
        receipt = self._send(self.contract.functions.claim(_address(csn), cumulative, aggregate_signature))
        return self.decode_one(receipt, Claimed), receipt

    # --- reads ---------------------------------------------------------------------------------------

    def environment_id(self) -> bytes:
        return bytes(self.contract.functions.environmentId().call())

    def msc_environment_id(self) -> int:
        """The bound MSC environment (0 when none)."""
        return msc_messages.msc_environment_id(self.environment_id())

    def verifier_address(self) -> ChecksumAddress:
        return _address(self.contract.functions.verifier().call())

    def task(self, task_id: bytes) -> TaskInfo:
        mtd, m, status, deadline, deposit, id_hash, commitment = self.contract.functions.getTask(
            task_id
        ).call()
        return TaskInfo(
            task_id, _address(mtd), int(m), TaskStatus(status), int(deadline), int(deposit), bytes(id_hash),
            bytes(commitment),
        )  # fmt: skip

    def stake_of(self, csn: str) -> StakeInfo:
        bonded, unbonding, unlock = self.contract.functions.stakeOf(_address(csn)).call()
        return StakeInfo(int(bonded), int(unbonding), int(unlock))

    def is_eligible(self, csn: str) -> bool:
        return bool(self.contract.functions.isEligible(_address(csn)).call())

    def claimed(self, csn: str) -> int:
        return int(self.contract.functions.claimed(_address(csn)).call())

    def incentive_pool(self) -> int:
        return int(self.contract.functions.incentivePool().call())

    def ssc_state_root(self) -> bytes:
        return bytes(self.contract.functions.sscStateRoot().call())

    def balance_sheet(self) -> int:
        """What ASC must hold: bonded + escrowed + incentive pool + credited − claimed."""
        f = self.contract.functions
        return int(
            f.totalBonded().call() + f.totalEscrowed().call() + f.incentivePool().call()
            + f.totalCredited().call() - f.totalClaimed().call()
        )  # fmt: skip

    def anchor_digest(self, task_id: bytes, group_commitment: bytes) -> bytes:
        return bytes(self.contract.functions.anchorDigest(task_id, group_commitment).call())

    def settlement_digest(self, task_id: bytes, mlist: Sequence[str], bonus: int, state_root: bytes) -> bytes:
        call = self.contract.functions.settlementDigest(
            task_id, [_address(a) for a in mlist], bonus, state_root
        )
        return bytes(call.call())

    def claim_digest(self, csn: str, cumulative: int) -> bytes:
        return bytes(self.contract.functions.claimDigest(_address(csn), cumulative).call())

"""The HTTP messages of the enclave environment (pydantic, validated on arrival; pure, no I/O).

Two groups of actions, all in signed envelopes on the agent base:

* between enclaves (only the environment's current Leader may call them):
  ``enclave-install`` (install the off-chain contracts, sign ``install_message``), ``enclave-execute`` (the
  Execution Enclave runs a request), ``enclave-reexecute`` (a Monitoring Enclave runs it again and compares
  the state root), ``enclave-sign`` (sign a reward voucher from its own ledger), ``enclave-seed`` (sign a
  task's seed message: the hash of the aggregate of every member's share is RSSC's seed);
* towards the Leader, from the users of the environment: ``env-install`` (the environment's creator),
  ``bmeoc-schedule`` (an MTD sends TX_t), ``bmeoc-dispute`` (an MTD sends TX_acc, sealed to each enclave),
  ``bmeoc-default`` (anyone registered, after ASC paid a task by default), ``bmeoc-voucher`` (a CSN asks for
  its cumulative reward voucher).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

INSTALL = "enclave-install"
EXECUTE = "enclave-execute"
REEXECUTE = "enclave-reexecute"
SIGN = "enclave-sign"
SEED = "enclave-seed"
ENV_INSTALL = "env-install"
SCHEDULE = "bmeoc-schedule"
DISPUTE = "bmeoc-dispute"
DEFAULT = "bmeoc-default"
VOUCHER = "bmeoc-voucher"

Hash32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]
G1Hex = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{256}$")]
HexBlob = Annotated[str, StringConstraints(pattern=r"^0x(?:[0-9a-fA-F]{2})*$", max_length=16 * 1024 * 1024)]
Address = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]


def to_hex(data: bytes) -> str:
    return "0x" + data.hex()


def from_hex(text: str) -> bytes:
    return bytes.fromhex(text[2:])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------------------- between enclaves


class InstallRequest(_Model):
    """Install the off-chain contracts ``id_sc`` of environment ``env_id`` with ``config``."""

    env_id: int = Field(ge=1, lt=2**64)
    id_sc: int = Field(ge=1, lt=2**64)
    config: dict[str, Any]


class InstallResponse(_Model):
    """The member's code hash and its BLS signature on ``install_message``."""

    code_hash: Hash32
    signature: G1Hex


class ExecuteRequest(_Model):
    """Step ``seq`` of ``id_sc``: ``request`` is the step's JSON; ``sealed`` maps an enclave address to a
    payload only that enclave can open (TX_acc); ``expected_root`` is the Execution Enclave's state root, for
    the Monitoring Enclaves to compare with. ``input_block`` names the block whose chain state the step's
    chain inputs (candidates, eligibility, deposit; stakes, pool) were read at: every member reads them again
    there. ``seed_signature`` is σ, the environment's aggregate signature on the task's seed message, whose
    keccak256 a ScheduleTask's seed must be."""

    env_id: int = Field(ge=1, lt=2**64)
    id_sc: int = Field(ge=1, lt=2**64)
    seq: int = Field(ge=1, lt=2**64)
    request: dict[str, Any]
    sealed: dict[Address, HexBlob] = Field(default_factory=dict)
    expected_root: Hash32 | None = None
    input_block: int | None = Field(default=None, ge=0, lt=2**64)
    seed_signature: G1Hex | None = None


class ExecuteResponse(_Model):
    """The member's result of a step and, when its state root is the expected one, its signatures on the
    execution message (MSC) and, when the step has one, on the ASC digest (wrapped per MSC's environment
    message)."""

    seq: int
    state_root: Hash32
    output: dict[str, Any]
    agrees: bool
    execution_signature: G1Hex | None = None
    asc_digest: Hash32 | None = None
    asc_signature: G1Hex | None = None


class SignRequest(_Model):
    """Sign the reward voucher of ``csn`` from the member's own SSC ledger."""

    env_id: int = Field(ge=1, lt=2**64)
    id_sc: int = Field(ge=1, lt=2**64)
    csn: Address


class SignResponse(_Model):
    cumulative: str
    digest: Hash32
    signature: G1Hex


class SeedRequest(_Model):
    """Sign task ``task_id``'s seed message (``enclave.seed.seed_message``) with the seed DST."""

    env_id: int = Field(ge=1, lt=2**64)
    task_id: Hash32


class SeedResponse(_Model):
    signature: G1Hex


# ------------------------------------------------------------------------------------- towards the Leader


class EnvInstallRequest(_Model):
    env_id: int = Field(ge=1, lt=2**64)
    id_sc: int = Field(ge=1, lt=2**64)
    config: dict[str, Any]


class Confirmation(_Model):
    """What the Leader anchored: the transactions it sent and the step it confirmed."""

    seq: int = 0
    state_root: Hash32 | None = None
    transactions: dict[str, Hash32] = Field(default_factory=dict)
    removed: list[Address] = Field(default_factory=list)
    note: str = ""


class ScheduleRequest(_Model):
    """TX_t (``offchain.outsourcing.wire.TaskTransactionModel`` JSON) of a task the MTD opened in ASC."""

    transaction: dict[str, Any]


class ScheduleResponse(_Model):
    """Group_C, salt and index order, ECIES-encrypted to the MTD's registered key; and the confirmation."""

    task_id: Hash32
    commitment: Hash32
    sealed_group: HexBlob
    confirmation: Confirmation


class DisputeRequest(_Model):
    """TX_acc and F, sealed to each member's registered encryption key (address → ciphertext)."""

    task_id: Hash32
    sealed: dict[Address, HexBlob]


class DisputeResponse(_Model):
    mlist: list[Address]
    bonus: str
    accountability: str
    confirmation: Confirmation


class DefaultRequest(_Model):
    task_id: Hash32


class VoucherRequest(_Model):
    """A CSN asks for its voucher (the sender is the CSN)."""


class VoucherResponse(_Model):
    cumulative: str
    signature: HexBlob

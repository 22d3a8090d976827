"""The off-chain contracts of Meta-BMEOC (OCTVSC, RSSC, ACCSC, SSC) run in an in-process EVM per enclave.

Spec 000 §2.4-2.7, §3.8, §4; docs/outsourcing-osc.md. The Solidity is in ``contracts/outsourcing/osc/``;
:class:`OscRuntime` deploys it in a fresh pyrevm EVM and executes the requests (:class:`ScheduleTask`,
:class:`Account`, :class:`Settle`, :class:`DefaultPayout`) deterministically, so the Execution and
Monitoring Enclaves can compare state roots.
"""

from offchain.outsourcing.osc.errors import (
    OscArtifactError,
    OscError,
    OscRejected,
    OscRequestError,
    OscRevert,
)
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
    request_from_json,
)
from offchain.outsourcing.osc.runtime import (
    CONTRACTS,
    DEPLOYER,
    OscConfig,
    OscRuntime,
    TaskStatus,
    load_artifacts,
)
from offchain.outsourcing.osc.selection import (
    Candidate,
    candidates_from_records,
    derive_seed,
    select_group,
    selection_key,
    selection_salt,
)
from offchain.outsourcing.osc.tasks import asc_task_id, bind_to_asc

__all__ = [
    "CONTRACTS",
    "DEPLOYER",
    "Account",
    "AccountOutput",
    "Candidate",
    "DefaultPayout",
    "DefaultPayoutOutput",
    "OscArtifactError",
    "OscConfig",
    "OscError",
    "OscOutput",
    "OscRejected",
    "OscRequest",
    "OscRequestError",
    "OscResult",
    "OscRevert",
    "OscRuntime",
    "ScheduleOutput",
    "ScheduleTask",
    "Settle",
    "SettleOutput",
    "TaskStatus",
    "asc_task_id",
    "bind_to_asc",
    "candidates_from_records",
    "derive_seed",
    "load_artifacts",
    "request_from_json",
    "select_group",
    "selection_key",
    "selection_salt",
]

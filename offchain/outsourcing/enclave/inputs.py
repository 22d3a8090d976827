"""The chain inputs of a step, read at the block the Leader names (historical ``eth_call``).

A ScheduleTask step carries RSC's active CSNs with their providers and ASC's eligibility, and the deposit
ASC escrowed; a Settle step carries each CSN's bonded stake in ASC and ASC's incentive pool. The Leader reads
them at one block and names it in the step; every member reads them again at that block and refuses the
step when they differ, so a Leader cannot forge a candidate list or a stake. The block must be recent
(at most ``MAX_BLOCK_AGE`` behind the member's head, never ahead of it), so a Leader cannot pick an old
block where a since-blacklisted CSN was still eligible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from web3 import Web3

from offchain.chain.registry import DISCOVERY_PAGE, NodeStatus
from offchain.chain.roles import ActorRole
from offchain.outsourcing.chain_clients import TaskStatus
from offchain.outsourcing.enclave.chain import EnclaveChain
from offchain.outsourcing.osc import Candidate
from offchain.outsourcing.osc.selection import canonical_candidates

MAX_BLOCK_AGE = 256


@dataclass(frozen=True)
class TaskAtBlock:
    status: TaskStatus
    m: int
    deposit: int


def block_age_problem(block: int | None, head: int, max_age: int = MAX_BLOCK_AGE) -> str | None:
    """None when ``block`` is a usable input block at ``head``, else the reason."""
    if block is None:
        return "the step names no input block"
    if block > head:
        return f"input block {block} is ahead of this enclave's head {head}"
    if block < head - max_age:
        return f"input block {block} is older than {max_age} blocks (head {head})"
    return None


def candidates_at(chain: EnclaveChain, block: int) -> tuple[Candidate, ...]:
    """RSC's active CSNs at ``block`` with their providers and ``ASC.isEligible`` at that block (canonical
    order, as RSSC requires)."""
    rsc = chain.registry.contract.functions
    asc = chain.asc.contract.functions
    total = int(rsc.listedCount().call(block_identifier=block))
    addresses: list[str] = []
    offset = 0
    while offset < total:
        page, offset = rsc.nodesWithRoles(int(ActorRole.CSN), offset, DISCOVERY_PAGE).call(
            block_identifier=block
        )
        addresses.extend(Web3.to_checksum_address(a) for a in page)
    out = []
    for address in addresses:
        status, _roles, _pending, _at, provider, *_ = rsc.getNode(address).call(block_identifier=block)
        eligible = bool(asc.isEligible(address).call(block_identifier=block))
        out.append(Candidate(address, bytes(provider), eligible and NodeStatus(status) is NodeStatus.ACTIVE))
    return canonical_candidates(out)


def task_at(chain: EnclaveChain, task_id: bytes, block: int) -> TaskAtBlock:
    _mtd, m, status, _deadline, deposit, *_ = chain.asc.contract.functions.getTask(task_id).call(
        block_identifier=block
    )
    return TaskAtBlock(TaskStatus(status), int(m), int(deposit))


def stakes_at(chain: EnclaveChain, csns: Sequence[str], block: int) -> tuple[int, ...]:
    """``ASC.stakeOf(csn).bonded`` of each CSN at ``block``."""
    stake_of = chain.asc.contract.functions.stakeOf
    return tuple(int(stake_of(Web3.to_checksum_address(c)).call(block_identifier=block)[0]) for c in csns)


def pool_at(chain: EnclaveChain, block: int) -> int:
    return int(chain.asc.contract.functions.incentivePool().call(block_identifier=block))

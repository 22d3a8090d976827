"""Binding a prepared task to ASC's task id (what OCTVSC requires of TX_t).

ASC names a task ``keccak256(abi.encode(chainid, ASC, MTD, H(ID_t)))``
(:func:`offchain.outsourcing.asc.task_id`), and OCTVSC accepts TX_t only when its ``ID`` is that id: the
MTD's single signature then binds the escrow on chain. The id depends on the subtask ids ID_Tj, which
:func:`~offchain.outsourcing.task.prepare_task` computes, so the MTD prepares the task, then re-signs TX_t
with the ASC id (before sending anything to a CSN).
"""

from __future__ import annotations

from dataclasses import replace

from offchain.crypto.keys import KeyPair
from offchain.outsourcing.asc import id_tasks_hash, task_id
from offchain.outsourcing.errors import InvalidParameters
from offchain.outsourcing.task import PreparedTask, build_task_transaction


def asc_task_id(chain_id: int, asc: str, task: PreparedTask) -> bytes:
    """The id ASC gives ``task`` (MTD and ID_t taken from its TX_t)."""
    tx = task.transaction
    return task_id(chain_id, asc, tx.mtd, id_tasks_hash(tx.task_hashes))


def bind_to_asc(mtd: KeyPair, task: PreparedTask, chain_id: int, asc: str) -> PreparedTask:
    """``task`` with TX_t re-signed under ASC's task id (same shares, hashes, deposit and timestamp)."""
    tx = task.transaction
    if mtd.address != tx.mtd:
        raise InvalidParameters("only the task's MTD can re-sign its TX_t")
    signed = build_task_transaction(
        mtd,
        task.params,
        tx.polynomial_digest,
        tx.task_hashes,
        deposit=tx.deposit,
        task_id=asc_task_id(chain_id, asc, task),
        timestamp=tx.timestamp,
    )
    return replace(task, transaction=signed)

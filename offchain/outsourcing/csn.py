"""CSN side of Meta-BMEOC (spec 000 §3.5, R6): check T_j against TX_t, compute, sign.

* :func:`check_task`: the MTD's single signature over TX_t verifies, TX_t names the expected MTD, the
  task's F is the one TX_t commits to, ``H(H(F) || j || ∂_j)`` equals ``ID_Tj`` at position j of TX_t;
* :func:`compute_share`: ``c_j = F(v(j))`` (Eq. 7) and ``b_j = c_j · w(j)`` (Eq. 8);
* :func:`sign_result`: the CSN's signature over ``(taskId, j, ID_Tj, c_j, b_j)`` (spec §7 #6: the paper's
  ``Sign(c_j, b_j)`` does not bind the task, so a result could be replayed into another task).

:func:`process_task` runs all three (one CSN's online computation).
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.crypto.errors import SignatureError
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import recover_message_signer, sign_message
from offchain.outsourcing.errors import TaskRejected
from offchain.outsourcing.field import Field
from offchain.outsourcing.polynomial import AnyPolynomial
from offchain.outsourcing.task import Share, TaskShare, task_hash

RESULT_TAG = b"metatrust/bmeoc/R_j/v1"


@dataclass(frozen=True)
class CSNResult:
    """``R_j = (ID_Tj, c_j, b_j, Sig)`` plus the task id and index the signature covers."""

    task_id: bytes
    j: int
    task_hash: bytes
    c: int
    b: int
    signature: bytes

    def digest(self, field: Field) -> bytes:
        return result_digest(field, self.task_id, self.j, self.task_hash, self.c, self.b)

    def signer(self, field: Field) -> str | None:
        """The address whose signature this is, or None when the signature is malformed."""
        try:
            return recover_message_signer(self.digest(field), self.signature)
        except SignatureError:
            return None


def result_digest(field: Field, task_id: bytes, j: int, id_tj: bytes, c: int, b: int) -> bytes:
    """keccak256(tag || taskId || j (32 bytes) || ID_Tj || c_j || b_j), elements at the field's width."""
    return keccak256(RESULT_TAG + task_id + j.to_bytes(32, "big") + id_tj + field.encode(c) + field.encode(b))


def check_task(task: TaskShare, polynomial: AnyPolynomial, expected_mtd: str | None = None) -> bytes:
    """Verify T_j against TX_t; return ``ID_Tj``. Raises :class:`TaskRejected` (code, reason) otherwise."""
    tx = task.transaction
    field = polynomial.field
    if expected_mtd is not None and tx.mtd != expected_mtd:
        raise TaskRejected("wrong-mtd", f"TX_t names {tx.mtd}, but the task came from {expected_mtd}")
    if not tx.is_signed_by_mtd():
        raise TaskRejected("bad-mtd-signature", "TX_t is not signed by the MTD it names")
    params = tx.params
    if field.q != params.q or polynomial.k != params.k or polynomial.d > params.d:
        raise TaskRejected("wrong-polynomial", "F does not have the (q, k, d) of TX_t")
    if polynomial.digest() != tx.polynomial_digest:
        raise TaskRejected("wrong-polynomial", "H(F) differs from the digest TX_t commits to")
    j = task.share.j
    if not 1 <= j <= params.m:
        raise TaskRejected("bad-index", f"index j = {j} is outside 1..{params.m}")
    if len(task.share.v) != params.k:
        raise TaskRejected("bad-share", f"v(j) must have k = {params.k} elements")
    id_tj = task_hash(field, tx.polynomial_digest, task.share)
    if id_tj != tx.task_hashes[j - 1]:
        raise TaskRejected("share-mismatch", f"H(H(F), ∂_j) differs from ID_T{j} committed in TX_t")
    return id_tj


def compute_share(polynomial: AnyPolynomial, share: Share) -> tuple[int, int]:
    """``(c_j, b_j) = (F(v(j)), F(v(j)) · w(j))`` (Eqs. 7-8)."""
    c = polynomial.evaluate(share.v)
    return c, c * share.w % polynomial.field.q


def sign_result(
    csn: KeyPair, field: Field, task_id: bytes, j: int, id_tj: bytes, c: int, b: int
) -> CSNResult:
    """The CSN's signed ``R_j``."""
    signature = sign_message(csn, result_digest(field, task_id, j, id_tj, c, b))
    return CSNResult(task_id, j, id_tj, c, b, signature)


def process_task(
    csn: KeyPair, task: TaskShare, polynomial: AnyPolynomial, expected_mtd: str | None = None
) -> CSNResult:
    """One CSN's online computation: check T_j, compute (c_j, b_j), sign R_j."""
    id_tj = check_task(task, polynomial, expected_mtd)
    c, b = compute_share(polynomial, task.share)
    return sign_result(csn, polynomial.field, task.transaction.task_id, task.share.j, id_tj, c, b)

"""Accountability (spec 000 §3.7, R11-R14): Algorithm 1 of the paper with concrete checks.

The MTD builds ``TX_acc = (ID, ID_T, R_j, T_j, Sig, Other)`` (Eq. 10) only after verification failed
(:func:`build_accountability_transaction`); the accountability contract ACC runs :func:`acc`:

    if not isTransaction(TX_acc) or not isPublicKeyConsistent(TX_acc): return 0
    MList = detectMaliciousCSN(R_j, T_j)            # c'_j = F(v(j)); b'_j = c_j·w(j); flag if either differs
    return MList if MList else 0

Concrete checks (spec §3.7 [R]):

* :func:`is_transaction`: m shares and m results in index order; TX_t is signed by the MTD it names; TX_acc
  is signed by that same MTD; the MTD is the one registered for the task (when the caller knows it); F is the
  polynomial TX_t commits to; the task is in a disputable state (caller's check); and, by default,
  verification really fails on the submitted results (α = w(0) is recomputed from the shares), so an MTD
  cannot start accountability on a run it accepted.
* :func:`is_public_key_consistent`: for every j, R_j answers this task at index j with the committed
  ``ID_Tj`` and is signed by the CSN assigned to j (the RSSC assignment when the caller knows it), the
  assigned CSNs are distinct, and ``H(H(F) || j || ∂_j) = ID_Tj`` as committed in TX_t.

Why no honest CSN can be framed: a CSN is flagged only through its own signature over
``(taskId, j, ID_Tj, c_j, b_j)``, and the share it is judged on must hash to the ID_Tj that the MTD committed
to (and signed) before the computation and that the CSN checked. A forged R_j, a swapped index or a
substituted share makes the whole TX_acc invalid: ACC returns 0 and flags nobody.

TX_acc carries every share, so it reveals x: send it only encrypted to the enclave environment (spec §7 #9),
never on chain. This is the pure ACC; the enclaves run it through ACCSC (``offchain.outsourcing.osc``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from offchain.crypto.errors import SignatureError
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import recover_message_signer, sign_message
from offchain.outsourcing.csn import CSNResult
from offchain.outsourcing.field import get_field
from offchain.outsourcing.polynomial import AnyPolynomial
from offchain.outsourcing.task import PreparedTask, Share, TaskTransaction, task_hash
from offchain.outsourcing.verify import interpolate_at_zero, reconstruct

TX_ACC_TAG = b"metatrust/bmeoc/TX_acc/v1"


@dataclass(frozen=True)
class AccountabilityTransaction:
    """``TX_acc`` (Eq. 10): TX_t (ID, ID_T, ID_M and the MTD's task signature), the T_j (shares ∂_j), the
    R_j, the CSN assigned to each index, a timestamp (Other) and the MTD's signature ``Sig``."""

    transaction: TaskTransaction
    shares: tuple[Share, ...]
    results: tuple[CSNResult, ...]
    group: tuple[str, ...]
    timestamp: int
    signature: bytes = field(default=b"", compare=False)

    def __repr__(self) -> str:
        return (
            f"AccountabilityTransaction(task=0x{self.transaction.task_id.hex()[:12]}…, m={len(self.shares)})"
        )

    def digest(self) -> bytes:
        """What the MTD signs: TX_t's digest, each T_j's hash, each R_j (with its signature), the group."""
        parts = [TX_ACC_TAG, self.transaction.digest(), self.timestamp.to_bytes(8, "big")]
        field = get_field(self.transaction.params.q)
        width = field.width
        parts.extend(keccak256(share.encode(field)) for share in self.shares)
        for result in self.results:
            parts.append(
                result.task_id
                + result.j.to_bytes(32, "big")
                + result.task_hash
                + result.c.to_bytes(width, "big")
                + result.b.to_bytes(width, "big")
                + keccak256(result.signature)
            )
        parts.extend(bytes.fromhex(address[2:]) for address in self.group)
        return keccak256(b"".join(parts))

    def signer(self) -> str | None:
        try:
            return recover_message_signer(self.digest(), self.signature)
        except SignatureError:
            return None


def build_accountability_transaction(
    mtd: KeyPair,
    task: PreparedTask,
    results: Sequence[CSNResult],
    group: Sequence[str],
    *,
    timestamp: int | None = None,
) -> AccountabilityTransaction:
    """TX_acc for a task whose verification failed, signed by the MTD."""
    unsigned = AccountabilityTransaction(
        task.transaction,
        task.shares,
        tuple(results),
        tuple(group),
        int(time.time()) if timestamp is None else timestamp,
    )
    return AccountabilityTransaction(
        **{**unsigned.__dict__, "signature": sign_message(mtd, unsigned.digest())}
    )


@dataclass(frozen=True)
class AccountabilityContext:
    """What ACC knows besides TX_acc (from RSC, RSSC and ASC in the full system)."""

    registered_mtd: str | None = None
    """The MTD registered for this task (ID_M = H(pk_M)); None: the one TX_t names."""
    assigned_group: Sequence[str] | None = None
    """The CSN that RSSC assigned to each index; None: the group declared in TX_acc."""
    is_disputable: Callable[[bytes], bool] | None = None
    """Whether the task (by id) exists and is in a disputable state; None: every task is."""
    require_failed_verification: bool = True
    """Refuse TX_acc when Eq. 9 actually holds on the submitted results (nothing to account for)."""


def is_transaction(
    tx_acc: AccountabilityTransaction, polynomial: AnyPolynomial, context: AccountabilityContext
) -> str | None:
    """None when TX_acc is a well-formed, MTD-signed transaction of a disputable task; else the reason."""
    tx = tx_acc.transaction
    m = tx.m
    if len(tx_acc.shares) != m or len(tx_acc.results) != m or len(tx_acc.group) != m:
        return f"TX_acc must carry m = {m} shares, results and CSN addresses"
    if [s.j for s in tx_acc.shares] != list(range(1, m + 1)):
        return "shares are not the indices 1..m in order"
    if any(len(s.v) != tx.params.k for s in tx_acc.shares):
        return "a share does not have k elements"
    if not tx.is_signed_by_mtd():
        return "TX_t is not signed by the MTD it names"
    if tx_acc.signer() != tx.mtd:
        return "TX_acc is not signed by the task's MTD"
    if context.registered_mtd is not None and tx.mtd != context.registered_mtd:
        return "the MTD of TX_t is not the one registered for the task"
    if polynomial.digest() != tx.polynomial_digest or polynomial.field.q != tx.params.q:
        return "F is not the polynomial TX_t commits to"
    if context.is_disputable is not None and not context.is_disputable(tx.task_id):
        return "the task does not exist or is not in a disputable state"
    if context.require_failed_verification:
        field = polynomial.field
        alpha = interpolate_at_zero(field, [s.w for s in tx_acc.shares])
        outcome = reconstruct(
            field,
            [r.c for r in tx_acc.results],
            [r.b for r in tx_acc.results],
            alpha,
            tx.params.d,
            tx.params.t,
        )
        if outcome.accepted:
            return "verification succeeds on these results: nothing to account for"
    return None


def is_public_key_consistent(
    tx_acc: AccountabilityTransaction, polynomial: AnyPolynomial, context: AccountabilityContext
) -> str | None:
    """None when every R_j is signed by the CSN assigned to j for this task and ∂_j matches ID_Tj."""
    tx = tx_acc.transaction
    field = polynomial.field
    if context.assigned_group is not None and tuple(context.assigned_group) != tx_acc.group:
        return "the CSN group differs from the one assigned to the task"
    if len(set(tx_acc.group)) != len(tx_acc.group):
        return "a CSN appears at two indices"
    for j, (share, result, csn) in enumerate(
        zip(tx_acc.shares, tx_acc.results, tx_acc.group, strict=True), start=1
    ):
        if result.task_id != tx.task_id or result.j != j or result.task_hash != tx.task_hashes[j - 1]:
            return f"R_{j} does not answer this task at index {j} with the committed ID_T{j}"
        if not (0 <= result.c < field.q and 0 <= result.b < field.q):
            return f"R_{j} holds values outside F_q"
        if result.signer(field) != csn:
            return f"R_{j} is not signed by the CSN assigned to index {j}"
        if task_hash(field, tx.polynomial_digest, share) != tx.task_hashes[j - 1]:
            return f"∂_{j} does not hash to the committed ID_T{j}"
    return None


def detect_malicious_csn(
    tx_acc: AccountabilityTransaction, polynomial: AnyPolynomial
) -> list[tuple[int, str]]:
    """Lines 12-24 of Algorithm 1: recompute c'_j = F(v(j)), b'_j = c_j·w(j); flag j when either differs.

    The CSN is identified by the public key that signed (c_j, b_j) (checked equal to the assigned one)."""
    q = polynomial.field.q
    flagged = []
    for share, result in zip(tx_acc.shares, tx_acc.results, strict=True):
        c_prime = polynomial.evaluate(share.v)
        b_prime = result.c * share.w % q
        if c_prime != result.c or b_prime != result.b:
            signer = result.signer(polynomial.field)
            assert signer is not None  # is_public_key_consistent checked every signature
            flagged.append((share.j, signer))
    return flagged


@dataclass(frozen=True)
class AccountabilityReport:
    """ACC's answer with its reason: ``flagged`` is MList_CSN (empty means ACC returned 0)."""

    valid: bool
    reason: str
    flagged: tuple[str, ...] = ()
    indices: tuple[int, ...] = ()


def audit(
    tx_acc: AccountabilityTransaction, polynomial: AnyPolynomial, context: AccountabilityContext | None = None
) -> AccountabilityReport:
    """Algorithm 1 with the reason of its answer."""
    context = context or AccountabilityContext()
    reason = is_transaction(tx_acc, polynomial, context) or is_public_key_consistent(
        tx_acc, polynomial, context
    )
    if reason is not None:
        return AccountabilityReport(False, reason)
    flagged = detect_malicious_csn(tx_acc, polynomial)
    if not flagged:
        return AccountabilityReport(True, "no CSN computed a wrong (c_j, b_j)")
    return AccountabilityReport(
        True,
        f"{len(flagged)} CSN(s) returned a wrong (c_j, b_j)",
        tuple(address for _, address in flagged),
        tuple(j for j, _ in flagged),
    )


def acc(
    tx_acc: AccountabilityTransaction, polynomial: AnyPolynomial, context: AccountabilityContext | None = None
) -> list[str] | Literal[0]:
    """Algorithm 1 verbatim: MList_CSN (the malicious CSNs' addresses) or 0."""
    report = audit(tx_acc, polynomial, context)
    return list(report.flagged) if report.flagged else 0

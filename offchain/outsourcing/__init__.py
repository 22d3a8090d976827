"""Meta-BMEOC (seed 000): private, verifiable and accountable outsourcing of polynomial evaluation.

Spec: ``/work/shared/specs/000-meta-bmeoc.md`` §3.1-3.7, §3.10. The pure core (no I/O):

* :mod:`.field` F_q (q = 2^128 + 51 by default, any prime), :mod:`.polynomial` dense/sparse F with the
  d = 2 quadratic-form fast path;
* :mod:`.task` MTD task processing (α, r_i, γ_i, shares ∂_j, ID_Tj, TX_t with one signature);
* :mod:`.csn` one CSN's online computation (check T_j, c_j, b_j, signed R_j);
* :mod:`.verify` verification and reconstruction (signatures, Eq. 9, strict degree check);
* :mod:`.accountability` Algorithm 1 (ACC) with the concrete isTransaction / isPublicKeyConsistent.

The agents (:mod:`.agent`, :mod:`.client`), the demo flow (:mod:`.flow`) and the CLI (:mod:`.cli`) do the I/O.
"""

from offchain.outsourcing.accountability import (
    AccountabilityContext,
    AccountabilityReport,
    AccountabilityTransaction,
    acc,
    audit,
    build_accountability_transaction,
    detect_malicious_csn,
    is_public_key_consistent,
    is_transaction,
)
from offchain.outsourcing.csn import (
    CSNResult,
    check_task,
    compute_share,
    process_task,
    result_digest,
    sign_result,
)
from offchain.outsourcing.errors import InvalidParameters, MalformedMessage, OutsourcingError, TaskRejected
from offchain.outsourcing.field import DEFAULT_Q, Field, get_field
from offchain.outsourcing.polynomial import (
    AnyPolynomial,
    DensePolynomial,
    SparsePolynomial,
    dense_term_count,
    direct_evaluate,
    evaluate_quadratic_form,
    polynomial_from_wire,
    random_dense,
)
from offchain.outsourcing.task import (
    PreparedTask,
    Share,
    SharingSecret,
    TaskParams,
    TaskShare,
    TaskTransaction,
    build_task_transaction,
    make_shares,
    prepare_task,
    required_servers,
    sample_secret,
    task_hash,
)
from offchain.outsourcing.verify import (
    Verification,
    check_results,
    fits_degree,
    interpolate_at_zero,
    lagrange_at_zero,
    reconstruct,
    verify_results,
)

__all__ = [
    "DEFAULT_Q",
    "AccountabilityContext",
    "AccountabilityReport",
    "AccountabilityTransaction",
    "AnyPolynomial",
    "CSNResult",
    "DensePolynomial",
    "Field",
    "InvalidParameters",
    "MalformedMessage",
    "OutsourcingError",
    "PreparedTask",
    "Share",
    "SharingSecret",
    "SparsePolynomial",
    "TaskParams",
    "TaskRejected",
    "TaskShare",
    "TaskTransaction",
    "Verification",
    "acc",
    "audit",
    "build_accountability_transaction",
    "build_task_transaction",
    "check_results",
    "check_task",
    "compute_share",
    "dense_term_count",
    "detect_malicious_csn",
    "direct_evaluate",
    "evaluate_quadratic_form",
    "fits_degree",
    "get_field",
    "interpolate_at_zero",
    "is_public_key_consistent",
    "is_transaction",
    "lagrange_at_zero",
    "make_shares",
    "polynomial_from_wire",
    "prepare_task",
    "process_task",
    "random_dense",
    "reconstruct",
    "required_servers",
    "result_digest",
    "sample_secret",
    "sign_result",
    "task_hash",
    "verify_results",
]

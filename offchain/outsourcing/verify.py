"""Result verification and reconstruction on the MTD (spec 000 §3.6, R7).

1. :func:`check_results`: every R_j answers this task at its index with the committed ``ID_Tj`` and is
   signed by the CSN assigned to j (an invalid or missing R_j is a liveness fault, reported by index: the
   scheme has no redundancy, all m results are needed).
2. :func:`reconstruct`: ``φ(0) = Σ λ_j c_j`` and ``ψ(0) = Σ λ_j b_j`` with the Lagrange coefficients at 0
   over the points 1..m; accept iff ``ψ(0) = α · φ(0)`` (Eq. 9) and, in strict mode (the default, spec §3.6),
   the c_j lie on a polynomial of degree <= dt (all finite differences of order dt+1 vanish).

:func:`verify_results` runs both and returns a :class:`Verification`: ``value = F(x)`` or ⊥ (``None``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from offchain.outsourcing.csn import CSNResult
from offchain.outsourcing.field import Field
from offchain.outsourcing.task import TaskTransaction


@lru_cache(maxsize=256)
def lagrange_at_zero(q: int, m: int) -> tuple[int, ...]:
    """``λ_j = Π_{i≠j} i / (i − j) mod q`` for the points 1..m (cached per (q, m))."""
    coefficients = []
    for j in range(1, m + 1):
        numerator, denominator = 1, 1
        for i in range(1, m + 1):
            if i != j:
                numerator = numerator * i % q
                denominator = denominator * (i - j) % q
        coefficients.append(numerator * pow(denominator, -1, q) % q)
    return tuple(coefficients)


def interpolate_at_zero(field: Field, values: Sequence[int]) -> int:
    """The value at 0 of the polynomial of degree < m through ``(j, values[j-1])``, j = 1..m."""
    weights = lagrange_at_zero(field.q, len(values))
    return sum(w * v for w, v in zip(weights, values, strict=True)) % field.q


def fits_degree(field: Field, values: Sequence[int], max_degree: int) -> bool:
    """Whether the points ``(j, values[j-1])``, j = 1..m, lie on a polynomial of degree <= max_degree.

    Forward differences of order ``max_degree + 1`` over consecutive points vanish exactly then (valid in
    F_q while m < q, since the Newton basis ``C(μ, i)`` needs ``i!`` invertible).
    """
    if max_degree + 1 >= len(values):
        return True
    q = field.q
    row = list(values)
    for _ in range(max_degree + 1):
        row = [(b - a) % q for a, b in itertools.pairwise(row)]
    return not any(row)


@dataclass(frozen=True)
class Verification:
    """The outcome of verification: ``value`` is F(x) when accepted, None (⊥) otherwise."""

    accepted: bool
    value: int | None
    reason: str
    phi0: int | None = None
    psi0: int | None = None
    invalid_indices: tuple[int, ...] = field(default=())
    """Indices whose R_j is missing, malformed or not signed by the assigned CSN (not accountable)."""


def check_results(
    field: Field, transaction: TaskTransaction, results: Sequence[CSNResult | None], group: Sequence[str]
) -> tuple[int, ...]:
    """The indices j (1-based) whose R_j is missing, answers another task/index/hash, or is not signed
    by ``group[j-1]``. Empty when every result is well formed and authentic."""
    m = transaction.m
    if len(results) != m or len(group) != m:
        raise ValueError(f"need m = {m} results and m CSN addresses")
    bad = []
    for j, (result, csn) in enumerate(zip(results, group, strict=True), start=1):
        if (
            result is None
            or result.task_id != transaction.task_id
            or result.j != j
            or result.task_hash != transaction.task_hashes[j - 1]
            or not 0 <= result.c < field.q
            or not 0 <= result.b < field.q
            or result.signer(field) != csn
        ):
            bad.append(j)
    return tuple(bad)


def reconstruct(
    field: Field, c: Sequence[int], b: Sequence[int], alpha: int, d: int, t: int, *, strict: bool = True
) -> Verification:
    """Interpolate φ(0), ψ(0); accept iff ψ(0) = α·φ(0) (Eq. 9) and, when ``strict``, deg φ <= dt."""
    phi0 = interpolate_at_zero(field, c)
    psi0 = interpolate_at_zero(field, b)
    if psi0 != alpha * phi0 % field.q:
        return Verification(False, None, "ψ(0) ≠ α·φ(0) (Eq. 9)", phi0, psi0)
    if strict and not fits_degree(field, c, d * t):
        return Verification(
            False, None, f"the c_j do not lie on a polynomial of degree <= dt = {d * t}", phi0, psi0
        )
    return Verification(True, phi0, "ψ(0) = α·φ(0)", phi0, psi0)


def verify_results(
    field: Field,
    transaction: TaskTransaction,
    alpha: int,
    results: Sequence[CSNResult | None],
    group: Sequence[str],
    *,
    strict: bool = True,
) -> Verification:
    """Stage (c): check every CSN signature, then reconstruct and check (R7). Returns F(x) or ⊥."""
    invalid = check_results(field, transaction, results, group)
    if invalid:
        return Verification(
            False,
            None,
            f"results of indices {list(invalid)} are missing or not authentic",
            invalid_indices=invalid,
        )
    present = [r for r in results if r is not None]
    params = transaction.params
    return reconstruct(
        field, [r.c for r in present], [r.b for r in present], alpha, params.d, params.t, strict=strict
    )

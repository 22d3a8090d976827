"""Shamir secret sharing over Z_q (spec 002 §2.4, requirement R4): G(n, t, s) and C(shares) by Lagrange
interpolation at 0, plus the Lagrange coefficients λ_i = ∏_{r≠i} x_r / (x_r − x_i) the group protocol uses."""

from __future__ import annotations

import random
from collections.abc import Sequence

from offchain.resource_auth.group import Q, random_scalar


def random_polynomial(secret: int, degree: int, rng: random.Random | None = None) -> list[int]:
    """Coefficients ``[s, a_1, …, a_degree]`` with uniform a_j ∈ Z_q."""
    if degree < 0:
        raise ValueError("degree must be ≥ 0")
    return [secret % Q] + [random_scalar(rng) for _ in range(degree)]


def evaluate(coefficients: Sequence[int], x: int) -> int:
    """f(x) mod q by Horner's rule."""
    value = 0
    for coefficient in reversed(coefficients):
        value = (value * x + coefficient) % Q
    return value


def split(n: int, t: int, secret: int, rng: random.Random | None = None) -> list[tuple[int, int]]:
    """``G(n, t, s)``: n shares ``(x, f(x))`` at x = 1..n of a random degree t−1 polynomial, 0 < t ≤ n."""
    if not 0 < t <= n < Q:
        raise ValueError("need 0 < t ≤ n < q")
    coefficients = random_polynomial(secret, t - 1, rng)
    return [(x, evaluate(coefficients, x)) for x in range(1, n + 1)]


def lagrange_at_zero(xs: Sequence[int]) -> list[int]:
    """λ_i = ∏_{r≠i} (−x_r)/(x_i − x_r) mod q for each i; the x's must be distinct and nonzero."""
    if len(set(x % Q for x in xs)) != len(xs) or any(x % Q == 0 for x in xs):
        raise ValueError("interpolation points must be distinct and nonzero mod q")
    coefficients = []
    for i, xi in enumerate(xs):
        numerator, denominator = 1, 1
        for r, xr in enumerate(xs):
            if r != i:
                numerator = numerator * (-xr) % Q
                denominator = denominator * (xi - xr) % Q
        coefficients.append(numerator * pow(denominator, -1, Q) % Q)
    return coefficients


def combine(shares: Sequence[tuple[int, int]]) -> int:
    """``C(s'_1, …, s'_t)``: the secret f(0) from t shares ``(x, f(x))``."""
    xs = [x for x, _ in shares]
    return sum(lam * y for lam, (_, y) in zip(lagrange_at_zero(xs), shares, strict=True)) % Q

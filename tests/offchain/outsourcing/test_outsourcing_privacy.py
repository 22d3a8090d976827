"""Privacy of the shares (spec 000 §5 Theorem 1, R10), by exact counting over a tiny field.

For q = 7, k = 1, t in {1, 2}, d = 1 (m = 2t + 1 < q), every subset S of t indices, and every input x, the
joint distribution of ``{(v(j), w(j)) : j in S}`` over all randomness (α ∈ F_q^*, r ∈ F_q^{kt}, γ ∈ F_q^t)
is computed exactly with the production :func:`make_shares`; it must be the same for every x. For t = 2 the
enumeration is factored (r and (α, γ) are independent inputs, so the joint distribution is the product of
the distribution of the v-part over r and of the w-part over (α, γ), each computed for every x). And any
t+1 shares give back x and α.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from offchain.outsourcing import SharingSecret, get_field, make_shares, required_servers

Q = 7


def _lagrange_at_zero(points: list[int], q: int) -> list[int]:
    weights = []
    for j in points:
        num, den = 1, 1
        for i in points:
            if i != j:
                num, den = num * i % q, den * (i - j) % q
        weights.append(num * pow(den, -1, q) % q)
    return weights


def _joint(t: int, subset: tuple[int, ...], x: int) -> Counter[tuple[tuple[int, int], ...]]:
    """Exact joint distribution of the shares in ``subset`` over all (α, r, γ)."""
    field = get_field(Q)
    counts: Counter[tuple[tuple[int, int], ...]] = Counter()
    for alpha in range(1, Q):
        for r in itertools.product(range(Q), repeat=t):
            for gamma in itertools.product(range(Q), repeat=t):
                secret = SharingSecret(alpha, tuple((value,) for value in r), tuple(gamma))
                shares = make_shares(field, [x], secret, subset)
                counts[tuple((s.v[0], s.w) for s in shares)] += 1
    return counts


def _parts(
    t: int, subset: tuple[int, ...], x: int
) -> tuple[Counter[tuple[int, ...]], Counter[tuple[int, ...]]]:
    """The v-part over all r (α, γ fixed) and the w-part over all (α, γ) (r fixed), both for input x."""
    field = get_field(Q)
    v_part: Counter[tuple[int, ...]] = Counter()
    for r in itertools.product(range(Q), repeat=t):
        shares = make_shares(field, [x], SharingSecret(1, tuple((value,) for value in r), (0,) * t), subset)
        v_part[tuple(s.v[0] for s in shares)] += 1
    w_part: Counter[tuple[int, ...]] = Counter()
    for alpha in range(1, Q):
        for gamma in itertools.product(range(Q), repeat=t):
            shares = make_shares(field, [x], SharingSecret(alpha, ((0,),) * t, tuple(gamma)), subset)
            w_part[tuple(s.w for s in shares)] += 1
    return v_part, w_part


def test_any_single_share_is_independent_of_x_exhaustively() -> None:
    t = 1
    for subset in itertools.combinations(range(1, required_servers(1, t) + 1), t):
        reference = _joint(t, subset, 0)
        assert sum(reference.values()) == (Q - 1) * Q * Q
        for x in range(1, Q):
            assert _joint(t, subset, x) == reference, (subset, x)


def test_any_two_shares_are_independent_of_x() -> None:
    t = 2
    for subset in itertools.combinations(range(1, required_servers(1, t) + 1), t):
        v_reference, w_reference = _parts(t, subset, 0)
        assert len(v_reference) == Q**t
        assert set(v_reference.values()) == {1}
        for x in range(1, Q):
            assert _parts(t, subset, x) == (v_reference, w_reference), (subset, x)


@pytest.mark.parametrize("t", [1, 2, 3])
def test_t_plus_1_shares_reconstruct_x_and_alpha(t: int) -> None:
    rng = random.Random(t)
    field = get_field()
    k = 5
    x = field.random_elements(k, rng)
    secret = SharingSecret(
        field.random_nonzero(rng),
        tuple(tuple(field.random_elements(k, rng)) for _ in range(t)),
        tuple(field.random_elements(t, rng)),
    )
    m = required_servers(2, t)
    shares = make_shares(field, x, secret, range(1, m + 1))
    for _ in range(5):
        chosen = sorted(rng.sample(range(1, m + 1), t + 1))
        weights = _lagrange_at_zero(chosen, field.q)
        recovered_x = [
            sum(w * shares[j - 1].v[i] for w, j in zip(weights, chosen, strict=True)) % field.q
            for i in range(k)
        ]
        recovered_alpha = sum(w * shares[j - 1].w for w, j in zip(weights, chosen, strict=True)) % field.q
        assert recovered_x == x
        assert recovered_alpha == secret.alpha

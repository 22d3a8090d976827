"""Spec 003 §5.3 checkability trials and §5.4 attacks (known weaknesses of the published scheme)."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from offchain.modexp import KeyGenOptions, local_product
from offchain.modexp.attacks import (
    Cheat,
    HonestRun,
    base_difference_leak,
    blind_cancellation_rate,
    cancellation_attack,
    claimed_checkability,
    exponent_difference_leak,
    factor_with_phi_multiple,
    factoring_attack,
    honest_run,
    partition_attack,
    phi_from_paired_exponents,
    recover_partition,
    run_trials,
    sign_attack_all,
    sign_attack_subsets,
)

TRIALS = 200


@pytest.fixture(scope="module")
def runs() -> list[HonestRun]:
    rng = random.Random(2026)
    return [honest_run(n, 64, rng=rng) for n in (1, 2, 3, 5, 8)]


@pytest.mark.parametrize("cheat", [Cheat.FORGED, Cheat.OMITTED_OR_ALTERED, Cheat.WITNESS_TAMPERING])
def test_paper_cheating_behaviours_are_always_detected(runs: list[HonestRun], cheat: Cheat) -> None:
    """Spec §5.3: the paper reports 100 % detection; Theorem 1 claims 1 − n²/((4n²+6n+2)(N−2))."""
    stats = run_trials(runs, cheat, TRIALS, random.Random(cheat.value))
    assert stats.trials == TRIALS
    assert stats.rate == 1
    assert all(stats.rate >= claimed_checkability(run.n, run.rk.N) for run in runs)


def test_honest_results_are_never_rejected(runs: list[HonestRun]) -> None:
    stats = run_trials(runs, Cheat.HONEST, TRIALS, random.Random(0))
    assert stats.rejected == 0


def test_claimed_checkability_formula() -> None:
    assert claimed_checkability(1, 11) == 1 - Fraction(1, 12 * 9)
    assert claimed_checkability(1000, 2**511 + 1) > Fraction(999, 1000)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_attack1_cancellation_passes_and_decodes_t_times_result(runs: list[HonestRun], n: int) -> None:
    """§5.4 #1: scaling one γ_h and one γ'_j by any t always passes; the IV recovers t·Result mod N."""
    run = next(r for r in runs if r.n == n)
    for t in (2, 3, 12345):
        outcome = cancellation_attack(run, t, h=n - 1, j=0)
        assert outcome.accepted
        assert outcome.succeeded
        assert outcome.recovered == t * run.result % run.rk.N


@pytest.mark.parametrize("n", [1, 2, 3])
def test_attack1_blind_rate_is_about_one_half_not_two_to_minus_513(runs: list[HonestRun], n: int) -> None:
    run = next(r for r in runs if r.n == n)
    assert blind_cancellation_rate(run, 7) == Fraction(2 * n * n, (2 * n + 2) * (2 * n + 1))


def test_attack2_negating_every_output_deceives_for_even_n() -> None:
    """§5.4 #2: δ's are odd, so negating all outputs always passes; even n decodes −Result mod N."""
    rng = random.Random(22)
    for n in range(1, 7):
        run = honest_run(n, 48, rng=rng)
        outcome = sign_attack_all(run)
        assert outcome.accepted
        if n % 2 == 0:
            assert outcome.recovered == (-run.result) % run.rk.N
            assert outcome.succeeded
        else:
            assert outcome.recovered == run.result


@pytest.mark.parametrize("n", [1, 2])
def test_attack2_random_negation_subsets_deceive_a_quarter_of_the_time(n: int) -> None:
    run = honest_run(n, 48, rng=random.Random(40 + n))
    accepted, deceived = sign_attack_subsets(run)
    assert accepted == Fraction(1, 2)
    assert deceived == Fraction(1, 4)


@pytest.mark.parametrize("n", [5, 8])
def test_attack3_partition_recovery_makes_cancellation_deterministic(runs: list[HonestRun], n: int) -> None:
    """§5.4 #3: w_i/w'_i = v2/v1 for i ≠ ξ identifies a TK/VK pair from the bases alone. It needs n ≥ 4
    for a strict majority (the spec says n ≥ 3; at n = 3 it ties with the within-group ratios y_i/y_j)."""
    run = next(r for r in runs if r.n == n)
    pair = recover_partition(run.task)
    assert pair is not None
    permutation = run.keys.secret.permutation
    groups = {permutation[pair[0]] <= n, permutation[pair[1]] <= n}
    assert groups == {True, False}  # one position in TK, the other in VK
    outcome = partition_attack(run, 99)
    assert outcome is not None
    assert outcome.succeeded
    assert outcome.recovered == 99 * run.result % run.rk.N


def test_attack3_is_ambiguous_at_n_3(runs: list[HonestRun]) -> None:
    run = next(r for r in runs if r.n == 3)
    assert recover_partition(run.task) is None


def test_attack4_exponent_differences_leak_for_short_exponents() -> None:
    """§5.4 #4: with 160-bit exponents and a 1024-bit φ, m_i − m_j = a_i − a_j exactly."""
    run = honest_run(4, 512, exponent_bits=160, rng=random.Random(4))
    leaked = exponent_difference_leak(run.task, 1 << 161)
    a = run.exponents
    assert {a[i] - a[j] for i in range(4) for j in range(4) if i != j} <= leaked


def test_attack5_factoring_L_from_revealed_aux() -> None:
    """§5.4 #5(b): (δ1z1 + m_i) − (δ2z2 + m'_i) is a multiple of φ(L); L factors, exponents follow."""
    run = honest_run(3, 256, rng=random.Random(5))
    factors, exponents = factoring_attack(run, random.Random(6))
    assert set(factors) == {run.rk.N, run.sa.p}
    assert exponents == run.exponents
    assert local_product([y % run.rk.N for y in run.params.ys], exponents, run.rk.N) == run.result


def test_attack5a_paired_exponent_differences_give_phi_when_both_cases_occur() -> None:
    rng = random.Random(55)
    found = 0
    for _ in range(20):
        run = honest_run(6, 64, rng=rng)
        phi = phi_from_paired_exponents(run.task, run.keys.secret.permutation)
        if phi is not None:
            found += 1
            assert phi == (run.rk.N - 1) * (run.sa.p - 1)
            assert set(factor_with_phi_multiple(run.L, phi, rng)) == {run.rk.N, run.sa.p}
    assert found > 0


def test_attack6_shared_tau_leaks_base_differences_and_hardened_mode_does_not() -> None:
    """§5.4 #6: y_i − y_j ≡ u_i − u_j (mod L) with one shared τ; per-base k_i (spec §7 #2) removes it."""
    faithful = honest_run(4, 64, rng=random.Random(6))
    leak = base_difference_leak(faithful.params)
    u = faithful.bases
    assert all(value == (u[i] - u[j]) % faithful.L for (i, j), value in leak.items())
    hardened = honest_run(4, 64, per_base_k=True, rng=random.Random(6))
    leak = base_difference_leak(hardened.params)
    u = hardened.bases
    assert not any(value == (u[i] - u[j]) % hardened.L for (i, j), value in leak.items())
    assert hardened.keys.aux is not None
    assert run_trials([hardened], Cheat.HONEST, 5, random.Random(1)).rejected == 0


def test_honest_run_harness_matches_local_product() -> None:
    run = honest_run(3, 32, options=KeyGenOptions(shuffle=False), rng=random.Random(9))
    assert run.result == local_product(run.bases, run.exponents, run.rk.N)
    assert run.keys.secret.permutation == tuple(range(8))

"""Hardened MExpm (offchain.modexp.hardened): correctness, and every spec 003 §5.4 attack run against it
(offchain.modexp.security) with the rates that docs/modexp-security.md states."""

from __future__ import annotations

import math
import random

import gmpy2
import pytest

from offchain.modexp import MalformedTask, compute, local_product, phi_of, random_prime, setup
from offchain.modexp.attacks import Cheat, scale_outputs
from offchain.modexp.hardened import (
    BPVGenerator,
    HardenedOptions,
    HardenedReveal,
    blind_cancellation_probability,
    hardened_keygen,
    hardened_recover,
    hardened_verify,
    split_outputs,
)
from offchain.modexp.security import (
    Scenario,
    attack_base_differences,
    attack_base_ratio_partition,
    attack_cancellation,
    attack_exponent_differences,
    attack_exponent_partition,
    attack_factor_after_reveal,
    attack_negate_all,
    attack_negate_subset,
    attack_phi_from_exponents,
    checkability_trials,
    exponent_coincidences,
    faithful_scenario,
    hardened_scenario,
)

BITS = 64


@pytest.fixture(scope="module")
def hardened() -> list[Scenario]:
    rng = random.Random(303)
    return [hardened_scenario(n, BITS, rng=rng) for n in (1, 2, 4, 8) for _ in range(2)]


@pytest.fixture(scope="module")
def faithful() -> list[Scenario]:
    rng = random.Random(304)
    return [faithful_scenario(n, BITS, rng=rng) for n in (2, 4, 8) for _ in range(2)]


@pytest.mark.parametrize(("n", "bits"), [(1, 64), (2, 64), (3, 128), (6, 64), (5, 512)])
def test_hardened_run_verifies_and_recovers(n: int, bits: int) -> None:
    rng = random.Random(10 * n + bits)
    N = random_prime(bits, rng)
    bases = [rng.randrange(1, N) for _ in range(n)]
    params, rk, sa = setup(bases, N, p_bits=bits, rng=rng)
    assert not sa.shared_k or n == 1  # per-base masks are Setup's default
    exponents = [rng.randrange(phi_of(params, rk)) for _ in range(n)]
    keys = hardened_keygen(exponents, params, rk, options=HardenedOptions(rho=3), rng=rng)
    assert keys.n % 2 == 1
    assert keys.n == n + keys.dummies
    assert len(keys.task.pairs) == 3 * (2 * keys.n + 2)
    ok, sigma = hardened_verify(compute(keys.task), keys.reveal)
    assert ok
    assert hardened_recover(sigma, keys, rk) == local_product(bases, exponents, N)


def test_bpv_pairs_and_generator() -> None:
    rng = random.Random(1)
    N = random_prime(64, rng)
    params, rk, _ = setup([3, 4], N, p_bits=64, rng=rng)
    generator = BPVGenerator.for_task(params, rk, HardenedOptions(table_size=16, subset_size=4), rng)
    assert gmpy2.jacobi(generator.g, params.L) == -1
    for _ in range(10):
        k, v = generator.draw()
        assert 0 <= k < phi_of(params, rk)
        assert pow(generator.g, k, params.L) == v


def test_blind_cancellation_probability() -> None:
    for n in (1, 2, 5):  # ρ = 1 is the faithful scheme's unordered rate (spec §5.4 #1)
        assert blind_cancellation_probability(n, 1) == pytest.approx(2 * n * n / ((2 * n + 2) * (2 * n + 1)))
    rates = [blind_cancellation_probability(101, rho) for rho in (1, 2, 3, 4, 6)]
    assert rates == sorted(rates, reverse=True)
    assert blind_cancellation_probability(101, 4) < 0.0025
    assert blind_cancellation_probability(10**6, 4) == pytest.approx(math.factorial(8) / 8**8, rel=1e-3)


def test_malformed_submissions_are_refused(hardened: list[Scenario]) -> None:
    scenario = hardened[2]
    outputs = list(scenario.outputs)
    assert scenario.judge(outputs).accepted
    assert not scenario.judge(outputs[:-1]).accepted  # wrong count
    too_big = outputs.copy()
    too_big[0] = scenario.L
    assert not scenario.judge(too_big).accepted  # a value not below L
    rng = random.Random(2)
    N = random_prime(64, rng)
    params, rk, _ = setup([2, 3, 5], N, p_bits=64, rng=rng)
    keys = hardened_keygen([7, 9, 11], params, rk, options=HardenedOptions(rho=2), rng=rng)
    with pytest.raises(MalformedTask):
        split_outputs(compute(keys.task)[1:], keys.reveal)
    with pytest.raises(MalformedTask):
        HardenedReveal(keys.reveal.L, keys.reveal.n, keys.reveal.auxes, (0, 0, 1), keys.reveal.ratios)
    with pytest.raises(MalformedTask):
        HardenedOptions(rho=0)


def test_one_instance_cheated_alone_fails_the_agreement(hardened: list[Scenario]) -> None:
    """Cancellation inside one instance passes that instance's Algorithm 2 but not the agreement."""
    scenario = hardened[4]
    tk, vk = scenario.groups[0]
    forged = scale_outputs(scenario.outputs, (tk[1], vk[1]), 12345, scenario.L)
    assert not scenario.judge(forged).accepted


def test_a_server_that_knew_the_structure_would_still_deceive(hardened: list[Scenario]) -> None:
    """The residual weakness (docs/modexp-security.md): the equation stays multiplicative, so one TK and
    one VK γ of *every* instance scaled by the same t passes. The hardened mode only hides which."""
    scenario = hardened[4]
    positions = [p for tk, vk in scenario.groups for p in (tk[1], vk[1])]
    outcome = scenario.judge(scale_outputs(scenario.outputs, positions, 7, scenario.L))
    assert outcome.accepted
    assert outcome.succeeded
    assert outcome.recovered == 7 * scenario.result % scenario.rk.N


@pytest.mark.parametrize("cheat", list(Cheat))
def test_paper_behaviours_detected_and_no_false_positives(hardened: list[Scenario], cheat: Cheat) -> None:
    stats = checkability_trials(hardened, cheat, 120, random.Random(cheat.value))
    assert stats.trials == 120
    assert stats.hits == (0 if cheat is Cheat.HONEST else 120)


def test_deterministic_attacks_fail_against_hardened_and_succeed_against_faithful(
    hardened: list[Scenario], faithful: list[Scenario]
) -> None:
    rng = random.Random(5)
    even = [s for s in faithful if len(s.bases) % 2 == 0]
    assert all(attack_negate_all(s) for s in even)  # §5.4 #2, faithful even n
    assert not any(attack_negate_all(s) for s in hardened)
    big = [s for s in faithful if len(s.bases) == 8]
    assert all(attack_base_ratio_partition(s, rng) for s in big)  # §5.4 #3
    assert not any(attack_base_ratio_partition(s, rng) for s in hardened)
    assert all(exponent_coincidences(s.task) for s in big)  # exponent translates (wraps mod φ aside)
    assert not any(exponent_coincidences(s.task) for s in hardened)
    assert any(attack_exponent_partition(s, rng) for s in big)
    assert not any(attack_exponent_partition(s, rng) for s in hardened)
    assert any(attack_phi_from_exponents(s, rng, BITS) for s in faithful)  # §5.4 #5(a)
    assert not any(attack_phi_from_exponents(s, rng, BITS) for s in hardened)
    assert all(attack_factor_after_reveal(s, rng) for s in faithful)  # §5.4 #5(b)
    assert not any(attack_factor_after_reveal(s, rng) for s in hardened)
    assert all(attack_base_differences(s) for s in faithful)  # §5.4 #6
    assert not any(attack_base_differences(s) for s in hardened if len(s.bases) > 1)


def test_short_exponent_differences_leak_only_in_the_faithful_mode() -> None:
    rng = random.Random(6)
    assert attack_exponent_differences(faithful_scenario(4, 128, exponent_bits=40, rng=rng), 40)
    assert not attack_exponent_differences(hardened_scenario(4, 128, exponent_bits=40, rng=rng), 40)


def test_factoring_after_reveal_needs_a_coefficient_search() -> None:
    """With 4-bit coefficients the 15² guesses find a multiple of φ(L): the search cost 2^{2·bits} is
    what protects a revealed task's privacy (16 bits by default: 2^32 factoring attempts)."""
    rng = random.Random(7)
    weak = hardened_scenario(3, BITS, options=HardenedOptions(rho=2, coefficient_bits=4), rng=rng)
    assert not attack_factor_after_reveal(weak, rng)
    assert attack_factor_after_reveal(weak, rng, coefficient_range=16)
    default = hardened_scenario(3, BITS, options=HardenedOptions(rho=2), rng=rng)
    assert not attack_factor_after_reveal(default, rng, coefficient_range=16)


def test_blind_attack_rates_match_the_documented_bounds(
    hardened: list[Scenario], faithful: list[Scenario]
) -> None:
    rng = random.Random(8)
    trials = 400
    wins = sum(attack_cancellation(faithful[i % len(faithful)], rng) for i in range(trials))
    assert 0.2 < wins / trials < 0.55  # about 2n²/((2n+2)(2n+1)), not 2^-513
    wins = sum(attack_negate_subset(faithful[i % len(faithful)], rng) for i in range(trials))
    assert 0.15 < wins / trials < 0.35  # about 1/4
    for attack in (
        lambda s: attack_cancellation(s, rng, 2),
        lambda s: attack_cancellation(s, rng, 2 * s.rho),
        lambda s: attack_negate_subset(s, rng),
    ):
        wins = sum(attack(hardened[i % len(hardened)]) for i in range(trials))
        assert wins / trials < 0.02  # analytic: ≤ 0.004 for ρ = 4

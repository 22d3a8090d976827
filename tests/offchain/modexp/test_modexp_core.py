"""MExpm core (spec 003 §3): the toy vector of §3.9, correctness, RandN table, malformed inputs."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.modexp import (
    Aux,
    KeyGenOptions,
    MalformedTask,
    PiE,
    PublicParams,
    RandNTable,
    RandNTableExhausted,
    RecoveryKey,
    ServerTask,
    SigmaE,
    compute,
    compute_keys,
    derive_keys,
    keygen,
    local_product,
    obfuscate,
    phi_of,
    random_prime,
    recover,
    recovery,
    server_task,
    setup,
    unshuffle,
    verify,
    verify_encoded,
)

TOY_PAIRS = [(63, 125), (42, 25), (52, 113), (82, 69)]


def test_toy_example_reproduces_every_intermediate_value() -> None:
    """Spec 003 §3.9 (corrected numbers) and §8 req. 8."""
    N, p, u, a = 11, 13, 128, 79
    assert local_product([u], [a], N) == 8  # the paper's "mod 43" is a typo for mod 11
    params = obfuscate([u], N, p, [5])
    rk = RecoveryKey(N)
    assert params == PublicParams(L=143, ys=(40,))
    assert phi_of(params, rk) == 120
    table = RandNTable(143, 120, 71)
    table.load(TOY_PAIRS)
    pairs = [table.draw() for _ in range(4)]
    assert pairs == TOY_PAIRS
    assert pow(125, -1, 143) == 135
    assert pow(25, -1, 143) == 103
    tk, vk, aux, secret = derive_keys([a], params, rk, g=71, pairs=pairs, delta1=11, delta2=109, r=7, xi=0)
    assert secret.d == 79
    assert pow(7, secret.d, 143) == 19
    assert (tk.bases, tk.head_base, tk.head_exponent, tk.exponents) == ((109,), 17, 55, (74,))
    assert (vk.bases, vk.head_base, vk.head_exponent, vk.exponents) == ((59,), 42, 44, (83,))
    assert aux == Aux(rv3=76, v4=69, delta1=11, delta2=109)
    # The paper prints δ1z1 = 57 and δ2z2 = 78; those are k1·a and k2·a mod φ. The true values:
    assert (11 * 55 % 120, 109 * 44 % 120) == (5, 116)
    assert (63 * a % 120, 42 * a % 120) == (57, 78)
    sigma, pi = compute_keys(tk, vk, 143)
    assert sigma == SigmaE(q0=43, gammas=(12,))
    assert pi == PiE(q1=126, gamma_primes=(119,))
    assert 76 * 12 * pow(43, 11, 143) % 143 == 111 == 69 * pow(126, 109, 143) * 119 % 143
    assert verify_encoded(sigma, pi, aux, 143, 1) == (True, 111)
    assert pow(7, -1, 143) == 41
    assert recover(111, 7, 143, 11) == 8 == recovery(111, rk, secret, 143)


def _run(
    rng: random.Random,
    n: int,
    bits: int,
    options: KeyGenOptions | None = None,
    exponents: list[int] | None = None,
) -> tuple[list[int], list[int], int, bool, int]:
    N = random_prime(bits, rng)
    us = [rng.randrange(1, 4 * N) for _ in range(n)]  # bases may exceed N (the toy has u > N)
    us = [u if u % N else u + 1 for u in us]
    params, rk, _ = setup(us, N, p_bits=bits, rng=rng)
    phi = phi_of(params, rk)
    a = exponents if exponents is not None else [rng.randrange(phi) for _ in range(n)]
    tk, vk, aux, secret = keygen(a, params, rk, options=options or KeyGenOptions(), rng=rng)
    outputs = compute(server_task(tk, vk, secret, params.L))
    sigma, pi = unshuffle(outputs, secret.permutation)
    ok, encoded = verify_encoded(sigma, pi, aux, params.L, tk.n)
    recovered = recovery(encoded, rk, secret, params.L) if ok else -1
    return us, a, N, ok, recovered


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), n=st.integers(1, 8), bits=st.sampled_from([16, 32, 64, 128]))
def test_honest_runs_recover_local_product(seed: int, n: int, bits: int) -> None:
    us, a, N, ok, recovered = _run(random.Random(seed), n, bits)
    assert ok
    assert recovered == local_product(us, a, N)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 50, 100])
def test_honest_runs_seeded_loops(n: int) -> None:
    rng = random.Random(1000 + n)
    for _ in range(max(3, 30 // n)):
        us, a, N, ok, recovered = _run(rng, n, 64)
        assert ok
        assert recovered == local_product(us, a, N)


def test_one_full_size_512_bit_run() -> None:
    rng = random.Random(512)
    us, a, N, ok, recovered = _run(rng, 3, 512)
    assert N.bit_length() == 512
    assert ok
    assert recovered == local_product(us, a, N)


def test_setup_masks_bases_in_a_1024_bit_modulus() -> None:
    rng = random.Random(7)
    N = random_prime(512, rng)
    params, _rk, sa = setup([5, 6, 7], N, per_base_k=False, rng=rng)
    assert N * sa.p == params.L
    assert sa.p != N
    assert sa.p.bit_length() == 512
    assert params.L.bit_length() in (1023, 1024)
    assert [y % N for y in params.ys] == [5, 6, 7]
    assert sa.shared_k
    assert sa.ks[0] < sa.p
    params_h, _, sa_h = setup([5, 6, 7], N, p_bits=64, rng=rng)  # per-base k is the default
    assert not sa_h.shared_k
    assert [y % N for y in params_h.ys] == [5, 6, 7]
    _, _, sa_n = setup([5], N, p_bits=64, k_domain="N", rng=rng)
    assert sa_n.ks[0] < N


def test_non_unit_exponents_use_a_dummy_term_or_are_rejected_in_paper_mode() -> None:
    rng = random.Random(3)
    N = random_prime(32, rng)
    params, rk, _ = setup([3, 4], N, p_bits=32, rng=rng)
    even = [2 * rng.randrange(1, 1000), 2 * rng.randrange(1, 1000)]  # φ(L) is even: no unit exponent
    tk, vk, aux, secret = keygen(even, params, rk, rng=rng)
    assert secret.dummy
    assert tk.n == 3
    assert secret.xi == 2
    sigma, pi = unshuffle(compute(server_task(tk, vk, secret, params.L)), secret.permutation)
    ok, encoded = verify_encoded(sigma, pi, aux, params.L, 3)
    assert ok
    assert recovery(encoded, rk, secret, params.L) == local_product([3, 4], even, N)
    with pytest.raises(MalformedTask, match="Z\\*_phi"):
        keygen(even, params, rk, options=KeyGenOptions(require_unit_exponents=True), rng=rng)


@pytest.mark.parametrize(
    "options",
    [
        KeyGenOptions(shuffle=False),
        KeyGenOptions(paper_r_range=True),
        KeyGenOptions(delta_bits=32),
        KeyGenOptions(require_unit_exponents=True),
    ],
)
def test_keygen_options_stay_correct(options: KeyGenOptions) -> None:
    rng = random.Random(11)
    for _ in range(5):
        N = random_prime(64, rng)
        params, rk, _ = setup([rng.randrange(1, N) for _ in range(4)], N, p_bits=64, rng=rng)
        phi = phi_of(params, rk)
        a = [x if math.gcd(x, phi) == 1 else 1 for x in (rng.randrange(phi) for _ in range(4))]
        tk, vk, aux, secret = keygen(a, params, rk, options=options, rng=rng)
        if not options.shuffle:
            assert secret.permutation == tuple(range(10))
        if options.delta_bits is not None:
            assert aux.delta1.bit_length() == aux.delta2.bit_length() == 32
        sigma, pi = unshuffle(compute(server_task(tk, vk, secret, params.L)), secret.permutation)
        ok, encoded = verify_encoded(sigma, pi, aux, params.L, 4)
        assert ok
        assert recovery(encoded, rk, secret, params.L) == local_product([y % N for y in params.ys], a, N)


def test_randn_table_precomputes_offline_and_runs_dry() -> None:
    rng = random.Random(5)
    params, rk, _ = setup([2, 3], random_prime(64, rng), p_bits=64, rng=rng)
    table = RandNTable.for_params(params, rk, rng)
    table.precompute(5)
    assert len(table) == 5
    pairs = [table.draw() for _ in range(5)]
    assert all(pow(table.g, k, params.L) == v and 0 <= k < table.phi for k, v in pairs)
    with pytest.raises(RandNTableExhausted, match="precompute"):
        table.draw()
    table.precompute(4)
    keys = keygen([1, 1], params, rk, table=table, rng=rng)
    assert len(table) == 0
    assert keys.secret.g == table.g
    with pytest.raises(RandNTableExhausted):
        keygen([1, 1], params, rk, table=table, rng=rng)
    with pytest.raises(MalformedTask, match="does not satisfy"):
        table.load([(3, 4)])


def _toy() -> tuple[PublicParams, RecoveryKey]:
    return obfuscate([128], 11, 13, [5]), RecoveryKey(11)


@pytest.mark.parametrize(
    "build",
    [
        lambda: PublicParams(L=143, ys=()),
        lambda: PublicParams(L=143, ys=(143,)),
        lambda: PublicParams(L=143, ys=(-1,)),
        lambda: RecoveryKey(N=-11),
        lambda: obfuscate([128, 3], 11, 13, [5]),
        lambda: obfuscate([-1], 11, 13, [5]),
        lambda: obfuscate([1], 11, 11, [5]),
        lambda: obfuscate([1], 12, 13, [5]),
        lambda: setup([1], 15, p_bits=16),
        lambda: keygen([79, 1], *_toy()),
        lambda: keygen([120], *_toy()),
        lambda: keygen([-1], *_toy()),
        lambda: keygen([79], _toy()[0], RecoveryKey(7)),
        lambda: derive_keys([79], *_toy(), g=71, pairs=TOY_PAIRS, delta1=2, delta2=109, r=7, xi=0),
        lambda: derive_keys([79], *_toy(), g=71, pairs=TOY_PAIRS, delta1=11, delta2=109, r=13, xi=0),
        lambda: derive_keys([79], *_toy(), g=71, pairs=TOY_PAIRS, delta1=11, delta2=109, r=12, xi=0),
        lambda: derive_keys([78], *_toy(), g=71, pairs=TOY_PAIRS, delta1=11, delta2=109, r=7, xi=0),
        lambda: derive_keys([79], *_toy(), g=71, pairs=TOY_PAIRS[:3], delta1=11, delta2=109, r=7, xi=0),
        lambda: derive_keys(
            [79], *_toy(), g=71, pairs=[(1, 2), *TOY_PAIRS[1:]], delta1=11, delta2=109, r=7, xi=0
        ),
        lambda: ServerTask(L=143, pairs=((1, 2), (3, 4), (143, 1), (5, 6))),
        lambda: ServerTask(L=143, pairs=((1, 2), (3, 4), (5, 6))),
        lambda: SigmaE(q0=-1, gammas=(1,)),
        lambda: PiE(q1=1, gamma_primes=(-2,)),
        lambda: Aux(rv3=1, v4=1, delta1=-3, delta2=1),
        lambda: unshuffle([1, 2, 3], [0, 1, 2, 3]),
        lambda: local_product([1, 2], [3], 11),
        lambda: recover(143, 7, 143, 11),
    ],
)
def test_malformed_inputs_raise_malformed_task(build: object) -> None:
    assert callable(build)
    with pytest.raises(MalformedTask):
        build()
    assert issubclass(MalformedTask, ValueError)


TOY_SIGMA, TOY_PI, TOY_AUX = SigmaE(43, (12,)), PiE(126, (119,)), Aux(76, 69, 11, 109)


@pytest.mark.parametrize(
    ("sigma", "pi", "aux", "L", "n"),
    [
        (SigmaE(43, (12, 1)), TOY_PI, TOY_AUX, 143, None),  # counts differ
        (SigmaE(43, ()), PiE(126, ()), TOY_AUX, 143, None),  # nothing to check
        (TOY_SIGMA, TOY_PI, TOY_AUX, 143, 2),  # count differs from n
        (SigmaE(143, (12,)), TOY_PI, TOY_AUX, 143, 1),  # Q0 not below L
        (TOY_SIGMA, PiE(126, (200,)), TOY_AUX, 143, 1),
        (TOY_SIGMA, TOY_PI, Aux(143, 69, 11, 109), 143, 1),
        (TOY_SIGMA, TOY_PI, Aux(76, 69, 1 << 8, 109), 143, 1),  # δ longer than L
        (TOY_SIGMA, TOY_PI, TOY_AUX, 144, 1),  # even modulus
    ],
)
def test_verify_rejects_malformed_submissions_like_the_contract_reverts(
    sigma: SigmaE, pi: PiE, aux: Aux, L: int, n: int | None
) -> None:
    with pytest.raises(MalformedTask):
        verify(sigma, pi, aux, L, n)


def test_verify_returns_zero_sigma_on_mismatch() -> None:
    assert verify_encoded(SigmaE(43, (13,)), TOY_PI, TOY_AUX, 143, 1) == (False, 0)
    assert verify(TOY_SIGMA, TOY_PI, TOY_AUX, 143) is True

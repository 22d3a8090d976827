"""Meta-BMEOC core (spec 000 §3.1-3.6, R1-R9): fields, polynomials, honest runs, deviations, threshold."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from bmeoc_helpers import Run, honest_run, keys
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.outsourcing import (
    DEFAULT_Q,
    CSNResult,
    DensePolynomial,
    InvalidParameters,
    MalformedMessage,
    SparsePolynomial,
    TaskParams,
    TaskRejected,
    TaskShare,
    check_task,
    dense_term_count,
    direct_evaluate,
    fits_degree,
    get_field,
    interpolate_at_zero,
    lagrange_at_zero,
    make_shares,
    polynomial_from_wire,
    prepare_task,
    process_task,
    random_dense,
    reconstruct,
    required_servers,
    sample_secret,
    sign_result,
    verify_results,
)
from offchain.outsourcing.packed import packer_for
from offchain.outsourcing.task import Share, build_task_transaction

SMALL_PRIMES = [101, 65_537, 2**61 - 1]


# --- field and polynomials ----------------------------------------------------------------------


def test_default_modulus_is_the_papers_prime() -> None:
    field = get_field()
    assert field.q == DEFAULT_Q == 2**128 + 51
    assert field.width == 32


@pytest.mark.parametrize("q", [1, 2**128, 91, 2**127 + 2])
def test_non_primes_are_refused_at_start(q: int) -> None:
    with pytest.raises(InvalidParameters):
        get_field(q)


@pytest.mark.parametrize(("k", "d"), [(1, 1), (3, 2), (4, 3), (2, 5), (200, 2)])
def test_dense_generation_has_exactly_binomial_terms(k: int, d: int) -> None:
    polynomial = random_dense(get_field(), k, d, random.Random(k * 10 + d))
    assert polynomial.term_count == dense_term_count(k, d)
    assert len(set(polynomial.monomials())) == dense_term_count(k, d)
    assert all(sum(e) <= d for e in polynomial.monomials())


@settings(max_examples=30, deadline=None)
@given(
    k=st.integers(1, 5),
    d=st.integers(1, 4),
    q=st.sampled_from([*SMALL_PRIMES, DEFAULT_Q]),
    seed=st.integers(0, 2**32),
)
def test_fast_evaluation_matches_term_by_term(k: int, d: int, q: int, seed: int) -> None:
    rng = random.Random(seed)
    field = get_field(q)
    polynomial = random_dense(field, k, d, rng)
    point = field.random_elements(k, rng)
    assert polynomial.evaluate(point) == direct_evaluate(polynomial, point)


def test_quadratic_fast_path_is_one_matrix_vector_product() -> None:
    field = get_field()
    polynomial = random_dense(field, 30, 2, random.Random(3))
    matrix = polynomial.quadratic_matrix()
    assert (matrix.nrows(), matrix.ncols()) == (31, 31)
    assert all(int(matrix[i, j]) == 0 for i in range(31) for j in range(i))  # upper triangular
    point = field.random_elements(30, random.Random(4))
    assert polynomial.evaluate(point) == direct_evaluate(polynomial, point)


def test_sparse_input_merges_terms_and_evaluates() -> None:
    field = get_field(101)
    polynomial = SparsePolynomial(field, 3, {(1, 0, 2): 5, (0, 0, 0): 7, (0, 1, 0): 100})
    assert polynomial.d == 3
    assert polynomial.evaluate([2, 3, 4]) == (5 * 2 * 16 + 7 + 100 * 3) % 101
    assert SparsePolynomial(field, 1, {(1,): 0}).term_count == 0


def test_wire_round_trip_keeps_the_digest() -> None:
    field = get_field()
    dense = random_dense(field, 4, 3, random.Random(5))
    sparse = SparsePolynomial(field, 4, {(0, 2, 0, 1): 9, (1, 0, 0, 0): 3})
    for polynomial in (dense, sparse):
        again = polynomial_from_wire(polynomial.to_wire())
        assert again.digest() == polynomial.digest()
        assert again.evaluate([1, 2, 3, 4]) == polynomial.evaluate([1, 2, 3, 4])
    changed = DensePolynomial(field, 4, 3, (dense.coefficients[0] ^ 1, *dense.coefficients[1:]))
    assert changed.digest() != dense.digest()


@pytest.mark.parametrize(
    "wire",
    [
        {"kind": "dense", "q": "101", "k": 2, "d": 1, "coefficients": "00"},
        {"kind": "dense", "q": "100", "k": 1, "d": 1, "coefficients": ""},
        {"kind": "cubic", "q": "101", "k": 1},
        {"kind": "sparse", "q": "101", "k": 1, "terms": [[[[0, 1]], "1"], [[[0, 1]], "2"]]},
        {"kind": "sparse", "q": "101", "k": 1, "terms": [[[[5, 1]], "1"]]},
    ],
)
def test_malformed_polynomials_are_refused(wire: dict[str, object]) -> None:
    with pytest.raises((MalformedMessage, InvalidParameters)):
        polynomial_from_wire(wire)


# --- parameters ------------------------------------------------------------------------------------


def test_parameters_are_checked() -> None:
    assert required_servers(2, 2) == 7
    with pytest.raises(InvalidParameters, match="t must be"):
        TaskParams(DEFAULT_Q, 3, 2, 0, 7)
    with pytest.raises(InvalidParameters, match=r"\(d\+1\)t\+1"):
        TaskParams(DEFAULT_Q, 3, 2, 2, 6)
    with pytest.raises(InvalidParameters, match="below q"):
        TaskParams(11, 3, 4, 2, 11)
    with pytest.raises(InvalidParameters, match="not prime"):
        TaskParams(2**128, 3, 2, 2, 7)
    assert TaskParams(DEFAULT_Q, 3, 2, 2, 9).m == 9  # more servers than needed are allowed


def test_lagrange_and_degree_check() -> None:
    field = get_field(101)
    values = [(3 * j * j + 5) % 101 for j in range(1, 8)]
    assert interpolate_at_zero(field, values) == 5
    assert sum(lagrange_at_zero(101, 7)) % 101 == 1
    assert fits_degree(field, values, 2)
    assert not fits_degree(field, values, 1)
    assert not fits_degree(field, [*values[:-1], values[-1] + 1], 2)


# --- honest runs (R8) ---------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(1, 6),
    d=st.integers(1, 4),
    t=st.integers(1, 3),
    q=st.sampled_from([*SMALL_PRIMES, DEFAULT_Q]),
    seed=st.integers(0, 2**32),
)
def test_honest_runs_return_exactly_f_of_x(k: int, d: int, t: int, q: int, seed: int) -> None:
    run = honest_run(k, d, t, q=q, rng=random.Random(seed))
    outcome = verify_results(run.field, run.task.transaction, run.task.secret.alpha, run.results, run.group)
    assert outcome.accepted, outcome.reason
    assert outcome.value == direct_evaluate(run.polynomial, run.x)
    assert run.task.params.m == (d + 1) * t + 1


def test_honest_sparse_run_at_k_200_d_2() -> None:
    rng = random.Random(9)
    field = get_field()
    terms = {}
    for _ in range(300):
        exponents = [0] * 200
        for _ in range(rng.randint(0, 2)):
            exponents[rng.randrange(200)] += 1
        terms[tuple(exponents)] = rng.randrange(field.q)
    polynomial = SparsePolynomial(field, 200, terms)
    x = field.random_elements(200, rng)
    mtd = keys(1, "mtd")[0]
    task = prepare_task(mtd, polynomial, x, 2, rng=rng)
    csns = keys(task.params.m)
    results = [process_task(c, task.task_for(j), polynomial, mtd.address) for j, c in enumerate(csns, 1)]
    outcome = verify_results(field, task.transaction, task.secret.alpha, results, [c.address for c in csns])
    assert outcome.value == direct_evaluate(polynomial, x)


def test_tx_t_carries_one_signature_over_all_task_hashes(run_k6_d2_t2: Run) -> None:
    tx = run_k6_d2_t2.task.transaction
    assert tx.signer() == run_k6_d2_t2.mtd.address
    assert len(tx.task_hashes) == len(set(tx.task_hashes)) == 7
    other = replace(tx, deposit=tx.deposit + 1)
    assert not other.is_signed_by_mtd()


# --- the CSN refuses bad tasks ------------------------------------------------------------------------


def test_csn_refuses_tampered_tasks(run_k6_d2_t2: Run) -> None:
    run = run_k6_d2_t2
    task = run.task.task_for(3)
    assert check_task(task, run.polynomial, run.mtd.address) == run.task.transaction.task_hashes[2]
    forged = build_task_transaction(
        keys(1, "intruder")[0], run.task.params, run.polynomial.digest(), run.task.transaction.task_hashes
    )
    wrong_share = Share(3, task.share.v, (task.share.w + 1) % run.field.q)
    other_index = Share(4, task.share.v, task.share.w)
    cases = {
        "wrong-mtd": (task, keys(1, "intruder")[0].address, run.polynomial),
        "bad-mtd-signature": (
            TaskShare(replace(task.transaction, deposit=5), task.share),
            None,
            run.polynomial,
        ),
        "share-mismatch": (TaskShare(task.transaction, wrong_share), None, run.polynomial),
        "wrong-polynomial": (task, None, random_dense(run.field, 6, 2, random.Random(77))),
    }
    for code, (bad, mtd, polynomial) in cases.items():
        with pytest.raises(TaskRejected) as refused:
            check_task(bad, polynomial, mtd)
        assert refused.value.code == code
    with pytest.raises(TaskRejected) as refused:
        check_task(TaskShare(task.transaction, other_index), run.polynomial)
    assert refused.value.code == "share-mismatch"
    with pytest.raises(TaskRejected) as refused:
        check_task(TaskShare(forged, task.share), run.polynomial, run.mtd.address)
    assert refused.value.code == "wrong-mtd"


def test_results_replayed_into_another_task_are_not_authentic(run_k6_d2_t2: Run) -> None:
    run = run_k6_d2_t2
    again = prepare_task(run.mtd, run.polynomial, run.x, 2, rng=random.Random(8))
    outcome = verify_results(run.field, again.transaction, again.secret.alpha, run.results, run.group)
    assert not outcome.accepted
    assert outcome.invalid_indices == tuple(range(1, 8))


def test_missing_or_foreign_signatures_reject_before_interpolation(run_k6_d2_t2: Run) -> None:
    run = run_k6_d2_t2
    results: list[CSNResult | None] = list(run.results)
    results[1] = None
    results[4] = replace(run.results[4], signature=run.results[3].signature)
    outcome = verify_results(run.field, run.task.transaction, run.task.secret.alpha, results, run.group)
    assert not outcome.accepted
    assert outcome.invalid_indices == (2, 5)


# --- deviations by 1..t CSNs are rejected (R9) ---------------------------------------------------------


def _deviate(run: Run, cheaters: list[int], kind: str, rng: random.Random) -> list[CSNResult]:
    field, q = run.field, run.field.q
    results = list(run.results)
    lam = lagrange_at_zero(q, run.task.params.m)
    alpha_guess = field.random_nonzero(rng)
    # coordinated: shift φ(0) by Δ through the cheaters' points and ψ(0) by α'·Δ for a guessed α'
    delta = field.random_nonzero(rng)
    portion = delta * pow(len(cheaters), -1, q) % q
    for j in cheaters:
        honest = run.results[j - 1]
        w = run.task.shares[j - 1].w
        if kind == "random-c":
            c, b = (honest.c + 1 + rng.randrange(q - 1)) % q, honest.b
        elif kind == "random-b":
            c, b = honest.c, (honest.b + 1 + rng.randrange(q - 1)) % q
        elif kind == "consistent-b":
            c = (honest.c + 1 + rng.randrange(q - 1)) % q
            b = c * w % q
        else:  # coordinated
            shift = portion * pow(lam[j - 1], -1, q) % q
            c = (honest.c + shift) % q
            b = (honest.b + alpha_guess * shift) % q
        results[j - 1] = sign_result(run.csns[j - 1], field, honest.task_id, j, honest.task_hash, c, b)
    return results


@settings(max_examples=40, deadline=None)
@given(
    d=st.integers(1, 3),
    t=st.integers(1, 3),
    kind=st.sampled_from(["random-c", "random-b", "consistent-b", "coordinated"]),
    strict=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_deviations_by_up_to_t_csns_are_rejected(d: int, t: int, kind: str, strict: bool, seed: int) -> None:
    rng = random.Random(seed)
    run = honest_run(3, d, t, rng=rng)
    cheaters = sorted(rng.sample(range(1, run.task.params.m + 1), rng.randint(1, t)))
    results = _deviate(run, cheaters, kind, rng)
    outcome = verify_results(
        run.field, run.task.transaction, run.task.secret.alpha, results, run.group, strict=strict
    )
    assert not outcome.accepted
    assert outcome.value is None


def test_strict_degree_check_rejects_what_eq9_alone_would_accept(run_k6_d2_t2: Run) -> None:
    run = run_k6_d2_t2
    q = run.field.q
    c = [r.c for r in run.results]
    b = [r.b for r in run.results]
    # one colluding CSN that knows α changes c_j and b_j consistently: Eq. 9 holds, φ has degree > dt
    c[0] = (c[0] + 1) % q
    b[0] = (b[0] + run.task.secret.alpha) % q
    assert reconstruct(run.field, c, b, run.task.secret.alpha, 2, 2, strict=False).accepted
    assert not reconstruct(run.field, c, b, run.task.secret.alpha, 2, 2, strict=True).accepted


@pytest.mark.parametrize("strict", [True, False])
def test_negative_control_t_plus_1_colluders_who_know_alpha_forge(strict: bool) -> None:
    """Documents the threshold: t+1 w-shares give α = w(0), and then a forgery passes (R9)."""
    t, d = 2, 2
    run = honest_run(4, d, t, rng=random.Random(21))
    field, q, m = run.field, run.field.q, run.task.params.m
    colluders = [1, 4, 6]  # t + 1 of them
    points = colluders
    lam = []
    for j in points:
        num, den = 1, 1
        for i in points:
            if i != j:
                num, den = num * i % q, den * (i - j) % q
        lam.append(num * pow(den, -1, q) % q)
    alpha = sum(lj * run.task.shares[j - 1].w for lj, j in zip(lam, points, strict=True)) % q
    assert alpha == run.task.secret.alpha
    # shift c by δ·g(μ), g vanishing at the dt honest points (degree dt: the strict check still passes)
    honest_points = [j for j in range(1, m + 1) if j not in colluders]

    def g(mu: int) -> int:
        value = 1
        for i in honest_points:
            value = value * (mu - i) % q
        return value

    delta = 12345
    results = list(run.results)
    for j in colluders:
        r = run.results[j - 1]
        c = (r.c + delta * g(j)) % q
        b = (r.b + alpha * delta * g(j)) % q
        results[j - 1] = sign_result(run.csns[j - 1], field, r.task_id, j, r.task_hash, c, b)
    outcome = verify_results(field, run.task.transaction, alpha, results, run.group, strict=strict)
    assert outcome.accepted
    assert outcome.value == (direct_evaluate(run.polynomial, run.x) + delta * g(0)) % q
    assert outcome.value != direct_evaluate(run.polynomial, run.x)


# --- packed vectors (the task-processing fast path) ----------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(k=st.integers(1, 40), t=st.integers(1, 6), m=st.integers(1, 40), seed=st.integers(0, 2**32))
def test_packed_shares_equal_the_element_by_element_definition(k: int, t: int, m: int, seed: int) -> None:
    rng = random.Random(seed)
    field = get_field()
    q = field.q
    assert packer_for(field, k) is not None
    x = field.random_elements(k, rng)
    secret = sample_secret(field, k, t, rng)
    shares = make_shares(field, x, secret, range(1, m + 1))
    for share in shares:
        j = share.j
        expected_v = tuple(
            (x[i] + sum(secret.r[s][i] * j ** (s + 1) for s in range(t))) % q for i in range(k)
        )
        expected_w = (secret.alpha + sum(g * j ** (s + 1) for s, g in enumerate(secret.gamma))) % q
        assert share.v == expected_v
        assert share.w == expected_w
        assert Share.decode(field, k, share.encode(field)) == share


def test_packed_sampling_and_reduction_at_the_edges() -> None:
    field = get_field()
    packer = packer_for(field, 6)
    assert packer is not None
    values = [0, field.q - 1, field.q, 2 * field.q - 1, 2**200 + 17, 2**packer.max_input_bits - 1]
    assert packer.unpack(packer.reduce(packer.pack([v % 2**256 for v in values]))) == tuple(
        v % field.q for v in values
    )
    secret = sample_secret(field, 6, 3)  # the OS CSPRNG draws r packed
    assert all(len(r) == 6 and all(0 <= e < field.q for e in r) for r in secret.r)
    assert len({e for r in secret.r for e in r}) == 18
    assert packer_for(get_field(101), 3) is None  # not of the form 2^e + small c: element by element


def test_t_plus_1_coordinated_colluders_forge_even_without_alpha() -> None:
    """Beyond the threshold α is not even needed: t+1 CSNs that know the honest indices shift c along
    κ·Π(μ − honest) (degree dt) and answer b_j = c'_j·w(j) with their own shares: Eq. 9 and the degree check
    both hold. Soundness is a guarantee against at most t colluders only."""
    t, d = 1, 2
    run = honest_run(3, d, t, rng=random.Random(8))
    q, m = run.field.q, run.task.params.m
    colluders = [2, 3]
    honest_points = [j for j in range(1, m + 1) if j not in colluders]
    kappa = 7
    results = list(run.results)
    for j in colluders:
        shift = kappa
        for i in honest_points:
            shift = shift * (j - i) % q
        r = run.results[j - 1]
        c = (r.c + shift) % q
        results[j - 1] = sign_result(
            run.csns[j - 1], run.field, r.task_id, j, r.task_hash, c, c * run.task.shares[j - 1].w % q
        )
    outcome = verify_results(run.field, run.task.transaction, run.task.secret.alpha, results, run.group)
    assert outcome.accepted
    assert outcome.value != direct_evaluate(run.polynomial, run.x)

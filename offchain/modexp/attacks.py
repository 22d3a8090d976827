# ruff: noqa: N802, N803, N806  (L, N, p are the spec's names: spec 003 §2.2)
"""Attacks on the published MExpm scheme (spec 003 §5.4) and the checkability trials of its own
robustness experiment (spec §5.3, paper Section 5.8). Pure functions; nothing here touches a network.

The §5.4 attacks succeed against the faithful scheme: they are **known weaknesses of the paper**, which
claims a checkability of ``1 − n²/((4n²+6n+2)(N−2))`` only against its restricted adversary (random
forgery, omission, witness tampering). Each forgery is judged by :func:`evaluate_forgery`: does it pass
Verify, and what would the IV recover?

Randomness: as in :mod:`offchain.modexp.core`, ``rng=None`` means the OS CSPRNG; seeded
``random.Random`` instances are for deterministic tests and benchmarks only.
"""

from __future__ import annotations

import itertools
import math
import random
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from offchain.modexp.core import (
    KeyGenOptions,
    compute,
    keygen,
    local_product,
    phi_of,
    random_prime,
    recover,
    server_task,
    setup,
    unshuffle,
    verify_encoded,
)
from offchain.modexp.params import (
    Aux,
    KeyGenOutput,
    MalformedTask,
    PiE,
    PublicParams,
    RecoveryKey,
    SASecret,
    ServerTask,
    SigmaE,
)

# --- A complete honest run, the material every attack starts from -------------------------------------


@dataclass(frozen=True)
class HonestRun:
    """One honest execution: Setup, KeyGen, the shuffled server task and the server's honest outputs
    (received order). ``result`` is ``local_product(bases, exponents, N)``."""

    bases: tuple[int, ...]
    exponents: tuple[int, ...]
    params: PublicParams
    rk: RecoveryKey
    sa: SASecret
    keys: KeyGenOutput
    task: ServerTask
    outputs: tuple[int, ...]
    result: int

    @property
    def L(self) -> int:
        """The public modulus."""
        return self.params.L

    @property
    def n(self) -> int:
        """The number of γ's per group (n, or n+1 with the dummy term)."""
        return self.keys.tk.n


def honest_run(
    n: int,
    bits: int,
    *,
    exponent_bits: int | None = None,
    per_base_k: bool = False,
    options: KeyGenOptions | None = None,
    rng: random.Random | None = None,
) -> HonestRun:
    """A random instance with ``bits``-bit primes N and p, bases in ``[1, N)``, exponents uniform in
    ``[0, φ(L))`` or of ``exponent_bits`` bits (redrawn until one is a unit mod φ(L), so the run has
    exactly n γ's per group), run honestly end to end."""
    source = rng if rng is not None else secrets.SystemRandom()
    N = random_prime(bits, source)
    bases = tuple(source.randrange(1, N) for _ in range(n))
    params, rk, sa = setup(bases, N, p_bits=bits, per_base_k=per_base_k, rng=source)
    phi = phi_of(params, rk)
    while True:  # at least one unit exponent, so that no dummy term changes n (spec §7 #6)
        if exponent_bits is None:
            exponents = tuple(source.randrange(phi) for _ in range(n))
        else:
            exponents = tuple(source.getrandbits(exponent_bits) for _ in range(n))
        if any(math.gcd(a, phi) == 1 for a in exponents):
            break
    keys = keygen(exponents, params, rk, options=options or KeyGenOptions(), rng=source)
    task = server_task(keys.tk, keys.vk, keys.secret, params.L)
    outputs = compute(task)
    return HonestRun(
        bases, exponents, params, rk, sa, keys, task, outputs, local_product(bases, exponents, N)
    )


@dataclass(frozen=True)
class ForgeryOutcome:
    """How a forged submission fares: ``accepted`` by Verify, and what the IV would then recover."""

    accepted: bool
    recovered: int | None
    correct: int

    @property
    def succeeded(self) -> bool:
        """The forgery passed Verify and the IV recovers a wrong value: the client is deceived."""
        return self.accepted and self.recovered != self.correct


def evaluate_results(run: HonestRun, sigma: SigmaE, pi: PiE, aux: Aux | None = None) -> ForgeryOutcome:
    """Verify (σE, πE) against ``aux`` (default: the run's) and recover; a malformed submission
    (:class:`MalformedTask`, the contract's revert) counts as rejected."""
    try:
        ok, encoded = verify_encoded(sigma, pi, aux or run.keys.aux, run.L, run.n)
    except MalformedTask:
        return ForgeryOutcome(False, None, run.result)
    if not ok:
        return ForgeryOutcome(False, None, run.result)
    return ForgeryOutcome(True, recover(encoded, run.keys.secret.r, run.L, run.rk.N), run.result)


def evaluate_forgery(run: HonestRun, outputs: Sequence[int]) -> ForgeryOutcome:
    """Judge outputs in the server's (received) order: un-shuffle with the IV's permutation, then
    :func:`evaluate_results`."""
    try:
        sigma, pi = unshuffle(outputs, run.keys.secret.permutation)
    except MalformedTask:
        return ForgeryOutcome(False, None, run.result)
    return evaluate_results(run, sigma, pi)


def _canonical_positions(run: HonestRun) -> tuple[list[int], list[int]]:
    """Received positions of the TK γ's and the VK γ's (an oracle: only the IV knows them)."""
    n = run.n
    where = {index: position for position, index in enumerate(run.keys.secret.permutation)}
    return [where[1 + i] for i in range(n)], [where[n + 2 + i] for i in range(n)]


# --- §5.4 #1: multiplicative cancellation -------------------------------------------------------------


def scale_outputs(outputs: Sequence[int], positions: Sequence[int], t: int, L: int) -> tuple[int, ...]:
    """The outputs with those at ``positions`` multiplied by ``t`` mod L."""
    chosen = set(positions)
    return tuple(value * t % L if j in chosen else value for j, value in enumerate(outputs))


def cancellation_attack(run: HonestRun, t: int, h: int = 0, j: int = 0) -> ForgeryOutcome:
    """Spec §5.4 #1 (the proof's own strategy, Eq. 10): multiply TK's γ_h and VK's γ'_j by any unit
    ``t``. Eq. (5) holds deterministically — no knowledge of ``r`` needed — and the IV recovers
    ``t·Result mod N``."""
    tk_positions, vk_positions = _canonical_positions(run)
    return evaluate_forgery(run, scale_outputs(run.outputs, (tk_positions[h], vk_positions[j]), t, run.L))


def blind_cancellation_rate(run: HonestRun, t: int) -> Fraction:
    """A blind server scales two of the 2n+2 outputs chosen uniformly (unordered): the exact fraction of
    choices that deceive the IV, by enumeration. Spec §5.4 #1 predicts ``2n²/((2n+2)(2n+1))`` (→ 1/2),
    not the ``≈ 2^-513`` of Theorem 1."""
    choices = list(itertools.combinations(range(len(run.outputs)), 2))
    wins = sum(
        evaluate_forgery(run, scale_outputs(run.outputs, pair, t, run.L)).succeeded for pair in choices
    )
    return Fraction(wins, len(choices))


# --- §5.4 #2: sign attack -----------------------------------------------------------------------------


def negate_outputs(outputs: Sequence[int], positions: Sequence[int], L: int) -> tuple[int, ...]:
    """The outputs with those at ``positions`` replaced by ``L − x``."""
    chosen = set(positions)
    return tuple((L - value) % L if j in chosen else value for j, value in enumerate(outputs))


def sign_attack_all(run: HonestRun) -> ForgeryOutcome:
    """Spec §5.4 #2: negate all 2n+2 outputs. δ1, δ2 are odd, so both sides of Eq. (5) get the factor
    ``(−1)^{n+1}``: always accepted; for even n the IV recovers ``−Result mod N``."""
    return evaluate_forgery(run, negate_outputs(run.outputs, range(len(run.outputs)), run.L))


def sign_attack_subsets(run: HonestRun) -> tuple[Fraction, Fraction]:
    """Spec §5.4 #2, blind: negate a uniformly random subset of the outputs. Returns the exact fractions
    (by enumeration of all ``2^{2n+2}`` subsets) of subsets that are accepted and that deceive the IV;
    the spec predicts 1/2 and 1/4 (both groups with an odd number of negations)."""
    size = len(run.outputs)
    accepted = deceived = 0
    for mask in range(1 << size):
        positions = [j for j in range(size) if mask >> j & 1]
        outcome = evaluate_forgery(run, negate_outputs(run.outputs, positions, run.L))
        accepted += outcome.accepted
        deceived += outcome.succeeded
    return Fraction(accepted, 1 << size), Fraction(deceived, 1 << size)


# --- §5.4 #3: partition recovery from base ratios ------------------------------------------------------


def recover_partition(task: ServerTask) -> tuple[int, int] | None:
    """Spec §5.4 #3: for i ≠ ξ, ``w_i / w'_i = v2/v1`` is the same for every i, so the most frequent ratio
    of two received bases (n−1 occurrences) pairs a TK position with a VK position. Returns one such pair
    of positions, or ``None`` when the ratio is not the unique most frequent one.

    Discrepancy with the spec's "n ≥ 3": the within-group ratios ``w_i/w_j = w'_i/w'_j = y_i/y_j``
    (i, j ≠ ξ) occur exactly twice, so at n = 3 the split ratio (2 occurrences) ties with them; a strict
    majority (≥ 3 occurrences) needs n ≥ 4, which is what this function requires."""
    L = task.L
    bases = [base for base, _ in task.pairs]
    inverses = [pow(b, -1, L) if math.gcd(b, L) == 1 else None for b in bases]
    counts: Counter[int] = Counter()
    first: dict[int, tuple[int, int]] = {}
    for a, b in itertools.permutations(range(len(bases)), 2):
        inverse = inverses[b]
        if inverse is None:
            continue
        ratio = bases[a] * inverse % L
        counts[ratio] += 1
        first.setdefault(ratio, (a, b))
    if not counts:
        return None
    ratio, count = counts.most_common(1)[0]
    return first[ratio] if count >= 3 else None


def partition_attack(run: HonestRun, t: int) -> ForgeryOutcome | None:
    """Spec §5.4 #3 then #1: find a TK/VK pair of positions from the bases alone, scale both outputs by
    ``t``. Deterministic success for n ≥ 4 (see :func:`recover_partition`); ``None`` when no partition is
    found."""
    pair = recover_partition(run.task)
    if pair is None:
        return None
    return evaluate_forgery(run, scale_outputs(run.outputs, pair, t, run.L))


# --- §5.4 #4: exponent differences --------------------------------------------------------------------


def exponent_difference_leak(task: ServerTask, bound: int) -> set[int]:
    """Spec §5.4 #4: ``m_i − m_j ≡ a_i − a_j (mod φ(L))``; with exponents far below φ(L) the difference of
    two received exponents is ``a_i − a_j`` exactly. Returns every pairwise difference below ``bound``
    in magnitude (the server's candidate list, which contains all ``a_i − a_j``)."""
    exponents = [e for _, e in task.pairs]
    return {x - y for x, y in itertools.permutations(exponents, 2) if abs(x - y) < bound}


# --- §5.4 #5: factoring L ----------------------------------------------------------------------------


def factor_with_phi_multiple(L: int, multiple: int, rng: random.Random | None = None) -> tuple[int, int]:
    """Factor ``L = N·p`` given a non-zero multiple of ``φ(L)`` (the standard randomized algorithm:
    ``multiple = 2^s·t``, square ``x^t`` until 1, ``gcd(x − 1, L)``). Returns ``(smaller, larger)``."""
    if multiple == 0:
        raise MalformedTask("need a non-zero multiple of phi(L)")
    source = rng if rng is not None else secrets.SystemRandom()
    t = abs(multiple)
    while t % 2 == 0:
        t //= 2
    for _ in range(256):
        x = source.randrange(2, L - 1)
        g = math.gcd(x, L)
        if g != 1:
            return min(g, L // g), max(g, L // g)
        y = pow(x, t, L)
        while y != 1:
            z = y * y % L
            if z == 1:
                g = math.gcd(y - 1, L)
                if 1 < g < L:
                    return min(g, L // g), max(g, L // g)
                break
            y = z
    raise MalformedTask("no factor found: the value is probably not a multiple of phi(L)")


def phi_multiple_from_aux(task: ServerTask, aux: Aux, permutation: Sequence[int]) -> int:
    """Spec §5.4 #5(b): once Aux (δ1, δ2) and the permutation are revealed on chain,
    ``(δ1·z1 + m_1) − (δ2·z2 + m'_1)`` is a multiple of φ(L) (both are ``a_1`` mod φ(L))."""
    n = (len(task.pairs) - 2) // 2
    canonical = [0] * len(task.pairs)
    for position, index in enumerate(permutation):
        canonical[index] = task.pairs[position][1]
    z1, m1, z2, m1_prime = canonical[0], canonical[1], canonical[n + 1], canonical[n + 2]
    return (aux.delta1 * z1 + m1) - (aux.delta2 * z2 + m1_prime)


def phi_from_paired_exponents(task: ServerTask, permutation: Sequence[int]) -> int | None:
    """Spec §5.4 #5(a): ``m_i − m'_i ∈ {c, c − φ(L)}``; when both values occur their difference is φ(L)
    exactly. Returns it, or ``None`` when only one value occurs. (Needs the pairing, e.g. from attack 3
    or the revealed permutation.)"""
    n = (len(task.pairs) - 2) // 2
    canonical = [0] * len(task.pairs)
    for position, index in enumerate(permutation):
        canonical[index] = task.pairs[position][1]
    differences = {canonical[1 + i] - canonical[n + 2 + i] for i in range(n)}
    return max(differences) - min(differences) if len(differences) == 2 else None


def factoring_attack(
    run: HonestRun, rng: random.Random | None = None
) -> tuple[tuple[int, int], tuple[int, ...]]:
    """Spec §5.4 #5(b) end to end from public data (task, revealed Aux and permutation): factor L, then
    read every exponent ``a_i = δ1·z1 + m_i mod φ(L)``. Returns ``((N, p) sorted, exponents)``; with the
    factors, the bases ``u_i = y_i mod N`` follow too (which factor is N is a two-way guess)."""
    multiple = phi_multiple_from_aux(run.task, run.keys.aux, run.keys.secret.permutation)
    f1, f2 = factor_with_phi_multiple(run.L, multiple, rng)
    phi = (f1 - 1) * (f2 - 1)
    n = run.n
    canonical = [0] * len(run.task.pairs)
    for position, index in enumerate(run.keys.secret.permutation):
        canonical[index] = run.task.pairs[position][1]
    z1 = canonical[0]
    exponents = tuple((run.keys.aux.delta1 * z1 + canonical[1 + i]) % phi for i in range(n))
    return (f1, f2), exponents


# --- §5.4 #6: base differences ------------------------------------------------------------------------


def base_difference_leak(params: PublicParams) -> dict[tuple[int, int], int]:
    """Spec §5.4 #6: with one shared τ, ``y_i − y_j ≡ u_i − u_j (mod L)``. Returns these differences for
    every ordered pair i ≠ j; they equal ``(u_i − u_j) mod L`` in the faithful scheme, not when hardened
    (per-base k)."""
    L, ys = params.L, params.ys
    return {(i, j): (ys[i] - ys[j]) % L for i, j in itertools.permutations(range(len(ys)), 2)}


# --- Checkability (spec §3.7, §5.3; paper Section 5.8) -------------------------------------------------


def claimed_checkability(n: int, N: int) -> Fraction:
    """Theorem 1's claimed rate ``1 − n²/((4n²+6n+2)(N−2))`` (spec §3.7; unsound, see §5.4)."""
    return 1 - Fraction(n * n, (4 * n * n + 6 * n + 2) * (N - 2))


class Cheat(Enum):
    """The paper's three injected behaviours (spec §5.3) and the benign baseline."""

    HONEST = "honest"
    FORGED = "forged results"
    OMITTED_OR_ALTERED = "partial omission / manipulation"
    WITNESS_TAMPERING = "witness tampering"


def _altered(value: int, L: int, rng: random.Random) -> int:
    return (value + rng.randrange(1, L)) % L


def forge_results(outputs: Sequence[int], L: int, rng: random.Random) -> tuple[int, ...]:
    """Forged results: a random non-empty subset of the outputs replaced by random values (at least one
    of them different)."""
    forged = list(outputs)
    positions = rng.sample(range(len(forged)), rng.randrange(1, len(forged) + 1))
    for j in positions:
        forged[j] = rng.randrange(L)
    if tuple(forged) == tuple(outputs):
        forged[positions[0]] = _altered(forged[positions[0]], L, rng)
    return tuple(forged)


def omit_or_alter(sigma: SigmaE, pi: PiE, L: int, rng: random.Random) -> tuple[SigmaE, PiE]:
    """Partial omission / manipulation: drop one or more γ or γ' (half the trials), or alter Q0 or one
    γ_i of σE."""
    if rng.random() < 0.5:
        gammas, gamma_primes = list(sigma.gammas), list(pi.gamma_primes)
        for _ in range(rng.randrange(1, len(gammas) + 1)):
            target = gammas if rng.random() < 0.5 and gammas else gamma_primes
            if not target:
                target = gammas
            del target[rng.randrange(len(target))]
        return SigmaE(sigma.q0, tuple(gammas)), PiE(pi.q1, tuple(gamma_primes))
    index = rng.randrange(len(sigma.gammas) + 1)
    if index == 0:
        return SigmaE(_altered(sigma.q0, L, rng), sigma.gammas), pi
    gammas = list(sigma.gammas)
    gammas[index - 1] = _altered(gammas[index - 1], L, rng)
    return SigmaE(sigma.q0, tuple(gammas)), pi


def tamper_witness(pi: PiE, L: int, rng: random.Random) -> PiE:
    """Witness tampering: alter Q1 or one γ'_i of πE (σE untouched)."""
    index = rng.randrange(len(pi.gamma_primes) + 1)
    if index == 0:
        return PiE(_altered(pi.q1, L, rng), pi.gamma_primes)
    values = list(pi.gamma_primes)
    values[index - 1] = _altered(values[index - 1], L, rng)
    return PiE(pi.q1, tuple(values))


def cheating_trial(run: HonestRun, cheat: Cheat, rng: random.Random) -> ForgeryOutcome:
    """One trial of ``cheat`` against ``run``; ``outcome.accepted`` False means detected."""
    if cheat is Cheat.FORGED:
        return evaluate_forgery(run, forge_results(run.outputs, run.L, rng))
    sigma, pi = unshuffle(run.outputs, run.keys.secret.permutation)
    if cheat is Cheat.OMITTED_OR_ALTERED:
        return evaluate_results(run, *omit_or_alter(sigma, pi, run.L, rng))
    if cheat is Cheat.WITNESS_TAMPERING:
        return evaluate_results(run, sigma, tamper_witness(pi, run.L, rng))
    return evaluate_results(run, sigma, pi)


@dataclass(frozen=True)
class TrialStats:
    """Counts of a batch of trials: ``rejected`` of ``trials`` (detections, or false positives when
    honest)."""

    cheat: Cheat
    trials: int
    rejected: int

    @property
    def rate(self) -> Fraction:
        """``rejected / trials``: the detection rate, or the false-positive rate for :attr:`Cheat.HONEST`."""
        return Fraction(self.rejected, self.trials)


def run_trials(runs: Sequence[HonestRun], cheat: Cheat, trials: int, rng: random.Random) -> TrialStats:
    """``trials`` trials of ``cheat``, cycling over the given honest runs."""
    if not runs or trials < 1:
        raise MalformedTask("need at least one run and one trial")
    rejected = sum(not cheating_trial(runs[i % len(runs)], cheat, rng).accepted for i in range(trials))
    return TrialStats(cheat, trials, rejected)

# ruff: noqa: N802, N803, N806  (L, N, p are the spec's names: spec 003 §2.2)
"""Measured security of MExpm, faithful against hardened: the paper's three cheating behaviours (spec 003
§5.3) and every §5.4 attack, run as trials against either mode through one interface.

A :class:`Scenario` is one honest task as the server sees it (the shuffled pairs and its honest outputs)
plus a *judge*: the verifier's decision on a submission and what the IV would then recover. Attacks
only use what the server (or, for §5.4 #5(b), the public after the reveal) sees; the positions of the
TK/VK outputs are an oracle used only to *inject* the paper's targeted cheats (omission, witness
tampering), never by an attack.

Pure functions; randomness as in :mod:`offchain.modexp.core` (seeded generators for benchmarks only).
"""

from __future__ import annotations

import bisect
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from offchain.modexp.attacks import (
    Cheat,
    ForgeryOutcome,
    evaluate_forgery,
    factor_with_phi_multiple,
    forge_results,
    honest_run,
    negate_outputs,
    phi_multiple_from_aux,
    recover_partition,
    scale_outputs,
)
from offchain.modexp.core import compute, local_product, phi_of, random_prime, setup
from offchain.modexp.hardened import (
    HardenedKeys,
    HardenedOptions,
    hardened_keygen,
    hardened_recover,
    hardened_verify,
)
from offchain.modexp.params import MalformedTask, PublicParams, RecoveryKey, ServerTask

FAITHFUL = "faithful"
HARDENED = "hardened"
DEFAULT_OPTIONS = HardenedOptions()


@dataclass(frozen=True)
class Scenario:
    """One honest task of either mode, as material for attacks and cheating trials.

    ``groups[c] = (tk_positions, vk_positions)``: received positions of instance c's TK outputs (head
    first) and VK outputs (head first). ``public_phi_multiple`` is what the public can compute after
    the reveal (§5.4 #5(b)): ``None`` when the direct computation does not apply."""

    mode: str
    bases: tuple[int, ...]
    exponents: tuple[int, ...]
    params: PublicParams
    rk: RecoveryKey
    p: int
    task: ServerTask
    outputs: tuple[int, ...]
    result: int
    groups: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    judge: Callable[[Sequence[int]], ForgeryOutcome] = field(repr=False, compare=False)
    reveal_candidates: Callable[[int], list[int]] = field(repr=False, compare=False)

    @property
    def L(self) -> int:
        """The public modulus."""
        return self.params.L

    @property
    def rho(self) -> int:
        """Instances per task (1 in the faithful scheme)."""
        return len(self.groups)


def faithful_scenario(n: int, bits: int, *, exponent_bits: int | None = None, rng: random.Random) -> Scenario:
    """The published scheme: shared k, one instance (spec §3)."""
    run = honest_run(n, bits, exponent_bits=exponent_bits, per_base_k=False, rng=rng)
    where = {index: position for position, index in enumerate(run.keys.secret.permutation)}
    m = run.n
    tk = tuple(where[i] for i in range(m + 1))
    vk = tuple(where[m + 1 + i] for i in range(m + 1))

    def judge(outputs: Sequence[int]) -> ForgeryOutcome:
        return evaluate_forgery(run, outputs)

    def reveal_candidates(coefficient_range: int) -> list[int]:
        del coefficient_range  # the faithful exponents need no guess
        return [phi_multiple_from_aux(run.task, run.keys.aux, run.keys.secret.permutation)]

    return Scenario(
        FAITHFUL,
        run.bases,
        run.exponents,
        run.params,
        run.rk,
        run.sa.p,
        run.task,
        run.outputs,
        run.result,
        ((tk, vk),),
        judge,
        reveal_candidates,
    )


def hardened_scenario(
    n: int,
    bits: int,
    *,
    exponent_bits: int | None = None,
    options: HardenedOptions = DEFAULT_OPTIONS,
    rng: random.Random,
) -> Scenario:
    """The hardened mode (:mod:`offchain.modexp.hardened`): per-base masks, ρ instances."""
    N = random_prime(bits, rng)
    bases = tuple(rng.randrange(1, N) for _ in range(n))
    params, rk, sa = setup(bases, N, p_bits=bits, per_base_k=True, rng=rng)
    phi = phi_of(params, rk)
    if exponent_bits is None:
        exponents = tuple(rng.randrange(phi) for _ in range(n))
    else:
        exponents = tuple(rng.getrandbits(exponent_bits) for _ in range(n))
    keys = hardened_keygen(exponents, params, rk, options=options, rng=rng)
    outputs = compute(keys.task)
    result = local_product(bases, exponents, N)
    where = {index: position for position, index in enumerate(keys.reveal.permutation)}
    block = 2 * keys.n + 2
    groups = tuple(
        (
            tuple(where[c * block + i] for i in range(keys.n + 1)),
            tuple(where[c * block + keys.n + 1 + i] for i in range(keys.n + 1)),
        )
        for c in range(keys.rho)
    )

    def judge(submitted: Sequence[int]) -> ForgeryOutcome:
        try:
            ok, sigma = hardened_verify(submitted, keys.reveal)
        except MalformedTask:
            return ForgeryOutcome(False, None, result)
        return ForgeryOutcome(ok, hardened_recover(sigma, keys, rk) if ok else None, result)

    def reveal_candidates(coefficient_range: int) -> list[int]:
        return _hardened_reveal_candidates(keys, coefficient_range)

    return Scenario(
        HARDENED,
        bases,
        exponents,
        params,
        rk,
        sa.p,
        keys.task,
        outputs,
        result,
        groups,
        judge,
        reveal_candidates,
    )


def _hardened_reveal_candidates(keys: HardenedKeys, coefficient_range: int) -> list[int]:
    """After the reveal the public knows δ1, δ2, the permutation, hence z1, z2, m_1, m'_1 of instance 0,
    but not the head coefficients: ``δ1·z1·c + m_1 − δ2·z2·c' − m'_1`` is a multiple of φ(L) only for the
    true ``(c, c')``. Returns the candidates for ``c, c' < coefficient_range`` (0 disables the guess: the
    faithful formula, c = c' = 1)."""
    canonical = [0] * len(keys.task.pairs)
    for position, index in enumerate(keys.reveal.permutation):
        canonical[index] = keys.task.pairs[position][1]
    n, aux = keys.n, keys.reveal.auxes[0]
    z1, m1, z2, m1p = canonical[0], canonical[1], canonical[n + 1], canonical[n + 2]
    if coefficient_range <= 1:
        return [aux.delta1 * z1 + m1 - aux.delta2 * z2 - m1p]
    return [
        aux.delta1 * z1 * c + m1 - aux.delta2 * z2 * c2 - m1p
        for c in range(1, coefficient_range)
        for c2 in range(1, coefficient_range)
    ]


# --- The paper's three behaviours (spec §5.3, paper Section 5.8) ----------------------------------------


def _altered(value: int, L: int, rng: random.Random) -> int:
    return (value + rng.randrange(1, L)) % L


def cheat_submission(scenario: Scenario, cheat: Cheat, rng: random.Random) -> tuple[int, ...]:
    """The outputs a server injecting ``cheat`` submits (received order)."""
    outputs = list(scenario.outputs)
    L = scenario.L
    if cheat is Cheat.HONEST:
        return tuple(outputs)
    if cheat is Cheat.FORGED:
        return forge_results(outputs, L, rng)
    tk, vk = scenario.groups[rng.randrange(scenario.rho)]
    if cheat is Cheat.OMITTED_OR_ALTERED:
        if rng.random() < 0.5:  # omission: one or more outputs dropped
            for _ in range(rng.randrange(1, len(outputs) // 2 + 1)):
                del outputs[rng.randrange(len(outputs))]
            return tuple(outputs)
        target = rng.choice(tk)  # manipulation of σE (Q0 or one γ_i)
    else:  # Cheat.WITNESS_TAMPERING: alter πE (Q1 or one γ'_i)
        target = rng.choice(vk)
    outputs[target] = _altered(outputs[target], L, rng)
    return tuple(outputs)


@dataclass(frozen=True)
class Rate:
    """``hits`` of ``trials``; for cheats ``hits`` counts rejections, for attacks successes."""

    name: str
    mode: str
    trials: int
    hits: int
    note: str = ""

    @property
    def rate(self) -> float:
        """``hits / trials``."""
        return self.hits / self.trials if self.trials else 0.0


def checkability_trials(scenarios: Sequence[Scenario], cheat: Cheat, trials: int, rng: random.Random) -> Rate:
    """``trials`` submissions of ``cheat`` cycling over the scenarios; ``hits`` = rejected (a detection,
    or a false positive for :attr:`Cheat.HONEST`)."""
    if not scenarios or trials < 1:
        raise MalformedTask("need at least one scenario and one trial")
    rejected = 0
    for i in range(trials):
        scenario = scenarios[i % len(scenarios)]
        rejected += not scenario.judge(cheat_submission(scenario, cheat, rng)).accepted
    return Rate(cheat.value, scenarios[0].mode, trials, rejected)


# --- §5.4 attacks, blind (server's view only) -------------------------------------------------------------


def _unit(L: int, rng: random.Random) -> int:
    while True:
        t = rng.randrange(2, L - 1)
        if math.gcd(t, L) == 1:
            return t


def attack_cancellation(scenario: Scenario, rng: random.Random, count: int = 2) -> bool:
    """§5.4 #1 blind: multiply ``count`` uniformly chosen outputs by one random unit t."""
    positions = rng.sample(range(len(scenario.outputs)), count)
    forged = scale_outputs(scenario.outputs, positions, _unit(scenario.L, rng), scenario.L)
    return scenario.judge(forged).succeeded


def attack_negate_all(scenario: Scenario) -> bool:
    """§5.4 #2: negate every output (δ's are odd)."""
    return scenario.judge(
        negate_outputs(scenario.outputs, range(len(scenario.outputs)), scenario.L)
    ).succeeded


def attack_negate_subset(scenario: Scenario, rng: random.Random) -> bool:
    """§5.4 #2 blind: negate a uniformly random subset of the outputs."""
    positions = [j for j in range(len(scenario.outputs)) if rng.random() < 0.5]
    return scenario.judge(negate_outputs(scenario.outputs, positions, scenario.L)).succeeded


def attack_base_ratio_partition(scenario: Scenario, rng: random.Random) -> bool:
    """§5.4 #3: the most frequent ratio of two received bases marks a TK/VK pair; scale both outputs."""
    pair = recover_partition(scenario.task)
    if pair is None:
        return False
    return scenario.judge(scale_outputs(scenario.outputs, pair, _unit(scenario.L, rng), scenario.L)).succeeded


def exponent_coincidences(task: ServerTask) -> Counter[int]:
    """Differences of two received exponents that occur more than once: the faithful split makes every
    group a translate of the ``a_i`` (``m_i = a_i − δz``), so exact differences repeat; random exponents
    never repeat one."""
    exponents = [e for _, e in task.pairs]
    counts = Counter(x - y for i, x in enumerate(exponents) for j, y in enumerate(exponents) if i != j)
    return Counter({d: c for d, c in counts.items() if c > 1})


def attack_exponent_partition(scenario: Scenario, rng: random.Random) -> bool:
    """Partition through the exponents (our addition to §5.4 #3/#4): ``m_i − m'_i = δ2z2 − δ1z1`` (up to
    φ(L)) for every i, so the most frequent exact exponent difference (≥ 3 times) pairs a TK output with
    the VK output of the same base; scale both by t."""
    coincidences = exponent_coincidences(scenario.task)
    if not coincidences:
        return False
    difference, count = coincidences.most_common(1)[0]
    if count < 3:
        return False
    exponents = [e for _, e in scenario.task.pairs]
    pair = next(
        (i, j)
        for i, x in enumerate(exponents)
        for j, y in enumerate(exponents)
        if i != j and x - y == difference
    )
    return scenario.judge(scale_outputs(scenario.outputs, pair, _unit(scenario.L, rng), scenario.L)).succeeded


def attack_exponent_differences(scenario: Scenario, exponent_bits: int) -> bool:
    """§5.4 #4: with short exponents every ``a_i − a_j`` appears among the received exponent differences."""
    exponents = [e for _, e in scenario.task.pairs]
    bound = 1 << (exponent_bits + 1)
    leaked = {
        x - y
        for i, x in enumerate(exponents)
        for j, y in enumerate(exponents)
        if i != j and abs(x - y) < bound
    }
    a = scenario.exponents
    truth = {a[i] - a[j] for i in range(len(a)) for j in range(len(a)) if i != j}
    return bool(truth) and truth <= leaked


def _factors(scenario: Scenario, multiple: int, rng: random.Random) -> bool:
    if multiple == 0 or pow(2, abs(multiple), scenario.L) != 1:
        return False
    try:
        found = factor_with_phi_multiple(scenario.L, multiple, rng)
    except MalformedTask:
        return False
    return set(found) == {scenario.rk.N, scenario.p}


def attack_phi_from_exponents(scenario: Scenario, rng: random.Random, bits: int) -> bool:
    """§5.4 #5(a) blind: two received exponent differences that differ by φ(L) (L − 2^{bits+2} < φ < L)
    give φ, hence the factors of L. Sorted search, no knowledge of the pairing needed."""
    exponents = [e for _, e in scenario.task.pairs]
    differences = sorted({x - y for i, x in enumerate(exponents) for j, y in enumerate(exponents) if i != j})
    L = scenario.L
    low, high = L - (1 << (bits + 2)), L
    for d in differences:
        start = bisect.bisect_left(differences, d + low)
        stop = bisect.bisect_left(differences, d + high)
        for other in differences[start:stop]:
            if _factors(scenario, other - d, rng):
                return True
    return False


def attack_factor_after_reveal(scenario: Scenario, rng: random.Random, coefficient_range: int = 0) -> bool:
    """§5.4 #5(b): after the reveal, a multiple of φ(L) from Aux and the exponents factors L. For the
    hardened mode the head coefficients must be guessed: ``coefficient_range`` > 1 searches all
    ``(c, c')`` below it (cost ``coefficient_range²`` factoring attempts)."""
    return any(_factors(scenario, m, rng) for m in scenario.reveal_candidates(coefficient_range))


def attack_base_differences(scenario: Scenario) -> bool:
    """§5.4 #6: ``y_i − y_j ≡ u_i − u_j (mod L)`` for every pair (one shared τ)."""
    ys, u, L = scenario.params.ys, scenario.bases, scenario.L
    pairs = [(i, j) for i in range(len(u)) for j in range(len(u)) if i != j]
    return bool(pairs) and all((ys[i] - ys[j]) % L == (u[i] - u[j]) % L for i, j in pairs)

# ruff: noqa: N803, N806  (L, N, p are the spec's names: spec 003 §2.2)
"""The MExpm algorithms (spec 003 §3): Setup, RandN, KeyGen, Compute, Verify, Recovery, plus the local
reference ``∏ u_i^{a_i} mod N``. Pure math: no I/O, no chain, no network.

Big-integer work uses gmpy2; every public function takes and returns plain Python ``int``.

Randomness. Every randomised function takes ``rng: random.Random | None``. ``None`` (the default, and
the only choice for real use) means :class:`secrets.SystemRandom`, the OS CSPRNG behind :mod:`secrets`.
A seeded ``random.Random`` may be passed **only** for deterministic tests and benchmarks; it is not
cryptographically secure.

Corrections to the paper (spec §7) are the defaults; the paper's behaviour is behind explicit options:

* ``k`` is drawn from ``Z_p`` (``k_domain="p"``); ``k_domain="N"`` is the other reading of the garbled
  text (§7 #1). One ``k`` per base is the default (§7 #2, removes the base-difference leak at no cost);
  ``per_base_k=False`` is the paper's single shared ``k``.
* ``g`` is a random unit of ``Z*_L``; the paper's "order φ(L)" is impossible (§7 #3).
* ``r`` is uniform in ``{2..N-1}`` with ``gcd(r, L) = 1``; the paper's ``{2..N}`` contains ``N``, which is
  not invertible mod L (§7 #5). ``KeyGenOptions.paper_r_range=True`` samples ``{2..N}`` and redraws
  non-invertible values.
* ξ is chosen among the indices whose exponent is a unit mod φ(L); when there is none a dummy term
  ``(u = 1, a = 1)`` is appended (§7 #6). ``KeyGenOptions.require_unit_exponents=True`` is the paper's
  rule: every ``a_i`` must be in ``Z*_φ(L)`` (else :class:`MalformedTask`) and ξ is uniform over all.
* One ξ serves lines 8, 9 and 14 of Algorithm 1 (§7 #7; re-sampling it breaks correctness).
* All 2n+2 pairs go to the server, shuffled (§7 #10); ``KeyGenOptions.shuffle=False`` keeps the
  canonical order (tests, the toy example).
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import gmpy2  # no stubs: mypy override in pyproject.toml
from gmpy2 import mpz

from offchain.modexp.params import (
    Aux,
    EvaluationKey,
    IVSecret,
    KeyGenOutput,
    MalformedTask,
    PiE,
    PublicParams,
    RandNTableExhausted,
    RecoveryKey,
    SASecret,
    ServerTask,
    SigmaE,
    WitnessKey,
    check_int,
)

DEFAULT_PRIME_BITS = 512


def _rng(rng: random.Random | None) -> random.Random:
    return rng if rng is not None else secrets.SystemRandom()


def _powmod(base: int, exponent: int, modulus: int) -> int:
    return int(gmpy2.powmod(mpz(base), mpz(exponent), mpz(modulus)))


def _invert(value: int, modulus: int, what: str) -> int:
    if math.gcd(value, modulus) != 1:
        raise MalformedTask(f"{what} is not invertible modulo {modulus.bit_length()}-bit modulus")
    return int(gmpy2.invert(mpz(value), mpz(modulus)))


def _product_mod(start: int, values: Sequence[int], modulus: int) -> int:
    """``start·∏ values mod modulus``, reduced at every step (no n·1024-bit intermediate)."""
    m = mpz(modulus)
    acc = mpz(start) % m
    for value in values:
        acc = acc * value % m
    return int(acc)


def _random_unit(modulus: int, rng: random.Random, *, low: int = 1) -> int:
    """Uniform ``x`` in ``[low, modulus)`` with ``gcd(x, modulus) = 1``."""
    while True:
        x = rng.randrange(low, modulus)
        if math.gcd(x, modulus) == 1:
            return x


def random_prime(bits: int, rng: random.Random | None = None) -> int:
    """A random prime of exactly ``bits`` bits (``bits >= 3``): the next prime after a random odd number
    with the top bit set, redrawn when it overflows ``bits``."""
    if bits < 3:
        raise MalformedTask(f"a prime needs at least 3 bits, got {bits}")
    source = _rng(rng)
    while True:
        start = source.getrandbits(bits) | (1 << (bits - 1)) | 1
        candidate = int(gmpy2.next_prime(mpz(start - 1)))
        if candidate.bit_length() == bits:
            return candidate


def local_product(bases: Sequence[int], exponents: Sequence[int], N: int) -> int:
    """``∏ u_i^{a_i} mod N``: what the IV computes without offloading (spec 003 §2.1), the reference."""
    check_int("N", N, low=2)
    if len(bases) != len(exponents) or not bases:
        raise MalformedTask(f"{len(bases)} bases but {len(exponents)} exponents (need n >= 1 each)")
    modulus = mpz(N)
    acc = mpz(1)
    for i, (u, a) in enumerate(zip(bases, exponents, strict=True)):
        check_int(f"u[{i}]", u)
        check_int(f"a[{i}]", a)
        acc = acc * gmpy2.powmod(mpz(u), mpz(a), modulus) % modulus
    return int(acc)


# --- Setup (spec §3.1) -------------------------------------------------------------------------------


def obfuscate(bases: Sequence[int], N: int, p: int, ks: Sequence[int]) -> PublicParams:
    """Setup steps (a)-(c) with given ``p`` and ``k``'s: ``L = N·p``, ``y_i = u_i + k_i·N mod L`` (Eq. 1).

    ``ks`` holds one value per base (all equal in the faithful scheme). Deterministic (toy example)."""
    check_int("N", N, low=3)
    check_int("p", p, low=2)
    if not bases or len(bases) != len(ks):
        raise MalformedTask(f"{len(bases)} bases but {len(ks)} values of k (need n >= 1 each)")
    if p == N or not gmpy2.is_prime(mpz(N)) or not gmpy2.is_prime(mpz(p)):
        raise MalformedTask("N and p must be distinct primes")
    L = N * p
    ys = []
    for i, (u, k) in enumerate(zip(bases, ks, strict=True)):
        check_int(f"u[{i}]", u)
        check_int(f"k[{i}]", k)
        ys.append((u + k * N) % L)
    return PublicParams(L=L, ys=tuple(ys))


def setup(
    bases: Sequence[int],
    N: int,
    *,
    p_bits: int = DEFAULT_PRIME_BITS,
    per_base_k: bool = True,
    k_domain: Literal["p", "N"] = "p",
    rng: random.Random | None = None,
) -> tuple[PublicParams, RecoveryKey, SASecret]:
    """Setup(1^λ, u_1..u_n, N), run by the SA (spec 003 §3.1, §8 req. 1).

    Draws a fresh ``p_bits``-bit prime ``p ≠ N`` and ``k`` uniform in ``Z_p`` (or ``Z_N`` with
    ``k_domain="N"``, §7 #1); one ``k`` per base (the default, ``per_base_k=True``: removes the
    base-difference leak of §5.4 #6 at no cost) or the paper's one shared ``k`` (``per_base_k=False``).
    Returns ``(Params, RK, SA secret)``."""
    check_int("N", N, low=3)
    if not gmpy2.is_prime(mpz(N)):
        raise MalformedTask("N must be prime (spec 003 §2.1)")
    source = _rng(rng)
    while True:
        p = random_prime(p_bits, source)
        if p != N:
            break
    bound = p if k_domain == "p" else N
    count = len(bases) if per_base_k else 1
    drawn = [source.randrange(bound) for _ in range(count)]
    ks = tuple(drawn) if per_base_k else tuple(drawn * len(bases))
    params = obfuscate(bases, N, p, ks)
    return params, RecoveryKey(N), SASecret(p=p, ks=ks)


def phi_of(params: PublicParams, rk: RecoveryKey) -> int:
    """``φ(L) = (N−1)(p−1)`` with ``p = L/N``: the IV derives it from Params and RK (spec §3.1 note)."""
    if params.L % rk.N:
        raise MalformedTask("RK does not match Params: N does not divide L")
    p = params.L // rk.N
    return (rk.N - 1) * (p - 1)


# --- RandN (spec §2.5, §7 #4) ------------------------------------------------------------------------


def random_generator(L: int, rng: random.Random | None = None) -> int:
    """A random unit ``g`` of ``Z*_L`` other than ``±1`` (spec §7 #3: the paper's "order φ(L)" cannot exist
    for L = N·p; correctness only needs ``g^φ(L) = 1``)."""
    check_int("L", L, low=5)
    source = _rng(rng)
    while True:
        g = _random_unit(L, source, low=2)
        if g != L - 1:
            return g


def randn(L: int, phi: int, g: int, rng: random.Random | None = None) -> tuple[int, int]:
    """One RandN pair ``(k, g^k mod L)`` with ``k`` uniform in ``Z_φ(L)`` (spec §2.5, §8 req. 2)."""
    check_int("L", L, low=3)
    check_int("phi", phi, low=2)
    check_int("g", g, low=2, high=L)
    k = _rng(rng).randrange(phi)
    return k, _powmod(g, k, L)


class RandNTable:
    """RandN with an offline precomputed table of ``(k, g^k mod L)`` pairs (spec §2.5, §7 #4, §8 req. 2).

    :meth:`precompute` runs offline (the costly exponentiations); the online client only :meth:`draw` s,
    which pops a pair (each pair is used once). Drawing from an empty table raises
    :class:`RandNTableExhausted`."""

    def __init__(self, L: int, phi: int, g: int, rng: random.Random | None = None) -> None:
        check_int("L", L, low=3)
        check_int("phi", phi, low=2)
        check_int("g", g, low=2, high=L)
        if math.gcd(g, L) != 1:
            raise MalformedTask("g must be a unit mod L")
        self.L = L
        self.phi = phi
        self.g = g
        self._rng = _rng(rng)
        self._pairs: list[tuple[int, int]] = []

    @classmethod
    def for_params(
        cls, params: PublicParams, rk: RecoveryKey, rng: random.Random | None = None
    ) -> RandNTable:
        """An empty table for a task's ``L`` with a fresh random ``g``."""
        source = _rng(rng)
        return cls(params.L, phi_of(params, rk), random_generator(params.L, source), source)

    def precompute(self, count: int) -> None:
        """Offline: append ``count`` fresh pairs."""
        check_int("count", count)
        for _ in range(count):
            self._pairs.append(randn(self.L, self.phi, self.g, self._rng))

    def load(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Append given pairs (e.g. the toy example's), each checked: ``0 <= k < φ`` and ``v = g^k mod L``."""
        for k, v in pairs:
            check_int("k", k, high=self.phi)
            if _powmod(self.g, k, self.L) != v:
                raise MalformedTask(f"RandN pair ({k}, {v}) does not satisfy v = g^k mod L")
        self._pairs.extend((k, v) for k, v in pairs)

    def draw(self) -> tuple[int, int]:
        """Online: the oldest unused pair (FIFO, so loaded vectors come out in order)."""
        if not self._pairs:
            raise RandNTableExhausted("the RandN table is empty: precompute() more pairs offline")
        return self._pairs.pop(0)

    def __len__(self) -> int:
        return len(self._pairs)


# --- KeyGen (spec §3.2, Algorithm 1) ------------------------------------------------------------------


@dataclass(frozen=True)
class KeyGenOptions:
    """Switches of KeyGen; the defaults are the spec's corrected behaviour (spec 003 §7).

    * ``shuffle``: send the 2n+2 pairs in a random order (§3.2 notes, §7 #10);
    * ``require_unit_exponents``: the paper's rule (every ``a_i ∈ Z*_φ(L)``, ξ uniform over all) instead of
      the ξ-selection / dummy-term rule of §7 #6;
    * ``paper_r_range``: sample ``r`` from the paper's ``{2..N}`` (redrawing non-units) instead of
      ``{2..N-1}`` (§7 #5);
    * ``delta_bits``: bit length of δ1, δ2 (gas experiments, §7 #8); ``None`` = uniform in ``Z*_φ(L)``.
    """

    shuffle: bool = True
    require_unit_exponents: bool = False
    paper_r_range: bool = False
    delta_bits: int | None = None


def _random_delta(phi: int, bits: int | None, rng: random.Random) -> int:
    if bits is None:
        return _random_unit(phi, rng)
    if bits < 2 or bits >= phi.bit_length():
        raise MalformedTask(f"delta_bits = {bits} must be in [2, {phi.bit_length() - 1}]")
    while True:
        delta = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if math.gcd(delta, phi) == 1:
            return delta


def derive_keys(
    exponents: Sequence[int],
    params: PublicParams,
    rk: RecoveryKey,
    *,
    g: int,
    pairs: Sequence[tuple[int, int]],
    delta1: int,
    delta2: int,
    r: int,
    xi: int,
    permutation: Sequence[int] | None = None,
    dummy: bool = False,
) -> KeyGenOutput:
    """Algorithm 1 with every random choice given: the deterministic heart of :func:`keygen`.

    ``pairs`` are the four RandN pairs ``(k_j, g^{k_j} mod L)``; ``xi`` is 0-based; ``permutation`` defaults
    to the identity (see :class:`IVSecret` for its meaning). Every input is checked (:class:`MalformedTask`):
    ``a_i ∈ [0, φ(L))``, δ's units mod φ(L), ``r ∈ [2, N]`` a unit mod L, ``a_ξ`` a unit mod φ(L)."""
    phi = phi_of(params, rk)
    L, N, n = params.L, rk.N, params.n
    if len(exponents) != n:
        raise MalformedTask(f"{len(exponents)} exponents for {n} bases")
    a = [check_int(f"a[{i}]", value, high=phi) for i, value in enumerate(exponents)]
    check_int("g", g, low=2, high=L)
    if len(pairs) != 4:
        raise MalformedTask("KeyGen needs exactly four RandN pairs")
    for j, (k, v) in enumerate(pairs):
        check_int(f"k{j + 1}", k, high=phi)
        if _powmod(g, k, L) != v:
            raise MalformedTask(f"RandN pair {j + 1} does not satisfy v = g^k mod L")
    (k1, v1), (k2, v2), (k3, v3), (k4, v4) = pairs
    check_int("r", r, low=2, high=N + 1)
    r_inv_check = _invert(r, L, "r")
    del r_inv_check
    check_int("xi", xi, high=n)
    d = _invert(a[xi], phi, "a_xi")
    inv_d1 = _invert(check_int("delta1", delta1, low=1, high=phi), phi, "delta1")
    inv_d2 = _invert(check_int("delta2", delta2, low=1, high=phi), phi, "delta2")
    v1_inv = _invert(v1, L, "v1")
    v2_inv = _invert(v2, L, "v2")

    sum_a = sum(a)
    z1 = (k1 * sum_a - k3) * inv_d1 % phi  # Eq. (3): k1·Σa = k3 + δ1·z1
    z2 = (k2 * sum_a - k4) * inv_d2 % phi  # Eq. (4)
    ws = [y * v1_inv % L for y in params.ys]
    ms = [(ai - delta1 * z1) % phi for ai in a]
    y_prime = list(params.ys)
    y_prime[xi] = y_prime[xi] * _powmod(r, d, L) % L  # line 14: y'_ξ = y_ξ·r^d
    w_primes = [y * v2_inv % L for y in y_prime]
    m_primes = [(ai - delta2 * z2) % phi for ai in a]
    head1 = _product_mod(g, ws, L)
    head2 = _product_mod(g, w_primes, L)

    tk = EvaluationKey(head1, z1, tuple(ws), tuple(ms))
    vk = WitnessKey(head2, z2, tuple(w_primes), tuple(m_primes))
    aux = Aux(rv3=r * v3 % L, v4=v4, delta1=delta1, delta2=delta2)
    perm = tuple(permutation) if permutation is not None else tuple(range(2 * n + 2))
    if len(perm) != 2 * n + 2:
        raise MalformedTask(f"permutation has {len(perm)} entries, expected {2 * n + 2}")
    secret = IVSecret(r=r, xi=xi, d=d, g=g, pairs=tuple(pairs), permutation=perm, dummy=dummy)
    return KeyGenOutput(tk, vk, aux, secret)


def keygen(
    exponents: Sequence[int],
    params: PublicParams,
    rk: RecoveryKey,
    *,
    table: RandNTable | None = None,
    options: KeyGenOptions = KeyGenOptions(),
    rng: random.Random | None = None,
) -> KeyGenOutput:
    """KeyGen(a_1..a_n, Params), run by the IV offline (spec 003 §3.2, Algorithm 1; §8 req. 3-4).

    Draws the four RandN pairs from ``table`` (a fresh table with four precomputed pairs when ``None``),
    δ1, δ2, r, ξ and the shuffle, then calls :func:`derive_keys`. Exponents must lie in ``[0, φ(L))``.
    With the default ξ rule and no unit exponent, the dummy term ``(y = 1 + k'N mod L, a = 1)`` is
    appended (spec §7 #6) and the outputs have n+1 entries."""
    source = _rng(rng)
    phi = phi_of(params, rk)
    L, N = params.L, rk.N
    if len(exponents) != params.n:
        raise MalformedTask(f"{len(exponents)} exponents for {params.n} bases")
    a = [check_int(f"a[{i}]", value, high=phi) for i, value in enumerate(exponents)]
    units = [i for i, ai in enumerate(a) if math.gcd(ai, phi) == 1]
    dummy = False
    if options.require_unit_exponents:
        if len(units) != len(a):
            raise MalformedTask("the paper requires every a_i in Z*_phi(L) (require_unit_exponents=True)")
        xi = source.randrange(len(a))
    elif units:
        xi = source.choice(units)
    else:
        p = L // N
        params = PublicParams(L, (*params.ys, (1 + source.randrange(p) * N) % L))
        a.append(1)
        xi = len(a) - 1
        dummy = True
    if table is None:
        table = RandNTable(L, phi, random_generator(L, source), source)
        table.precompute(4)
    elif table.L != L or table.phi != phi:
        raise MalformedTask("the RandN table belongs to another modulus")
    pairs = [table.draw() for _ in range(4)]
    delta1 = _random_delta(phi, options.delta_bits, source)
    delta2 = _random_delta(phi, options.delta_bits, source)
    while True:
        r = source.randrange(2, N + 1 if options.paper_r_range else N)
        if math.gcd(r, L) == 1:
            break
    permutation = list(range(2 * len(a) + 2))
    if options.shuffle:
        source.shuffle(permutation)
    return derive_keys(
        a,
        params,
        rk,
        g=table.g,
        pairs=pairs,
        delta1=delta1,
        delta2=delta2,
        r=r,
        xi=xi,
        permutation=permutation,
        dummy=dummy,
    )


def server_task(tk: EvaluationKey, vk: WitnessKey, secret: IVSecret, L: int) -> ServerTask:
    """The shuffled 2n+2 pairs the IV sends to the server (spec §3.2 notes, §8 req. 4): position j holds
    canonical pair ``secret.permutation[j]`` of ``(TK head, TK pairs, VK head, VK pairs)``."""
    if tk.n != vk.n or len(secret.permutation) != 2 * tk.n + 2:
        raise MalformedTask("TK, VK and the permutation disagree on n")
    canonical = (*tk.pairs(), *vk.pairs())
    return ServerTask(L=L, pairs=tuple(canonical[j] for j in secret.permutation))


# --- Compute (spec §3.3) ------------------------------------------------------------------------------


def compute(task: ServerTask) -> tuple[int, ...]:
    """Compute(TK, VK), the server role (spec 003 §3.3, §8 req. 5): ``base^exponent mod L`` for each of
    the 2n+2 pairs, in the order received."""
    modulus = mpz(task.L)
    return tuple(int(gmpy2.powmod(mpz(b), mpz(e), modulus)) for b, e in task.pairs)


def compute_keys(tk: EvaluationKey, vk: WitnessKey, L: int) -> tuple[SigmaE, PiE]:
    """Compute on unshuffled keys: ``σE = {Q0, γ_i}``, ``πE = {Q1, γ'_i}`` (spec §3.3 (a)-(c))."""
    modulus = mpz(L)

    def power(base: int, exponent: int) -> int:
        return int(gmpy2.powmod(mpz(base), mpz(exponent), modulus))

    sigma = SigmaE(power(tk.head_base, tk.head_exponent), tuple(map(power, tk.bases, tk.exponents)))
    pi = PiE(power(vk.head_base, vk.head_exponent), tuple(map(power, vk.bases, vk.exponents)))
    return sigma, pi


def unshuffle(outputs: Sequence[int], permutation: Sequence[int]) -> tuple[SigmaE, PiE]:
    """Map the server's outputs (received order) back to ``σE = {Q0, γ_i}`` and ``πE = {Q1, γ'_i}``.
    A wrong number of outputs raises :class:`MalformedTask` (the contract's length check)."""
    if len(outputs) != len(permutation) or len(permutation) < 4 or len(permutation) % 2:
        raise MalformedTask(f"{len(outputs)} outputs for a task of {len(permutation)} pairs")
    canonical = [0] * len(permutation)
    for position, index in enumerate(permutation):
        canonical[index] = outputs[position]
    half = len(canonical) // 2
    return (
        SigmaE(canonical[0], tuple(canonical[1:half])),
        PiE(canonical[half], tuple(canonical[half + 1 :])),
    )


# --- Verify (spec §3.4, Algorithm 2) -------------------------------------------------------------------


def _check_verify_inputs(sigma: SigmaE, pi: PiE, aux: Aux, L: int, n: int | None) -> None:
    if L < 3 or L % 2 == 0:
        raise MalformedTask("L must be odd and at least 3")
    count = len(sigma.gammas)
    if count == 0 or count != len(pi.gamma_primes) or (n is not None and count != n):
        raise MalformedTask(f"bad counts: {count} gammas, {len(pi.gamma_primes)} gamma primes, n = {n}")
    width = (L.bit_length() + 7) // 8
    if aux.delta1.bit_length() > 8 * width or aux.delta2.bit_length() > 8 * width:
        raise MalformedTask("a delta is longer than L")
    values = (sigma.q0, pi.q1, aux.rv3, aux.v4, *sigma.gammas, *pi.gamma_primes)
    if any(value >= L for value in values):
        raise MalformedTask("a result or Aux value is not below L")


def verify_encoded(sigma: SigmaE, pi: PiE, aux: Aux, L: int, n: int | None = None) -> tuple[bool, int]:
    """Verify(σE, πE, Aux) → ``(ok, σ)`` (spec 003 §3.4, Algorithm 2, Eq. 5; §8 req. 6).

    ``lhs = rv3·Q0^δ1·∏γ_i mod L``, ``rhs = v4·Q1^δ2·∏γ'_i mod L``; returns ``(lhs == rhs, lhs)`` when they
    match and ``(False, 0)`` otherwise, as ``MExpmVerifier.verify`` does. Malformed inputs (counts that
    differ, are zero or differ from ``n``; values not below ``L``; a δ longer than ``L``; even ``L``) raise
    :class:`MalformedTask`, where the contract reverts. Pure function of its arguments."""
    _check_verify_inputs(sigma, pi, aux, L, n)
    modulus = mpz(L)
    lhs = mpz(aux.rv3) * gmpy2.powmod(mpz(sigma.q0), mpz(aux.delta1), modulus) % modulus
    rhs = mpz(aux.v4) * gmpy2.powmod(mpz(pi.q1), mpz(aux.delta2), modulus) % modulus
    for gamma, gamma_prime in zip(sigma.gammas, pi.gamma_primes, strict=True):
        lhs = lhs * gamma % modulus
        rhs = rhs * gamma_prime % modulus
    return (True, int(lhs)) if lhs == rhs else (False, 0)


def verify(sigma: SigmaE, pi: PiE, aux: Aux, L: int, n: int | None = None) -> bool:
    """Algorithm 2 as a boolean (spec 003 §3.4); see :func:`verify_encoded`."""
    return verify_encoded(sigma, pi, aux, L, n)[0]


# --- Recovery (spec §3.5) -----------------------------------------------------------------------------


def recover(sigma_out: int, r: int, L: int, N: int) -> int:
    """Recovery (spec 003 §3.5, Eq. 6; §8 req. 7): ``σ·r^{-1} mod L mod N``."""
    check_int("sigma", sigma_out, high=L)
    check_int("N", N, low=2)
    if L % N:
        raise MalformedTask("N does not divide L")
    return sigma_out * _invert(r, L, "r") % L % N


def recovery(sigma_out: int, rk: RecoveryKey, secret: IVSecret, L: int) -> int:
    """Recovery(σE, RK) with the IV's kept ``r``."""
    return recover(sigma_out, secret.r, L, rk.N)

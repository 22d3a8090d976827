# ruff: noqa: N803, N806  (L, N, p are the spec's names: spec 003 §2.2)
"""The MExpm algorithms (spec 003 §3): Setup, RandN, KeyGen, Compute, Verify, Recovery, plus the local
reference ``∏ u_i^{a_i} mod N``. Pure math: no I/O, no chain, no network.

Big-integer work uses gmpy2; every public function takes and returns plain Python ``int``.

Randomness. Every randomised function takes ``rng: random.Random | None``. ``None`` (the default, and
the only choice for real use) means the OS CSPRNG (``os.urandom``, as :class:`random.SystemRandom`, read in
4 KiB blocks).
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
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

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
    check_ints,
)

DEFAULT_PRIME_BITS = 512


class _PooledSystemRandom(random.SystemRandom):
    """The OS CSPRNG with its bytes read in 4 KiB blocks: ``SystemRandom`` makes one ``os.urandom`` call per
    draw, which dominated KeyGen's online cost (its shuffle of 2n+2 pairs). Same source, fewer syscalls."""

    _BLOCK = 4096

    def __init__(self) -> None:
        super().__init__()
        self._pool = b""
        self._offset = 0

    def _take(self, count: int) -> bytes:
        if self._offset + count > len(self._pool):
            self._pool = os.urandom(max(self._BLOCK, count))
            self._offset = 0
        chunk = self._pool[self._offset : self._offset + count]
        self._offset += count
        return chunk

    def getrandbits(self, k: int) -> int:
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        value = int.from_bytes(self._take((k + 7) // 8), "big")
        return value >> (-k % 8)

    def random(self) -> float:
        return (int.from_bytes(self._take(7), "big") >> 3) * 2.0**-53


def _rng(rng: random.Random | None) -> random.Random:
    return rng if rng is not None else _PooledSystemRandom()


def _powmod(base: int, exponent: int, modulus: int) -> int:
    return int(gmpy2.powmod(mpz(base), mpz(exponent), mpz(modulus)))


def _powmod_crt(base: int, exponent: int, N: int, p: int) -> int:
    """``base^exponent mod N·p`` for distinct primes N and p, by the CRT: two half-size exponentiations with
    exponents reduced mod N−1 and p−1 (bit for bit :func:`_powmod` for a base coprime to N·p; about four
    times faster). Only the IV, who knows p = L/N, can take this path."""
    mn, mp = mpz(N), mpz(p)
    b = mpz(base)
    xn = gmpy2.powmod(b % mn, mpz(exponent) % (mn - 1), mn)
    xp = gmpy2.powmod(b % mp, mpz(exponent) % (mp - 1), mp)
    # Garner: x = xn + N·((xp − xn)·N⁻¹ mod p)
    return int(xn + mn * ((xp - xn) * gmpy2.invert(mn, mp) % mp))


def _invert(value: int, modulus: int, what: str) -> int:
    if gmpy2.gcd(value, modulus) != 1:
        raise MalformedTask(f"{what} is not invertible modulo {modulus.bit_length()}-bit modulus")
    return int(gmpy2.invert(mpz(value), mpz(modulus)))


def _product_mod(start: int, values: Sequence[int] | Sequence[mpz], modulus: int) -> int:
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


@dataclass(frozen=True)
class KeyGenPrecomputation:
    """Everything of Algorithm 1 that does not depend on the exponents, computed offline (spec 003 §2.5):
    the four RandN pairs, δ1, δ2, r, and the per-base quotients ``w_i = y_i/v1`` and ``y_i/v2`` with their
    products. :func:`keygen` with ``precomputed=`` then does only the exponent-dependent lines online
    (z1, z2, m_i, m'_i, d = a_ξ⁻¹, r^d and y'_ξ). Use each precomputation once: it holds one-time values."""

    L: int
    N: int
    phi: int
    ys: tuple[int, ...]
    g: int
    pairs: tuple[tuple[int, int], ...]
    delta1: int
    delta2: int
    inv_delta1: int
    inv_delta2: int
    r: int
    ws: tuple[Any, ...]  # y_i / v1 mod L (gmpy2 integers)
    w2s: tuple[Any, ...]  # y_i / v2 mod L, before line 14 touches the ξ-th
    head1: int  # g·∏ w_i mod L
    head2_base: int  # g·∏ y_i/v2 mod L; times r^d once ξ is known

    @property
    def n(self) -> int:
        return len(self.ys)

    def with_base(self, y: int) -> KeyGenPrecomputation:
        """The same precomputation with one more base ``y`` (the dummy term of spec §7 #6)."""
        mL = mpz(self.L)
        w = mpz(y) * gmpy2.invert(mpz(self.pairs[0][1]), mL) % mL
        w2 = mpz(y) * gmpy2.invert(mpz(self.pairs[1][1]), mL) % mL
        return replace(
            self,
            ys=(*self.ys, y),
            ws=(*self.ws, w),
            w2s=(*self.w2s, w2),
            head1=int(self.head1 * w % mL),
            head2_base=int(self.head2_base * w2 % mL),
        )


def precompute_keys(
    params: PublicParams,
    rk: RecoveryKey,
    *,
    g: int,
    pairs: Sequence[tuple[int, int]],
    delta1: int,
    delta2: int,
    r: int,
    check_pairs: bool = True,
) -> KeyGenPrecomputation:
    """The exponent-independent part of Algorithm 1 with every random choice given. Every input is checked
    (:class:`MalformedTask`): δ's units mod φ(L), ``r ∈ [2, N]`` a unit mod L, and ``v = g^k mod L`` for
    each pair unless ``check_pairs`` is false (pairs from a :class:`RandNTable` were computed or checked
    there)."""
    phi = phi_of(params, rk)
    L, N = params.L, rk.N
    check_int("g", g, low=2, high=L)
    if len(pairs) != 4:
        raise MalformedTask("KeyGen needs exactly four RandN pairs")
    for j, (k, v) in enumerate(pairs):
        check_int(f"k{j + 1}", k, high=phi)
        check_int(f"v{j + 1}", v, low=1, high=L)
        if check_pairs and _powmod(g, k, L) != v:
            raise MalformedTask(f"RandN pair {j + 1} does not satisfy v = g^k mod L")
    check_int("r", r, low=2, high=N + 1)
    _invert(r, L, "r")
    inv_d1 = _invert(check_int("delta1", delta1, low=1, high=phi), phi, "delta1")
    inv_d2 = _invert(check_int("delta2", delta2, low=1, high=phi), phi, "delta2")
    mL = mpz(L)
    mv1 = mpz(_invert(pairs[0][1], L, "v1"))
    mv2 = mpz(_invert(pairs[1][1], L, "v2"))
    ws = tuple(mpz(y) * mv1 % mL for y in params.ys)  # line 6: w_i = y_i / v1
    w2s = tuple(mpz(y) * mv2 % mL for y in params.ys)  # line 12 before line 14
    return KeyGenPrecomputation(
        L=L,
        N=N,
        phi=phi,
        ys=params.ys,
        g=g,
        pairs=tuple((k, v) for k, v in pairs),
        delta1=delta1,
        delta2=delta2,
        inv_delta1=inv_d1,
        inv_delta2=inv_d2,
        r=r,
        ws=ws,
        w2s=w2s,
        head1=_product_mod(g, ws, L),
        head2_base=_product_mod(g, w2s, L),
    )


def finish_keys(
    pre: KeyGenPrecomputation,
    exponents: Sequence[int],
    *,
    xi: int,
    permutation: Sequence[int] | None = None,
    dummy: bool = False,
) -> KeyGenOutput:
    """The exponent-dependent part of Algorithm 1 (KeyGen's online work): ``a_ξ`` must be a unit mod
    φ(L), ``xi`` is 0-based, ``permutation`` defaults to the identity (see :class:`IVSecret`)."""
    L, N, phi, n = pre.L, pre.N, pre.phi, pre.n
    if len(exponents) != n:
        raise MalformedTask(f"{len(exponents)} exponents for {n} bases")
    a = list(exponents)
    check_ints("a", tuple(a), high=phi)
    check_int("xi", xi, high=n)
    d = _invert(a[xi], phi, "a_xi")  # line 9
    (k1, _), (k2, _), (k3, v3), (k4, v4) = pre.pairs
    sum_a = sum(a)
    z1 = (k1 * sum_a - k3) * pre.inv_delta1 % phi  # Eq. (3): k1·Σa = k3 + δ1·z1
    z2 = (k2 * sum_a - k4) * pre.inv_delta2 % phi  # Eq. (4)
    mL, mphi = mpz(L), mpz(phi)
    shift1, shift2 = mpz(pre.delta1 * z1 % phi), mpz(pre.delta2 * z2 % phi)
    ms = [int((mpz(ai) - shift1) % mphi) for ai in a]  # line 7
    m_primes = [int((mpz(ai) - shift2) % mphi) for ai in a]  # line 13
    # line 14: y'_ξ = y_ξ·r^d, so w'_ξ = (y_ξ/v2)·r^d; r^d by the CRT over L = N·p (the IV knows p)
    r_d = mpz(_powmod_crt(pre.r, d, N, L // N))
    w_primes = list(pre.w2s)
    w_primes[xi] = w_primes[xi] * r_d % mL
    head2 = int(pre.head2_base * r_d % mL)

    tk = EvaluationKey(pre.head1, z1, tuple(int(w) for w in pre.ws), tuple(ms))
    vk = WitnessKey(head2, z2, tuple(int(w) for w in w_primes), tuple(m_primes))
    aux = Aux(rv3=pre.r * v3 % L, v4=v4, delta1=pre.delta1, delta2=pre.delta2)
    perm = tuple(permutation) if permutation is not None else tuple(range(2 * n + 2))
    if len(perm) != 2 * n + 2:
        raise MalformedTask(f"permutation has {len(perm)} entries, expected {2 * n + 2}")
    secret = IVSecret(r=pre.r, xi=xi, d=d, g=pre.g, pairs=pre.pairs, permutation=perm, dummy=dummy)
    return KeyGenOutput(tk, vk, aux, secret)


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
    check_pairs: bool = True,
) -> KeyGenOutput:
    """Algorithm 1 with every random choice given: the deterministic heart of :func:`keygen`
    (:func:`precompute_keys` then :func:`finish_keys`).

    ``pairs`` are the four RandN pairs ``(k_j, g^{k_j} mod L)``; ``xi`` is 0-based; ``permutation`` defaults
    to the identity (see :class:`IVSecret` for its meaning). Every input is checked (:class:`MalformedTask`):
    ``a_i ∈ [0, φ(L))``, δ's units mod φ(L), ``r ∈ [2, N]`` a unit mod L, ``a_ξ`` a unit mod φ(L), and
    ``v = g^k mod L`` for each pair unless ``check_pairs`` is false."""
    if len(exponents) != params.n:
        raise MalformedTask(f"{len(exponents)} exponents for {params.n} bases")
    pre = precompute_keys(
        params, rk, g=g, pairs=pairs, delta1=delta1, delta2=delta2, r=r, check_pairs=check_pairs
    )
    return finish_keys(pre, exponents, xi=xi, permutation=permutation, dummy=dummy)


def _random_permutation(size: int, rng: random.Random) -> list[int]:
    """A uniformly random permutation of ``range(size)`` from one draw of 64 random bits per entry: the
    entries sorted by their keys (ties, at odds of about size²/2^65, fall back to index order). One call
    to the generator instead of ``size`` (KeyGen's online cost with the OS CSPRNG)."""
    bits = rng.getrandbits(64 * size) if size else 0
    keys = [(bits >> (64 * i)) & 0xFFFF_FFFF_FFFF_FFFF for i in range(size)]
    return sorted(range(size), key=keys.__getitem__)


def _first_unit(a: Sequence[int], phi: int, rng: random.Random) -> int | None:
    """An index ξ drawn uniformly among those with ``a_ξ`` a unit mod φ(L), or ``None`` when there is none.

    The first unit met in a uniformly random order is uniform over the units; visiting the indices that way
    needs a few gcds on average instead of n (KeyGen's online cost)."""
    order = list(range(len(a)))
    for position in range(len(order)):
        pick = rng.randrange(position, len(order))
        order[position], order[pick] = order[pick], order[position]
        if gmpy2.gcd(a[order[position]], phi) == 1:
            return order[position]
    return None


def prepare_keygen(
    params: PublicParams,
    rk: RecoveryKey,
    *,
    table: RandNTable | None = None,
    options: KeyGenOptions = KeyGenOptions(),
    rng: random.Random | None = None,
) -> KeyGenPrecomputation:
    """KeyGen's offline part (spec 003 §2.5): draw the four RandN pairs from ``table`` (a fresh table
    with four precomputed pairs when ``None``), δ1, δ2 and r, and precompute the per-base quotients."""
    source = _rng(rng)
    phi = phi_of(params, rk)
    L, N = params.L, rk.N
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
    # the table computed (precompute) or checked (load) every pair offline
    return precompute_keys(
        params, rk, g=table.g, pairs=pairs, delta1=delta1, delta2=delta2, r=r, check_pairs=False
    )


def keygen(
    exponents: Sequence[int],
    params: PublicParams,
    rk: RecoveryKey,
    *,
    table: RandNTable | None = None,
    precomputed: KeyGenPrecomputation | None = None,
    options: KeyGenOptions = KeyGenOptions(),
    rng: random.Random | None = None,
) -> KeyGenOutput:
    """KeyGen(a_1..a_n, Params), run by the IV (spec 003 §3.2, Algorithm 1; §8 req. 3-4).

    With ``precomputed`` (from :func:`prepare_keygen`, offline) only the exponent-dependent lines run here;
    otherwise the offline part runs first, drawing from ``table``. Then ξ and the shuffle are drawn.
    Exponents must lie in ``[0, φ(L))``. With the default ξ rule and no unit exponent, the dummy term
    ``(y = 1 + k'N mod L, a = 1)`` is appended (spec §7 #6) and the outputs have n+1 entries."""
    source = _rng(rng)
    phi = phi_of(params, rk)
    L, N = params.L, rk.N
    if len(exponents) != params.n:
        raise MalformedTask(f"{len(exponents)} exponents for {params.n} bases")
    a = list(exponents)
    check_ints("a", tuple(a), high=phi)
    if precomputed is None:
        precomputed = prepare_keygen(params, rk, table=table, options=options, rng=source)
    elif precomputed.L != L or precomputed.N != N or precomputed.ys != params.ys:
        raise MalformedTask("the KeyGen precomputation belongs to other Params")
    dummy = False
    if options.require_unit_exponents:
        if any(gmpy2.gcd(ai, phi) != 1 for ai in a):
            raise MalformedTask("the paper requires every a_i in Z*_phi(L) (require_unit_exponents=True)")
        xi = source.randrange(len(a))
    elif (unit := _first_unit(a, phi, source)) is not None:
        xi = unit
    else:
        p = L // N
        precomputed = precomputed.with_base((1 + source.randrange(p) * N) % L)
        a.append(1)
        xi = len(a) - 1
        dummy = True
    permutation = (
        _random_permutation(2 * len(a) + 2, source) if options.shuffle else list(range(2 * len(a) + 2))
    )
    return finish_keys(precomputed, a, xi=xi, permutation=permutation, dummy=dummy)


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

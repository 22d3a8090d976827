# ruff: noqa: N803, N806  (L, N, p are the spec's names: spec 003 §2.2)
"""Hardened MExpm (not in the paper): local fixes against the attacks of spec 003 §5.4.

What changes against the faithful KeyGen (:func:`offchain.modexp.core.keygen`), and why:

* **Per-base masks** ``y_i = u_i + k_i·N`` (Setup with ``per_base_k=True``, now Setup's default):
  removes the base-difference leak (§5.4 #6).
* **Per-base blinding** ``w_i = y_i / v_{1,i}``, ``w'_i = y'_i / v_{2,i}`` with an independent RandN pair per
  base and group (a BPV-style generator, :class:`BPVGenerator`), instead of one ``v1``/``v2`` for all
  bases: the ratio ``w_i / w'_i = v2/v1`` is no longer the same for every i (partition attack, §5.4 #3).
  ``g`` has Jacobi symbol −1 mod L, so Jacobi symbols of the blinding factors are uniform too.
* **Per-base head coefficients** ``H = g·∏ w_i^{c_i}`` with distinct random ``c_i`` of ``coefficient_bits``
  bits, so ``m_i = a_i − c_i·δ·z``: the exponents of one group are no longer translates of the ``a_i``
  by one common offset. That offset let a server link outputs by exact exponent differences (partition
  through exponents; §5.4 #4 exponent differences; §5.4 #5(a) two differences that differ by φ(L)).
* **Odd vector length**: an even n is padded with a dummy term ``(y = 1 + k'N, a = 1)`` (≡ 1 mod N, so the
  result is unchanged). Negating every output then multiplies both sides by ``(−1)^{n+1} = 1`` *and*
  leaves the decoded result unchanged: the knowledge-free sign attack (§5.4 #2) no longer deceives.
* **ρ independent instances that must agree**: ρ KeyGen instances of the same task (fresh r, ξ, δ's,
  blinding, coefficients), all ρ(2n+2) pairs shuffled together. Each instance is checked with the
  unchanged Algorithm 2 (:func:`offchain.modexp.core.verify_encoded`, i.e. ``MExpmVerifier.verify``),
  and the encoded results must agree: ``σ_c ≡ (r_c / r_0)·σ_0 (mod L)`` with the ratios revealed with
  Aux (they reveal no r). A blind server must now scale one TK and one VK output of *every* instance
  by the same t: a random choice of 2ρ outputs does so with probability
  ``n^{2ρ} / C(ρ(2n+2), 2ρ)`` (:func:`blind_cancellation_probability`), about ``(2ρ)!/(2ρ)^{2ρ}`` for
  large n (0.24 % at ρ = 4), instead of about 1/2.
* **Aux after completion**: the reveal (δ's, permutation, ratios) is :class:`HardenedReveal`, given to
  the verifier only after the outputs are fixed (on chain: the market's commit–reveal).

What it does **not** give (measured in ``reports/modexp``, documented in ``docs/modexp-security.md``):
the checkability is ``1 − blind_cancellation_probability`` against the best blind strategy we know,
not the paper's ``≈ 1 − 2^-513``; after the reveal, a search over ``2^{2·coefficient_bits}``
coefficient pairs still yields a multiple of φ(L), hence the factors of L (privacy of a revealed task
rests on that search cost); no proof of any of this is given.

Randomness as in :mod:`offchain.modexp.core`: ``rng=None`` is the OS CSPRNG; seeded ``random.Random``
only for tests and benchmarks.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import gmpy2
from gmpy2 import mpz

from offchain.modexp.core import phi_of, verify_encoded
from offchain.modexp.params import (
    Aux,
    EvaluationKey,
    MalformedTask,
    PiE,
    PublicParams,
    RecoveryKey,
    ServerTask,
    SigmaE,
    WitnessKey,
    check_int,
)

DEFAULT_RHO = 4
DEFAULT_COEFFICIENT_BITS = 16


def _rng(rng: random.Random | None) -> random.Random:
    return rng if rng is not None else secrets.SystemRandom()


@dataclass(frozen=True)
class HardenedOptions:
    """Parameters of the hardened KeyGen.

    * ``rho``: independent instances that must agree (≥ 1; 1 keeps only the other fixes);
    * ``coefficient_bits``: bit length of the per-base head coefficients ``c_i`` (≥ 2);
    * ``table_size``, ``subset_size``: the BPV generator of the RandN pairs (``table_size`` pairs
      precomputed offline, each online pair the product of ``subset_size`` of them).
    """

    rho: int = DEFAULT_RHO
    coefficient_bits: int = DEFAULT_COEFFICIENT_BITS
    table_size: int = 128
    subset_size: int = 8

    def __post_init__(self) -> None:
        check_int("rho", self.rho, low=1, high=65)
        check_int("coefficient_bits", self.coefficient_bits, low=2, high=257)
        check_int("table_size", self.table_size, low=2)
        check_int("subset_size", self.subset_size, low=1, high=self.table_size + 1)


class BPVGenerator:
    """RandN pairs ``(k, g^k mod L)`` from a precomputed table (Boyko–Peinado–Venkatesan style): offline,
    ``table_size`` pairs with uniform exponents; online, the sum of ``subset_size`` random exponents and
    the product of their powers (``subset_size − 1`` multiplications mod L, no exponentiation).
    The parameters are ours (spec 003 §7 #4: the paper leaves RandN unspecified)."""

    def __init__(
        self, L: int, phi: int, g: int, table_size: int, subset_size: int, rng: random.Random
    ) -> None:
        self.L = L
        self.phi = phi
        self.g = g
        self.subset_size = subset_size
        self._rng = rng
        modulus, base = mpz(L), mpz(g)
        self._ks = [rng.randrange(phi) for _ in range(table_size)]
        self._vs = [gmpy2.powmod(base, mpz(k), modulus) for k in self._ks]

    @classmethod
    def for_task(
        cls,
        params: PublicParams,
        rk: RecoveryKey,
        options: HardenedOptions = HardenedOptions(),
        rng: random.Random | None = None,
    ) -> BPVGenerator:
        """Offline: a table for the task's ``L`` with a fresh ``g`` of Jacobi symbol −1."""
        source = _rng(rng)
        g = generator_with_jacobi_minus_one(params.L, source)
        return cls(params.L, phi_of(params, rk), g, options.table_size, options.subset_size, source)

    def draw(self) -> tuple[int, int]:
        """One pair ``(k, g^k mod L)``."""
        chosen = self._rng.sample(range(len(self._ks)), self.subset_size)
        modulus = mpz(self.L)
        k = 0
        v = mpz(1)
        for index in chosen:
            k += self._ks[index]
            v = v * self._vs[index] % modulus
        return k % self.phi, int(v)


def generator_with_jacobi_minus_one(L: int, rng: random.Random) -> int:
    """A random unit ``g`` of ``Z*_L`` with Jacobi symbol ``(g | L) = −1``: powers ``g^k`` with uniform k
    then have a uniform Jacobi symbol, which the server could otherwise compute to link bases."""
    while True:
        g = rng.randrange(2, L - 1)
        if math.gcd(g, L) == 1 and gmpy2.jacobi(mpz(g), mpz(L)) == -1:
            return g


def _head(g: int, bases: Sequence[int], coefficients: Sequence[int], L: int, bits: int) -> int:
    """``g·∏ b_i^{c_i} mod L`` by interleaved square-and-multiply (Straus): ``bits`` shared squarings."""
    modulus = mpz(L)
    acc = mpz(1)
    mbases = [mpz(b) for b in bases]
    for bit in range(bits - 1, -1, -1):
        acc = acc * acc % modulus
        for base, c in zip(mbases, coefficients, strict=True):
            if c >> bit & 1:
                acc = acc * base % modulus
    return int(acc * g % modulus)


def _distinct_coefficients(count: int, bits: int, rng: random.Random) -> list[int]:
    if count > (1 << bits) - 1:
        raise MalformedTask(f"{count} distinct {bits}-bit coefficients do not exist")
    chosen: set[int] = set()
    out: list[int] = []
    while len(out) < count:
        c = rng.randrange(1, 1 << bits)
        if c not in chosen:
            chosen.add(c)
            out.append(c)
    return out


@dataclass(frozen=True)
class HardenedInstance:
    """One of the ρ instances: TK, VK and Aux as in the paper, plus what the IV keeps (``r``, ``xi``) and
    the per-base head coefficients (secret, never revealed)."""

    tk: EvaluationKey
    vk: WitnessKey
    aux: Aux
    r: int
    xi: int
    coefficients: tuple[tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class HardenedReveal:
    """What the verifier receives after the outputs are fixed: every instance's Aux, the permutation of
    the ρ(2n'+2) outputs and the ratios ``r_c / r_0 mod L`` (c = 1..ρ−1) for the agreement check."""

    L: int
    n: int
    auxes: tuple[Aux, ...]
    permutation: tuple[int, ...]
    ratios: tuple[int, ...]

    def __post_init__(self) -> None:
        check_int("L", self.L, low=3)
        check_int("n", self.n, low=1)
        rho = len(self.auxes)
        if rho < 1 or len(self.ratios) != rho - 1:
            raise MalformedTask("a reveal needs rho >= 1 Aux values and rho - 1 ratios")
        size = rho * (2 * self.n + 2)
        if sorted(self.permutation) != list(range(size)):
            raise MalformedTask(f"the permutation must cover {size} outputs")
        for i, ratio in enumerate(self.ratios):
            check_int(f"ratio[{i}]", ratio, low=1, high=self.L)


@dataclass(frozen=True)
class HardenedKeys:
    """Output of :func:`hardened_keygen`: the ρ instances, the shuffled server task and the reveal.
    ``n`` is the padded (odd) vector length; ``dummies`` how many dummy terms were appended."""

    instances: tuple[HardenedInstance, ...]
    task: ServerTask
    reveal: HardenedReveal
    n: int
    dummies: int

    @property
    def rho(self) -> int:
        """The number of instances."""
        return len(self.instances)

    @property
    def r0(self) -> int:
        """The blinding of instance 0, which Recovery uses."""
        return self.instances[0].r


def blind_cancellation_probability(n: int, rho: int) -> float:
    """Probability that 2ρ outputs chosen uniformly among ρ(2n+2) contain exactly one TK γ and one VK γ
    of every instance: ``n^{2ρ} / C(ρ(2n+2), 2ρ)`` (n = the padded vector length). This is the success
    rate of the blind multiplicative-cancellation attack against the hardened mode; for ρ = 1 it is the
    faithful scheme's ``2n²/((2n+2)(2n+1))`` (spec §5.4 #1)."""
    numerator: int = n ** (2 * rho)
    return numerator / math.comb(rho * (2 * n + 2), 2 * rho)


def hardened_keygen(
    exponents: Sequence[int],
    params: PublicParams,
    rk: RecoveryKey,
    *,
    options: HardenedOptions = HardenedOptions(),
    generator: BPVGenerator | None = None,
    rng: random.Random | None = None,
) -> HardenedKeys:
    """The hardened KeyGen (module docstring): ρ instances of a modified Algorithm 1, one shuffled task.
    Exponents must lie in ``[0, φ(L))``. Use with Setup's per-base masks (``setup(per_base_k=True)``).
    ``generator`` is the offline RandN table (:meth:`BPVGenerator.for_task`; built here when ``None``)."""
    source = _rng(rng)
    phi = phi_of(params, rk)
    L, N = params.L, rk.N
    p = L // N
    if len(exponents) != params.n:
        raise MalformedTask(f"{len(exponents)} exponents for {params.n} bases")
    a = [check_int(f"a[{i}]", value, high=phi) for i, value in enumerate(exponents)]
    ys = list(params.ys)
    dummies = 0
    while len(a) % 2 == 0 or not any(math.gcd(ai, phi) == 1 for ai in a):
        ys.append((1 + source.randrange(p) * N) % L)  # ≡ 1 mod N: the result is unchanged
        a.append(1)
        dummies += 1
    n = len(a)
    units = [i for i, ai in enumerate(a) if math.gcd(ai, phi) == 1]
    bpv = generator if generator is not None else BPVGenerator.for_task(params, rk, options, source)
    if bpv.L != L or bpv.phi != phi:
        raise MalformedTask("the RandN table belongs to another modulus")
    g = bpv.g
    modulus = mpz(L)
    bits = options.coefficient_bits

    instances: list[HardenedInstance] = []
    for _ in range(options.rho):
        blind1 = [bpv.draw() for _ in range(n)]
        blind2 = [bpv.draw() for _ in range(n)]
        k3, v3 = bpv.draw()
        k4, v4 = bpv.draw()
        delta1 = _unit(phi, source)
        delta2 = _unit(phi, source)
        xi = source.choice(units)
        d = int(gmpy2.invert(mpz(a[xi]), mpz(phi)))
        while True:
            r = source.randrange(2, N)
            if math.gcd(r, L) == 1:
                break
        c1 = _distinct_coefficients(n, bits, source)
        c2 = _distinct_coefficients(n, bits, source)
        ws = [
            int(mpz(y) * gmpy2.invert(mpz(v), modulus) % modulus)
            for y, (_, v) in zip(ys, blind1, strict=True)
        ]
        y_prime = list(ys)
        y_prime[xi] = int(mpz(y_prime[xi]) * gmpy2.powmod(mpz(r), mpz(d), modulus) % modulus)
        w_primes = [
            int(mpz(y) * gmpy2.invert(mpz(v), modulus) % modulus)
            for y, (_, v) in zip(y_prime, blind2, strict=True)
        ]
        sum1 = sum(k * ai for (k, _), ai in zip(blind1, a, strict=True))
        sum2 = sum(k * ai for (k, _), ai in zip(blind2, a, strict=True))
        z1 = (sum1 - k3) * int(gmpy2.invert(mpz(delta1), mpz(phi))) % phi
        z2 = (sum2 - k4) * int(gmpy2.invert(mpz(delta2), mpz(phi))) % phi
        ms = tuple((ai - c * delta1 * z1) % phi for ai, c in zip(a, c1, strict=True))
        m_primes = tuple((ai - c * delta2 * z2) % phi for ai, c in zip(a, c2, strict=True))
        tk = EvaluationKey(_head(g, ws, c1, L, bits), z1, tuple(ws), ms)
        vk = WitnessKey(_head(g, w_primes, c2, L, bits), z2, tuple(w_primes), m_primes)
        aux = Aux(rv3=r * v3 % L, v4=v4, delta1=delta1, delta2=delta2)
        instances.append(HardenedInstance(tk, vk, aux, r, xi, (tuple(c1), tuple(c2))))

    canonical = [pair for inst in instances for pair in (*inst.tk.pairs(), *inst.vk.pairs())]
    permutation = list(range(len(canonical)))
    source.shuffle(permutation)
    task = ServerTask(L=L, pairs=tuple(canonical[j] for j in permutation))
    r0_inv = gmpy2.invert(mpz(instances[0].r), modulus)
    ratios = tuple(int(mpz(inst.r) * r0_inv % modulus) for inst in instances[1:])
    reveal = HardenedReveal(
        L=L, n=n, auxes=tuple(inst.aux for inst in instances), permutation=tuple(permutation), ratios=ratios
    )
    return HardenedKeys(tuple(instances), task, reveal, n, dummies)


def _unit(phi: int, rng: random.Random) -> int:
    while True:
        x = rng.randrange(1, phi)
        if math.gcd(x, phi) == 1:
            return x


def split_outputs(outputs: Sequence[int], reveal: HardenedReveal) -> list[tuple[SigmaE, PiE]]:
    """Un-shuffle the server's outputs into ``(σE, πE)`` per instance. A wrong number of outputs raises
    :class:`MalformedTask` (the verifier's count check)."""
    size = len(reveal.permutation)
    if len(outputs) != size:
        raise MalformedTask(f"{len(outputs)} outputs for a task of {size} pairs")
    canonical = [0] * size
    for position, index in enumerate(reveal.permutation):
        canonical[index] = outputs[position]
    block = 2 * reveal.n + 2
    half = reveal.n + 1
    result = []
    for c in range(len(reveal.auxes)):
        chunk = canonical[c * block : (c + 1) * block]
        result.append((SigmaE(chunk[0], tuple(chunk[1:half])), PiE(chunk[half], tuple(chunk[half + 1 :]))))
    return result


def hardened_verify(outputs: Sequence[int], reveal: HardenedReveal) -> tuple[bool, int]:
    """Every instance passes Algorithm 2 (``MExpmVerifier.verify``, unchanged) and the encoded results
    agree (``σ_c == ratio_c · σ_0 mod L``). Returns ``(True, σ_0)`` or ``(False, 0)``; malformed outputs
    (wrong count, a value not below L) raise :class:`MalformedTask` as the contract reverts."""
    sigmas = []
    for (sigma, pi), aux in zip(split_outputs(outputs, reveal), reveal.auxes, strict=True):
        ok, encoded = verify_encoded(sigma, pi, aux, reveal.L, reveal.n)
        if not ok:
            return False, 0
        sigmas.append(encoded)
    for encoded, ratio in zip(sigmas[1:], reveal.ratios, strict=True):
        if encoded != ratio * sigmas[0] % reveal.L:
            return False, 0
    return True, sigmas[0]


def hardened_recover(sigma0: int, keys: HardenedKeys, rk: RecoveryKey) -> int:
    """Recovery (Eq. 6) with instance 0's blinding: ``σ_0 · r_0^{-1} mod L mod N``."""
    L = keys.reveal.L
    check_int("sigma", sigma0, high=L)
    return int(mpz(sigma0) * gmpy2.invert(mpz(keys.r0), mpz(L)) % L % rk.N)

"""Data of the MExpm protocol core (spec 003 §2.3, §3): errors, parameters, keys and results.

Every dataclass is frozen and checks its own shape on construction (plain ``int`` values, non-negative,
in range where the bound is known, consistent counts). A violation raises :class:`MalformedTask`, a
``ValueError`` subclass. Checks that need the modulus of another object (e.g. a result below ``L``) are
done by the function that has both, with the same error type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class MExpmError(Exception):
    """Base class of every error raised by :mod:`offchain.modexp`."""


class MalformedTask(MExpmError, ValueError):  # noqa: N818 (the name the callers use)
    """An input of the protocol is malformed: wrong count, a value out of range, negative, a non-unit
    where a unit is required (spec 003 §7 #21, §8 req. 10). The contract reverts on the same inputs."""


class RandNTableExhausted(MExpmError, LookupError):  # noqa: N818 (reads as the state it reports)
    """:meth:`RandNTable.draw` was called on an empty table; precompute more pairs offline first."""


def check_int(name: str, value: object, *, low: int = 0, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high)`` (``high=None``: unbounded), else :class:`MalformedTask`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedTask(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise MalformedTask(f"{name} = {value} is below {low}")
    if high is not None and value >= high:
        raise MalformedTask(f"{name} is not below its modulus {high}")
    return value


def check_ints(name: str, values: tuple[int, ...], *, low: int = 0, high: int | None = None) -> None:
    """Every element of the tuple ``values`` passes :func:`check_int`."""
    if not isinstance(values, tuple):
        raise MalformedTask(f"{name} must be a tuple, got {type(values).__name__}")
    # Fast path for the common, valid case (KeyGen's online cost); the loop below names the bad element.
    if (
        all(type(value) is int for value in values)
        and (not values or min(values) >= low)
        and (high is None or not values or max(values) < high)
    ):
        return
    for i, value in enumerate(values):
        check_int(f"{name}[{i}]", value, low=low, high=high)


@dataclass(frozen=True)
class PublicParams:
    """``Params = {L, (y_i)}`` of Setup (spec 003 §3.1 (c)); public, sent to the IV and seen by the server."""

    L: int
    ys: tuple[int, ...]

    def __post_init__(self) -> None:
        check_int("L", self.L, low=3)
        if not self.ys:
            raise MalformedTask("Params needs at least one base (n >= 1)")
        check_ints("ys", self.ys, high=self.L)

    @property
    def n(self) -> int:
        """The batch size."""
        return len(self.ys)


@dataclass(frozen=True)
class RecoveryKey:
    """``RK = {N}`` (spec 003 §3.1 (c)): the task modulus, sent by the SA to the IV over a secure channel."""

    N: int

    def __post_init__(self) -> None:
        check_int("N", self.N, low=3)


@dataclass(frozen=True)
class SASecret:
    """The Service Agency's secret material of Setup (spec 003 §3.1): the mask prime ``p`` and the
    obfuscation multipliers ``k`` (one shared value in the faithful scheme; one per base when hardened,
    spec §7 #2). ``ks`` always holds n values; they are all equal in the faithful mode."""

    p: int
    ks: tuple[int, ...]

    def __post_init__(self) -> None:
        check_int("p", self.p, low=2)
        if not self.ks:
            raise MalformedTask("SASecret needs one k per base")
        check_ints("ks", self.ks)

    @property
    def shared_k(self) -> bool:
        """True when one ``k`` (hence one ``τ = kN``) masks every base, as in the paper."""
        return len(set(self.ks)) == 1


@dataclass(frozen=True)
class SplitKey:
    """One group of the logical split (spec 003 §3.2 lines 15-16): the head pair ``(g·∏w_i mod L, z)`` and
    the n pairs ``(w_i, m_i)``. :class:`EvaluationKey` is TK, :class:`WitnessKey` is VK."""

    head_base: int
    head_exponent: int
    bases: tuple[int, ...]
    exponents: tuple[int, ...]

    def __post_init__(self) -> None:
        check_int("head_base", self.head_base)
        check_int("head_exponent", self.head_exponent)
        check_ints("bases", self.bases)
        check_ints("exponents", self.exponents)
        if not self.bases or len(self.bases) != len(self.exponents):
            raise MalformedTask(
                f"{len(self.bases)} bases but {len(self.exponents)} exponents (need n >= 1 each)"
            )

    @property
    def n(self) -> int:
        """The number of (w_i, m_i) pairs."""
        return len(self.bases)

    def pairs(self) -> tuple[tuple[int, int], ...]:
        """The n+1 (base, exponent) pairs in canonical order: head first, then i = 1..n."""
        return ((self.head_base, self.head_exponent), *zip(self.bases, self.exponents, strict=True))


@dataclass(frozen=True)
class EvaluationKey(SplitKey):
    """TK = {(g·∏w_i, z1), (w_i, m_i)} (spec 003 §3.2 line 15)."""


@dataclass(frozen=True)
class WitnessKey(SplitKey):
    """VK = {(g·∏w'_i, z2), (w'_i, m'_i)} (spec 003 §3.2 line 16); w'_ξ carries the blinding r^d."""


@dataclass(frozen=True)
class Aux:
    """``Aux = {r·v3 mod L, v4, δ1, δ2}`` (spec 003 §3.2 line 17), the verifier's input besides the results.

    δ1, δ2 are units mod φ(L) (odd); the verifier treats them as arbitrary exponents (spec §7 #21)."""

    rv3: int
    v4: int
    delta1: int
    delta2: int

    def __post_init__(self) -> None:
        for name in ("rv3", "v4", "delta1", "delta2"):
            check_int(name, getattr(self, name))


@dataclass(frozen=True)
class IVSecret:
    """What the IV keeps after KeyGen (spec 003 §3.2 notes, §8 req. 3-4).

    * ``r``: the result blinding, needed by Recovery;
    * ``xi``: the 0-based index ξ whose VK base carries ``r^d``; ``d = a_ξ^{-1} mod φ(L)``;
    * ``pairs``: the four RandN pairs ``(k_j, v_j = g^{k_j} mod L)``, j = 1..4, and ``g``;
    * ``permutation``: position j of the shuffled server task holds canonical pair ``permutation[j]``,
      canonical order being ``(TK head, TK pairs 1..n, VK head, VK pairs 1..n)``, i.e. the outputs map
      back to ``(Q0, γ_1..γ_n, Q1, γ'_1..γ'_n)`` (spec §4.3 ``perm``);
    * ``dummy``: True when KeyGen appended the dummy term ``(u = 1, a = 1)`` because no exponent was a unit
      mod φ(L) (spec §7 #6); TK/VK/results then have n+1 entries.
    """

    r: int
    xi: int
    d: int
    g: int
    pairs: tuple[tuple[int, int], ...]
    permutation: tuple[int, ...]
    dummy: bool = False

    def __post_init__(self) -> None:
        check_int("r", self.r, low=2)
        check_int("xi", self.xi)
        check_int("d", self.d, low=1)
        check_int("g", self.g, low=2)
        if not isinstance(self.pairs, tuple) or len(self.pairs) != 4:
            raise MalformedTask("IVSecret needs exactly four RandN pairs")
        for j, (k, v) in enumerate(self.pairs):
            check_int(f"k{j + 1}", k)
            check_int(f"v{j + 1}", v)
        check_ints("permutation", self.permutation)
        if sorted(self.permutation) != list(range(len(self.permutation))) or len(self.permutation) < 4:
            raise MalformedTask("permutation must be a permutation of range(2n+2), n >= 1")
        if self.xi >= (len(self.permutation) - 2) // 2:
            raise MalformedTask(f"xi = {self.xi} is not a base index")


class KeyGenOutput(NamedTuple):
    """``(TK, VK, Aux, ivSecret)`` of KeyGen (spec 003 §2.3, §8 req. 3); unpacks as a 4-tuple."""

    tk: EvaluationKey
    vk: WitnessKey
    aux: Aux
    secret: IVSecret


@dataclass(frozen=True)
class ServerTask:
    """What the MEC server receives (spec 003 §3.2 notes, §7 #10): the modulus ``L`` and the 2n+2
    (base, exponent) pairs of TK ∪ VK in the IV's secret shuffled order."""

    L: int
    pairs: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        check_int("L", self.L, low=3)
        if not isinstance(self.pairs, tuple) or len(self.pairs) < 4 or len(self.pairs) % 2:
            raise MalformedTask("a server task has 2n+2 pairs, n >= 1")
        for j, (base, exponent) in enumerate(self.pairs):
            check_int(f"base[{j}]", base, high=self.L)
            check_int(f"exponent[{j}]", exponent)


@dataclass(frozen=True)
class SigmaE:
    """``σE = {Q0, (γ_i)}`` (spec 003 §3.3 (c)): the evaluation results."""

    q0: int
    gammas: tuple[int, ...]

    def __post_init__(self) -> None:
        check_int("q0", self.q0)
        check_ints("gammas", self.gammas)


@dataclass(frozen=True)
class PiE:
    """``πE = {Q1, (γ'_i)}`` (spec 003 §3.3 (c)): the witness results."""

    q1: int
    gamma_primes: tuple[int, ...]

    def __post_init__(self) -> None:
        check_int("q1", self.q1)
        check_ints("gamma_primes", self.gamma_primes)

"""k-variate polynomials of total degree d over F_q (spec 000 §3.1, R2).

Two representations, both public (the paper gives every CSN the same F: there is no function privacy):

* :class:`DensePolynomial`: all ``C(k+d, d)`` coefficients in a canonical order. Homogenise with
  ``z = (1, x_1, ..., x_k)``; the monomials of degree <= d in x are exactly the products
  ``z_{i_1} ... z_{i_d}`` with ``0 <= i_1 <= ... <= i_d <= k``, listed in lexicographic order
  (``itertools.combinations_with_replacement(range(k + 1), d)``). For d = 2 this is the upper triangle of a
  (k+1)x(k+1) matrix Q, row by row, and ``F(x) = z^T Q z``: the **d = 2 fast path** evaluates it with one
  FLINT matrix-vector product ``Q z`` and one dot product. Other degrees evaluate through FLINT's
  ``fmpz_mod_mpoly``.
* :class:`SparsePolynomial`: an explicit list of terms ``(exponents, coefficient)``.

Each polynomial has a digest H(F) (SHA-256 over a tagged, injective encoding; computed once and cached),
the ``H(F)`` of the task hashes ``ID_Tj = H(H(F) || j || ∂_j)`` (spec §7 #8). :meth:`prepare` builds the
evaluation structure once (the CSN caches prepared polynomials by digest), so the online computation is the
evaluation alone.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import flint

from offchain.crypto.hashing import sha256
from offchain.outsourcing.errors import InvalidParameters, MalformedMessage
from offchain.outsourcing.field import Field, get_field

DENSE_TAG = b"metatrust/bmeoc/F/dense/v1"
SPARSE_TAG = b"metatrust/bmeoc/F/sparse/v1"
MAX_VARIABLES = 1 << 20
MAX_DEGREE = 1 << 10
_MPOLY_CHUNK = 200_000


def dense_term_count(k: int, d: int) -> int:
    """The number of monomials of total degree <= d in k variables: ``C(k + d, d)``."""
    return math.comb(k + d, d)


def _check_shape(k: int, d: int) -> None:
    for name, value, high in (("k", k, MAX_VARIABLES), ("d", d, MAX_DEGREE)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise InvalidParameters(f"{name} must be an int in [1, {high}], got {value!r}")


class Polynomial(Protocol):
    """What the protocol needs of F: its field, shape, digest and evaluation."""

    field: Field
    k: int
    d: int

    @property
    def term_count(self) -> int: ...

    def digest(self) -> bytes:
        """H(F): 32 bytes, computed once."""
        ...

    def prepare(self) -> None:
        """Build the evaluation structure (FLINT matrix or mpoly) now rather than at the first evaluation."""
        ...

    def evaluate(self, point: Sequence[int]) -> int:
        """F(point) in F_q; ``point`` has k elements of F_q."""
        ...

    def to_wire(self) -> dict[str, Any]:
        """A JSON-ready description from which :func:`polynomial_from_wire` rebuilds F."""
        ...


def _mpoly_from_terms(
    field: Field, k: int, terms: Iterable[tuple[tuple[int, ...], int]]
) -> flint.fmpz_mod_mpoly:
    """An ``fmpz_mod_mpoly`` built chunk by chunk (bounded memory for millions of terms)."""
    ctx = flint.fmpz_mod_mpoly_ctx.get(("x", k), modulus=field.q)
    total = ctx.from_dict({})
    chunk: dict[tuple[int, ...], int] = {}
    for exponents, coefficient in terms:
        chunk[exponents] = coefficient
        if len(chunk) >= _MPOLY_CHUNK:
            total += ctx.from_dict(chunk)
            chunk = {}
    if chunk:
        total += ctx.from_dict(chunk)
    return total


def _evaluate_mpoly(poly: flint.fmpz_mod_mpoly, point: Sequence[int], q: int) -> int:
    return int(poly(*point)) % q


class DensePolynomial:
    """F with all ``C(k+d, d)`` coefficients in the canonical order of the module docstring."""

    def __init__(self, field: Field, k: int, d: int, coefficients: Sequence[int]) -> None:
        _check_shape(k, d)
        expected = dense_term_count(k, d)
        if len(coefficients) != expected:
            raise InvalidParameters(
                f"a dense F with k={k}, d={d} has {expected} coefficients, got {len(coefficients)}"
            )
        q = field.q
        if any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < q for c in coefficients):
            raise InvalidParameters("every coefficient must be an int in [0, q)")
        self.field = field
        self.k = k
        self.d = d
        self.coefficients: tuple[int, ...] = tuple(coefficients)
        self._digest: bytes | None = None
        self._matrix: flint.fmpz_mod_mat | None = None
        self._mpoly: flint.fmpz_mod_mpoly | None = None

    def __repr__(self) -> str:
        return f"DensePolynomial(q={self.field.q}, k={self.k}, d={self.d}, terms={self.term_count})"

    @property
    def term_count(self) -> int:
        return len(self.coefficients)

    @property
    def is_quadratic_form(self) -> bool:
        """Whether the d = 2 fast path applies."""
        return self.d == 2

    def monomials(self) -> Iterable[tuple[int, ...]]:
        """The exponent vectors (length k) of the coefficients, in order."""
        k = self.k
        for combo in itertools.combinations_with_replacement(range(k + 1), self.d):
            exponents = [0] * (k + 1)
            for index in combo:
                exponents[index] += 1
            yield tuple(exponents[1:])

    def digest(self) -> bytes:
        if self._digest is None:
            header = (
                DENSE_TAG
                + self.field.encode(self.field.q)
                + self.k.to_bytes(4, "big")
                + self.d.to_bytes(4, "big")
            )
            self._digest = sha256(header + self.field.encode_vector(self.coefficients))
        return self._digest

    def quadratic_matrix(self) -> flint.fmpz_mod_mat:
        """The upper-triangular (k+1)x(k+1) matrix Q with ``F(x) = z^T Q z`` (d = 2 only; built once)."""
        if self.d != 2:
            raise InvalidParameters("the quadratic-form matrix exists only for d = 2")
        if self._matrix is None:
            n = self.k + 1
            matrix = flint.fmpz_mod_mat(n, n, self.field.ctx)  # zero; setting entries beats a 4M-entry list
            coefficients = iter(self.coefficients)
            for row in range(n):
                for column in range(row, n):
                    matrix[row, column] = next(coefficients)
            self._matrix = matrix
        return self._matrix

    def prepare(self) -> None:
        if self.d == 2:
            self.quadratic_matrix()
        elif self.d > 1 and self._mpoly is None:
            self._mpoly = _mpoly_from_terms(
                self.field, self.k, zip(self.monomials(), self.coefficients, strict=True)
            )

    def evaluate(self, point: Sequence[int]) -> int:
        if len(point) != self.k:
            raise InvalidParameters(f"F takes {self.k} variables, got a point of length {len(point)}")
        q = self.field.q
        if self.d == 1:
            c = self.coefficients
            return (c[0] + sum(a * b for a, b in zip(c[1:], point, strict=True))) % q
        if self.d == 2:
            return evaluate_quadratic_form(self.quadratic_matrix(), point, self.field)
        if self._mpoly is None:
            self.prepare()
        assert self._mpoly is not None
        return _evaluate_mpoly(self._mpoly, point, q)

    def to_wire(self) -> dict[str, Any]:
        return {
            "kind": "dense",
            "q": str(self.field.q),
            "k": self.k,
            "d": self.d,
            "coefficients": self.field.encode_vector(self.coefficients).hex(),
        }


def evaluate_quadratic_form(matrix: flint.fmpz_mod_mat, point: Sequence[int], field: Field) -> int:
    """``z^T (Q z)`` with ``z = (1, point)``: one FLINT matrix-vector product and one dot product."""
    n = matrix.nrows()
    z = flint.fmpz_mod_mat(n, 1, [1, *point], field.ctx)
    product = matrix * z
    return int((z.transpose() * product)[0, 0])


class SparsePolynomial:
    """F given by its nonzero terms ``{exponents: coefficient}`` (merged, zero terms dropped, sorted)."""

    def __init__(self, field: Field, k: int, terms: Mapping[tuple[int, ...], int]) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_VARIABLES:
            raise InvalidParameters(f"k must be an int in [1, {MAX_VARIABLES}], got {k!r}")
        clean: dict[tuple[int, ...], int] = {}
        for exponents, coefficient in terms.items():
            if len(exponents) != k or any(
                isinstance(e, bool) or not isinstance(e, int) or e < 0 for e in exponents
            ):
                raise InvalidParameters(f"exponent vectors must be {k} non-negative ints, got {exponents!r}")
            if isinstance(coefficient, bool) or not isinstance(coefficient, int):
                raise InvalidParameters("coefficients must be ints")
            value = (clean.get(tuple(exponents), 0) + coefficient) % field.q
            clean[tuple(exponents)] = value
        self.field = field
        self.k = k
        self.terms: tuple[tuple[tuple[int, ...], int], ...] = tuple(
            sorted((e, c) for e, c in clean.items() if c)
        )
        self.d = max((sum(e) for e, _ in self.terms), default=0)
        if self.d > MAX_DEGREE:
            raise InvalidParameters(f"total degree {self.d} exceeds {MAX_DEGREE}")
        self._digest: bytes | None = None
        self._mpoly: flint.fmpz_mod_mpoly | None = None

    def __repr__(self) -> str:
        return f"SparsePolynomial(q={self.field.q}, k={self.k}, d={self.d}, terms={self.term_count})"

    @property
    def term_count(self) -> int:
        return len(self.terms)

    def digest(self) -> bytes:
        if self._digest is None:
            parts = [
                SPARSE_TAG,
                self.field.encode(self.field.q),
                self.k.to_bytes(4, "big"),
                len(self.terms).to_bytes(8, "big"),
            ]
            for exponents, coefficient in self.terms:
                nonzero = [(i, e) for i, e in enumerate(exponents) if e]
                parts.append(len(nonzero).to_bytes(4, "big"))
                parts.extend(i.to_bytes(4, "big") + e.to_bytes(4, "big") for i, e in nonzero)
                parts.append(self.field.encode(coefficient))
            self._digest = sha256(b"".join(parts))
        return self._digest

    def prepare(self) -> None:
        if self._mpoly is None:
            self._mpoly = _mpoly_from_terms(self.field, self.k, self.terms)

    def evaluate(self, point: Sequence[int]) -> int:
        if len(point) != self.k:
            raise InvalidParameters(f"F takes {self.k} variables, got a point of length {len(point)}")
        self.prepare()
        assert self._mpoly is not None
        return _evaluate_mpoly(self._mpoly, point, self.field.q)

    def to_wire(self) -> dict[str, Any]:
        return {
            "kind": "sparse",
            "q": str(self.field.q),
            "k": self.k,
            "terms": [
                [[[i, e] for i, e in enumerate(exponents) if e], hex(coefficient)]
                for exponents, coefficient in self.terms
            ],
        }


def random_dense(field: Field, k: int, d: int, rng: random.Random | None = None) -> DensePolynomial:
    """A uniformly random dense F with exactly ``C(k+d, d)`` coefficients (R2)."""
    _check_shape(k, d)
    return DensePolynomial(field, k, d, field.random_elements(dense_term_count(k, d), rng))


def direct_evaluate(polynomial: DensePolynomial | SparsePolynomial, point: Sequence[int]) -> int:
    """Term-by-term evaluation in pure Python: an independent reference for tests (slow)."""
    q = polynomial.field.q
    terms: Iterable[tuple[tuple[int, ...], int]]
    if isinstance(polynomial, DensePolynomial):
        terms = zip(polynomial.monomials(), polynomial.coefficients, strict=True)
    else:
        terms = polynomial.terms
    total = 0
    for exponents, coefficient in terms:
        value = coefficient
        for variable, exponent in enumerate(exponents):
            if exponent:
                value = value * pow(point[variable], exponent, q) % q
        total += value
    return total % q


def polynomial_from_wire(
    data: Mapping[str, Any], *, max_terms: int = 50_000_000
) -> DensePolynomial | SparsePolynomial:
    """Rebuild F from :meth:`to_wire` output; raises :class:`MalformedMessage` for anything malformed."""
    try:
        field = get_field(int(data["q"]))
        k = int(data["k"])
        kind = data["kind"]
        if kind == "dense":
            d = int(data["d"])
            _check_shape(k, d)
            if dense_term_count(k, d) > max_terms:
                raise MalformedMessage(f"F has more than {max_terms} terms")
            raw = bytes.fromhex(str(data["coefficients"]))
            return DensePolynomial(field, k, d, field.decode_vector(raw))
        if kind == "sparse":
            items = data["terms"]
            if not isinstance(items, list) or len(items) > max_terms:
                raise MalformedMessage("terms must be a list of at most max_terms entries")
            terms: dict[tuple[int, ...], int] = {}
            for pairs, coefficient in items:
                exponents = [0] * k
                for variable, exponent in pairs:
                    exponents[int(variable)] = int(exponent)
                key = tuple(exponents)
                if key in terms:
                    raise MalformedMessage("a monomial appears twice")
                terms[key] = int(str(coefficient), 16)
            return SparsePolynomial(field, k, terms)
        raise MalformedMessage(f"unknown polynomial kind {kind!r}")
    except MalformedMessage:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise MalformedMessage(f"malformed polynomial: {exc}") from exc


AnyPolynomial = DensePolynomial | SparsePolynomial

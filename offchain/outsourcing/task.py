"""MTD side of Meta-BMEOC (spec 000 §3.4, R3-R5): parameters, Shamir shares of x and α, task hashes, TX_t.

Task processing is :func:`prepare_task` = :func:`sample_secret` + :func:`make_shares` + :func:`task_hash`
for every j + :func:`build_task_transaction` (one MTD signature over TX_t, Eq. 6). Each step is a pure
function, so a benchmark can time them apart (F generation is not part of it).

* ``v(μ) = x + Σ_{i=1..t} r_i μ^i`` (Eq. 3), ``w(μ) = α + Σ_{i=1..t} γ_i μ^i`` (Eq. 4), α ∈ F_q^*;
* ``∂_j = (v(j), w(j))`` for ``j = 1..m`` (Eq. 5), ``m >= (d+1)t + 1`` (default equality, R4);
* ``ID_Tj = H(H(F) || j || ∂_j)`` with H(F) computed once (spec §7 #8; the paper hashes F in every ID_Tj);
* ``TX_t = (ID, ID_T, ID_M, Dep., m, Sig, Other)`` with ``Other = (k, d, t, q, H(F), timestamp)``; the
  signature is EIP-191 over :meth:`TaskTransaction.digest` (a Keccak-256 over a packed encoding that a
  contract can recompute with ``abi.encodePacked``).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from offchain.crypto.errors import SignatureError
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import recover_message_signer, sign_message
from offchain.outsourcing.errors import InvalidParameters, MalformedMessage
from offchain.outsourcing.field import Field, get_field
from offchain.outsourcing.polynomial import AnyPolynomial

TASK_HASH_TAG = b"metatrust/bmeoc/task/v1"
TX_TAG = b"metatrust/bmeoc/TX_t/v1"


def required_servers(d: int, t: int) -> int:
    """``m = (d+1)t + 1``: the points needed to interpolate ψ of degree <= (d+1)t."""
    return (d + 1) * t + 1


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise InvalidParameters(f"{name} must be an int {bound}, got {value!r}")
    return value


@dataclass(frozen=True)
class TaskParams:
    """``(q, k, d, t, m)`` of one task, checked (R1, R4)."""

    q: int
    k: int
    d: int
    t: int
    m: int

    def __post_init__(self) -> None:
        get_field(self.q)  # prime check
        _check_int("k", self.k, 1)
        _check_int("d", self.d, 1)
        _check_int("t", self.t, 1)
        _check_int("m", self.m, 1)
        if self.m < required_servers(self.d, self.t):
            raise InvalidParameters(f"m = {self.m} < (d+1)t+1 = {required_servers(self.d, self.t)}")
        if self.m >= self.q:
            raise InvalidParameters(
                "m must be below q (the evaluation points 1..m must be distinct and nonzero)"
            )

    @property
    def field(self) -> Field:
        return get_field(self.q)

    @classmethod
    def for_polynomial(cls, polynomial: AnyPolynomial, t: int, m: int | None = None) -> TaskParams:
        """Parameters for F with threshold t; ``m`` defaults to ``(d+1)t+1``."""
        _check_int("t", t, 1)
        d = max(polynomial.d, 1)
        return cls(polynomial.field.q, polynomial.k, d, t, m if m is not None else required_servers(d, t))


@dataclass(frozen=True)
class SharingSecret:
    """The MTD's secrets: the verification key α and the randomness r_1..r_t (vectors), γ_1..γ_t."""

    alpha: int
    r: tuple[tuple[int, ...], ...]
    gamma: tuple[int, ...]

    def __repr__(self) -> str:
        return f"SharingSecret(t={len(self.gamma)}, <hidden>)"


@dataclass(frozen=True)
class Share:
    """``∂_j = (v(j), w(j))`` for evaluation point j."""

    j: int
    v: tuple[int, ...]
    w: int

    def __repr__(self) -> str:
        return f"Share(j={self.j}, k={len(self.v)}, <hidden>)"

    def encode(self, field: Field) -> bytes:
        """``j (4 bytes) || v(j) || w(j)``, elements at the field's width."""
        return self.j.to_bytes(4, "big") + field.encode_vector(self.v) + field.encode(self.w)

    @classmethod
    def decode(cls, field: Field, k: int, data: bytes) -> Share:
        width = field.width
        if len(data) != 4 + (k + 1) * width:
            raise MalformedMessage(f"a share for k={k} is {4 + (k + 1) * width} bytes, got {len(data)}")
        values = field.decode_vector(data[4:])
        j = int.from_bytes(data[:4], "big")
        if j < 1:
            raise MalformedMessage("a share's index j is at least 1")
        return cls(j, values[:k], values[k])


def sample_secret(field: Field, k: int, t: int, rng: random.Random | None = None) -> SharingSecret:
    """α uniform in F_q^*, r_1..r_t uniform in F_q^k, γ_1..γ_t uniform in F_q (CSPRNG unless ``rng``)."""
    alpha = field.random_nonzero(rng)
    flat = field.random_elements(k * t + t, rng)
    r = tuple(tuple(flat[i * k : (i + 1) * k]) for i in range(t))
    return SharingSecret(alpha, r, tuple(flat[k * t :]))


def make_shares(field: Field, x: Sequence[int], secret: SharingSecret, points: Sequence[int]) -> list[Share]:
    """``∂_j = (v(j), w(j))`` for every j in ``points`` (Eqs. 3-5), by Horner's rule over the vectors."""
    q = field.q
    t = len(secret.gamma)
    if len(secret.r) != t:
        raise InvalidParameters("r and γ must both have t entries")
    shares: list[Share] = []
    for j in points:
        v: list[int] = list(secret.r[t - 1])
        for i in range(t - 2, -1, -1):
            v = [a * j + b for a, b in zip(v, secret.r[i], strict=True)]
        v = [(a * j + b) % q for a, b in zip(v, x, strict=True)]
        w = 0
        for coefficient in reversed(secret.gamma):
            w = (w + coefficient) * j
        shares.append(Share(j, tuple(v), (w + secret.alpha) % q))
    return shares


def task_hash(field: Field, polynomial_digest: bytes, share: Share) -> bytes:
    """``ID_Tj = keccak256(tag || H(F) || j || v(j) || w(j))``."""
    return keccak256(TASK_HASH_TAG + polynomial_digest + share.encode(field))


@dataclass(frozen=True)
class TaskTransaction:
    """``TX_t`` (Eq. 6): task id, the m task hashes, the MTD's address, deposit, m, Other, one signature."""

    task_id: bytes
    task_hashes: tuple[bytes, ...]
    mtd: str
    deposit: int
    params: TaskParams
    polynomial_digest: bytes
    timestamp: int
    signature: bytes = field(default=b"", compare=False)

    def __post_init__(self) -> None:
        if len(self.task_id) != 32 or len(self.polynomial_digest) != 32:
            raise MalformedMessage("task_id and polynomial_digest are 32 bytes")
        if len(self.task_hashes) != self.params.m or any(len(h) != 32 for h in self.task_hashes):
            raise MalformedMessage(f"ID_T must hold m = {self.params.m} hashes of 32 bytes")
        _check_int("deposit", self.deposit, 0, 2**256 - 1)
        _check_int("timestamp", self.timestamp, 0, 2**64 - 1)

    @property
    def m(self) -> int:
        return self.params.m

    def digest(self) -> bytes:
        """What the MTD signs: keccak256 of the packed fields (every integer 32 bytes, address 20 bytes)."""
        p = self.params

        def word(value: int) -> bytes:
            return (
                value.to_bytes(32, "big")
                if value < 2**256
                else keccak256(value.to_bytes((value.bit_length() + 7) // 8, "big"))
            )

        return keccak256(
            TX_TAG
            + self.task_id
            + bytes.fromhex(self.mtd[2:])
            + word(self.deposit)
            + word(p.m)
            + word(p.k)
            + word(p.d)
            + word(p.t)
            + word(p.q)
            + self.polynomial_digest
            + word(self.timestamp)
            + keccak256(b"".join(self.task_hashes))
        )

    def signer(self) -> str:
        """The address that signed TX_t (raises :class:`MalformedMessage` for a malformed signature)."""
        try:
            return recover_message_signer(self.digest(), self.signature)
        except SignatureError as exc:
            raise MalformedMessage(f"TX_t signature is malformed: {exc}") from exc

    def is_signed_by_mtd(self) -> bool:
        try:
            return self.signer() == self.mtd
        except MalformedMessage:
            return False


def new_task_id() -> bytes:
    return os.urandom(32)


def build_task_transaction(
    mtd: KeyPair,
    params: TaskParams,
    polynomial_digest: bytes,
    task_hashes: Sequence[bytes],
    *,
    deposit: int = 0,
    task_id: bytes | None = None,
    timestamp: int | None = None,
) -> TaskTransaction:
    """TX_t with the MTD's single signature (R5)."""
    unsigned = TaskTransaction(
        task_id=task_id if task_id is not None else new_task_id(),
        task_hashes=tuple(task_hashes),
        mtd=mtd.address,
        deposit=deposit,
        params=params,
        polynomial_digest=polynomial_digest,
        timestamp=int(time.time()) if timestamp is None else timestamp,
    )
    return TaskTransaction(**{**unsigned.__dict__, "signature": sign_message(mtd, unsigned.digest())})


@dataclass(frozen=True)
class TaskShare:
    """``T_j`` as CSN j receives it (Algorithm 1's form ``(ID_T, f_j, ∂_j, pk_M, Sig_T)``): TX_t + j + ∂_j.

    F travels beside it (public; the CSN caches it by digest). Only ``share`` is secret.
    """

    transaction: TaskTransaction
    share: Share

    @property
    def j(self) -> int:
        return self.share.j


@dataclass(frozen=True)
class PreparedTask:
    """The output of task processing: what the MTD keeps (``secret``) and what it sends."""

    params: TaskParams
    secret: SharingSecret
    shares: tuple[Share, ...]
    transaction: TaskTransaction

    def task_for(self, j: int) -> TaskShare:
        """``T_j`` for the CSN at index j (1-based)."""
        return TaskShare(self.transaction, self.shares[j - 1])


def prepare_task(
    mtd: KeyPair,
    polynomial: AnyPolynomial,
    x: Sequence[int],
    t: int,
    *,
    m: int | None = None,
    deposit: int = 0,
    rng: random.Random | None = None,
    task_id: bytes | None = None,
    timestamp: int | None = None,
) -> PreparedTask:
    """Task processing (stage (a) of the paper's Fig. 4): sample, share, hash, sign."""
    params = TaskParams.for_polynomial(polynomial, t, m)
    field = polynomial.field
    if len(x) != params.k:
        raise InvalidParameters(f"x must have k = {params.k} elements, got {len(x)}")
    for i, value in enumerate(x):
        field.check(f"x[{i}]", value)
    secret = sample_secret(field, params.k, t, rng)
    shares = make_shares(field, x, secret, range(1, params.m + 1))
    digest = polynomial.digest()
    hashes = [task_hash(field, digest, share) for share in shares]
    transaction = build_task_transaction(
        mtd, params, digest, hashes, deposit=deposit, task_id=task_id, timestamp=timestamp
    )
    return PreparedTask(params, secret, tuple(shares), transaction)

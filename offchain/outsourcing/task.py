"""MTD side of Meta-BMEOC (spec 000 §3.4, R3-R5): parameters, Shamir shares of x and α, task hashes, TX_t.

Task processing is :func:`prepare_task` = :func:`sample_secret` + :func:`make_shares` + :func:`task_hash`
for every j + :func:`build_task_transaction` (one MTD signature over TX_t, Eq. 6). Each step is a pure
function, so a benchmark can time them apart (F generation is not part of it).

* ``v(μ) = x + Σ_{i=1..t} r_i μ^i`` (Eq. 3), ``w(μ) = α + Σ_{i=1..t} γ_i μ^i`` (Eq. 4), α ∈ F_q^*;
* ``∂_j = (v(j), w(j))`` for ``j = 1..m`` (Eq. 5), ``m >= (d+1)t + 1`` (default equality, R4);
* ``ID_Tj = H(H(F) || j || ∂_j)`` (H = SHA-256) with H(F) computed once (spec §7 #8; the paper hashes F
  in every ID_Tj);
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
from offchain.crypto.hashing import keccak256, sha256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import recover_message_signer, sign_message
from offchain.outsourcing.errors import InvalidParameters, MalformedMessage
from offchain.outsourcing.field import Field, get_field
from offchain.outsourcing.packed import Packer, packer_for
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


class SharingSecret:
    """The MTD's secrets: the verification key α and the randomness r_1..r_t (vectors), γ_1..γ_t.

    ``r`` may be held packed (:mod:`.packed`) and is then decoded only when read.
    """

    __slots__ = ("_packer", "_r", "_r_packed", "alpha", "gamma")

    def __init__(self, alpha: int, r: Sequence[Sequence[int]], gamma: Sequence[int]) -> None:
        self.alpha = alpha
        self.gamma = tuple(gamma)
        self._r: tuple[tuple[int, ...], ...] | None = tuple(tuple(v) for v in r)
        self._r_packed: list[int] | None = None
        self._packer: Packer | None = None

    @classmethod
    def from_packed(
        cls, alpha: int, r_packed: Sequence[int], gamma: Sequence[int], packer: Packer
    ) -> SharingSecret:
        """A secret whose r_i are packed vectors of reduced elements (see :mod:`.packed`)."""
        secret = cls(alpha, (), gamma)
        secret._r, secret._r_packed, secret._packer = None, list(r_packed), packer
        return secret

    @property
    def t(self) -> int:
        return len(self.gamma)

    @property
    def r(self) -> tuple[tuple[int, ...], ...]:
        if self._r is None:
            assert self._r_packed is not None
            assert self._packer is not None
            self._r = tuple(self._packer.unpack(v) for v in self._r_packed)
        return self._r

    def packed_r(self, packer: Packer) -> list[int]:
        """The r_i as packed vectors for ``packer``."""
        if self._r_packed is not None and self._packer == packer:
            return self._r_packed
        return [packer.pack(v) for v in self.r]

    def __repr__(self) -> str:
        return f"SharingSecret(t={self.t}, <hidden>)"


class Share:
    """``∂_j = (v(j), w(j))`` for evaluation point j (``v`` may be held encoded and decoded when read)."""

    __slots__ = ("_field", "_v", "_v_bytes", "j", "w")

    def __init__(self, j: int, v: Sequence[int], w: int) -> None:
        self.j = j
        self.w = w
        self._v: tuple[int, ...] | None = tuple(v)
        self._v_bytes: bytes | None = None
        self._field: Field | None = None

    @classmethod
    def from_encoded(cls, j: int, field: Field, v_bytes: bytes, w: int) -> Share:
        """A share whose v(j) is given as :meth:`Field.encode_vector` bytes (checked when decoded)."""
        share = cls(j, (), w)
        share._v, share._v_bytes, share._field = None, v_bytes, field
        return share

    @property
    def v(self) -> tuple[int, ...]:
        if self._v is None:
            assert self._field is not None
            assert self._v_bytes is not None
            self._v = self._field.decode_vector(self._v_bytes)
        return self._v

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Share):
            return NotImplemented
        return (self.j, self.w, self.v) == (other.j, other.w, other.v)

    def __hash__(self) -> int:
        return hash((self.j, self.w, self.v))

    def __repr__(self) -> str:
        return f"Share(j={self.j}, k={len(self.v)}, <hidden>)"

    def encode(self, field: Field) -> bytes:
        """``j (4 bytes) || v(j) || w(j)``, elements at the field's width."""
        if self._v_bytes is not None and self._field == field:
            v_bytes = self._v_bytes
        else:
            v_bytes = field.encode_vector(self.v)
        return self.j.to_bytes(4, "big") + v_bytes + field.encode(self.w)

    @classmethod
    def decode(cls, field: Field, k: int, data: bytes) -> Share:
        width = field.width
        if len(data) != 4 + (k + 1) * width:
            raise MalformedMessage(f"a share for k={k} is {4 + (k + 1) * width} bytes, got {len(data)}")
        j = int.from_bytes(data[:4], "big")
        if j < 1:
            raise MalformedMessage("a share's index j is at least 1")
        w = field.decode_vector(data[4 + k * width :])[0]
        share = cls.from_encoded(j, field, data[4 : 4 + k * width], w)
        share.v  # noqa: B018 (decode now: every element must be below q)
        return share


def sample_secret(field: Field, k: int, t: int, rng: random.Random | None = None) -> SharingSecret:
    """α uniform in F_q^*, r_1..r_t uniform in F_q^k, γ_1..γ_t uniform in F_q (CSPRNG unless ``rng``).

    With the OS CSPRNG and a pseudo-Mersenne q (the default) the r_i are drawn packed (:mod:`.packed`;
    statistical distance from uniform below 2^-119 per element).
    """
    alpha = field.random_nonzero(rng)
    packer = packer_for(field, k) if rng is None else None
    if packer is not None:
        gamma = field.random_elements(t)
        return SharingSecret.from_packed(alpha, [packer.random() for _ in range(t)], gamma, packer)
    flat = field.random_elements(k * t + t, rng)
    r = tuple(tuple(flat[i * k : (i + 1) * k]) for i in range(t))
    return SharingSecret(alpha, r, tuple(flat[k * t :]))


def _w_at(field: Field, secret: SharingSecret, j: int) -> int:
    w = 0
    for coefficient in reversed(secret.gamma):
        w = (w + coefficient) * j
    return (w + secret.alpha) % field.q


def make_shares(field: Field, x: Sequence[int], secret: SharingSecret, points: Sequence[int]) -> list[Share]:
    """``∂_j = (v(j), w(j))`` for every j in ``points`` (Eqs. 3-5), by Horner's rule over the vectors.

    For a pseudo-Mersenne q (the default) the vectors are combined packed (a few big-integer operations per
    share, and the result is already the encoding ID_Tj hashes); otherwise element by element. Both paths
    give the same shares.
    """
    q = field.q
    t = secret.t
    if t < 1:
        raise InvalidParameters("t must be at least 1")
    packer = packer_for(field, len(x))
    if packer is not None and all(0 < j < q for j in points):
        packed_r = secret.packed_r(packer)
        if len(packed_r) != t:
            raise InvalidParameters("r and γ must both have t entries")
        combined = packer.combine(list(points), packer.pack(list(x)), packed_r)
        return [
            Share.from_encoded(j, field, packer.to_bytes(v), _w_at(field, secret, j))
            for j, v in zip(points, combined, strict=True)
        ]
    if len(secret.r) != t:
        raise InvalidParameters("r and γ must both have t entries")
    shares: list[Share] = []
    for j in points:
        v: list[int] = list(secret.r[t - 1])
        for i in range(t - 2, -1, -1):
            v = [a * j + b for a, b in zip(v, secret.r[i], strict=True)]
        v = [(a * j + b) % q for a, b in zip(v, x, strict=True)]
        shares.append(Share(j, tuple(v), _w_at(field, secret, j)))
    return shares


def task_hash(field: Field, polynomial_digest: bytes, share: Share) -> bytes:
    """``ID_Tj = SHA-256(tag || H(F) || j || v(j) || w(j))`` (SHA-256: hardware-accelerated, 7x Keccak here;
    ID_Tj is never recomputed on chain, and the EVM has a SHA-256 precompile anyway)."""
    return sha256(TASK_HASH_TAG + polynomial_digest + share.encode(field))


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

"""The two baselines of the paper's evaluation, as approximations (spec §7 items 29-30).

* **Zhang-Wang + signatures** (the paper's [2], "second proposed solution", augmented with digital
  signatures). The paper does not describe it; its text implies the same math as Meta-BMEOC (same shares,
  c_j, b_j, Eq. 9) with one MTD signature *per server* instead of one over TX_t. So: the same core, the MTD
  signs every T_j (m signatures), and each CSN checks the MTD's signature on its own T_j before computing.
* **FVP-EOC-style accountability** (the paper's [6]): redundant computation and voting on ElGamal
  ciphertexts. Each subtask is given to ``replicas`` servers (3 by default: the paper's "at least three
  times the number of edge servers"); each returns ``Enc(c_j)`` (EC-ElGamal on secp256k1, ``c_j·G``
  encrypted under the MTD's key) with its signature; accountability checks every signature, decrypts every
  ciphertext and flags the replicas outside the majority of their subtask.

Neither is the original scheme; both exist to reproduce the paper's comparisons (Figs. 4 and 5) with the
same primitives as ours.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from coincurve import PrivateKey, PublicKey

from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import recover_message_signer, sign_message
from offchain.outsourcing.csn import CSNResult, compute_share, sign_result
from offchain.outsourcing.field import Field
from offchain.outsourcing.polynomial import AnyPolynomial
from offchain.outsourcing.task import (
    Share,
    SharingSecret,
    TaskParams,
    make_shares,
    new_task_id,
    sample_secret,
    task_hash,
)
from offchain.outsourcing.verify import Verification, reconstruct

ZW_TASK_TAG = b"metatrust/bmeoc/baseline/zhang-wang/T_j/v1"
FVP_RESULT_TAG = b"metatrust/bmeoc/baseline/fvp-eoc/R/v1"
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


# ------------------------------------------------------------------------- Zhang-Wang + signatures


@dataclass(frozen=True)
class SignedSubtask:
    """One T_j of the baseline: the share, its hash and the MTD's own signature on it."""

    task_id: bytes
    share: Share
    task_hash: bytes
    signature: bytes


@dataclass(frozen=True)
class BaselineTask:
    params: TaskParams
    secret: SharingSecret
    subtasks: tuple[SignedSubtask, ...]


def _subtask_digest(task_id: bytes, j: int, id_tj: bytes) -> bytes:
    return ZW_TASK_TAG + task_id + j.to_bytes(32, "big") + id_tj


def zw_prepare(mtd: KeyPair, polynomial: AnyPolynomial, x: Sequence[int], t: int) -> BaselineTask:
    """Task processing of the baseline: sample, share, hash, and sign each of the m subtasks."""
    params = TaskParams.for_polynomial(polynomial, t)
    field = polynomial.field
    secret = sample_secret(field, params.k, t)
    shares = make_shares(field, x, secret, range(1, params.m + 1))
    digest = polynomial.digest()
    task_id = new_task_id()
    subtasks = []
    for share in shares:
        id_tj = task_hash(field, digest, share)
        signature = sign_message(mtd, _subtask_digest(task_id, share.j, id_tj))
        subtasks.append(SignedSubtask(task_id, share, id_tj, signature))
    return BaselineTask(params, secret, tuple(subtasks))


def zw_process(csn: KeyPair, subtask: SignedSubtask, polynomial: AnyPolynomial, mtd: str) -> CSNResult:
    """Online computation of the baseline: check the MTD's signature on T_j, compute, sign."""
    field = polynomial.field
    id_tj = task_hash(field, polynomial.digest(), subtask.share)
    if id_tj != subtask.task_hash:
        raise ValueError("T_j does not hash to its ID_Tj")
    if (
        recover_message_signer(_subtask_digest(subtask.task_id, subtask.share.j, id_tj), subtask.signature)
        != mtd
    ):
        raise ValueError("T_j is not signed by the MTD")
    c, b = compute_share(polynomial, subtask.share)
    return sign_result(csn, field, subtask.task_id, subtask.share.j, id_tj, c, b)


def zw_verify(
    field: Field, task: BaselineTask, results: Sequence[CSNResult], group: Sequence[str]
) -> Verification:
    """Verification of the baseline: the same m signature checks and reconstruction as ours."""
    for subtask, result, csn in zip(task.subtasks, results, group, strict=True):
        if result.task_hash != subtask.task_hash or result.signer(field) != csn:
            return Verification(False, None, f"R_{subtask.share.j} is not authentic")
    return reconstruct(
        field, [r.c for r in results], [r.b for r in results], task.secret.alpha, task.params.d, task.params.t
    )


# ------------------------------------------------------------------------- FVP-EOC-style voting


@dataclass(frozen=True)
class ElGamalCiphertext:
    c1: bytes
    c2: bytes


def elgamal_encrypt(recipient: PublicKey, value: int) -> ElGamalCiphertext:
    """EC-ElGamal of ``value·G`` (value reduced mod the curve order, never 0 for a 128-bit field)."""
    message = PrivateKey.from_int(value % SECP256K1_ORDER or 1).public_key
    ephemeral = secrets.randbelow(SECP256K1_ORDER - 1) + 1
    c1 = PrivateKey.from_int(ephemeral).public_key
    shared = recipient.multiply(ephemeral.to_bytes(32, "big"))
    return ElGamalCiphertext(c1.format(), PublicKey.combine_keys([message, shared]).format())


def elgamal_decrypt(private: int, ciphertext: ElGamalCiphertext) -> bytes:
    """The plaintext point ``c2 - x·c1`` (compressed), enough for equality tests."""
    negated = PublicKey(ciphertext.c1).multiply((SECP256K1_ORDER - private).to_bytes(32, "big"))
    return PublicKey.combine_keys([PublicKey(ciphertext.c2), negated]).format()


@dataclass(frozen=True)
class ReplicaResult:
    subtask: int
    replica: int
    ciphertext: ElGamalCiphertext
    signature: bytes

    def digest(self) -> bytes:
        return (
            FVP_RESULT_TAG
            + self.subtask.to_bytes(32, "big")
            + self.replica.to_bytes(32, "big")
            + self.ciphertext.c1
            + self.ciphertext.c2
        )


def fvp_result(server: KeyPair, mtd_key: PublicKey, subtask: int, replica: int, value: int) -> ReplicaResult:
    """A replica server's answer: Enc(c_j) under the MTD's key, signed."""
    ciphertext = elgamal_encrypt(mtd_key, value)
    unsigned = ReplicaResult(subtask, replica, ciphertext, b"")
    return ReplicaResult(subtask, replica, ciphertext, sign_message(server, unsigned.digest()))


def fvp_accountability(
    private: int, results: Sequence[ReplicaResult], servers: Sequence[str], replicas: int
) -> list[str]:
    """Check every replica's signature, decrypt, vote per subtask; return the servers outside the majority.

    ``results[i]`` and ``servers[i]`` belong to subtask ``i // replicas``."""
    if len(results) != len(servers) or len(results) % replicas:
        raise ValueError("need the same number of results and servers, a multiple of the replica count")
    flagged: list[str] = []
    for start in range(0, len(results), replicas):
        group = results[start : start + replicas]
        names = servers[start : start + replicas]
        plain = []
        for result, server in zip(group, names, strict=True):
            if recover_message_signer(result.digest(), result.signature) != server:
                flagged.append(server)
                plain.append(b"")
                continue
            plain.append(elgamal_decrypt(private, result.ciphertext))
        majority, votes = Counter(p for p in plain if p).most_common(1)[0] if any(plain) else (b"", 0)
        if votes * 2 <= replicas:
            raise ValueError(f"subtask {start // replicas + 1}: no honest majority among the replicas")
        flagged.extend(
            server for value, server in zip(plain, names, strict=True) if value and value != majority
        )
    return flagged

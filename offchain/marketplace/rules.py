"""The two-stage dispute of MetaAICM's marketplace (seed 001, §4.5.2; spec §3.4, §4.3) as a pure function.

It mirrors ``MPC._judge``: a buyer's client can predict the outcome before paying for the dispute
transaction, and tests check the contract against it.
"""

from __future__ import annotations

from enum import IntEnum

from coincurve import PrivateKey
from eth_hash.auto import keccak

from offchain.crypto import ecies_lite
from offchain.crypto.errors import InvalidPrivateKey


class Outcome(IntEnum):
    """``MPC.Outcome``."""

    BUYER_LIED = 0  # the claim does not re-encrypt to URL_s: seller paid, buyer -1
    URL_MODIFIED = 1  # the delivered URL is not the listed one: buyer refunded, seller -1
    NO_DISCREPANCY = 2  # correct delivery: seller paid, buyer -1


def url_hash(url: bytes) -> bytes:
    """H_s: keccak256 of the canonical URL bytes."""
    return bytes(keccak(url))


def judge(
    claimed_url: bytes,
    buyer_secret: int,
    buyer_key: tuple[int, int],
    delivered: ecies_lite.Ciphertext,
    context: bytes,
    listed_hash: bytes,
    faithful_stage2: bool = False,
    claimed_ephemeral: tuple[int, int] | None = None,
) -> Outcome:
    """The contract's decision for a dispute with ``claimed_url`` and ``buyer_secret``.

    ``buyer_key`` is the point B named at purchase, ``delivered`` the (E, c) of the delivery event,
    ``context`` ``MPC.encryptionContext(purchaseId)`` and ``listed_hash`` the product's H_s. With
    ``faithful_stage2`` the thesis's literal stage 2 (hash of the re-encrypted URL_b) is applied. A secret
    outside [1, n-1] raises :class:`InvalidPrivateKey` (the contract reverts with ``InvalidSecret``).
    ``claimed_ephemeral`` is the E the buyer passes, when it differs from the delivered one.
    """
    if not 0 < buyer_secret < ecies_lite.CURVE_ORDER:
        raise InvalidPrivateKey("a secp256k1 scalar must lie in [1, n-1]")
    public = PrivateKey(buyer_secret.to_bytes(32, "big")).public_key.point()
    if (int(public[0]), int(public[1])) != buyer_key:  # stage 0: the revealed secret is not B's
        return Outcome.BUYER_LIED
    delivered_point = (delivered.ephemeral_x, delivered.ephemeral_y)
    if claimed_ephemeral is not None and claimed_ephemeral != delivered_point:
        return Outcome.BUYER_LIED  # the delivery commitment binds E
    claim = ecies_lite.Ciphertext(delivered.ephemeral_x, delivered.ephemeral_y, claimed_url)
    try:
        # XOR with the keystream of S = b·E: the re-encryption URL_b of the claim.
        reencrypted = ecies_lite.decrypt(buyer_secret, claim, context)
    except ValueError:  # E is not a curve point: nothing can match the delivery
        return Outcome.BUYER_LIED
    if reencrypted != delivered.body:  # stage 1: URL_b != URL_s
        return Outcome.BUYER_LIED
    stage2 = keccak(reencrypted) if faithful_stage2 else keccak(claimed_url)
    return Outcome.NO_DISCREPANCY if bytes(stage2) == listed_hash else Outcome.URL_MODIFIED

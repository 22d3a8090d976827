"""Key separation: one account key signs, a different key decrypts.

Seed 000 (§IV.A.1.i) advises two key pairs per participant, one for signatures and one for encryption.
An agent keeps one keystore (its account key) and derives its encryption key from it with HKDF-SHA256
under a fixed label, so the two keys are never the same number and never used for each other's job, yet
the encryption key needs no second file to back up.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from offchain.crypto.keys import SECP256K1_N, KeyPair

ENCRYPTION_KEY_LABEL = b"metatrust/encryption-key/v1"


def encryption_keypair(account: KeyPair) -> KeyPair:
    """The ECIES key pair of ``account`` (deterministic, distinct from the account key)."""
    okm = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=ENCRYPTION_KEY_LABEL).derive(
        account.private_key
    )
    # 384 bits reduced mod n: the bias is below 2**-128.
    scalar = int.from_bytes(okm, "big") % (SECP256K1_N - 1) + 1
    return KeyPair(scalar.to_bytes(32, "big"))

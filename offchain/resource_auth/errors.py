# ruff: noqa: N818  (the names read as the condition that failed, like the spec's checks)
"""Named rejections of RSMS (spec 002). Every check of the protocols fails with one of these types, so a
caller (an agent answering 4xx, a test) knows exactly which check refused a message and why."""

from __future__ import annotations


class RSMSError(Exception):
    """Base class of every RSMS error."""


class InvalidPoint(RSMSError, ValueError):
    """Bytes that are not a compressed point of the prime-order subgroup of G1."""


class MalformedMessage(RSMSError, ValueError):
    """A message cannot be decoded: wrong length, bad point or scalar encoding, unknown kind."""


class DecryptionFailed(RSMSError):
    """An ECC ciphertext does not decrypt: wrong key, tampering or truncation (deliberately unspecific)."""


class Rejected(RSMSError):
    """A protocol check refused a message."""

    revert_name: str | None = None
    """The contract's custom error when the refusal came from ``RSMSLedger`` on chain (else None)."""


class ReplayDetected(Rejected):
    """The one-time secret's tag H4(a) is already on the ledger (or pending at this RPM): a replay."""


class UnknownSecret(Rejected):
    """The recovered one-time secret is in no Bloom filter of this pool (forged, tampered, other pool)."""


class PseudonymReused(Rejected):
    """The pseudonym PID_{k+1} presented in re-authentication is already on the ledger."""


class NotPreviouslyAuthenticated(Rejected):
    """Re-authentication: the proof H4(a_k) is not on the ledger, so the RN never authenticated with a_k."""


class PseudonymMismatch(Rejected):
    """The pseudonyms disagree with the revealed secret (PID_{k+1} ≠ H6(PID_k, a_{k+1})) or the ledger."""


class RevokedNode(Rejected):
    """The RN's pseudonym is revoked on the ledger, or the MSRP has revoked the RN."""


class RPMAuthenticationFailed(Rejected):
    """The RN's check a·P == A failed: the responder does not hold sk_RPM (or A was tampered)."""


class SecretMismatch(Rejected):
    """The MSRP's check failed: the reported secret is not the RN's current one-time secret."""


class UnauthorizedSender(Rejected):
    """A message is not from the party it must come from (unknown RPM, bad report signature, non-member)."""


class BloomSignatureInvalid(Rejected):
    """A Bloom filter's MSRP signature does not verify, or its digest is not anchored on the ledger."""


class OutOfOrder(Rejected):
    """A message arrived in a state that does not expect it (e.g. C_i before f(x_i)·P, or a stale epoch)."""


class MembershipCheckFailed(Rejected):
    """Group Membership Authentication: ∑ C_i ≠ Q."""


class KeyConfirmationFailed(Rejected):
    """Group Session Key Agreement: H4(s') ≠ H4(s_serv), the reconstructed key is not the MSRP's."""


class KeyUpdateRejected(Rejected):
    """Group Session Key Update: s^new·P ≠ Q + H5(Q, PK_pub)·PK_pub, the update is not from the MSRP."""


class NotAllocatable(Rejected):
    """The MSRP will not put this RN in a group: revoked, flagged or never pool-authenticated."""

"""Exception types of :mod:`offchain.crypto`.

Every failure of this package surfaces as one of these types, never as an exception of the underlying
library (eth-keys, eth-account, coincurve, cryptography), so callers can catch precisely what they mean.
"""


class CryptoError(Exception):
    """Base class of every error raised by :mod:`offchain.crypto`."""


class InvalidPrivateKey(CryptoError, ValueError):  # noqa: N818 (the established name)
    """A private key is not 32 bytes or is outside the secp256k1 range ``[1, n - 1]``."""


class InvalidPublicKey(CryptoError, ValueError):  # noqa: N818 (the established name)
    """A public key has the wrong length or encoding, or is not a point on secp256k1."""


class SignatureError(CryptoError, ValueError):
    """A signature is malformed (length, ``v``, ``r``/``s`` range) or no signer can be recovered from it."""


class TypedDataError(CryptoError, ValueError):
    """EIP-712 typed data (domain, types, primary type or message) cannot be encoded."""


class DecryptionError(CryptoError):
    """An ECIES ciphertext cannot be decrypted: wrong key, tampering, truncation or associated data mismatch.

    The reason is deliberately not more precise, so the error is no decryption oracle.
    """


class KeystoreError(CryptoError):
    """A keystore file is malformed, or the password does not decrypt it."""

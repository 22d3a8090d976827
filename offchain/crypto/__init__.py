"""Cryptography of the platform: key pairs, signatures (EIP-191, EIP-712), ECIES and hashing.

One implementation of each primitive, shared by every system; everything raises the exception types of
:mod:`offchain.crypto.errors`.
"""

from offchain.crypto.ecies import decrypt, encrypt, parse_public_key
from offchain.crypto.errors import (
    CryptoError,
    DecryptionError,
    InvalidPrivateKey,
    InvalidPublicKey,
    KeystoreError,
    SignatureError,
    TypedDataError,
)
from offchain.crypto.hashing import keccak256, sha256
from offchain.crypto.keys import KeyPair, derive, from_private_key, generate, load_keystore, save_keystore
from offchain.crypto.signing import (
    canonical_json,
    message_hash,
    recover_hash_signer,
    recover_message_signer,
    recover_typed_data_signer,
    sign_hash,
    sign_message,
    sign_typed_data,
    typed_data_hash,
)

__all__ = [
    "CryptoError",
    "DecryptionError",
    "InvalidPrivateKey",
    "InvalidPublicKey",
    "KeyPair",
    "KeystoreError",
    "SignatureError",
    "TypedDataError",
    "canonical_json",
    "decrypt",
    "derive",
    "encrypt",
    "from_private_key",
    "generate",
    "keccak256",
    "load_keystore",
    "message_hash",
    "parse_public_key",
    "recover_hash_signer",
    "recover_message_signer",
    "recover_typed_data_signer",
    "save_keystore",
    "sha256",
    "sign_hash",
    "sign_message",
    "sign_typed_data",
    "typed_data_hash",
]

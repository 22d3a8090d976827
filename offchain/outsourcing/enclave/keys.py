"""An enclave's key material: one keystore, three keys (pure, no I/O besides the keystore file).

* the identity key (secp256k1): the enclave's account, the paper's sk^agg; it signs its transactions to RSC,
  MSC and ASC and its HTTP envelopes;
* the encryption key (secp256k1, HKDF of the identity key,
  :func:`offchain.crypto.derivation.encryption_keypair`): registered in RSC; what the MTD encrypts TX_acc
  to, and what the enclave encrypts Group_C with to the MTD;
* the BLS key x_i (BLS12-381): derived from the identity key under its own label, so one encrypted keystore
  holds everything and no second secret is passed to the process. Its public key g2^{x_i} is registered in
  MSC with a proof of possession and in RSC.

A real TEE would seal these keys to the enclave; here the keystore is an ordinary Web3 Secret Storage file
(mode 0600) whose password reaches the process through a file, never a command-line argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from offchain.crypto import bls
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, load_keystore

BLS_KEY_LABEL = b"metatrust/enclave/bls-key/v1"


@dataclass(frozen=True)
class EnclaveKeys:
    """The identity key pair, and the encryption and BLS keys derived from it."""

    identity: KeyPair
    encryption: KeyPair = field(init=False, repr=False)
    bls_secret: int = field(init=False, repr=False)
    bls_public: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "encryption", encryption_keypair(self.identity))
        secret = bls.derive_secret(BLS_KEY_LABEL + self.identity.private_key)
        object.__setattr__(self, "bls_secret", secret)
        object.__setattr__(self, "bls_public", bls.public_key(secret))

    @property
    def address(self) -> str:
        return self.identity.address

    def sign(self, message: bytes) -> bytes:
        """The BLS signature (message DST) of this enclave on ``message``."""
        return bls.sign(self.bls_secret, message)


def load_enclave_keys(keystore: Path, password_file: Path) -> EnclaveKeys:
    """Read the keystore with the password stored (first line) in ``password_file``."""
    password = password_file.read_text().splitlines()[0] if password_file.read_text() else ""
    return EnclaveKeys(load_keystore(keystore, password))

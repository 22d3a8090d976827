"""Shared helpers of the MSC / ASC contract tests (imported as a plain module): enclaves registered with a
real PoP and simulated quote, environments formed by the on-chain VRF, and real BLS aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape

from offchain.crypto import bls
from offchain.deploy import MSC_MIN_STAKE
from offchain.outsourcing import vrf
from offchain.outsourcing.msc_messages import (
    TEST_MEASUREMENT,
    environment_message,
    environment_signature,
    simulated_attestation_authority,
    simulated_quote,
)

STAKE = MSC_MIN_STAKE


@dataclass
class Enclave:
    account: Any
    secret: int

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def key(self) -> bytes:
        return bls.public_key(self.secret)


def new_enclave(deployer: Any, token: Any, funder: Any, index: int) -> Enclave:
    """A fresh funded account with a deterministic BLS secret."""
    account = ape.accounts.test_accounts.generate_test_account()
    deployer.transfer(account, 10**18)
    token.transfer(account, 3 * STAKE, sender=funder)
    return Enclave(account, bls.derive_secret(b"enclave" + index.to_bytes(2, "big")))


def register(msc: Any, token: Any, chain: Any, enclave: Enclave, stake: int = STAKE) -> Any:
    """B.1: approve, then register with a PoP and the test authority's quote."""
    token.approve(msc.address, stake, sender=enclave.account)
    quote = simulated_quote(
        simulated_attestation_authority(),
        chain.chain_id,
        str(msc.address),
        enclave.address,
        TEST_MEASUREMENT,
        enclave.key,
    )
    return msc.registerEnclave(
        enclave.key,
        bls.prove_possession(enclave.secret),
        TEST_MEASUREMENT,
        quote,
        stake,
        sender=enclave.account,
    )


def sync(msc: Any, chain: Any, enclave: Enclave) -> Any:
    """B.1 π_b with the head block."""
    height = chain.blocks.head.number
    return msc.confirmSync(height, chain.blocks[height].hash, sender=enclave.account)


def make_pool(
    msc: Any, token: Any, chain: Any, deployer: Any, funder: Any, size: int, first: int = 0
) -> list[Enclave]:
    """``size`` registered and active enclaves."""
    enclaves = [new_enclave(deployer, token, funder, first + i) for i in range(size)]
    for enclave in enclaves:
        register(msc, token, chain, enclave)
        sync(msc, chain, enclave)
    return enclaves


def create(msc: Any, user: Any, size: int) -> tuple[int, Any]:
    receipt = msc.createEnvironment(size, sender=user)
    return int(receipt.events.filter(msc.EnvironmentRequested)[0].envId), receipt


def seed_of(msc: Any, env_id: int) -> bytes:
    return bytes(msc.environmentInfo(env_id).seed)


def live(msc: Any, user: Any, pool: list[Enclave], size: int) -> tuple[int, vrf.Roles]:
    """B.2: a live environment of ``size`` chosen by every pool member's VRF proof (roles computed off
    chain)."""
    env_id, _ = create(msc, user, size)
    seed = seed_of(msc, env_id)
    outputs = {}
    for enclave in pool:
        proof = vrf.prove(enclave.secret, seed)
        msc.submitVrf(env_id, proof.proof, sender=enclave.account)
        outputs[enclave.address] = proof.output
    msc.finalizeEnvironment(env_id, sender=user)
    return env_id, vrf.assign_roles(outputs, size)


def by_address(pool: list[Enclave]) -> dict[str, Enclave]:
    return {enclave.address: enclave for enclave in pool}


def aggregate(pool: list[Enclave], members: tuple[str, ...], message: bytes) -> tuple[bytes, bytes]:
    """(Σ pk, Σ σ) of ``members`` on ``message`` (message DST)."""
    index = by_address(pool)
    keys = [index[m].key for m in members]
    signatures = [bls.sign(index[m].secret, message) for m in members]
    return bls.aggregate_public_keys(keys), bls.aggregate_signatures(signatures)


def sign_as_environment(
    pool: list[Enclave], members: tuple[str, ...], chain_id: int, msc: str, env_id: int, digest: bytes
) -> bytes:
    """The 384-byte ``aggregateSignature`` ASC forwards to MSC: every member signs the environment message."""
    index = by_address(pool)
    message = environment_message(chain_id, msc, env_id, digest)
    return environment_signature(
        [index[m].key for m in members], [bls.sign(index[m].secret, message) for m in members]
    )

"""MSC (seed 000 §IV.B): enclave registry with PoP, simulated quote and π_b; environments by on-chain-verified
BLS VRF with roles reproduced off chain; installation / execution confirmations by one aggregate pairing
check; challenge / response / timeout with removal and slashing. Every revert path, every event, gas of
every public function and the scenario row ``MSC,scenario_confirm_install_8_enclaves``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ape
import pytest
from msc_fixtures import (
    STAKE,
    Enclave,
    aggregate,
    by_address,
    create,
    live,
    make_pool,
    new_enclave,
    register,
    seed_of,
    sign_as_environment,
    sync,
)

from offchain.crypto import bls
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import derive
from offchain.deploy import (
    MSC_MIN_STAKE,
    MSC_RESPONSE_WINDOW,
    MSC_SLASH_BPS,
    MSC_VRF_WINDOW,
    deploy_msc,
)
from offchain.outsourcing import vrf
from offchain.outsourcing.msc_messages import (
    ENVIRONMENT_SIGNATURE_LENGTH,
    ENVIRONMENT_TAG,
    TEST_MEASUREMENT,
    asc_environment_id,
    encode_environment_signature,
    environment_message,
    environment_signature,
    execution_message,
    install_message,
    msc_environment_id,
    quote_digest,
    simulated_attestation_authority,
    simulated_quote,
)

POOL = 9
CODE_HASH = keccak256(b"OCTVSC+RSSC+ACCSC+SSC v1")
REQUEST = keccak256(b"request 1")
SELECTING, LIVE, DISSOLVED = 1, 2, 3
ACTIVE, REMOVED, LEFT = 2, 3, 4


@pytest.fixture(scope="module")
def msc(project: Any, deployer: Any, platform: Any) -> Any:
    return deploy_msc(project, deployer, platform).contracts["MSC"]


@pytest.fixture(scope="module")
def pool(msc: Any, token: Any, chain: Any, deployer: Any, pool_holders: Any) -> list[Enclave]:
    return make_pool(msc, token, chain, deployer, pool_holders[2], POOL)


@pytest.fixture(scope="module")
def user(accounts: Any) -> Any:
    return accounts[6]


@pytest.fixture(scope="module")
def stranger(accounts: Any) -> Any:
    return accounts[7]


def _installed(
    msc: Any, chain: Any, user: Any, pool: list[Enclave], size: int
) -> tuple[int, int, vrf.Roles, Any]:
    env_id, roles = live(msc, user, pool, size)
    id_sc = int(msc.registerContract(CODE_HASH, sender=user).events.filter(msc.ContractRegistered)[0].idSc)
    key, signature = aggregate(
        pool, roles.members, install_message(chain.chain_id, str(msc.address), env_id, id_sc, CODE_HASH)
    )
    leader = by_address(pool)[roles.leader].account
    receipt = msc.confirmInstall(id_sc, env_id, key, signature, sender=leader)
    return env_id, id_sc, roles, receipt


# ------------------------------------------------------------------------------------------ deployment


def test_deployment_parameters_and_bad_constructor(
    msc: Any, project: Any, deployer: Any, token: Any, measure_view: Callable[..., int]
) -> None:
    assert msc.attestationKey() == simulated_attestation_authority().address
    assert bytes(msc.measurement()) == TEST_MEASUREMENT
    assert msc.minStake() == MSC_MIN_STAKE
    assert msc.slashBps() == MSC_SLASH_BPS
    assert msc.responseWindow() == MSC_RESPONSE_WINDOW
    assert msc.vrfWindow() == MSC_VRF_WINDOW
    with ape.reverts():
        deployer.deploy(
            project.MSC, token.address, deployer.address, TEST_MEASUREMENT, deployer.address, 1, 10_001, 1, 1
        )
    for name in (
        "MAX_ACTIVE", "MAX_ENV_SIZE", "MIN_ENV_SIZE", "DST_VRF", "INSTALL_TAG", "EXECUTION_TAG", "QUOTE_TAG",
        "ENVIRONMENT_TAG", "ENVIRONMENT_SIGNATURE_LENGTH",
        "token", "attestationKey", "measurement", "slashRecipient", "minStake", "slashBps", "responseWindow",
        "vrfWindow", "environmentCount", "contractCount", "challengeCount", "activeEnclaves",
    ):  # fmt: skip
        assert measure_view(msc, name) > 21_000
    assert bytes(msc.DST_VRF()) == vrf.DST_VRF
    assert bytes(msc.INSTALL_TAG()) == keccak256(b"metatrust.msc.install")
    assert bytes(msc.ENVIRONMENT_TAG()) == ENVIRONMENT_TAG
    assert msc.ENVIRONMENT_SIGNATURE_LENGTH() == ENVIRONMENT_SIGNATURE_LENGTH == 384


# ------------------------------------------------------------------------------------------ registry


def test_register_andsync(
    msc: Any, token: Any, chain: Any, deployer: Any, pool_holders: Any, measure_view: Callable[..., int]
) -> None:
    enclave = new_enclave(deployer, token, pool_holders[2], 100)
    before = token.balanceOf(msc.address)
    receipt = register(msc, token, chain, enclave)
    event = receipt.events.filter(msc.EnclaveRegistered)[0]
    assert event.enclave == enclave.address
    assert bytes(event.blsKey) == enclave.key
    assert event.stake == STAKE
    assert token.balanceOf(msc.address) - before == STAKE
    info = msc.enclaveInfo(enclave.address)
    assert info.status == 1
    assert bytes(info.blsKey) == enclave.key
    digest = bytes(msc.quoteDigest(enclave.address, TEST_MEASUREMENT, enclave.key))
    assert digest == quote_digest(
        chain.chain_id, str(msc.address), enclave.address, TEST_MEASUREMENT, enclave.key
    )
    measure_view(msc, "quoteDigest", enclave.address, TEST_MEASUREMENT, enclave.key)
    measure_view(msc, "enclaveInfo", enclave.address)
    receipt = sync(msc, chain, enclave)
    activated = receipt.events.filter(msc.EnclaveActivated)[0]
    assert activated.enclave == enclave.address
    assert msc.enclaveInfo(enclave.address).status == ACTIVE
    assert enclave.address in list(msc.activeEnclaves())


def test_register_reverts(msc: Any, token: Any, chain: Any, deployer: Any, pool_holders: Any) -> None:
    enclave = new_enclave(deployer, token, pool_holders[2], 101)
    other = bls.derive_secret(b"someone else")
    authority = simulated_attestation_authority()
    token.approve(msc.address, 3 * STAKE, sender=enclave.account)

    def quote(key: bytes, signer: Any = authority, address: str = enclave.address) -> bytes:
        return simulated_quote(signer, chain.chain_id, str(msc.address), address, TEST_MEASUREMENT, key)

    pop = bls.prove_possession(enclave.secret)
    good = quote(enclave.key)
    send = {"sender": enclave.account}
    with ape.reverts(msc.InvalidBlsKey):
        msc.registerEnclave(enclave.key[:-1], pop, TEST_MEASUREMENT, good, STAKE, **send)
    with ape.reverts(msc.InvalidBlsKey):
        msc.registerEnclave(bytes(256), pop, TEST_MEASUREMENT, quote(bytes(256)), STAKE, **send)
    with ape.reverts(msc.WrongMeasurement):
        msc.registerEnclave(enclave.key, pop, keccak256(b"evil code"), good, STAKE, **send)
    with ape.reverts(msc.InvalidAttestationQuote):  # signed by a key that is not the authority
        msc.registerEnclave(
            enclave.key, pop, TEST_MEASUREMENT, quote(enclave.key, derive(b"x", 0)), STAKE, **send
        )
    with ape.reverts(msc.InvalidAttestationQuote):  # a quote for another BLS key
        msc.registerEnclave(enclave.key, pop, TEST_MEASUREMENT, quote(bls.public_key(other)), STAKE, **send)
    with ape.reverts(msc.InvalidAttestationQuote):  # a quote for another enclave
        msc.registerEnclave(
            enclave.key, pop, TEST_MEASUREMENT, quote(enclave.key, address=deployer.address), STAKE, **send
        )
    with ape.reverts(msc.InvalidAttestationQuote):  # malformed
        msc.registerEnclave(enclave.key, pop, TEST_MEASUREMENT, good[:64], STAKE, **send)
    with ape.reverts(msc.StakeTooLow):
        msc.registerEnclave(enclave.key, pop, TEST_MEASUREMENT, good, STAKE - 1, **send)
    with ape.reverts(msc.InvalidProofOfPossession):  # PoP of another key
        msc.registerEnclave(enclave.key, bls.prove_possession(other), TEST_MEASUREMENT, good, STAKE, **send)
    with ape.reverts(msc.InvalidProofOfPossession):  # a message signature is no PoP
        msc.registerEnclave(
            enclave.key, bls.sign(enclave.secret, enclave.key), TEST_MEASUREMENT, good, STAKE, **send
        )
    msc.registerEnclave(enclave.key, pop, TEST_MEASUREMENT, good, STAKE, **send)
    with ape.reverts(msc.AlreadyRegistered):
        msc.registerEnclave(enclave.key, pop, TEST_MEASUREMENT, good, STAKE, **send)


def test_sync_reverts(
    msc: Any, token: Any, chain: Any, deployer: Any, pool_holders: Any, stranger: Any
) -> None:
    enclave = new_enclave(deployer, token, pool_holders[2], 102)
    with ape.reverts(msc.NotRegistered):
        msc.confirmSync(0, bytes(32), sender=stranger)
    registered_at = register(msc, token, chain, enclave).block_number
    chain.mine(2)
    head = chain.blocks.head.number
    with ape.reverts(msc.StaleBlock):  # before the registration
        msc.confirmSync(registered_at - 1, chain.blocks[registered_at - 1].hash, sender=enclave.account)
    with ape.reverts(msc.StaleBlock):  # not yet mined
        msc.confirmSync(head + 5, bytes(32), sender=enclave.account)
    with ape.reverts(msc.WrongBlockHash):
        msc.confirmSync(head, chain.blocks[head - 1].hash, sender=enclave.account)
    chain.mine(257)
    with ape.reverts(msc.StaleBlock):  # older than 256 blocks
        msc.confirmSync(registered_at, chain.blocks[registered_at].hash, sender=enclave.account)


# ------------------------------------------------------------------------------------------ environments


def test_environment_by_vrf_roles_reproduced_off_chain(
    msc: Any, chain: Any, user: Any, pool: list[Enclave], measure_view: Callable[..., int]
) -> None:
    env_id, receipt = create(msc, user, 5)
    requested = receipt.events.filter(msc.EnvironmentRequested)[0]
    creation = receipt.block_number
    expected_seed = vrf.environment_seed(
        env_id, bytes(chain.blocks[creation - 1].hash), str(msc.address), chain.chain_id
    )
    assert bytes(requested.seed) == expected_seed
    assert requested.size == 5
    outputs: dict[str, int] = {}
    for enclave in pool:
        proof = vrf.prove(enclave.secret, expected_seed)
        assert vrf.verify(enclave.key, expected_seed, proof.proof) == proof.output
        event = msc.submitVrf(env_id, proof.proof, sender=enclave.account).events.filter(msc.VrfSubmitted)[0]
        assert event.output == proof.output
        outputs[enclave.address] = proof.output
    assert tuple(msc.vrfOutput(env_id, pool[0].address)) == (outputs[pool[0].address], True)
    measure_view(msc, "vrfOutput", env_id, pool[0].address)
    created = msc.finalizeEnvironment(env_id, sender=user).events.filter(msc.EnvironmentCreated)[0]
    roles = vrf.assign_roles(outputs, 5)  # the pure Python re-implementation
    assert created.leader == roles.leader
    assert created.executor == roles.executor
    assert tuple(created.monitors) == roles.monitors
    index = by_address(pool)
    assert bytes(created.aggregateKey) == bls.aggregate_public_keys([index[m].key for m in roles.members])
    info = msc.environmentInfo(env_id)
    assert info.status == LIVE
    assert tuple(info.members) == roles.members
    assert all(msc.isMember(env_id, m) for m in roles.members)
    assert not msc.isMember(env_id, next(a for a in outputs if a not in roles.members))
    measure_view(msc, "environmentInfo", env_id)
    measure_view(msc, "isMember", env_id, roles.leader)
    assert msc.enclaveInfo(roles.leader).liveEnvironments == 1


def test_finalize_after_window_with_part_of_the_pool(
    msc: Any, chain: Any, user: Any, pool: list[Enclave]
) -> None:
    env_id, _ = create(msc, user, 3)
    seed = seed_of(msc, env_id)
    outputs = {}
    for enclave in pool[:4]:
        proof = vrf.prove(enclave.secret, seed)
        msc.submitVrf(env_id, proof.proof, sender=enclave.account)
        outputs[enclave.address] = proof.output
    with ape.reverts(msc.SelectionNotReady):  # others may still submit
        msc.finalizeEnvironment(env_id, sender=user)
    chain.mine(MSC_VRF_WINDOW + 1)
    with ape.reverts(msc.VrfWindowClosed):
        msc.submitVrf(env_id, vrf.prove(pool[5].secret, seed).proof, sender=pool[5].account)
    created = msc.finalizeEnvironment(env_id, sender=user).events.filter(msc.EnvironmentCreated)[0]
    assert created.leader == vrf.assign_roles(outputs, 3).leader


def test_environment_and_vrf_reverts(
    msc: Any, chain: Any, user: Any, stranger: Any, pool: list[Enclave]
) -> None:
    with ape.reverts(msc.InvalidEnvironmentSize):
        msc.createEnvironment(2, sender=user)
    with ape.reverts(msc.InvalidEnvironmentSize):
        msc.createEnvironment(17, sender=user)
    with ape.reverts(msc.NotEnoughEnclaves):
        msc.createEnvironment(POOL + 1, sender=user)
    with ape.reverts(msc.WrongEnvironmentStatus):
        msc.submitVrf(999, bytes(128), sender=pool[0].account)
    with ape.reverts(msc.WrongEnvironmentStatus):
        msc.finalizeEnvironment(999, sender=user)
    env_id, _ = create(msc, user, 3)
    seed = seed_of(msc, env_id)
    a, b = pool[0], pool[1]
    forged = (
        vrf.prove(b.secret, seed).proof,  # someone else's proof
        vrf.prove(a.secret, seed + b"x").proof,  # a proof on another seed
        bls.sign(a.secret, seed),  # a plain signature (other DST)
        bytes(128),  # the point at infinity
        b"\x01" * 128,  # not a field element
    )
    for proof in forged:
        with ape.reverts(msc.InvalidVrfProof):
            msc.submitVrf(env_id, proof, sender=a.account)
    with ape.reverts(msc.NotActive):
        msc.submitVrf(env_id, vrf.prove(a.secret, seed).proof, sender=stranger)
    msc.submitVrf(env_id, vrf.prove(a.secret, seed).proof, sender=a.account)
    with ape.reverts(msc.VrfAlreadySubmitted):
        msc.submitVrf(env_id, vrf.prove(a.secret, seed).proof, sender=a.account)
    chain.mine(MSC_VRF_WINDOW + 1)
    with ape.reverts(msc.SelectionNotReady):  # window over, too few candidates
        msc.finalizeEnvironment(env_id, sender=user)


def test_assign_roles_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="cannot form"):
        vrf.assign_roles({"0x01": 1}, 2)
    roles = vrf.assign_roles({"0x02": 5, "0x01": 5, "0x03": 1}, 3)  # tie broken by address
    assert roles.members == ("0x03", "0x01", "0x02")


# ------------------------------------------------------------------------------------------ contracts


def test_confirm_install_8_enclaves_one_pairing(
    gas_log: Any, measure_view: Callable[..., int], msc: Any, chain: Any, user: Any, pool: list[Enclave]
) -> None:
    env_id, id_sc, roles, receipt = _installed(msc, chain, user, pool, 8)
    installed = receipt.events.filter(msc.ContractInstalled)[0]
    assert (installed.idSc, installed.envId) == (id_sc, env_id)
    gas_log.add("MSC", "scenario_confirm_install_8_enclaves", int(receipt.gas_used), kind="scenario")
    assert receipt.gas_used < 200_000
    info = msc.contractInfo(id_sc)
    assert info.status == 2
    assert info.envId == env_id
    assert bytes(msc.installMessage(id_sc, env_id)) == install_message(
        chain.chain_id, str(msc.address), env_id, id_sc, CODE_HASH
    )
    measure_view(msc, "installMessage", id_sc, env_id)
    measure_view(msc, "contractInfo", id_sc)
    # an execution confirmation: state agreed by the Execution and Monitoring enclaves
    root = keccak256(b"state 1")
    message = execution_message(chain.chain_id, str(msc.address), env_id, id_sc, 1, root)
    assert bytes(msc.executionMessage(id_sc, env_id, 1, root)) == message
    measure_view(msc, "executionMessage", id_sc, env_id, 1, root)
    key, signature = aggregate(pool, roles.members, message)
    leader = by_address(pool)[roles.leader].account
    synced = msc.confirmExecution(id_sc, 1, root, key, signature, sender=leader).events.filter(
        msc.StateSynced
    )[0]
    assert (synced.seq, bytes(synced.stateRoot)) == (1, root)
    assert msc.contractInfo(id_sc).seq == 1
    with ape.reverts(msc.WrongSequence):  # replay
        msc.confirmExecution(id_sc, 1, root, key, signature, sender=leader)


@pytest.mark.parametrize("size", [3, 16])
def test_confirm_install_gas_is_flat_in_size(
    gas_log: Any, msc: Any, chain: Any, user: Any, pool: list[Enclave], size: int, token: Any, deployer: Any,
    pool_holders: Any,
) -> None:  # fmt: skip
    enclaves = list(pool)
    for i in range(max(0, size - POOL)):
        extra = new_enclave(deployer, token, pool_holders[2], 200 + i)
        register(msc, token, chain, extra)
        sync(msc, chain, extra)
        enclaves.append(extra)
    _, _, _, receipt = _installed(msc, chain, user, enclaves, size)
    gas_log.add("MSC", f"scenario_confirm_install_{size}_enclaves", int(receipt.gas_used), kind="scenario")
    assert receipt.gas_used < 200_000


def test_confirm_reverts(msc: Any, chain: Any, user: Any, pool: list[Enclave], stranger: Any) -> None:
    with ape.reverts(msc.InvalidParameter):
        msc.registerContract(bytes(32), sender=user)
    with ape.reverts(msc.InvalidParameter):  # below 2^128: no keccak-256 code hash is (probability 2^-128)
        msc.registerContract((2**128 - 1).to_bytes(32, "big"), sender=user)
    env_id, roles = live(msc, user, pool, 4)
    id_sc = int(msc.registerContract(CODE_HASH, sender=user).events.filter(msc.ContractRegistered)[0].idSc)
    message = install_message(chain.chain_id, str(msc.address), env_id, id_sc, CODE_HASH)
    key, signature = aggregate(pool, roles.members, message)
    index = by_address(pool)
    leader = index[roles.leader].account
    with ape.reverts(msc.WrongContractStatus):
        msc.confirmInstall(999, env_id, key, signature, sender=leader)
    with ape.reverts(msc.WrongEnvironmentStatus):
        msc.confirmInstall(id_sc, 999, key, signature, sender=leader)
    with ape.reverts(msc.NotLeader):
        msc.confirmInstall(id_sc, env_id, key, signature, sender=index[roles.executor].account)
    _, without_last = aggregate(pool, roles.members[:-1], message)
    with ape.reverts(msc.WrongAggregateKey):  # the key of a sub-set
        msc.confirmInstall(
            id_sc, env_id, aggregate(pool, roles.members[:-1], message)[0], without_last, sender=leader
        )
    with ape.reverts(msc.InvalidAggregateSignature):  # one member did not sign
        msc.confirmInstall(id_sc, env_id, key, without_last, sender=leader)
    other = install_message(chain.chain_id, str(msc.address), env_id, id_sc, keccak256(b"other code"))
    mixed = bls.aggregate_signatures(
        [
            *(bls.sign(index[m].secret, message) for m in roles.members[:-1]),
            bls.sign(index[roles.members[-1]].secret, other),
        ]
    )
    with ape.reverts(msc.InvalidAggregateSignature):  # one member signed another cnf
        msc.confirmInstall(id_sc, env_id, key, mixed, sender=leader)
    root = keccak256(b"r")
    with ape.reverts(msc.WrongContractStatus):  # not installed yet
        msc.confirmExecution(id_sc, 1, root, key, signature, sender=leader)
    msc.confirmInstall(id_sc, env_id, key, signature, sender=leader)
    with ape.reverts(msc.WrongContractStatus):  # installed once
        msc.confirmInstall(id_sc, env_id, key, signature, sender=leader)
    with ape.reverts(msc.WrongSequence):
        msc.confirmExecution(id_sc, 2, root, key, signature, sender=leader)
    exec_sig = aggregate(
        pool, roles.members, execution_message(chain.chain_id, str(msc.address), env_id, id_sc, 1, root)
    )[1]
    with ape.reverts(msc.InvalidAggregateSignature):  # signed state differs from the submitted one
        msc.confirmExecution(id_sc, 1, keccak256(b"forged"), key, exec_sig, sender=leader)
    with ape.reverts(msc.NotLeader):
        msc.confirmExecution(id_sc, 1, root, key, exec_sig, sender=stranger)


# ------------------------------------------------------------------------------------- IEnvironmentVerifier


def test_environment_message_helpers_check_their_inputs() -> None:
    key, sigma = bls.public_key(5), bls.sign(5, b"m")
    assert encode_environment_signature(key, sigma) == key + sigma
    with pytest.raises(ValueError, match="G2"):
        encode_environment_signature(key[:-1], sigma)
    with pytest.raises(ValueError, match="G1"):
        encode_environment_signature(key, sigma + b"\0")
    assert asc_environment_id(7) == bytes(31) + b"\x07"
    assert msc_environment_id(asc_environment_id(2**200 + 3)) == 2**200 + 3
    for bad in (0, -1, 2**256):
        with pytest.raises(ValueError, match="uint256"):
            asc_environment_id(bad)
    with pytest.raises(ValueError, match="32 bytes"):
        environment_message(1, "0x" + "00" * 20, 1, b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        msc_environment_id(b"short")
    assert environment_signature([key], [sigma]) == key + sigma


def test_msc_verifies_the_aggregate_signature_of_a_live_environment(
    msc: Any, chain: Any, user: Any, deployer: Any, pool: list[Enclave], measure_view: Callable[..., int]
) -> None:
    env_id, roles = live(msc, user, pool, 4)
    other_id, other_roles = live(msc, user, pool, 9)  # every enclave: a different member set and key
    twin_id, _ = live(msc, user, pool, 9)  # the same members and key as `other_id`
    digest = keccak256(b"an ASC settlement digest")
    cid, address = chain.chain_id, str(msc.address)

    def signed(env: int, members: tuple[str, ...], message_hash: bytes = digest) -> bytes:
        return sign_as_environment(pool, members, cid, address, env, message_hash)

    def verifies(env: int, signature: bytes, message_hash: bytes = digest) -> bool:
        return bool(msc.verifyEnvironmentSignature(asc_environment_id(env), message_hash, signature))

    good = signed(env_id, roles.members)
    assert len(good) == ENVIRONMENT_SIGNATURE_LENGTH
    assert verifies(env_id, good)
    assert bytes(msc.environmentMessage(env_id, digest)) == environment_message(cid, address, env_id, digest)
    measure_view(msc, "environmentMessage", env_id, digest)
    # Gas as a transaction with an explicit limit: eth_estimateGas under-reports a view that returns false
    # when the pairing precompile runs out of gas (the estimator settles on the cheap "false" path).
    receipt = msc.verifyEnvironmentSignature.transact(
        asc_environment_id(env_id), digest, good, sender=deployer, gas=1_000_000
    )
    assert 120_000 < receipt.gas_used < 250_000
    key, sigma = good[:256], good[256:]
    # another environment: its own signature does not pass for this one, nor this one's for it
    assert verifies(other_id, signed(other_id, other_roles.members))
    assert not verifies(env_id, signed(other_id, other_roles.members))
    assert not verifies(other_id, good)
    # same members and key, other environment id: the message binds the id
    assert not verifies(twin_id, signed(other_id, other_roles.members))
    assert verifies(twin_id, signed(twin_id, other_roles.members))
    # wrong message / wrong key / subset of the members / forged σ
    assert not verifies(env_id, good, keccak256(b"another digest"))
    subset = roles.members[:-1]
    assert not verifies(env_id, signed(env_id, subset))  # the key of a subset is not the stored one
    _, subset_sigma = aggregate(pool, subset, environment_message(cid, address, env_id, digest))
    assert not verifies(env_id, key + subset_sigma)  # a member did not sign
    outsider = next(e for e in pool if e.address not in roles.members)
    swapped = environment_signature(
        [by_address(pool)[m].key for m in roles.members],
        [
            bls.sign(by_address(pool)[m].secret, environment_message(cid, address, env_id, digest))
            for m in subset
        ]
        + [bls.sign(outsider.secret, environment_message(cid, address, env_id, digest))],
    )
    assert not verifies(env_id, swapped)
    install = install_message(cid, address, env_id, 1, CODE_HASH)  # a valid aggregate on another message
    assert not verifies(env_id, key + aggregate(pool, roles.members, install)[1])
    assert not verifies(env_id, key + bls.hash_to_g1(b"random point"))
    assert not verifies(env_id, bls.public_key(99) + sigma)
    # malformed or short bytes never revert
    for bad in (b"", good[:-1], good + b"\0", good[:256], key + bytes(128), key + b"\x01" * 128, bytes(384)):
        assert not verifies(env_id, bad)
    # unknown, selecting and (below) dissolved environments
    assert not verifies(999, good)
    assert not msc.verifyEnvironmentSignature(b"\xff" * 32, digest, good)
    selecting, _ = create(msc, user, 3)
    assert not verifies(selecting, signed(selecting, roles.members[:3]))


def test_environment_signature_after_removal_and_dissolution(
    msc: Any, chain: Any, user: Any, pool: list[Enclave]
) -> None:
    env_id, roles = live(msc, user, pool, 4)
    digest = keccak256(b"voucher")
    cid, address = chain.chain_id, str(msc.address)
    old = sign_as_environment(pool, roles.members, cid, address, env_id, digest)
    eid = asc_environment_id(env_id)
    assert msc.verifyEnvironmentSignature(eid, digest, old)
    target = roles.monitors[-1]
    cid_ = int(msc.challenge(env_id, target, REQUEST, sender=user).events[0].challengeId)
    chain.mine(MSC_RESPONSE_WINDOW + 1)
    changed = msc.timeoutChallenge(cid_, sender=user).events.filter(msc.EnvironmentChanged)[0]
    remaining = tuple(changed.members)
    assert target not in remaining
    assert len(remaining) == 3
    assert not msc.verifyEnvironmentSignature(eid, digest, old)  # the old aggregate key is gone
    new = sign_as_environment(pool, remaining, cid, address, env_id, digest)
    assert msc.verifyEnvironmentSignature(eid, digest, new)
    # the removed member's signature is not needed any more, and the remaining ones cannot drop another
    assert not msc.verifyEnvironmentSignature(
        eid, digest, sign_as_environment(pool, remaining[:2], cid, address, env_id, digest)
    )
    # one more removal: below three members the environment is dissolved and signs nothing
    cid_ = int(msc.challenge(env_id, remaining[-1], REQUEST, sender=user).events[0].challengeId)
    chain.mine(MSC_RESPONSE_WINDOW + 1)
    assert msc.timeoutChallenge(cid_, sender=user).events.filter(msc.EnvironmentDissolved)
    assert not msc.verifyEnvironmentSignature(eid, digest, new)
    assert not msc.verifyEnvironmentSignature(
        eid, digest, sign_as_environment(pool, remaining[:2], cid, address, env_id, digest)
    )


# ------------------------------------------------------------------------------------------ challenges


def test_challenge_answered_in_time(
    msc: Any, chain: Any, user: Any, pool: list[Enclave], stranger: Any, measure_view: Callable[..., int]
) -> None:
    env_id, roles = live(msc, user, pool, 4)
    index = by_address(pool)
    target = index[roles.executor]
    outsider = next(e for e in pool if e.address not in roles.members)
    with ape.reverts(msc.NotAuthorisedChallenger):
        msc.challenge(env_id, target.address, REQUEST, sender=stranger)
    with ape.reverts(msc.NotMember):
        msc.challenge(env_id, outsider.address, REQUEST, sender=user)
    with ape.reverts(msc.WrongEnvironmentStatus):
        msc.challenge(999, target.address, REQUEST, sender=user)
    opened = msc.challenge(env_id, target.address, REQUEST, sender=user).events.filter(msc.ChallengeOpened)[0]
    cid = int(opened.challengeId)
    assert (opened.target, opened.challenger, bytes(opened.requestHash)) == (
        target.address,
        user.address,
        REQUEST,
    )
    assert msc.openChallenges(target.address) == 1
    measure_view(msc, "openChallenges", target.address)
    measure_view(msc, "challengeInfo", cid)
    with ape.reverts(msc.UnknownChallenge):
        msc.respond(999, REQUEST, sender=target.account)
    with ape.reverts(msc.NotChallenged):
        msc.respond(cid, REQUEST, sender=user)
    with ape.reverts(msc.ResponseWindowOpen):
        msc.timeoutChallenge(cid, sender=user)
    with ape.reverts(msc.StillBusy):  # cannot leave while in an environment / challenged
        msc.leave(sender=target.account)
    answered = msc.respond(cid, keccak256(b"response"), sender=target.account).events.filter(
        msc.ChallengeAnswered
    )[0]
    assert bytes(answered.responseHash) == keccak256(b"response")
    assert msc.challengeInfo(cid).resolved
    assert msc.openChallenges(target.address) == 0
    with ape.reverts(msc.ChallengeResolved):
        msc.respond(cid, REQUEST, sender=target.account)
    with ape.reverts(msc.ChallengeResolved):
        msc.timeoutChallenge(cid, sender=user)
    with ape.reverts(msc.UnknownChallenge):
        msc.timeoutChallenge(999, sender=user)
    late = int(
        msc.challenge(env_id, target.address, REQUEST, sender=index[roles.leader].account)
        .events[0]
        .challengeId
    )
    chain.mine(MSC_RESPONSE_WINDOW + 1)
    with ape.reverts(msc.ResponseWindowClosed):
        msc.respond(late, REQUEST, sender=target.account)


def test_timeout_removes_and_slashes_then_remaining_members_confirm(
    msc: Any, chain: Any, user: Any, pool: list[Enclave], token: Any, deployer: Any
) -> None:
    env_id, roles = live(msc, user, pool, 4)
    index = by_address(pool)
    leader = index[roles.leader]
    cid = int(msc.challenge(env_id, leader.address, REQUEST, sender=user).events[0].challengeId)
    chain.mine(MSC_RESPONSE_WINDOW + 1)
    recipient_before = token.balanceOf(deployer.address)
    receipt = msc.timeoutChallenge(cid, sender=user)
    penalty = STAKE * MSC_SLASH_BPS // 10_000
    removed = receipt.events.filter(msc.EnclaveRemoved)[0]
    assert (removed.enclave, removed.penalty) == (leader.address, penalty)
    assert token.balanceOf(deployer.address) - recipient_before == penalty
    changed = receipt.events.filter(msc.EnvironmentChanged)[0]
    remaining = roles.members[1:]
    assert tuple(changed.members) == remaining  # VRF order kept: the Execution Enclave now leads
    assert bytes(changed.aggregateKey) == bls.aggregate_public_keys([index[m].key for m in remaining])
    info = msc.enclaveInfo(leader.address)
    assert (info.status, info.stake) == (REMOVED, STAKE - penalty)
    assert leader.address not in list(msc.activeEnclaves())
    assert not msc.isMember(env_id, leader.address)
    # the remaining members confirm with the recomputed aggregate key, led by the former executor
    id_sc = int(msc.registerContract(CODE_HASH, sender=user).events.filter(msc.ContractRegistered)[0].idSc)
    key, signature = aggregate(
        pool, remaining, install_message(chain.chain_id, str(msc.address), env_id, id_sc, CODE_HASH)
    )
    msc.confirmInstall(id_sc, env_id, key, signature, sender=index[remaining[0]].account)
    # the removed enclave takes back what is left
    balance = token.balanceOf(leader.address)
    left = msc.withdrawRemaining(sender=leader.account).events.filter(msc.EnclaveLeft)[0]
    assert left.stakeReturned == STAKE - penalty
    assert token.balanceOf(leader.address) - balance == STAKE - penalty
    with ape.reverts(msc.NotRegistered):
        msc.withdrawRemaining(sender=leader.account)


def test_timeout_below_minimum_dissolves(msc: Any, chain: Any, user: Any, pool: list[Enclave]) -> None:
    env_id, roles = live(msc, user, pool, 3)
    cid = int(msc.challenge(env_id, roles.monitors[0], REQUEST, sender=user).events[0].challengeId)
    pending = int(msc.challenge(env_id, roles.executor, REQUEST, sender=user).events[0].challengeId)
    chain.mine(MSC_RESPONSE_WINDOW + 1)
    receipt = msc.timeoutChallenge(cid, sender=user)
    assert receipt.events.filter(msc.EnvironmentDissolved)[0].envId == env_id
    assert msc.environmentInfo(env_id).status == DISSOLVED
    assert msc.enclaveInfo(roles.leader).liveEnvironments == 0
    assert not msc.isMember(env_id, roles.leader)
    # a challenge still pending in the dissolved environment: the target is slashed and leaves the pool
    removed = msc.timeoutChallenge(pending, sender=user).events.filter(msc.EnclaveRemoved)[0]
    assert removed.enclave == roles.executor
    assert removed.penalty == STAKE * MSC_SLASH_BPS // 10_000
    assert msc.enclaveInfo(roles.executor).liveEnvironments == 0


def test_removed_member_of_another_environment_cannot_withdraw(
    msc: Any, chain: Any, user: Any, pool: list[Enclave]
) -> None:
    first, roles = live(msc, user, pool, 9)  # everyone is a member
    second, _ = live(msc, user, pool, 9)
    target = by_address(pool)[roles.leader]
    cid = int(msc.challenge(first, target.address, REQUEST, sender=user).events[0].challengeId)
    chain.mine(MSC_RESPONSE_WINDOW + 1)
    msc.timeoutChallenge(cid, sender=user)
    assert msc.isMember(second, target.address)
    with ape.reverts(msc.StillBusy):  # still answerable (and slashable) in the second environment
        msc.withdrawRemaining(sender=target.account)


def test_leave_returns_the_stake(
    msc: Any, chain: Any, token: Any, deployer: Any, pool_holders: Any, stranger: Any
) -> None:
    enclave = new_enclave(deployer, token, pool_holders[2], 103)
    register(msc, token, chain, enclave)
    sync(msc, chain, enclave)
    balance = token.balanceOf(enclave.address)
    left = msc.leave(sender=enclave.account).events.filter(msc.EnclaveLeft)[0]
    assert left.stakeReturned == STAKE
    assert token.balanceOf(enclave.address) - balance == STAKE
    assert msc.enclaveInfo(enclave.address).status == LEFT
    assert enclave.address not in list(msc.activeEnclaves())
    with ape.reverts(msc.NotRegistered):
        msc.leave(sender=enclave.account)
    with ape.reverts(msc.NotRegistered):
        msc.leave(sender=stranger)


def test_pool_is_capped(
    msc: Any, chain: Any, token: Any, deployer: Any, pool_holders: Any, pool: list[Enclave]
) -> None:
    cap = int(msc.MAX_ACTIVE())
    for i in range(cap - POOL):
        extra = new_enclave(deployer, token, pool_holders[2], 300 + i)
        register(msc, token, chain, extra)
        sync(msc, chain, extra)
    late = new_enclave(deployer, token, pool_holders[2], 400)
    register(msc, token, chain, late)
    with ape.reverts(msc.PoolFull):
        sync(msc, chain, late)

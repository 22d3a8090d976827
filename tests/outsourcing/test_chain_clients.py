"""The typed web3 clients of MSC and ASC (``offchain.outsourcing.chain_clients``) against the devnet, on a
``deploy_bmeoc`` deployment read back from its deployments file, as agents use them: enclaves register with
PoP and quote, the VRF picks an environment whose roles and key the events carry, ASC is bound to it and
settles a task with real BLS aggregates through MSC, and a silent member is challenged and removed."""

from __future__ import annotations

from typing import Any

import ape
import pytest
from eth_account import Account
from msc_fixtures import STAKE

from offchain.chain.connection import connect, contract
from offchain.chain.contract_client import ReadOnlyClient
from offchain.chain.deployments import Deployments, load_deployments
from offchain.chain.errors import ContractRevert
from offchain.chain.registry import RegistryClient, Resources
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto import bls
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import from_private_key
from offchain.deploy import MSC_RESPONSE_WINDOW, Deployment, deploy_bmeoc, write_deployments
from offchain.outsourcing import vrf
from offchain.outsourcing.asc import anchor_digest, claim_digest, group_commitment, settlement_digest, task_id
from offchain.outsourcing.chain_clients import (
    AscClient,
    ChallengeAnswered,
    ChallengeOpened,
    ContractInstalled,
    EnclaveActivated,
    EnclaveRegistered,
    EnclaveRemoved,
    EnclaveStatus,
    EnvironmentChanged,
    EnvironmentCreated,
    EnvironmentSet,
    EnvStatus,
    ScStatus,
    StateSynced,
    TaskStatus,
    VrfSubmitted,
)
from offchain.outsourcing.chain_clients import MscClient as Msc
from offchain.outsourcing.msc_messages import (
    environment_message,
    environment_signature,
    execution_message,
    install_message,
    simulated_attestation_authority,
    simulated_quote,
)

UNIT = 10**18
ENCLAVES = 4
CODE_HASH = keccak256(b"osc code")


@pytest.fixture(scope="module")
def deployments(
    project: Any, deployer: Any, platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any
) -> Deployments:
    deploy_bmeoc(project, deployer, platform)
    assert {"MSC", "ASC"} <= set(platform.contracts)
    assert platform.contracts["ASC"].verifier() == platform.contracts["MSC"].address
    path = write_deployments(platform, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


@pytest.fixture(scope="module")
def w3(deployments: Deployments) -> Any:
    return connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)


def _funded(deployer: Any, token: Any, funder: Any, tokens: int) -> Any:
    account = ape.accounts.test_accounts.generate_test_account()
    deployer.transfer(account, 10**18)
    if tokens:
        token.transfer(account, tokens, sender=funder)
    return account


def _enc(account: Any) -> bytes:
    return encryption_keypair(from_private_key(account.private_key)).compressed_public_key


def _sender(w3: Any, deployments: Deployments, account: Any) -> TransactionSender:
    return TransactionSender(w3, Account.from_key(account.private_key), deployments=deployments)


def test_clients_run_an_environment_and_a_task_through_msc(
    w3: Any,
    deployments: Deployments,
    deployer: Any,
    auditor: Any,
    pool_holders: Any,
    token: Any,
    registry: Any,
    chain: Any,
) -> None:
    msc_contract, asc_contract = contract(w3, deployments, "MSC"), contract(w3, deployments, "ASC")
    mtc = contract(w3, deployments, "MetaCoin")
    reader = Msc(msc_contract)
    with pytest.raises(ReadOnlyClient):
        reader.leave()
    assert reader.token_address() == mtc.address
    assert reader.min_stake() == STAKE
    authority = simulated_attestation_authority()

    # B.1: enclaves register with PoP and quote, then prove they follow the chain
    enclaves: dict[str, tuple[Msc, int]] = {}
    for i in range(ENCLAVES):
        account = _funded(deployer, token, pool_holders[2], STAKE)
        client = Msc(msc_contract, _sender(w3, deployments, account))
        secret = bls.derive_secret(b"client-enclave" + bytes([i]))
        key = bls.public_key(secret)
        quote = simulated_quote(
            authority, deployments.chain_id, client.address, account.address, reader.measurement(), key
        )
        assert reader.quote_digest(account.address, reader.measurement(), key) != bytes(32)
        client.approve(mtc, STAKE)
        receipt = client.register_enclave(key, bls.prove_possession(secret), quote, STAKE)
        registered = client.decode_one(receipt, EnclaveRegistered)
        assert (registered.enclave, registered.bls_key, registered.stake) == (account.address, key, STAKE)
        assert reader.enclave(account.address).status is EnclaveStatus.REGISTERED
        with pytest.raises(ContractRevert, match="AlreadyRegistered"):
            client.register_enclave(key, bls.prove_possession(secret), quote, STAKE)
        activated = client.decode_one(client.confirm_sync(), EnclaveActivated)
        assert activated.enclave == account.address
        enclaves[str(account.address)] = (client, secret)
    assert set(reader.active_enclaves()) == set(enclaves)
    info = reader.enclave(next(iter(enclaves)))
    assert (info.status, info.stake, info.live_environments) == (EnclaveStatus.ACTIVE, STAKE, 0)

    # B.2: an environment by VRF; the roles come back decoded and equal the pure Python selection
    user_account = _funded(deployer, token, pool_holders[2], 0)
    user = Msc(msc_contract, _sender(w3, deployments, user_account))
    requested, _ = user.create_environment(ENCLAVES)
    env_id = requested.env_id
    assert requested.seed == reader.environment(env_id).seed
    assert reader.environment(env_id).status is EnvStatus.SELECTING
    assert reader.environment(env_id).roles is None
    outputs = {}
    for address, (client, secret) in enclaves.items():
        proof = vrf.prove(secret, requested.seed)
        submitted, _ = client.submit_vrf(env_id, proof.proof)
        assert submitted == VrfSubmitted(submitted.block_number, env_id, address, proof.output)
        outputs[address] = proof.output
        assert reader.vrf_output(env_id, address) == proof.output
    created, _ = user.finalize_environment(env_id)
    roles = vrf.assign_roles(outputs, ENCLAVES)
    assert created.roles == roles
    all_keys = [bls.public_key(s) for _, s in enclaves.values()]
    assert created.aggregate_key == bls.aggregate_public_keys(all_keys)
    environment = reader.environment(env_id)
    assert environment.roles == roles
    assert environment.aggregate_key == created.aggregate_key
    assert reader.is_member(env_id, roles.leader)
    assert reader.environment_count() == env_id
    assert reader.events(EnvironmentCreated, requested.block_number) == [created]
    leader, _ = enclaves[roles.leader]

    def sign_all(message: bytes) -> tuple[bytes, bytes]:
        sigma = bls.aggregate_signatures(bls.sign(s, message) for _, s in enclaves.values())
        return created.aggregate_key, sigma

    # B.3 / B.4: a contract installed and one execution step confirmed by the Leader
    id_sc, _ = user.register_contract(CODE_HASH)
    message = install_message(deployments.chain_id, reader.address, env_id, id_sc, CODE_HASH)
    assert reader.install_message(id_sc, env_id) == message
    receipt = leader.confirm_install(id_sc, env_id, *sign_all(message))
    installed = leader.decode_one(receipt, ContractInstalled)
    assert (installed.id_sc, installed.env_id) == (id_sc, env_id)
    root = keccak256(b"root 1")
    step = execution_message(deployments.chain_id, reader.address, env_id, id_sc, 1, root)
    assert reader.execution_message(id_sc, env_id, 1, root) == step
    synced = leader.decode_one(leader.confirm_execution(id_sc, 1, root, *sign_all(step)), StateSynced)
    assert (synced.seq, synced.state_root) == (1, root)
    sc = reader.smart_contract(id_sc)
    assert (sc.status, sc.seq, sc.state_root, sc.env_id) == (ScStatus.INSTALLED, 1, root, env_id)
    with pytest.raises(ContractRevert, match="WrongSequence"):
        leader.confirm_execution(id_sc, 1, root, *sign_all(step))

    # ASC bound to the environment by the deployer (ENVIRONMENT_ADMIN_ROLE), then a task settled through MSC
    admin = AscClient(asc_contract, _sender(w3, deployments, deployer))
    assert admin.verifier_address() == reader.address
    assert admin.msc_environment_id() == 0
    bound = admin.decode_one(admin.set_environment(env_id), EnvironmentSet)
    assert bound.msc_env_id == env_id
    assert admin.msc_environment_id() == env_id

    def env_sign(digest: bytes) -> bytes:
        signed = environment_message(deployments.chain_id, reader.address, env_id, digest)
        assert reader.environment_message(env_id, digest) == signed
        keys = [bls.public_key(s) for _, s in enclaves.values()]
        return environment_signature(keys, [bls.sign(s, signed) for _, s in enclaves.values()])

    mtd_account = _funded(deployer, token, pool_holders[0], 1_000 * UNIT)
    mtd_sender = _sender(w3, deployments, mtd_account)
    rsc = contract(w3, deployments, "RSC")
    RegistryClient(rsc, mtd_sender).register(ActorRole.MTD, _enc(mtd_account), "")
    mtd = AscClient(asc_contract, mtd_sender)
    mtd.approve(mtc)
    csns = []
    for _ in range(2):
        csn_account = _funded(deployer, token, pool_holders[0], 500 * UNIT)
        csn_sender = _sender(w3, deployments, csn_account)
        RegistryClient(rsc, csn_sender).register(
            ActorRole.CSN,
            _enc(csn_account),
            "http://127.0.0.1:9000",
            resources=Resources("10.0.0.1", 4, 8_192, 100, 1_000),
            provider=f"provider-{len(csns)}",
        )
        registry.approveRoles(csn_account, int(ActorRole.CSN), sender=auditor)
        csn = AscClient(asc_contract, csn_sender)
        csn.approve(mtc)
        csn.deposit_stake(200 * UNIT)
        assert csn.stake_of(csn_account.address).bonded == 200 * UNIT
        assert csn.is_eligible(csn_account.address)
        csns.append(str(csn_account.address))
    deposit = 10 * UNIT
    ids_hash = keccak256(b"ID_t client test")
    tid, _ = mtd.open_task(ids_hash, 2, deposit)
    assert tid == task_id(deployments.chain_id, admin.address, str(mtd_account.address), ids_hash)
    commitment = group_commitment(csns, b"\x01" * 32)
    digest = anchor_digest(deployments.chain_id, admin.address, bound.environment_id, tid, commitment)
    assert admin.anchor_digest(tid, commitment) == digest
    assert reader.verify_environment_signature(env_id, digest, env_sign(digest))
    partial = [s for _, s in enclaves.values()][:-1]
    signed = environment_message(deployments.chain_id, reader.address, env_id, digest)
    partial_signature = environment_signature(
        [bls.public_key(s) for s in partial], [bls.sign(s, signed) for s in partial]
    )
    leader_asc = AscClient(asc_contract, leader.sender)
    with pytest.raises(ContractRevert, match="InvalidEnvironmentSignature"):  # signed without one member
        leader_asc.anchor_schedule(tid, commitment, partial_signature)
    scheduled, _ = leader_asc.anchor_schedule(tid, commitment, env_sign(digest))
    assert scheduled.group_commitment == commitment
    assert scheduled.environment_id == bound.environment_id
    disputed, _ = mtd.open_dispute(tid)
    assert disputed.task_id == tid
    root = keccak256(b"ssc root")
    digest = settlement_digest(deployments.chain_id, admin.address, bound.environment_id, tid, [], 0, root)
    assert admin.settlement_digest(tid, [], 0, root) == digest
    settled, _ = leader_asc.settle(tid, [], 0, root, env_sign(digest))
    assert (settled.malicious, settled.honest_credit, settled.ssc_state_root) == (0, deposit, root)
    assert admin.task(tid).status is TaskStatus.SETTLED
    assert admin.ssc_state_root() == root
    share = deposit // 2
    voucher = claim_digest(deployments.chain_id, admin.address, bound.environment_id, csns[0], share)
    assert admin.claim_digest(csns[0], share) == voucher
    before = int(mtc.functions.balanceOf(csns[0]).call())
    claimed, _ = leader_asc.claim(csns[0], share, env_sign(voucher))
    assert (claimed.csn, claimed.amount, claimed.cumulative) == (csns[0], share, share)
    assert int(mtc.functions.balanceOf(csns[0]).call()) - before == share
    assert admin.claimed(csns[0]) == share
    assert admin.balance_sheet() == int(mtc.functions.balanceOf(admin.address).call())

    # B.5: a challenge answered in time, then one left unanswered: removal, slashing, new roles and key
    watcher = reader.watcher(ChallengeOpened, from_block=w3.eth.block_number + 1, poll_interval=0.05)
    target = roles.monitors[-1]
    opened, _ = user.challenge(env_id, roles.executor, keccak256(b"request"))
    assert (opened.target, opened.challenger, opened.env_id) == (roles.executor, user_account.address, env_id)
    answered = enclaves[roles.executor][0].respond(opened.challenge_id, keccak256(b"response"))
    assert reader.decode(answered, ChallengeAnswered)[0].response_hash == keccak256(b"response")
    assert reader.challenge_info(opened.challenge_id).resolved
    silent, _ = user.challenge(env_id, target, keccak256(b"request 2"))
    assert reader.open_challenges(target) == 1
    assert [ChallengeOpened.from_event(ev) for ev in watcher.poll()] == [opened, silent]
    with pytest.raises(ContractRevert, match="ResponseWindowOpen"):
        user.timeout_challenge(silent.challenge_id)
    chain.mine(MSC_RESPONSE_WINDOW + 1)
    removed, receipt = user.timeout_challenge(silent.challenge_id)
    assert (removed.enclave, removed.penalty) == (target, STAKE // 2)
    changed = user.decode_one(receipt, EnvironmentChanged)
    remaining = tuple(m for m in roles.members if m != target)
    assert changed.members == remaining
    assert changed.roles.leader == roles.leader
    remaining_keys = [bls.public_key(enclaves[m][1]) for m in remaining]
    assert changed.aggregate_key == bls.aggregate_public_keys(remaining_keys)
    assert reader.events(EnclaveRemoved, removed.block_number) == [removed]
    assert reader.enclave(target).status is EnclaveStatus.REMOVED
    assert not reader.verify_environment_signature(env_id, voucher, env_sign(voucher))  # old key gone


def test_event_types_refuse_other_events() -> None:
    log: Any = {"event": "ContractInstalled", "args": {"idSc": 3, "envId": 2}, "blockNumber": 7}
    assert ContractInstalled.from_event(log) == ContractInstalled(7, 3, 2)
    with pytest.raises(ValueError, match="expected a StateSynced event"):
        StateSynced.from_event(log)

"""The web3 client of RSMSLedger (``offchain.resource_auth.ledger``) against the devnet: the ``Ledger``
interface of the protocol core, error translation, the race of two pool managers through the client, and
the history rebuilt from events."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import coincurve
import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from offchain.chain.connection import connect
from offchain.chain.deployments import Deployments, load_deployments
from offchain.chain.errors import ContractRevert
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.deploy import Deployment, deploy_resource_auth, write_deployments
from offchain.resource_auth.ledger import (
    ChainLedger,
    Ledger,
    LedgerCheck,
    PseudonymRevoked,
    ReplayDetected,
    pseudonym_key,
)

POOL_X, POOL_Y = 11, 12


def tag_of(label: str) -> bytes:
    return hashlib.sha256(b"H4|" + label.encode()).digest()


def pid_of(label: str, size: int = 32) -> bytes:
    return hashlib.shake_256(b"PID|" + label.encode()).digest(size)


@pytest.fixture(scope="module")
def deployments(
    project: Any,
    chain: Any,
    deployer: Any,
    platform: Deployment,
    registry: Any,
    auditor: Any,
    accounts: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployments:
    """Platform + ledger deployed; accounts 6 and 7 are approved pool managers."""
    for rpm in (accounts[6], accounts[7]):
        key = coincurve.PrivateKey().public_key.format(compressed=True)
        registry.register(int(ActorRole.POOL_MANAGER), key, b"", "", ("", 0, 0, 0, 0), bytes(32), sender=rpm)
        registry.approveRoles(rpm, int(ActorRole.POOL_MANAGER), sender=auditor)
    deployment = deploy_resource_auth(project, deployer, platform)
    path = write_deployments(deployment, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))
    return load_deployments(path)


@pytest.fixture(scope="module")
def w3(deployments: Deployments) -> Any:
    return connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)


def client_for(w3: Any, deployments: Deployments, account: Any) -> ChainLedger:
    sender = TransactionSender(
        w3, Account.from_key(account.private_key), deployments=deployments, receipt_timeout=30
    )
    return ChainLedger.from_deployments(w3, deployments, sender)


@pytest.fixture
def msrp(w3: Any, deployments: Deployments, deployer: Any, accounts: Any) -> ChainLedger:
    """The MSRP's client, with pool X under account 6 and pool Y under account 7."""
    client = client_for(w3, deployments, deployer)
    # Ape's isolation does not always rewind what web3 sent in a fixture: open only what is closed,
    # and let every test use tags and pseudonyms of its own.
    for pool, manager in ((POOL_X, accounts[6]), (POOL_Y, accounts[7])):
        info = client.pool(pool)
        if not info.open:
            client.open_pool(pool, manager.address)
        elif info.manager != manager.address:
            client.set_pool_manager(pool, manager.address)
    return client


@pytest.fixture
def rpm_x(w3: Any, deployments: Deployments, accounts: Any, msrp: ChainLedger) -> ChainLedger:
    return client_for(w3, deployments, accounts[6])


@pytest.fixture
def rpm_y(w3: Any, deployments: Deployments, accounts: Any, msrp: ChainLedger) -> ChainLedger:
    return client_for(w3, deployments, accounts[7])


def exercise_ledger(writer: Ledger, admin: Ledger, pool_id: int, prefix: str) -> None:
    """The semantics every ``Ledger`` keeps, through the interface alone (``admin`` revokes and anchors;
    both may be the same object for an in-memory ledger)."""
    tag, pid = tag_of(prefix + "tag"), pid_of(prefix + "pid")
    assert not writer.is_recorded(tag)
    writer.record_authentication(pool_id, tag, pid)
    assert writer.is_recorded(tag)
    with pytest.raises(ReplayDetected):
        writer.record_authentication(pool_id, tag, pid)
    with pytest.raises(ReplayDetected):
        writer.record_authentication(pool_id, tag, pid_of(prefix + "fresh pid"))
    with pytest.raises(ReplayDetected):
        writer.record_authentication(pool_id, tag_of(prefix + "fresh tag"), pid)
    assert not writer.is_recorded(tag_of(prefix + "fresh tag"))
    revoked = pid_of(prefix + "revoked")
    assert not writer.is_revoked(revoked)
    admin.revoke(revoked)
    admin.revoke(revoked)
    assert writer.is_revoked(revoked)
    with pytest.raises((PseudonymRevoked, ReplayDetected)):
        writer.record_authentication(pool_id, tag_of(prefix + "revoked"), revoked)
    assert not writer.is_recorded(tag_of(prefix + "revoked"))
    admin.anchor_bloom_digest(pool_id, hashlib.sha256(prefix.encode()).digest())


def test_the_client_is_a_ledger(rpm_x: ChainLedger, msrp: ChainLedger) -> None:
    assert isinstance(rpm_x, Ledger)
    exercise_ledger(rpm_x, msrp, POOL_X, "interface/")


def test_record_then_replay_is_detected(rpm_x: ChainLedger, rpm_y: ChainLedger) -> None:
    tag, pid = tag_of("a1"), pid_of("PID1", 48)
    count = rpm_x.record_count()
    assert not rpm_x.is_recorded(tag)
    assert rpm_x.check(tag, pid) == LedgerCheck(False, False, False)
    rpm_x.record_authentication(POOL_X, tag, pid)
    assert rpm_y.is_recorded(tag)  # every pool manager sees it
    assert rpm_y.is_pseudonym_used(pid)
    assert rpm_y.tag_of_pseudonym(pid) == tag
    assert rpm_y.tag_of_pseudonym(pid_of("never")) is None
    with pytest.raises(ReplayDetected) as same_secret:
        rpm_y.record_authentication(POOL_Y, tag, pid_of("other"))
    assert same_secret.value.what == "secret"
    assert same_secret.value.key == tag
    with pytest.raises(ReplayDetected) as same_pid:
        rpm_y.record_authentication(POOL_Y, tag_of("other"), pid)
    assert same_pid.value.what == "pseudonym"
    assert same_pid.value.key == keccak(pid) == pseudonym_key(pid)
    assert rpm_x.record_count() == count + 1


def test_revocation_through_the_interface(msrp: ChainLedger, rpm_x: ChainLedger) -> None:
    pid = pid_of("suspicious RN")
    assert not rpm_x.is_revoked(pid)
    msrp.revoke(pid)
    msrp.revoke(pid)  # idempotent
    assert rpm_x.is_revoked(pid)
    with pytest.raises(PseudonymRevoked) as refused:
        rpm_x.record_authentication(POOL_X, tag_of("r"), pid)
    assert refused.value.pid_key == keccak(pid)
    assert not rpm_x.is_recorded(tag_of("r"))
    with pytest.raises(ContractRevert) as not_msrp:
        rpm_x.revoke(pid_of("x"))
    assert not_msrp.value.error_name == "AccessControlUnauthorizedAccount"


def test_bloom_digests_and_pools(msrp: ChainLedger, rpm_x: ChainLedger, accounts: Any) -> None:
    first, second = hashlib.sha256(b"BF 1").digest(), hashlib.sha256(b"BF 2").digest()
    version = rpm_x.pool(POOL_X).bloom_version
    msrp.anchor_bloom_digest(POOL_X, first)
    msrp.anchor_bloom_digest(POOL_X, second)
    pool = rpm_x.pool(POOL_X)
    assert (pool.manager, pool.open, pool.bloom_version, pool.bloom_digest) == (
        accounts[6].address,
        True,
        version + 2,
        second,
    )
    assert rpm_x.bloom_digest(POOL_X, version + 1) == first
    assert rpm_x.bloom_digest(POOL_X, version + 3) is None
    with pytest.raises(ValueError, match="32 non-zero bytes"):
        msrp.anchor_bloom_digest(POOL_X, bytes(32))
    pool_z = 13
    msrp.open_pool(pool_z, accounts[6].address)
    msrp.set_pool_manager(pool_z, accounts[7].address)
    with pytest.raises(ContractRevert) as wrong_writer:
        rpm_x.record_authentication(pool_z, tag_of("w"), pid_of("w"))
    assert wrong_writer.value.error_name == "NotAuthorizedWriter"
    msrp.close_pool(pool_z)
    assert not rpm_x.pool(pool_z).open


def test_bad_inputs_are_refused_before_sending(rpm_x: ChainLedger) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        rpm_x.record_authentication(POOL_X, b"short", pid_of("p"))
    with pytest.raises(ValueError, match="reserved"):
        rpm_x.is_recorded(bytes(32))
    with pytest.raises(ValueError, match="1 to 96 bytes"):
        rpm_x.is_revoked(b"")
    with pytest.raises(ValueError, match="uint32"):
        rpm_x.record_authentication(2**32, tag_of("p"), pid_of("p"))
    reader = ChainLedger(rpm_x.contract)
    with pytest.raises(RuntimeError, match="read-only"):
        reader.revoke(pid_of("p"))


def test_two_pool_managers_race_through_the_client(
    chain: Any, rpm_x: ChainLedger, rpm_y: ChainLedger
) -> None:
    """Both RPMs submit the same (H4(a), PID) at once while blocks are mined by hand: one records, the
    other gets ReplayDetected (its estimate or its mined transaction reverts)."""
    tag, pid = tag_of("race"), pid_of("race")
    count = rpm_x.record_count()
    barrier = threading.Barrier(2)

    def submit(client: ChainLedger, pool: int) -> str:
        barrier.wait()
        try:
            client.record_authentication(pool, tag, pid)
        except ReplayDetected as exc:
            return f"replay:{exc.what}"
        return "recorded"

    chain.provider.make_request("evm_setAutomine", [False])
    try:
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(submit, rpm_x, POOL_X), pool.submit(submit, rpm_y, POOL_Y)]
            while not all(f.done() for f in futures):
                time.sleep(0.3)
                chain.provider.make_request("evm_mine", [])
            outcomes = sorted(f.result() for f in futures)
    finally:
        chain.provider.make_request("evm_setAutomine", [True])
    assert outcomes == ["recorded", "replay:secret"]
    assert rpm_x.record_count() == count + 1


def test_history_rebuilds_every_record(msrp: ChainLedger, rpm_x: ChainLedger, rpm_y: ChainLedger) -> None:
    start = rpm_x.contract.w3.eth.block_number + 1
    first = rpm_x.record_count()
    written = []
    for i, (client, pool) in enumerate([(rpm_x, POOL_X), (rpm_y, POOL_Y), (msrp, POOL_Y)]):
        tag, pid = tag_of(f"h{i}"), pid_of(f"h{i}", 32 + 16 * (i % 2))
        client.record_authentication(pool, tag, pid)
        written.append((tag, pid, pool, client.sender.address if client.sender else None))
    history = rpm_x.history(start)
    assert [(r.secret_tag, r.pseudonym, r.pool_id, r.writer) for r in history] == written
    assert [r.index for r in history] == [first, first + 1, first + 2]

"""The one ``Ledger`` interface (``offchain.resource_auth.ledger_api``): a conformance test run against both
implementations (in memory and ``ChainLedger`` on the devnet), then the chain client's own parts: error
translation, the race of two pool managers through the client, and the history rebuilt from events."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import coincurve
import pytest
from eth_account import Account

from offchain.chain.connection import connect
from offchain.chain.deployments import Deployments, load_deployments
from offchain.chain.errors import ContractRevert
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.deploy import Deployment, deploy_resource_auth, write_deployments
from offchain.resource_auth.ledger import ChainLedger, LedgerCheck
from offchain.resource_auth.ledger_api import (
    InMemoryLedger,
    Ledger,
    PseudonymReused,
    ReplayDetected,
    RevokedNode,
    pid_key,
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
    assert isinstance(writer, Ledger)
    assert isinstance(admin, Ledger)
    tag, pid = tag_of(prefix + "tag"), pid_of(prefix + "pid", 48)
    before = len(writer.records())
    assert not writer.is_tag_used(tag)
    assert not writer.is_pid_used(pid)
    assert writer.tag_of_pseudonym(pid) is None
    index = writer.record_authentication(pool_id, tag, pid)
    assert writer.is_tag_used(tag)
    assert writer.is_pid_used(pid)
    assert writer.tag_of_pseudonym(pid) == tag
    with pytest.raises(ReplayDetected):
        writer.record_authentication(pool_id, tag, pid)
    with pytest.raises(ReplayDetected):  # the tag is checked before the pseudonym
        writer.record_authentication(pool_id, tag, pid_of(prefix + "fresh pid"))
    with pytest.raises(PseudonymReused):
        writer.record_authentication(pool_id, tag_of(prefix + "fresh tag"), pid)
    assert not writer.is_tag_used(tag_of(prefix + "fresh tag"))
    assert not writer.is_pid_used(pid_of(prefix + "fresh pid"))
    second = writer.record_authentication(pool_id, tag_of(prefix + "second"), pid_of(prefix + "second"))
    assert second == index + 1
    revoked = pid_of(prefix + "revoked")
    assert not writer.is_revoked(revoked)
    admin.revoke(revoked)
    admin.revoke(revoked)  # idempotent
    assert writer.is_revoked(revoked)
    with pytest.raises(RevokedNode):  # revocation is checked first, even before a used tag
        writer.record_authentication(pool_id, tag, revoked)
    with pytest.raises(RevokedNode):
        writer.record_authentication(pool_id, tag_of(prefix + "revoked"), revoked)
    assert not writer.is_tag_used(tag_of(prefix + "revoked"))
    records = writer.records()[before:]
    assert [(r.index, r.pool_id, r.tag, r.pid) for r in records] == [
        (index, pool_id, tag, pid),
        (second, pool_id, tag_of(prefix + "second"), pid_of(prefix + "second")),
    ]
    first_digest, second_digest = (hashlib.sha256(prefix.encode() + bytes([i])).digest() for i in (1, 2))
    version = admin.anchor_bloom_digest(pool_id, first_digest)
    assert admin.anchor_bloom_digest(pool_id, second_digest) == version + 1
    assert writer.bloom_digest_at(pool_id, version) == first_digest
    assert writer.bloom_digest_at(pool_id, version + 1) == second_digest
    assert writer.bloom_digest_at(pool_id, version + 2) is None
    assert writer.bloom_digest_at(pool_id, 0) is None
    with pytest.raises(ValueError, match="32 bytes"):
        writer.record_authentication(pool_id, b"short", pid)
    with pytest.raises(ValueError, match="reserved"):
        writer.is_tag_used(bytes(32))
    with pytest.raises(ValueError, match="1 to 96 bytes"):
        writer.is_revoked(b"")
    with pytest.raises(ValueError, match="uint32"):
        writer.record_authentication(2**32, tag_of(prefix + "p"), pid_of(prefix + "p"))
    with pytest.raises(ValueError, match="32 non-zero bytes"):
        admin.anchor_bloom_digest(pool_id, bytes(32))


@pytest.mark.parametrize("backend", ["memory", "chain"])
def test_every_ledger_conforms(
    backend: str, request: pytest.FixtureRequest, deployments: Deployments
) -> None:
    """The same conformance run against both implementations of the one interface (``deployments`` is
    requested here so that the module's deployment happens before ape's per-test snapshot)."""
    if backend == "memory":
        memory = InMemoryLedger()
        exercise_ledger(memory, memory, POOL_X, "memory/")
    else:
        rpm_x, msrp = request.getfixturevalue("rpm_x"), request.getfixturevalue("msrp")
        exercise_ledger(rpm_x, msrp, POOL_X, "chain/")


def test_record_then_replay_is_detected(rpm_x: ChainLedger, rpm_y: ChainLedger) -> None:
    tag, pid = tag_of("a1"), pid_of("PID1", 48)
    count = rpm_x.record_count()
    assert rpm_x.check(tag, pid) == LedgerCheck(False, False, False)
    assert rpm_x.record_authentication(POOL_X, tag, pid) == count
    assert rpm_y.is_tag_used(tag)  # every pool manager sees it
    assert rpm_y.check(tag, pid) == LedgerCheck(True, True, False)
    with pytest.raises(ReplayDetected) as same_secret:
        rpm_y.record_authentication(POOL_Y, tag, pid_of("other"))
    assert same_secret.value.revert_name == "SecretAlreadyUsed"
    assert tag.hex() in str(same_secret.value)
    with pytest.raises(PseudonymReused) as same_pid:
        rpm_y.record_authentication(POOL_Y, tag_of("other"), pid)
    assert same_pid.value.revert_name == "PseudonymAlreadyUsed"
    assert pid_key(pid).hex() in str(same_pid.value)
    assert rpm_x.record_count() == count + 1


def test_revocation_through_the_interface(msrp: ChainLedger, rpm_x: ChainLedger) -> None:
    pid = pid_of("suspicious RN")
    msrp.revoke(pid)
    with pytest.raises(RevokedNode) as refused:
        rpm_x.record_authentication(POOL_X, tag_of("r"), pid)
    assert refused.value.revert_name == "PseudonymIsRevoked"
    assert pid_key(pid).hex() in str(refused.value)
    with pytest.raises(ContractRevert) as not_msrp:
        rpm_x.revoke(pid_of("x"))
    assert not_msrp.value.error_name == "AccessControlUnauthorizedAccount"


def test_bloom_digests_and_pools(msrp: ChainLedger, rpm_x: ChainLedger, accounts: Any) -> None:
    first, second = hashlib.sha256(b"BF 1").digest(), hashlib.sha256(b"BF 2").digest()
    version = rpm_x.pool(POOL_X).bloom_version
    assert msrp.anchor_bloom_digest(POOL_X, first) == version + 1
    msrp.anchor_bloom_digest(POOL_X, second)
    pool = rpm_x.pool(POOL_X)
    assert (pool.manager, pool.open, pool.bloom_version, pool.bloom_digest) == (
        accounts[6].address,
        True,
        version + 2,
        second,
    )
    pool_z = 13
    msrp.open_pool(pool_z, accounts[6].address)
    msrp.set_pool_manager(pool_z, accounts[7].address)
    with pytest.raises(ContractRevert) as wrong_writer:
        rpm_x.record_authentication(pool_z, tag_of("w"), pid_of("w"))
    assert wrong_writer.value.error_name == "NotAuthorizedWriter"
    msrp.close_pool(pool_z)
    assert not rpm_x.pool(pool_z).open


def test_a_client_without_sender_is_read_only(rpm_x: ChainLedger) -> None:
    reader = ChainLedger(rpm_x.contract)
    assert not reader.is_revoked(pid_of("p"))
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
            return f"replay:{exc.revert_name}"
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
    assert outcomes == ["recorded", "replay:SecretAlreadyUsed"]
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
    assert [(r.tag, r.pid, r.pool_id, r.writer) for r in history] == written
    assert [r.index for r in history] == [first, first + 1, first + 2]

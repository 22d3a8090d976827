"""RSMSLedger (seed 002, spec §4.2): pools, (H4(a), PID) records with atomic check-and-set, revocation,
Bloom-filter anchors. Every function, every revert path and every event has a test; the double-spend race
between two pool managers is run inside one block with anvil's automine off.
"""

from __future__ import annotations

import hashlib
from typing import Any

import ape
import coincurve
import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from web3.exceptions import ContractLogicError, Web3RPCError

from offchain.chain.roles import ActorRole
from offchain.deploy import Deployment, deploy_resource_auth

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
RESOURCES = ("10.0.0.9", 4, 8_192, 100, 1_000)
POOL_X, POOL_Y = 1, 2


def tag_of(label: str) -> bytes:
    """A stand-in for H4(a): 32 bytes."""
    return hashlib.sha256(b"H4|" + label.encode()).digest()


def pid_of(label: str, size: int = 32) -> bytes:
    return hashlib.shake_256(b"PID|" + label.encode()).digest(size)


def register_rpm(registry: Any, auditor: Any, account: Any) -> None:
    key = coincurve.PrivateKey().public_key.format(compressed=True)
    registry.register(
        int(ActorRole.POOL_MANAGER), key, b"", "http://127.0.0.1:9901", RESOURCES, bytes(32), sender=account
    )
    registry.approveRoles(account, int(ActorRole.POOL_MANAGER), sender=auditor)


@pytest.fixture(scope="module")
def rpm_x(accounts: Any) -> Any:
    return accounts[6]


@pytest.fixture(scope="module")
def rpm_y(accounts: Any) -> Any:
    return accounts[7]


@pytest.fixture(scope="module")
def stranger(accounts: Any) -> Any:
    return accounts[8]


@pytest.fixture(scope="module")
def ledger(
    project: Any, deployer: Any, platform: Deployment, registry: Any, auditor: Any, rpm_x: Any, rpm_y: Any
) -> Any:
    """The ledger with two open pools: X managed by ``rpm_x``, Y by ``rpm_y``; the deployer is the MSRP."""
    register_rpm(registry, auditor, rpm_x)
    register_rpm(registry, auditor, rpm_y)
    contract = deploy_resource_auth(project, deployer, platform).contracts["RSMSLedger"]
    contract.openPool(POOL_X, rpm_x, sender=deployer)
    contract.openPool(POOL_Y, rpm_y, sender=deployer)
    return contract


# -------------------------------------------------------------------------------- deployment


def test_deployment_wires_roles_and_registry(
    ledger: Any, deployer: Any, registry: Any, platform: Any
) -> None:
    assert ledger.hasRole(ledger.DEFAULT_ADMIN_ROLE(), deployer)
    assert ledger.hasRole(ledger.MSRP_ROLE(), deployer)
    assert ledger.MSRP_ROLE() == keccak(text="RSMS_MSRP_ROLE")
    assert ledger.registry() == registry.address
    assert ledger.recordCount() == 0
    assert ledger.MAX_PSEUDONYM_LENGTH() == 96
    assert platform.records["RSMSLedger"]["address"] == str(ledger.address)


def test_constructor_rejects_zero_addresses(project: Any, deployer: Any, registry: Any) -> None:
    for args in [
        (ZERO_ADDRESS, deployer, registry),
        (deployer, ZERO_ADDRESS, registry),
        (deployer, deployer, ZERO_ADDRESS),
    ]:
        with ape.reverts(project.RSMSLedger.ZeroAddress):
            deployer.deploy(project.RSMSLedger, *args)


# -------------------------------------------------------------------------------- pools


def test_open_pool_emits_and_stores(
    ledger: Any, deployer: Any, registry: Any, auditor: Any, accounts: Any
) -> None:
    manager = accounts[9]
    register_rpm(registry, auditor, manager)
    receipt = ledger.openPool(7, manager, sender=deployer)
    assert receipt.events == [ledger.PoolOpened(7, manager)]
    pool = ledger.poolInfo(7)
    assert pool.manager == manager
    assert pool.open
    assert pool.bloomVersion == 0
    assert pool.bloomDigest == bytes(32)


def test_open_pool_reverts(ledger: Any, deployer: Any, rpm_x: Any, stranger: Any, registry: Any) -> None:
    with ape.reverts(ledger.PoolAlreadyOpen, poolId=POOL_X):
        ledger.openPool(POOL_X, rpm_x, sender=deployer)
    with ape.reverts(ledger.NotPoolManager, account=stranger.address):
        ledger.openPool(9, stranger, sender=deployer)
    with ape.reverts(ledger.ZeroAddress):
        ledger.openPool(9, ZERO_ADDRESS, sender=deployer)
    msrp_role = ledger.MSRP_ROLE()
    with ape.reverts(ledger.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=msrp_role):
        ledger.openPool(9, rpm_x, sender=stranger)
    # an address with POOL_MANAGER still pending (not approved) is not a manager
    registry.register(
        int(ActorRole.POOL_MANAGER),
        coincurve.PrivateKey().public_key.format(compressed=True),
        b"",
        "",
        RESOURCES,
        bytes(32),
        sender=stranger,
    )
    with ape.reverts(ledger.NotPoolManager, account=stranger.address):
        ledger.openPool(9, stranger, sender=deployer)


def test_close_and_reopen_pool(ledger: Any, deployer: Any, rpm_x: Any, stranger: Any) -> None:
    with ape.reverts(ledger.AccessControlUnauthorizedAccount):
        ledger.closePool(POOL_X, sender=stranger)
    receipt = ledger.closePool(POOL_X, sender=deployer)
    assert receipt.events == [ledger.PoolClosed(POOL_X)]
    assert not ledger.poolInfo(POOL_X).open
    with ape.reverts(ledger.PoolNotOpen, poolId=POOL_X):
        ledger.closePool(POOL_X, sender=deployer)
    with ape.reverts(ledger.PoolNotOpen, poolId=POOL_X):
        ledger.recordAuthentication(POOL_X, tag_of("closed"), pid_of("closed"), sender=rpm_x)
    with ape.reverts(ledger.PoolNotOpen, poolId=POOL_X):
        ledger.setPoolManager(POOL_X, rpm_x, sender=deployer)
    with ape.reverts(ledger.PoolNotOpen, poolId=POOL_X):
        ledger.anchorBloomDigest(POOL_X, tag_of("bf"), sender=deployer)
    receipt = ledger.openPool(POOL_X, rpm_x, sender=deployer)
    assert receipt.events == [ledger.PoolOpened(POOL_X, rpm_x)]
    ledger.recordAuthentication(POOL_X, tag_of("reopened"), pid_of("reopened"), sender=rpm_x)
    assert ledger.isTagUsed(tag_of("reopened"))


def test_set_pool_manager(ledger: Any, deployer: Any, rpm_x: Any, rpm_y: Any, stranger: Any) -> None:
    with ape.reverts(ledger.AccessControlUnauthorizedAccount):
        ledger.setPoolManager(POOL_X, rpm_y, sender=stranger)
    with ape.reverts(ledger.NotPoolManager, account=stranger.address):
        ledger.setPoolManager(POOL_X, stranger, sender=deployer)
    receipt = ledger.setPoolManager(POOL_X, rpm_y, sender=deployer)
    assert receipt.events == [ledger.PoolManagerChanged(POOL_X, rpm_x, rpm_y)]
    assert ledger.poolInfo(POOL_X).manager == rpm_y
    with ape.reverts(ledger.NotAuthorizedWriter, caller=rpm_x.address, poolId=POOL_X):
        ledger.recordAuthentication(POOL_X, tag_of("old"), pid_of("old"), sender=rpm_x)
    ledger.recordAuthentication(POOL_X, tag_of("new"), pid_of("new"), sender=rpm_y)
    assert ledger.recordOf(tag_of("new")).writer == rpm_y


def test_bloom_digest_anchors_are_versioned(ledger: Any, deployer: Any, stranger: Any) -> None:
    first, second = hashlib.sha256(b"BF batch 1").digest(), hashlib.sha256(b"BF batch 2").digest()
    receipt = ledger.anchorBloomDigest(POOL_X, first, sender=deployer)
    assert receipt.events == [ledger.BloomDigestAnchored(POOL_X, 1, first)]
    receipt = ledger.anchorBloomDigest(POOL_X, second, sender=deployer)
    assert receipt.events == [ledger.BloomDigestAnchored(POOL_X, 2, second)]
    assert ledger.bloomDigestAt(POOL_X, 1) == first
    assert ledger.bloomDigestAt(POOL_X, 2) == second
    assert ledger.bloomDigestAt(POOL_X, 3) == bytes(32)
    assert ledger.bloomDigestAt(POOL_Y, 1) == bytes(32)  # per pool
    pool = ledger.poolInfo(POOL_X)
    assert (pool.bloomVersion, pool.bloomDigest) == (2, second)
    with ape.reverts(ledger.ZeroDigest):
        ledger.anchorBloomDigest(POOL_X, bytes(32), sender=deployer)
    with ape.reverts(ledger.AccessControlUnauthorizedAccount):
        ledger.anchorBloomDigest(POOL_X, first, sender=stranger)
    with ape.reverts(ledger.PoolNotOpen, poolId=99):
        ledger.anchorBloomDigest(99, first, sender=deployer)


# -------------------------------------------------------------------------------- records


def test_record_authentication_sets_both_flags(ledger: Any, rpm_x: Any) -> None:
    tag, pid = tag_of("a1"), pid_of("PID1", 48)  # PID_1 is a 48-byte compressed G1 point
    assert ledger.checkAuthentication(tag, pid) == (False, False, False)
    receipt = ledger.recordAuthentication(POOL_X, tag, pid, sender=rpm_x)
    pid_key = keccak(pid)
    assert receipt.events == [ledger.AuthenticationRecorded(tag, pid_key, POOL_X, pid, rpm_x, 0)]
    assert ledger.isTagUsed(tag)
    assert ledger.isPidUsed(pid)
    assert not ledger.isRevoked(pid)
    assert ledger.checkAuthentication(tag, pid) == (True, True, False)
    assert ledger.tagOfPseudonym(pid) == tag
    record = ledger.recordOf(tag)
    assert record.pidKey == pid_key
    assert record.poolId == POOL_X
    assert record.writer == rpm_x
    assert record.timestamp > 0
    assert ledger.recordCount() == 1
    assert not ledger.isTagUsed(tag_of("other"))
    assert ledger.recordOf(tag_of("other")).writer == ZERO_ADDRESS


def test_the_msrp_may_record_too(ledger: Any, deployer: Any) -> None:
    """Spec §8 item 13: the paper's §IV.A.2 has the MSRP write; same function, same checks."""
    receipt = ledger.recordAuthentication(POOL_Y, tag_of("msrp"), pid_of("msrp"), sender=deployer)
    assert receipt.events[0].writer == deployer


def test_replays_revert_with_named_errors(ledger: Any, rpm_x: Any, rpm_y: Any) -> None:
    tag, pid = tag_of("a"), pid_of("p")
    ledger.recordAuthentication(POOL_X, tag, pid, sender=rpm_x)
    with ape.reverts(ledger.SecretAlreadyUsed, tag=tag):
        ledger.recordAuthentication(POOL_X, tag, pid_of("fresh"), sender=rpm_x)
    with ape.reverts(ledger.SecretAlreadyUsed, tag=tag):  # the same secret at another pool
        ledger.recordAuthentication(POOL_Y, tag, pid, sender=rpm_y)
    with ape.reverts(ledger.PseudonymAlreadyUsed, pidKey=keccak(pid)):
        ledger.recordAuthentication(POOL_Y, tag_of("fresh"), pid, sender=rpm_y)
    assert ledger.recordCount() == 1
    assert not ledger.isTagUsed(tag_of("fresh"))


def test_record_input_and_writer_checks(
    ledger: Any, rpm_x: Any, rpm_y: Any, stranger: Any, registry: Any, platform: Any
) -> None:
    with ape.reverts(ledger.NotAuthorizedWriter, caller=stranger.address, poolId=POOL_X):
        ledger.recordAuthentication(POOL_X, tag_of("s"), pid_of("s"), sender=stranger)
    with ape.reverts(ledger.NotAuthorizedWriter, caller=rpm_y.address, poolId=POOL_X):  # other pool's RPM
        ledger.recordAuthentication(POOL_X, tag_of("s"), pid_of("s"), sender=rpm_y)
    with ape.reverts(ledger.PoolNotOpen, poolId=42):
        ledger.recordAuthentication(42, tag_of("s"), pid_of("s"), sender=rpm_x)
    with ape.reverts(ledger.ZeroTag):
        ledger.recordAuthentication(POOL_X, bytes(32), pid_of("s"), sender=rpm_x)
    with ape.reverts(ledger.InvalidPseudonymLength, length=0):
        ledger.recordAuthentication(POOL_X, tag_of("s"), b"", sender=rpm_x)
    with ape.reverts(ledger.InvalidPseudonymLength, length=97):
        ledger.recordAuthentication(POOL_X, tag_of("s"), bytes(97), sender=rpm_x)
    ledger.recordAuthentication(POOL_X, tag_of("s96"), pid_of("s96", 96), sender=rpm_x)  # the limit
    # a manager that renounced POOL_MANAGER in the registry can no longer record
    registry.renounceRoles(int(ActorRole.POOL_MANAGER), sender=rpm_x)
    with ape.reverts(ledger.NotPoolManager, account=rpm_x.address):
        ledger.recordAuthentication(POOL_X, tag_of("s"), pid_of("s"), sender=rpm_x)


# -------------------------------------------------------------------------------- revocation


def test_revoked_pseudonyms_are_never_recorded(ledger: Any, deployer: Any, rpm_x: Any, stranger: Any) -> None:
    pid = pid_of("bad RN")
    receipt = ledger.revoke(pid, sender=deployer)
    assert receipt.events == [ledger.PseudonymRevoked(keccak(pid), pid, deployer)]
    assert ledger.isRevoked(pid)
    assert ledger.checkAuthentication(tag_of("x"), pid) == (False, False, True)
    with ape.reverts(ledger.PseudonymIsRevoked, pidKey=keccak(pid)):
        ledger.recordAuthentication(POOL_X, tag_of("x"), pid, sender=rpm_x)
    with ape.reverts(ledger.PseudonymIsRevoked, pidKey=keccak(pid)):  # the MSRP cannot either
        ledger.recordAuthentication(POOL_X, tag_of("x"), pid, sender=deployer)
    with ape.reverts(ledger.AlreadyRevoked, pidKey=keccak(pid)):
        ledger.revoke(pid, sender=deployer)
    with ape.reverts(ledger.AccessControlUnauthorizedAccount):
        ledger.revoke(pid_of("other"), sender=stranger)
    with ape.reverts(ledger.InvalidPseudonymLength, length=0):
        ledger.revoke(b"", sender=deployer)


def test_a_recorded_pseudonym_can_be_revoked(ledger: Any, deployer: Any, rpm_x: Any) -> None:
    tag, pid = tag_of("r"), pid_of("r")
    ledger.recordAuthentication(POOL_X, tag, pid, sender=rpm_x)
    ledger.revoke(pid, sender=deployer)
    assert ledger.checkAuthentication(tag, pid) == (True, True, True)
    assert ledger.recordOf(tag).writer == rpm_x  # history stays


# -------------------------------------------------------------------------------- access control


def test_admin_manages_msrp_role(ledger: Any, deployer: Any, accounts: Any, stranger: Any) -> None:
    other_msrp = accounts[9]
    role = ledger.MSRP_ROLE()
    assert ledger.getRoleAdmin(role) == ledger.DEFAULT_ADMIN_ROLE()
    with ape.reverts(ledger.AccessControlUnauthorizedAccount):
        ledger.grantRole(role, other_msrp, sender=stranger)
    ledger.grantRole(role, other_msrp, sender=deployer)
    ledger.revoke(pid_of("by second msrp"), sender=other_msrp)
    ledger.revokeRole(role, other_msrp, sender=deployer)
    assert not ledger.hasRole(role, other_msrp)
    ledger.grantRole(role, other_msrp, sender=deployer)
    ledger.renounceRole(role, other_msrp, sender=other_msrp)
    with ape.reverts(ledger.AccessControlUnauthorizedAccount):
        ledger.revoke(pid_of("after renounce"), sender=other_msrp)


# -------------------------------------------------------------------------------- the race


def _signed_record_tx(w3: Any, contract: Any, account: Any, pool: int, tag: bytes, pid: bytes) -> bytes:
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas") or 0)
    tx = {
        "to": contract.address,
        "data": contract.encode_abi("recordAuthentication", args=[pool, tag, pid]),
        "value": 0,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "gas": 250_000,
        "maxFeePerGas": 2 * base_fee + 10**9,
        "maxPriorityFeePerGas": 10**9,
        "chainId": w3.eth.chain_id,
        "type": 2,
    }
    return bytes(Account.from_key(account.private_key).sign_transaction(tx).raw_transaction)


@pytest.mark.parametrize(
    ("pid_x", "pid_y", "tag_y", "error"),
    [
        ("same", "same", "same", "SecretAlreadyUsed"),  # the whole record submitted twice
        ("pa", "pb", "same", "SecretAlreadyUsed"),  # one secret, two pseudonyms
        ("same", "same", "other", "PseudonymAlreadyUsed"),  # one pseudonym, two secrets
    ],
)
def test_two_pool_managers_race_in_one_block(
    ledger: Any,
    rpm_x: Any,
    rpm_y: Any,
    chain: Any,
    gas_log: Any,
    pid_x: str,
    pid_y: str,
    tag_y: str,
    error: str,
) -> None:
    """Two RPMs accept the same secret (or pseudonym) at once and both submit; the transactions land in
    one block (automine off). Exactly one is mined successfully, the other reverts with the named error."""
    w3 = chain.provider.web3
    abi = [entry.model_dump(by_alias=True) for entry in ledger.contract_type.abi]
    contract = w3.eth.contract(address=ledger.address, abi=abi)
    tag = tag_of("race")
    submitted = [
        (rpm_x, POOL_X, tag, pid_of(pid_x)),
        (rpm_y, POOL_Y, tag if tag_y == "same" else tag_of("race other"), pid_of(pid_y)),
    ]
    raws = [_signed_record_tx(w3, contract, *entry) for entry in submitted]
    chain.provider.make_request("evm_setAutomine", [False])
    try:
        hashes = [w3.eth.send_raw_transaction(raw) for raw in raws]
        chain.provider.make_request("evm_mine", [])
    finally:
        chain.provider.make_request("evm_setAutomine", [True])
    receipts = [w3.eth.get_transaction_receipt(h) for h in hashes]
    assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"]  # one block, no ordering help
    assert sorted(r["status"] for r in receipts) == [0, 1]
    win = 0 if receipts[0]["status"] == 1 else 1
    winner, loser = receipts[win], receipts[1 - win]
    win_account, win_pool, win_tag, win_pid = submitted[win]
    lose_tag = submitted[1 - win][2]
    assert ledger.recordCount() == 1
    record = ledger.recordOf(win_tag)
    assert (record.writer, record.poolId) == (win_account.address, win_pool)
    assert ledger.tagOfPseudonym(win_pid) == win_tag
    assert ledger.isTagUsed(lose_tag) == (lose_tag == win_tag)
    # the loser's revert reason, replayed on the state after the block
    loser_tx = w3.eth.get_transaction(loser["transactionHash"])
    with pytest.raises((ContractLogicError, Web3RPCError)) as reverted:
        w3.eth.call({"from": loser_tx["from"], "to": loser_tx["to"], "data": loser_tx["input"]})
    selector = keccak(text=f"{error}(bytes32)")[:4]
    assert selector.hex() in str(reverted.value)
    gas_log.add("RSMSLedger", "race: two RPMs, one block (winner)", int(winner["gasUsed"]), kind="scenario")
    gas_log.add("RSMSLedger", "race: two RPMs, one block (loser)", int(loser["gasUsed"]), kind="scenario")


def test_sequential_race_has_one_winner(ledger: Any, rpm_x: Any, rpm_y: Any) -> None:
    tag, pid = tag_of("seq"), pid_of("seq")
    ledger.recordAuthentication(POOL_Y, tag, pid, sender=rpm_y)
    with ape.reverts(ledger.SecretAlreadyUsed, tag=tag):
        ledger.recordAuthentication(POOL_X, tag, pid, sender=rpm_x)
    assert ledger.recordOf(tag).writer == rpm_y


# -------------------------------------------------------------------------------- history and gas


def test_events_replay_to_the_full_history(ledger: Any, rpm_x: Any, rpm_y: Any, chain: Any) -> None:
    written = []
    for i in range(4):
        tag, pid = tag_of(f"h{i}"), pid_of(f"h{i}")
        writer = (rpm_x, rpm_y)[i % 2]
        ledger.recordAuthentication((POOL_X, POOL_Y)[i % 2], tag, pid, sender=writer)
        written.append((tag, pid))
    logs = list(ledger.AuthenticationRecorded.range(0, chain.blocks.head.number + 1))
    replayed = [(bytes(log.tag), bytes(log.pid)) for log in logs]
    assert replayed == written
    assert [log.index for log in logs] == [0, 1, 2, 3]


def test_view_gas(ledger: Any, measure_view: Any, rpm_x: Any) -> None:
    tag, pid = tag_of("g"), pid_of("g")
    ledger.recordAuthentication(POOL_X, tag, pid, sender=rpm_x)
    for function, args in [
        ("isTagUsed", (tag,)),
        ("isPidUsed", (pid,)),
        ("isRevoked", (pid,)),
        ("checkAuthentication", (tag, pid)),
        ("recordOf", (tag,)),
        ("tagOfPseudonym", (pid,)),
        ("poolInfo", (POOL_X,)),
        ("bloomDigestAt", (POOL_X, 1)),
        ("recordCount", ()),
        ("registry", ()),
        ("MSRP_ROLE", ()),
        ("MAX_PSEUDONYM_LENGTH", ()),
        ("DEFAULT_ADMIN_ROLE", ()),
        ("hasRole", (bytes(32), rpm_x)),
        ("getRoleAdmin", (bytes(32),)),
        ("supportsInterface", (b"\x01\xff\xc9\xa7",)),
    ]:
        assert measure_view(ledger, function, *args) > 21_000

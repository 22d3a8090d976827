"""Shared helpers of the ASC contract tests (imported as a plain module): ASC deployed behind the test mock
verifier, the MTD and CSNs registered in RSC and staked in ASC, and the task steps signed by whatever stands
for the execution environment (the test mock's ECDSA key in ``test_asc.py`` and
``tests/offchain/outsourcing/test_osc_onchain.py``, real BLS aggregates of an MSC environment in
``test_asc_msc.py``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ape

from offchain.chain.roles import ActorRole
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.deploy import Deployment, OutsourcingConfig, deploy_asc
from offchain.outsourcing.asc import (
    RewardLedger,
    anchor_digest,
    claim_digest,
    group_commitment,
    settlement_digest,
    sorted_mlist,
    task_id,
)
from offchain.outsourcing.incentives import SettlementParams, settle_task

UNIT = 10**18
BASE_CONFIG = OutsourcingConfig(incentive_funding=1_000 * UNIT)
PARAMS = SettlementParams(
    penalty_wad=BASE_CONFIG.penalty_wad, basic_stake=BASE_CONFIG.basic_stake, reward_per_honest=UNIT
)
STAKE = 400 * UNIT
CSN_COUNT = 20
# Status enum of ASC
OPEN, SCHEDULED, DISPUTED, SETTLED, PAID_BY_DEFAULT, REFUNDED = 1, 2, 3, 4, 5, 6


@dataclass
class Env:
    """The deployment plus the off-chain actors of the tests; ``signer`` signs a digest as the environment
    ``environment_id`` (ASC's id) would."""

    asc: Any
    token: Any
    registry: Any
    verifier: Any
    mtd: Any
    csns: list[Any]
    signer: Callable[[bytes], bytes]
    environment_id: bytes
    chain_id: int
    ledger: RewardLedger = field(default_factory=RewardLedger)

    def sign(self, digest: bytes) -> bytes:
        return self.signer(digest)

    @property
    def address(self) -> str:
        return str(self.asc.address)

    def anchor_digest(self, tid: bytes, commitment: bytes) -> bytes:
        return anchor_digest(self.chain_id, self.address, self.environment_id, tid, commitment)

    def settlement_digest(self, tid: bytes, mlist: list[str], bonus: int, root: bytes) -> bytes:
        return settlement_digest(self.chain_id, self.address, self.environment_id, tid, mlist, bonus, root)

    def claim_digest(self, csn: str, cumulative: int) -> bytes:
        return claim_digest(self.chain_id, self.address, self.environment_id, csn, cumulative)


def deploy_with_mock_verifier(
    project: Any,
    deployer: Any,
    platform: Deployment,
    pool_holders: Any,
    config: OutsourcingConfig,
    env_key: KeyPair,
) -> tuple[Any, Any]:
    """ASC behind ``MockEnvironmentVerifier``, where ``env_key`` signs as ``config.environment_id``, with
    the incentive funding taken from a pool holder. Returns (ASC, the mock verifier)."""
    verifier = deployer.deploy(project.MockEnvironmentVerifier)
    verifier.setEnvironment(config.environment_id, env_key.address, sender=deployer)
    platform.contracts["MetaCoin"].transfer(deployer, config.incentive_funding, sender=pool_holders[3])
    deploy_asc(project, deployer, platform, verifier, config)
    return platform.contracts["ASC"], verifier


def provider_id(i: int, providers: int) -> bytes:
    """The provider of the ``i``-th CSN that ``enrol_actors`` registers over ``providers`` providers."""
    return keccak256(f"provider-{i % providers}".encode())


def enrol_actors(
    asc: Any,
    token: Any,
    registry: Any,
    deployer: Any,
    auditor: Any,
    pool_holders: Any,
    mtd: Any,
    count: int = CSN_COUNT,
    providers: int = 5,
) -> list[Any]:
    """Register ``mtd`` (funded, ASC approved) and ``count`` fresh CSNs over ``providers`` providers
    (``provider_id``), each approved by the auditor and bonding STAKE in ASC. Returns the CSNs."""
    enc = encryption_keypair(from_private_key(mtd.private_key)).compressed_public_key
    registry.register(int(ActorRole.MTD), enc, b"", "", ("", 0, 0, 0, 0), bytes(32), sender=mtd)
    token.transfer(mtd, 10_000 * UNIT, sender=pool_holders[0])
    token.approve(asc, 2**256 - 1, sender=mtd)
    csns = []
    for i in range(count):
        csn = ape.accounts.test_accounts.generate_test_account()
        deployer.transfer(csn, 10**18)
        enc = encryption_keypair(from_private_key(csn.private_key)).compressed_public_key
        provider = provider_id(i, providers)
        resources = ("10.0.0.1", 4, 8_192, 100, 1_000)
        registry.register(
            int(ActorRole.CSN), enc, b"", f"http://127.0.0.1:{9_000 + i}", resources, provider, sender=csn
        )
        registry.approveRoles(csn, int(ActorRole.CSN), sender=auditor)
        token.transfer(csn, 1_000 * UNIT, sender=pool_holders[0])
        token.approve(asc, 2**256 - 1, sender=csn)
        asc.depositStake(STAKE, sender=csn)
        csns.append(csn)
    return csns


def later(seconds: int) -> None:
    ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + seconds)


def open_task(env: Env, m: int, deposit: int, seed: int) -> tuple[bytes, Any]:
    tasks_hash = keccak256(f"ID_t-{seed}".encode())
    receipt = env.asc.openTask(tasks_hash, m, deposit, sender=env.mtd)
    opened = receipt.events.filter(env.asc.TaskOpened)[0]
    expected = task_id(env.chain_id, env.address, str(env.mtd.address), tasks_hash)
    assert bytes(opened.taskId) == expected
    return expected, receipt


def anchor(env: Env, tid: bytes, group: list[str], salt: bytes = b"\x07" * 32) -> Any:
    commitment = group_commitment(group, salt)
    signature = env.sign(env.anchor_digest(tid, commitment))
    return env.asc.anchorSchedule(tid, commitment, signature, sender=env.mtd)


def balance_sheet(env: Env) -> int:
    """What ASC must hold: bonded stakes + escrow + incentive pool + credited but unclaimed."""
    a = env.asc
    return int(a.totalBonded() + a.totalEscrowed() + a.incentivePool() + a.totalCredited() - a.totalClaimed())


def claim_all(env: Env, members: list[str]) -> list[Any]:
    receipts = []
    for csn in members:
        cumulative = env.ledger.cumulative(csn) + 0
        already = int(env.asc.claimed(csn))
        if cumulative <= already:
            continue
        signature = env.sign(env.claim_digest(csn, cumulative))
        receipts.append(env.asc.claim(csn, cumulative, signature, sender=env.mtd))
    return receipts


def claim_and_check(env: Env, group: list[str], credits: Mapping[str, int]) -> list[Any]:
    """Every CSN of ``group`` claims its voucher; each is paid exactly ``credits`` (lower-case keys, absent
    means nothing). Returns the claim receipts."""
    before = {csn: int(env.token.balanceOf(csn)) for csn in group}
    receipts = claim_all(env, group)
    for csn in group:
        assert int(env.token.balanceOf(csn)) - before[csn] == credits.get(csn.lower(), 0)
    return receipts


def check_replays(
    env: Env, tid: bytes, commitment: bytes, signature: bytes, group: list[str]
) -> tuple[list[str], bytes, bytes]:
    """On an open task: the anchor ``signature`` anchors once; a settlement signature binds MList and the
    bonus and settles once; a voucher pays once, not another CSN, not more. Returns (MList, root,
    settlement signature)."""
    asc = env.asc
    asc.anchorSchedule(tid, commitment, signature, sender=env.mtd)
    with ape.reverts(asc.WrongStatus):  # anchored once
        asc.anchorSchedule(tid, commitment, signature, sender=env.mtd)
    mlist = sorted_mlist([group[0]])
    root = keccak256(b"root")
    settle_sig = env.sign(env.settlement_digest(tid, mlist, 0, root))
    with ape.reverts(asc.InvalidEnvironmentSignature):  # the signature binds MList
        asc.settle(tid, [], 0, root, settle_sig, sender=env.mtd)
    with ape.reverts(asc.InvalidEnvironmentSignature):  # and the bonus
        asc.settle(tid, mlist, 1, root, settle_sig, sender=env.mtd)
    asc.settle(tid, mlist, 0, root, settle_sig, sender=env.mtd)
    with ape.reverts(asc.WrongStatus):  # settled once
        asc.settle(tid, mlist, 0, root, settle_sig, sender=env.mtd)
    csn = group[1]
    cumulative = int(asc.totalCredited()) // 10
    voucher = env.sign(env.claim_digest(csn, cumulative))
    asc.claim(csn, cumulative, voucher, sender=env.mtd)
    with ape.reverts(asc.NothingToClaim):  # a voucher pays once
        asc.claim(csn, cumulative, voucher, sender=env.mtd)
    with ape.reverts(asc.InvalidEnvironmentSignature):  # nor another CSN, nor more
        asc.claim(group[2], cumulative, voucher, sender=env.mtd)
    with ape.reverts(asc.InvalidEnvironmentSignature):
        asc.claim(csn, cumulative + 1, voucher, sender=env.mtd)
    return mlist, root, settle_sig


def settle_onchain(
    env: Env, tid: bytes, group: list[str], malicious: set[str], deposit: int
) -> tuple[Any, Any]:
    """Runs the SSC on chain-read stakes, has the environment sign, settles; returns (receipt, SSC result)."""
    stakes = {csn: int(env.asc.stakeOf(csn).bonded) for csn in group}
    result = settle_task(
        deposit,
        group,
        malicious,
        stakes,
        env.ledger.reputation_of(group),
        PARAMS,
        incentive_pool=int(env.asc.incentivePool()),
    )
    mlist = sorted_mlist(malicious)
    env.ledger.apply(result)
    root = env.ledger.root()
    digest = env.settlement_digest(tid, mlist, result.bonus_paid, root)
    receipt = env.asc.settle(tid, mlist, result.bonus_paid, root, env.sign(digest), sender=env.mtd)
    return receipt, result

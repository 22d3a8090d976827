"""CommitteeManager, the reputation-elected MetaAICM committee (seed 001, §4.5.4, Algorithm 4.3): the BLS VRF
checked on chain, the election recomputed off chain bit for bit, trusted seed nodes for the first W rounds,
re-election every k rounds after reputation changes, the u % authorised partition, round rewards, every
revert path and event, the literal Algorithm 4.3's flaw, and MLC scoring through it (S6, S9)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import ape
import pytest
from eth_hash.auto import keccak

from offchain.crowdsourcing import committee as alg
from offchain.crowdsourcing import vrf
from offchain.deploy import AicmConfig, deploy_aicm

ONE = 10**18
ZERO = "0x0000000000000000000000000000000000000000"
BETA = 10 * ONE
MAX = 2**256 - 1

# size 5, u = 40 % -> 2 authorised seats, M = 3; rounds of 10 blocks; W = 4 rounds; k = 2 rounds
DEFAULTS: dict[str, Any] = {
    "committeeSize": 5,
    "authorisedPercent": 40,
    "termRounds": 2,
    "bootstrapRounds": 4,
    "roundBlocks": 10,
    "leaderTimeoutRounds": 100,
    "roundReward": BETA,
    "reputationUnit": ONE,
    "literal": False,
}


def params(**overrides: Any) -> tuple[Any, ...]:
    values = dict(DEFAULTS)
    values.update(overrides)
    return tuple(values.values())


@pytest.fixture(scope="module")
def system(accounts: Any) -> Any:
    """Stands in for a system contract holding RC's WRITER_ROLE (MLC / DC / MPC in production)."""
    return accounts[9]


@pytest.fixture(scope="module")
def rc(project: Any, deployer: Any, system: Any) -> Any:
    contract = deployer.deploy(project.RC, deployer.address)
    contract.grantRole(contract.WRITER_ROLE(), system, sender=deployer)
    return contract


@pytest.fixture(scope="module")
def institutions(accounts: Any) -> list[Any]:
    return [accounts[1], accounts[6]]


@pytest.fixture(scope="module")
def keys() -> list[vrf.VrfKey]:
    rng = random.Random(2026)
    return [vrf.VrfKey(rng.randrange(1, vrf.CURVE_ORDER)) for _ in range(3)]


@pytest.fixture(scope="module")
def nodes(accounts: Any, deployer: Any) -> list[Any]:
    """Eight candidate nodes (fresh funded accounts)."""
    out = []
    for _ in range(8):
        node = ape.accounts.test_accounts.generate_test_account()
        deployer.transfer(node, ONE)
        out.append(node)
    return out


@pytest.fixture(scope="module")
def tsns(accounts: Any) -> list[Any]:
    return [accounts[7], accounts[8]]


@pytest.fixture(scope="module")
def make(project: Any, deployer: Any, token: Any, rc: Any) -> Any:
    def factory(**overrides: Any) -> Any:
        return deployer.deploy(
            project.CommitteeManager, deployer, token.address, rc.address, params(**overrides)
        )

    return factory


def set_reputation(rc: Any, system: Any, node: Any, units: int, deployer: Any) -> None:
    """Move ``node``'s reputation to ``units`` · 1.0 through RC's writer interface (A = P = 1, reward +1)."""
    stats = rc.stats(node)
    if stats[1] == 0:
        rc.recordParticipation(node, deployer, sender=system)
    current = rc.reputationOf(node) // ONE
    while current < units:
        rc.reward(node, sender=system)
        current += 1
    while current > units:
        rc.penalize(node, sender=system)
        current -= 1


def mine_to(chain: Any, block: int) -> None:
    """Mine so that the next transaction lands in ``block`` or later."""
    head = chain.blocks.head.number
    if block - 1 > head:
        chain.mine(block - 1 - head)


def schedule(manager: Any) -> alg.Schedule:
    return alg.Schedule(
        genesis_block=manager.genesisBlock(),
        round_blocks=manager.roundBlocks(),
        bootstrap_rounds=manager.bootstrapRounds(),
        term_rounds=manager.termRounds(),
    )


def candidates_now(manager: Any, rc: Any) -> list[alg.Candidate]:
    return [alg.Candidate(str(c), int(rc.reputationOf(c))) for c in manager.candidates()]


def seed_of(manager: Any, chain: Any, term: int) -> bytes:
    anchor = schedule(manager).anchor_block(term)
    return alg.election_seed(chain.chain_id, str(manager.address), term, bytes(chain.blocks[anchor].hash))


def setup_committee(
    manager: Any, deployer: Any, institutions: list[Any], keys: list[vrf.VrfKey], tsns: list[Any]
) -> None:
    for institution, key in zip(institutions, keys, strict=False):
        manager.appointAuthorised(institution, sender=deployer)
        manager.setVrfKey(key.public_key, sender=institution)
    manager.setSeedNodes([t.address for t in tsns], sender=deployer)


def run_election(
    manager: Any, chain: Any, term: int, keys_by_leader: dict[str, vrf.VrfKey], sender: Any
) -> Any:
    mine_to(chain, schedule(manager).first_block_of_term(term) + 1)
    leader = str(manager.leaderOf(term))
    proof = keys_by_leader[leader].prove(seed_of(manager, chain, term))
    return manager.submitElection(term, proof, sender=sender)


# -------------------------------------------------------------------------------- the VRF


def test_vrf_python_round_trip(keys: list[vrf.VrfKey]) -> None:
    message = keccak(b"term 1")
    proof = keys[0].prove(message)
    assert len(proof) == 128
    assert len(keys[0].public_key) == 256
    assert vrf.verify(keys[0].public_key, message, proof)
    assert not vrf.verify(keys[1].public_key, message, proof)
    assert not vrf.verify(keys[0].public_key, keccak(b"term 2"), proof)
    assert not vrf.verify(keys[0].public_key, message, bytes(128))
    assert not vrf.verify(keys[0].public_key, message, proof[:-1] + bytes([proof[-1] ^ 1]))
    assert keys[0].prove(message) == proof  # unique: the same key and input always give the same output
    assert vrf.output(proof) == keccak(proof)
    with pytest.raises(ValueError, match="out of range"):
        vrf.VrfKey(0)


def test_vrf_key_validation(make: Any, accounts: Any, keys: list[vrf.VrfKey]) -> None:
    manager = make()
    node = accounts[6]
    for bad in (b"", bytes(256), keys[0].public_key[:-1], b"\x01" * 256):
        with ape.reverts(manager.InvalidVrfKey):
            manager.setVrfKey(bad, sender=node)
    tx = manager.setVrfKey(keys[0].public_key, sender=node)
    assert tx.events == [manager.VrfKeySet(node, keccak(keys[0].public_key))]
    key, at = manager.vrfKeyOf(node)
    assert bytes(key) == keys[0].public_key
    assert at == tx.block_number


# -------------------------------------------------------------------------------- bootstrap (W rounds)


def test_seed_nodes_serve_the_first_w_rounds(
    make: Any, deployer: Any, institutions: list[Any], keys: list[vrf.VrfKey], tsns: list[Any], chain: Any
) -> None:
    manager = make()
    assert (manager.authorisedSeats(), manager.dynamicSeats()) == (2, 3)  # u = 40 % of 5 seats
    setup_committee(manager, deployer, institutions, keys, tsns)
    expected = [i.address for i in institutions] + [t.address for t in tsns]
    assert list(manager.members()) == expected
    assert manager.memberCount() == 4
    assert list(manager.dynamicMembers()) == [t.address for t in tsns]
    assert all(manager.isMember(a) for a in expected)
    assert manager.termOf(manager.currentRound()) == 0
    with ape.reverts(manager.ElectionNotOpen):
        manager.submitElection(0, bytes(128), sender=deployer)
    with ape.reverts(manager.ElectionNotOpen):
        manager.submitElection(1, bytes(128), sender=deployer)  # term 1 has not started
    # replacing the TSNs during bootstrap replaces the dynamic partition
    manager.setSeedNodes([tsns[1].address], sender=deployer)
    assert list(manager.dynamicMembers()) == [tsns[1].address]
    assert not manager.isMember(tsns[0])
    sched = schedule(manager)
    assert sched.term_of(4) == 0
    assert sched.term_of(5) == 1
    assert sched.term_of(7) == 2
    assert manager.termStartRound(2) == 7
    assert manager.anchorBlock(1) == sched.anchor_block(1)


# -------------------------------------------------------------------------------- elections


def test_election_is_reproducible_and_reelects_after_reputation_changes(
    make: Any,
    rc: Any,
    system: Any,
    deployer: Any,
    institutions: list[Any],
    keys: list[vrf.VrfKey],
    tsns: list[Any],
    nodes: list[Any],
    chain: Any,
) -> None:
    manager = make()
    setup_committee(manager, deployer, institutions, keys, tsns)
    reps = [0, 1, 3, 5, -1, 2, 0, 4]
    for node, units in zip(nodes, reps, strict=True):
        set_reputation(rc, system, node, units, deployer)
        manager.registerCandidate(sender=node)
    by_leader = {institutions[0].address: keys[0], institutions[1].address: keys[1]}

    tx = run_election(manager, chain, 1, by_leader, deployer)
    event = tx.events.filter(manager.CommitteeElected)[0]
    seed = seed_of(manager, chain, 1)
    leader = manager.leaderOf(1)
    assert leader == institutions[1].address  # term 1 -> authorised[1 % 2]
    assert event.term == 1
    assert event.leader == leader
    assert bytes(event.seed) == seed
    proof = bytes(event.proof)
    assert vrf.verify(by_leader[leader].public_key, seed, proof)  # any verifier checks π off chain
    assert bytes(event.phi) == vrf.output(proof)
    expected = alg.elect(candidates_now(manager, rc), 3, ONE, vrf.output(proof), [t.address for t in tsns])
    assert list(event.members) == expected == list(manager.dynamicMembers())
    assert bytes(manager.electionSeed(1)) == seed == bytes(manager.lastSeed())
    assert manager.electedTerm() == 1
    zero_or_less = {nodes[i].address for i, r in enumerate(reps) if r <= 0}
    assert not zero_or_less & set(expected)  # S6: no positive reputation, no seat
    assert manager.memberCount() == 5
    with ape.reverts(manager.ElectionNotOpen):
        manager.submitElection(1, proof, sender=deployer)  # once per term

    # reputation changes through RC (the system contracts), then the term-2 election follows them
    new_reps = [6, 0, 0, 0, 0, 0, 5, 0]
    for node, units in zip(nodes, new_reps, strict=True):
        set_reputation(rc, system, node, units, deployer)
    tx = run_election(manager, chain, 2, by_leader, deployer)
    event = tx.events.filter(manager.CommitteeElected)[0]
    assert event.leader == institutions[0].address  # term 2 -> authorised[0]
    second = alg.elect(candidates_now(manager, rc), 3, ONE, bytes(event.phi), [t.address for t in tsns])
    assert list(event.members) == second == list(manager.dynamicMembers())
    # only nodes 0 and 6 have reputation: both are elected, the third seat goes to the first TSN
    assert set(second[:2]) == {nodes[0].address, nodes[6].address}
    assert second[2] == tsns[0].address
    assert not manager.isMember(nodes[3])
    assert manager.isMember(nodes[6])
    assert manager.committeeSinceRound() == manager.currentRound()


def test_election_matches_python_on_random_instances(
    make: Any, rc: Any, system: Any, deployer: Any, nodes: list[Any], tsns: list[Any]
) -> None:
    rng = random.Random(7)
    for literal in (False, True):
        manager = make(literal=literal, reputationUnit=ONE // 4)
        manager.setSeedNodes([t.address for t in tsns], sender=deployer)
        for node in nodes:
            set_reputation(rc, system, node, rng.randrange(-1, 6), deployer)
            manager.registerCandidate(sender=node)
        cands = candidates_now(manager, rc)
        for _ in range(25):
            phi = rng.getrandbits(256).to_bytes(32, "big")
            python = alg.elect(cands, 3, ONE // 4, phi, [t.address for t in tsns], literal=literal)
            assert list(manager.elect(phi)) == python


def test_forged_vrf_proofs_are_rejected(
    make: Any, deployer: Any, institutions: list[Any], keys: list[vrf.VrfKey], tsns: list[Any], chain: Any
) -> None:
    manager = make()
    setup_committee(manager, deployer, institutions, keys, tsns)
    mine_to(chain, schedule(manager).first_block_of_term(1) + 1)
    seed = seed_of(manager, chain, 1)
    leader_key = keys[1]  # term 1's leader is authorised[1]
    honest = leader_key.prove(seed)
    forged = [
        keys[0].prove(seed),  # another authorised member's key
        keys[2].prove(seed),  # an unregistered key
        leader_key.prove(keccak(seed)),  # the right key on another input (grinding the seed)
        leader_key.prove(keccak(b"another input")),
        bytes(128),  # the point at infinity
        honest[:-1] + bytes([honest[-1] ^ 1]),  # off the curve
        honest[:64] + honest[64:][::-1],  # garbage coordinates
        honest[:127],  # wrong length
    ]
    for proof in forged:
        assert not vrf.verify(leader_key.public_key, seed, proof)
        with ape.reverts(manager.InvalidVrfProof):
            manager.submitElection(1, proof, sender=deployer)
    tx = manager.submitElection(1, honest, sender=tsns[0])  # anyone may relay the leader's proof
    assert tx.events.filter(manager.CommitteeElected)[0].phi == vrf.output(honest)


def test_leader_key_must_predate_the_anchor_and_leadership_rotates(
    make: Any, deployer: Any, institutions: list[Any], keys: list[vrf.VrfKey], tsns: list[Any], chain: Any
) -> None:
    manager = make(leaderTimeoutRounds=1)
    mine_to(chain, schedule(manager).first_block_of_term(1) + 1)
    with ape.reverts(manager.NoLeader):
        manager.submitElection(1, bytes(128), sender=deployer)
    manager.appointAuthorised(institutions[0], sender=deployer)
    manager.appointAuthorised(institutions[1], sender=deployer)
    term = manager.termOf(manager.currentRound())
    leader = manager.leaderOf(term)
    with ape.reverts(manager.LeaderKeyUnavailable):
        manager.submitElection(term, bytes(128), sender=deployer)  # no key at all
    index = [i.address for i in institutions].index(leader)
    manager.setVrfKey(keys[index].public_key, sender=institutions[index])
    with ape.reverts(manager.LeaderKeyUnavailable):
        manager.submitElection(
            term, keys[index].prove(seed_of(manager, chain, term)), sender=deployer
        )  # too late
    # leadership passes on every `leaderTimeoutRounds` rounds without an election
    sched = schedule(manager)
    start = sched.term_start_round(term)
    current = manager.currentRound()
    assert leader == institutions[(term + (current - start)) % 2].address


def test_literal_algorithm_43_leaves_seats_empty_and_can_overflow(
    make: Any, rc: Any, system: Any, deployer: Any, nodes: list[Any]
) -> None:
    # Python: the thesis's draws with replacement repeat a dominant node
    cands = [alg.Candidate(nodes[0].address, 20 * ONE), alg.Candidate(nodes[1].address, ONE)]
    rng = random.Random(43)
    short = 0
    for _ in range(200):
        phi = rng.getrandbits(256).to_bytes(32, "big")
        drawn = alg.literal_draws(cands, 2, ONE, phi)
        literal = alg.elect(cands, 2, ONE, phi, literal=True)
        assert literal == list(dict.fromkeys(drawn))
        short += len(literal) < 2
        assert len(alg.elect(cands, 2, ONE, phi)) == 2  # the fix always fills min(M, n) seats
    assert short > 150  # P(both draws hit node 0) = (20/21)^2 ≈ 0.91
    with pytest.raises(alg.LiteralIndexOutOfRangeError):
        alg.elect(cands, 2, ONE, MAX.to_bytes(32, "big"), literal=True)  # Idx = K·φ/(2^256 − 1) = K
    assert alg.elect(cands, 2, ONE, MAX.to_bytes(32, "big"))  # the fix's floor(K·φ / 2^256) < K
    # the contract's literal flag shows the same
    manager = make(literal=True)
    set_reputation(rc, system, nodes[0], 20, deployer)
    set_reputation(rc, system, nodes[1], 1, deployer)
    manager.registerCandidate(sender=nodes[0])
    manager.registerCandidate(sender=nodes[1])
    assert manager.literal()
    cands = candidates_now(manager, rc)
    phis = [i.to_bytes(32, "big") for i in range(1, 20)]
    short_phis = [phi for phi in phis if len(alg.elect(cands, 3, ONE, phi, literal=True)) < 3]
    assert short_phis  # three draws, fewer members
    for phi in phis:
        assert list(manager.elect(phi)) == alg.elect(cands, 3, ONE, phi, literal=True)
    with ape.reverts(manager.LiteralIndexOutOfRange):
        manager.elect(MAX.to_bytes(32, "big"))


def test_election_frequency_is_proportional_to_units() -> None:
    cands = [alg.Candidate(f"0x{i:040x}", u * ONE) for i, u in enumerate([1, 2, 3, 4, 0, -2], start=1)]
    rng = random.Random(11)
    trials = 4000
    first = Counter(
        alg.elect(cands, 1, ONE, rng.getrandbits(256).to_bytes(32, "big"))[0] for _ in range(trials)
    )
    total = 10
    chi2 = sum(
        (first[alg.eligible(cands, ONE)[i][0]] - trials * u / total) ** 2 / (trials * u / total)
        for i, u in enumerate([1, 2, 3, 4])
    )
    assert chi2 < 11.34  # χ²(3 d.f.) at p = 0.01
    assert len(first) == 4  # zero and negative reputation are never elected


# -------------------------------------------------------------------------------- administration


def test_authorised_partition_and_candidates(
    make: Any,
    project: Any,
    deployer: Any,
    accounts: Any,
    token: Any,
    rc: Any,
    nodes: list[Any],
    tsns: list[Any],
) -> None:
    manager = make(committeeSize=10, authorisedPercent=30)
    assert (manager.authorisedSeats(), manager.dynamicSeats()) == (3, 7)
    with ape.reverts(manager.ZeroAddress):
        manager.appointAuthorised(ZERO, sender=deployer)
    with ape.reverts(manager.AccessControlUnauthorizedAccount):
        manager.appointAuthorised(accounts[1], sender=accounts[1])
    for account in accounts[1:4]:
        tx = manager.appointAuthorised(account, sender=deployer)
        assert tx.events == [manager.AuthorisedAppointed(account)]
    with ape.reverts(manager.AlreadyAuthorised):
        manager.appointAuthorised(accounts[1], sender=deployer)
    with ape.reverts(manager.AuthorisedFull):
        manager.appointAuthorised(accounts[4], sender=deployer)
    tx = manager.removeAuthorised(accounts[1], sender=deployer)
    assert tx.events == [manager.AuthorisedRemoved(accounts[1])]
    assert set(manager.authorisedMembers()) == {accounts[2].address, accounts[3].address}
    with ape.reverts(manager.NotAuthorised):
        manager.removeAuthorised(accounts[1], sender=deployer)
    with ape.reverts(manager.AccessControlUnauthorizedAccount):
        manager.removeAuthorised(accounts[2], sender=accounts[2])
    # candidates
    tx = manager.registerCandidate(sender=nodes[0])
    assert tx.events == [manager.CandidateRegistered(nodes[0])]
    with ape.reverts(manager.AlreadyCandidate):
        manager.registerCandidate(sender=nodes[0])
    with ape.reverts(manager.ConflictingRole):
        manager.registerCandidate(sender=accounts[2])  # authorised members do not run
    with ape.reverts(manager.ConflictingRole):
        manager.appointAuthorised(nodes[0], sender=deployer)  # nor are candidates appointed
    tx = manager.withdrawCandidate(sender=nodes[0])
    assert tx.events == [manager.CandidateWithdrawn(nodes[0])]
    with ape.reverts(manager.NotCandidate):
        manager.withdrawCandidate(sender=nodes[0])
    # seed nodes
    with ape.reverts(manager.AccessControlUnauthorizedAccount):
        manager.setSeedNodes([tsns[0].address], sender=tsns[0])
    with ape.reverts(manager.TooManySeedNodes):
        manager.setSeedNodes([f"0x{i:040x}" for i in range(1, 9)], sender=deployer)
    with ape.reverts(manager.ZeroAddress):
        manager.setSeedNodes([ZERO], sender=deployer)
    with ape.reverts(manager.ConflictingRole):
        manager.setSeedNodes([accounts[2].address], sender=deployer)
    with ape.reverts(manager.DuplicateSeedNode):
        manager.setSeedNodes([tsns[0].address, tsns[0].address], sender=deployer)
    tx = manager.setSeedNodes([t.address for t in tsns], sender=deployer)
    assert tx.events == [manager.SeedNodesSet([t.address for t in tsns])]
    assert list(manager.seedNodes()) == [t.address for t in tsns]
    with ape.reverts(manager.ConflictingRole):
        manager.appointAuthorised(tsns[0], sender=deployer)  # a serving seed node
    # constructor checks
    for bad in (
        {"committeeSize": 33},
        {"authorisedPercent": 101},
        {"authorisedPercent": 10},  # floor(5 · 10 / 100) = 0: no leader
        {"authorisedPercent": 100},  # no dynamic seat
        {"termRounds": 0},
        {"roundBlocks": 0},
        {"leaderTimeoutRounds": 0},
        {"reputationUnit": 0},
    ):
        with ape.reverts(project.CommitteeManager.InvalidParameters):
            make(**bad)
    with ape.reverts(project.CommitteeManager.ZeroAddress):
        deployer.deploy(project.CommitteeManager, ZERO, token.address, rc.address, params())
    with ape.reverts(project.CommitteeManager.ZeroAddress):
        deployer.deploy(project.CommitteeManager, deployer, ZERO, rc.address, params())
    with ape.reverts(project.CommitteeManager.ZeroAddress):
        deployer.deploy(project.CommitteeManager, deployer, token.address, ZERO, params())


def test_candidate_list_is_bounded(make: Any, accounts: Any, deployer: Any) -> None:
    manager = make()
    for _ in range(manager.MAX_CANDIDATES()):
        node = ape.accounts.test_accounts.generate_test_account()
        deployer.transfer(node, ONE)
        manager.registerCandidate(sender=node)
    late = ape.accounts.test_accounts.generate_test_account()
    deployer.transfer(late, ONE)
    with ape.reverts(manager.CandidatesFull):
        manager.registerCandidate(sender=late)


def test_role_administration(make: Any, deployer: Any, accounts: Any) -> None:
    manager = make()
    admin_role = manager.DEFAULT_ADMIN_ROLE()
    manager.grantRole(admin_role, accounts[9], sender=deployer)
    manager.appointAuthorised(accounts[8], sender=accounts[9])
    manager.revokeRole(admin_role, accounts[9], sender=deployer)
    manager.grantRole(admin_role, accounts[9], sender=deployer)
    manager.renounceRole(admin_role, accounts[9], sender=accounts[9])
    assert not manager.hasRole(admin_role, accounts[9])


# -------------------------------------------------------------------------------- rewards


def test_round_rewards(
    make: Any,
    deployer: Any,
    institutions: list[Any],
    keys: list[vrf.VrfKey],
    tsns: list[Any],
    token: Any,
    pool_holders: Any,
    chain: Any,
) -> None:
    funder = pool_holders[0]
    manager = make()
    with ape.reverts(manager.RoundNotOver):
        manager.rewardRound(0, sender=deployer)
    with ape.reverts(manager.RoundNotOver):
        manager.rewardRound(manager.currentRound(), sender=deployer)
    mine_to(chain, manager.genesisBlock() + manager.roundBlocks() + 1)
    with ape.reverts(manager.EmptyCommittee):
        manager.rewardRound(1, sender=deployer)
    manager.appointAuthorised(institutions[0], sender=deployer)
    with ape.reverts(manager.InsufficientRewardPool):
        manager.rewardRound(1, sender=deployer)
    with ape.reverts(manager.InvalidAmount):
        manager.fundRewards(0, sender=funder)
    token.approve(manager.address, 25 * ONE, sender=funder)
    tx = manager.fundRewards(25 * ONE, sender=funder)
    assert tx.events.filter(manager.RewardsFunded)[0] == manager.RewardsFunded(funder, 25 * ONE)
    assert manager.rewardPool() == 25 * ONE == token.balanceOf(manager.address)
    manager.appointAuthorised(institutions[1], sender=deployer)
    manager.setSeedNodes([tsns[0].address], sender=deployer)  # committee of 3: 10 MTC / 3
    before = [token.balanceOf(m) for m in manager.members()]
    tx = manager.rewardRound(1, sender=tsns[1])  # permissionless
    share = BETA // 3
    assert tx.events.filter(manager.RoundRewarded)[0] == manager.RoundRewarded(1, share, 3)
    assert [token.balanceOf(m) - b for m, b in zip(manager.members(), before, strict=True)] == [share] * 3
    assert manager.rewardPool() == 25 * ONE - 3 * share  # the dust stays in the pool
    assert manager.roundRewarded(1)
    with ape.reverts(manager.AlreadyRewarded):
        manager.rewardRound(1, sender=deployer)
    # an election installs a new committee: rounds before it expire
    manager.setVrfKey(keys[1].public_key, sender=institutions[1])
    manager.setVrfKey(keys[0].public_key, sender=institutions[0])
    run_election(
        manager, chain, 1, {institutions[0].address: keys[0], institutions[1].address: keys[1]}, deployer
    )
    since = manager.committeeSinceRound()
    with ape.reverts(manager.RoundExpired):
        manager.rewardRound(since - 1, sender=deployer)
    mine_to(chain, chain.blocks.head.number + manager.roundBlocks() + 1)
    tx = manager.rewardRound(since, sender=deployer)
    assert tx.events.filter(manager.RoundRewarded)[0].members == manager.memberCount() == 3
    mine_to(chain, chain.blocks.head.number + manager.roundBlocks() + 1)
    with ape.reverts(manager.InsufficientRewardPool):
        manager.rewardRound(since + 1, sender=deployer)


# -------------------------------------------------------------------------------- MLC with CommitteeManager


def test_mlc_is_scored_by_the_elected_committee_and_follows_the_re_election(
    project: Any,
    deployer: Any,
    platform: Any,
    token: Any,
    pool_holders: Any,
    institutions: list[Any],
    keys: list[vrf.VrfKey],
    tsns: list[Any],
    nodes: list[Any],
    system: Any,
    accounts: Any,
    chain: Any,
) -> None:
    """deploy_aicm wires MLC to CommitteeManager: the members Algorithm 4.3 elects (VRF verified on chain)
    report the scores, a candidate left out or a seed node whose seat was filled cannot, and after the
    reputation changes and the re-election the committee MLC accepts changes with it."""
    config = AicmConfig(
        committee_size=4, authorised_percent=50, bootstrap_rounds=60, term_rounds=40, round_blocks=1
    )
    aicm = deploy_aicm(project, deployer, platform, config)
    mlc, manager, rc = aicm.contracts["MLC"], aicm.contracts["CommitteeManager"], aicm.contracts["RC"]
    assert mlc.committee() == manager.address
    rc.grantRole(rc.WRITER_ROLE(), system, sender=deployer)
    setup_committee(manager, deployer, institutions, keys, tsns[:1])
    leaders = {i.address: k for i, k in zip(institutions, keys, strict=False)}
    candidates = nodes[:3]
    for node, units in zip(candidates, (3, 2, 0), strict=True):
        manager.registerCandidate(sender=node)
        set_reputation(rc, system, node, units, deployer)

    def elect(term: int) -> list[str]:
        tx = run_election(manager, chain, term, leaders, deployer)
        event = tx.events.filter(manager.CommitteeElected)[0]
        predicted = alg.elect(
            candidates_now(manager, rc), 2, ONE, bytes(event.phi), [tsns[0].address], literal=False
        )
        assert list(event.members) == predicted == list(manager.dynamicMembers())
        return predicted

    first = elect(1)
    assert sorted(first) == sorted(n.address for n in candidates[:2])  # the third has no unit
    requester, workers = pool_holders[1], [accounts[4], accounts[5]]
    reward = 100 * ONE

    def scored_task(committee: list[Any], outsiders: list[Any]) -> list[int]:
        token.approve(mlc.address, reward, sender=requester)
        deadline = chain.pending_timestamp + 3_600
        task = (reward, "ipfs://bafytask", deadline, -10 * ONE, 850_000, 3_600, 3_600, 4, bytes(32))
        task_id = mlc.createTask(task, sender=requester).events.filter(mlc.ModelTaskCreated)[0].taskId
        for i, worker in enumerate(workers):
            mlc.submitModel(task_id, f"ipfs://bafymodel{i}", sender=worker)
        chain.pending_timestamp = deadline + 1
        tx = mlc.publishValidationData(task_id, "ipfs://bafyval", sender=requester)
        assert tx.events.filter(mlc.ValidationDataPublished)[0].committeeSize == 4
        for outsider in outsiders:
            with ape.reverts(mlc.NotCommitteeMember):
                mlc.submitScores(task_id, [900_000, 100_000], sender=outsider)
        before = [token.balanceOf(w) for w in workers]
        for member in committee:
            mlc.submitScores(task_id, [900_000, 100_000], sender=member)
        mlc.finalize(task_id, sender=deployer)
        return [token.balanceOf(w) - b for w, b in zip(workers, before, strict=True)]

    by_address = {n.address: n for n in candidates}
    elected = [by_address[a] for a in first]
    gains = scored_task([*institutions, *elected], [candidates[2], tsns[0]])
    assert gains == [reward // 2, 0]  # best model gets half; the other is below τ

    # reputation changes: the first two fall to zero units, the third rises; term 2 re-elects
    for node, units in zip(candidates, (0, 0, 4), strict=True):
        set_reputation(rc, system, node, units, deployer)
    second = elect(2)
    assert second == [candidates[2].address, tsns[0].address]  # one candidate left, a seed node fills in
    gains = scored_task([*institutions, candidates[2], tsns[0]], elected)
    assert gains == [reward // 2, 0]


# -------------------------------------------------------------------------------- gas


def test_views_gas(
    make: Any, measure_view: Any, accounts: Any, deployer: Any, institutions: list[Any], gas_log: Any
) -> None:
    manager = make()
    manager.appointAuthorised(institutions[0], sender=deployer)
    for function, args in [
        ("MAX_COMMITTEE", ()),
        ("MAX_CANDIDATES", ()),
        ("token", ()),
        ("reputation", ()),
        ("genesisBlock", ()),
        ("authorisedSeats", ()),
        ("dynamicSeats", ()),
        ("termRounds", ()),
        ("bootstrapRounds", ()),
        ("roundBlocks", ()),
        ("leaderTimeoutRounds", ()),
        ("roundReward", ()),
        ("reputationUnit", ()),
        ("literal", ()),
        ("electedTerm", ()),
        ("committeeSinceRound", ()),
        ("lastSeed", ()),
        ("rewardPool", ()),
        ("roundRewarded", (1,)),
        ("elect", (bytes(32),)),
        ("isMember", (accounts[1],)),
        ("memberCount", ()),
        ("members", ()),
        ("authorisedMembers", ()),
        ("dynamicMembers", ()),
        ("seedNodes", ()),
        ("candidates", ()),
        ("vrfKeyOf", (accounts[1],)),
        ("currentRound", ()),
        ("termOf", (5,)),
        ("termStartRound", (2,)),
        ("anchorBlock", (1,)),
        ("electionSeed", (0,)),
        ("leaderOf", (1,)),
        ("DEFAULT_ADMIN_ROLE", ()),
        ("hasRole", (bytes(32), accounts[1])),
        ("getRoleAdmin", (bytes(32),)),
        ("supportsInterface", (b"\x01\xff\xc9\xa7",)),
    ]:
        assert measure_view(manager, function, *args) > 21_000


def test_election_gas_with_64_candidates(
    make: Any,
    rc: Any,
    system: Any,
    deployer: Any,
    accounts: Any,
    institutions: list[Any],
    keys: list[vrf.VrfKey],
    tsns: list[Any],
    chain: Any,
    gas_log: Any,
) -> None:
    """The largest election the bounds allow: 64 candidates with reputation, M = 3."""
    manager = make(bootstrapRounds=30)
    setup_committee(manager, deployer, institutions, keys, tsns)
    for i in range(manager.MAX_CANDIDATES()):
        node = ape.accounts.test_accounts.generate_test_account()
        deployer.transfer(node, ONE)
        rc.recordParticipation(node, deployer, sender=system)
        if i % 2 == 0:
            rc.reward(node, sender=system)
        manager.registerCandidate(sender=node)
    assert schedule(manager).first_block_of_term(1) > chain.blocks.head.number  # keys predate the anchor
    tx = run_election(
        manager, chain, 1, {institutions[0].address: keys[0], institutions[1].address: keys[1]}, deployer
    )
    event = tx.events.filter(manager.CommitteeElected)[0]
    assert list(event.members) == alg.elect(
        candidates_now(manager, rc), 3, ONE, bytes(event.phi), [t.address for t in tsns]
    )
    gas_log.add("CommitteeManager", "submitElection_64_candidates", int(tx.gas_used), kind="tx")

"""RC, the Reputation Contract of MetaAICM (seed 001, §4.5.3): the A_i/P_i reward, the -1 penalty, the
fixed-point arithmetic, R_min gating and write access restricted to the system contracts (S10)."""

from __future__ import annotations

from typing import Any

import ape
import pytest

ONE = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture(scope="module")
def admin(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="module")
def system(accounts: Any) -> Any:
    """An account standing in for a system contract (MLC, DC, MPC) that holds WRITER_ROLE."""
    return accounts[9]


@pytest.fixture(scope="module")
def rc(project: Any, admin: Any, system: Any) -> Any:
    contract = admin.deploy(project.RC, admin)
    contract.grantRole(contract.WRITER_ROLE(), system, sender=admin)
    return contract


def test_constructor_rejects_zero_admin(project: Any, admin: Any) -> None:
    with ape.reverts(project.RC.ZeroAddress):
        admin.deploy(project.RC, ZERO)


def test_everyone_starts_at_zero(rc: Any, accounts: Any) -> None:
    assert rc.reputationOf(accounts[5]) == 0
    assert rc.stats(accounts[5]) == (0, 0, 0)
    assert rc.meetsMinimum(accounts[5], 0)
    assert not rc.meetsMinimum(accounts[5], 1)


def test_reward_is_unique_counterparties_over_participations(rc: Any, system: Any, accounts: Any) -> None:
    worker, req_a, req_b = accounts[5], accounts[6], accounts[7]
    # Three participations with two distinct requesters: A = 2, P = 3.
    tx = rc.recordParticipation(worker, req_a, sender=system)
    assert tx.events == [
        rc.ParticipationRecorded(worker, 1),
        rc.InteractionRecorded(worker, req_a),
    ]
    rc.recordParticipation(worker, req_a, sender=system)  # same requester: A unchanged
    rc.recordParticipation(worker, req_b, sender=system)
    assert rc.stats(worker) == (0, 3, 2)
    # Interactions are symmetric: both requesters met the worker once, without participating.
    assert rc.stats(req_a) == (0, 0, 1)
    assert rc.haveMet(req_a, worker)
    assert rc.haveMet(worker, req_b)
    assert not rc.haveMet(req_a, req_b)
    tx = rc.reward(worker, sender=system)
    delta = 2 * ONE // 3
    assert tx.events == [rc.ReputationRewarded(worker, delta, delta)]
    assert rc.reputationOf(worker) == delta
    # A reward on a zero-participation profile adds A/1 = 1 (req_a met the worker).
    rc.reward(req_a, sender=system)
    assert rc.reputationOf(req_a) == ONE


def test_penalty_is_minus_one_and_reputation_may_go_negative(rc: Any, system: Any, accounts: Any) -> None:
    avatar = accounts[5]
    tx = rc.penalize(avatar, sender=system)
    assert tx.events == [rc.ReputationPenalized(avatar, -ONE)]
    rc.penalize(avatar, sender=system)
    assert rc.reputationOf(avatar) == -2 * ONE
    assert rc.meetsMinimum(avatar, -2 * ONE)
    assert not rc.meetsMinimum(avatar, -ONE)


def test_reward_with_no_interaction_is_zero(rc: Any, system: Any, accounts: Any) -> None:
    avatar = accounts[5]
    rc.recordParticipation(avatar, ZERO, sender=system)  # e.g. a task creation
    assert rc.stats(avatar) == (0, 1, 0)
    tx = rc.reward(avatar, sender=system)
    assert tx.events == [rc.ReputationRewarded(avatar, 0, 0)]


def test_record_interaction_counts_both_sides(rc: Any, system: Any, accounts: Any) -> None:
    buyer, seller = accounts[5], accounts[6]
    tx = rc.recordInteraction(buyer, seller, sender=system)
    assert tx.events == [rc.ExchangeRecorded(buyer, seller, 1, 1, True)]  # one event for the three changes
    tx = rc.recordInteraction(seller, buyer, sender=system)  # second purchase, roles swapped: A unchanged
    assert tx.events == [rc.ExchangeRecorded(seller, buyer, 2, 2, False)]
    assert rc.stats(buyer) == (0, 2, 1)
    assert rc.stats(seller) == (0, 2, 1)
    rc.reward(seller, sender=system)
    assert rc.reputationOf(seller) == ONE // 2


def test_fixed_point_sequence_matches_the_reference_formula(rc: Any, system: Any, accounts: Any) -> None:
    """The thesis's update rule replayed in Python with exact integer fixed point."""
    avatar = accounts[5]
    others = [accounts[6], accounts[7], accounts[8]]
    expected, met = 0, set()
    plan = [(0, "R"), (1, "R"), (1, "P"), (0, "R"), (2, "R"), (2, "P"), (1, "R")]
    for participations, (index, kind) in enumerate(plan, start=1):
        rc.recordParticipation(avatar, others[index], sender=system)
        met.add(index)
        if kind == "R":
            rc.reward(avatar, sender=system)
            expected += len(met) * ONE // participations
        else:
            rc.penalize(avatar, sender=system)
            expected -= ONE
        assert rc.reputationOf(avatar) == expected
    assert rc.stats(avatar) == (expected, len(plan), 3)


def test_only_writers_change_reputation(rc: Any, accounts: Any, admin: Any) -> None:
    """S10: direct calls from EOAs (the avatar itself, the admin) are rejected."""
    avatar, other = accounts[5], accounts[6]
    for caller in (avatar, admin):
        with ape.reverts(rc.AccessControlUnauthorizedAccount):
            rc.reward(avatar, sender=caller)
        with ape.reverts(rc.AccessControlUnauthorizedAccount):
            rc.penalize(other, sender=caller)
        with ape.reverts(rc.AccessControlUnauthorizedAccount):
            rc.recordParticipation(avatar, other, sender=caller)
        with ape.reverts(rc.AccessControlUnauthorizedAccount):
            rc.recordInteraction(avatar, other, sender=caller)
    assert rc.stats(avatar) == (0, 0, 0)


def test_role_administration(rc: Any, admin: Any, accounts: Any) -> None:
    writer = accounts[5]
    role = rc.WRITER_ROLE()
    with ape.reverts(rc.AccessControlUnauthorizedAccount):
        rc.grantRole(role, writer, sender=writer)
    rc.grantRole(role, writer, sender=admin)
    rc.reward(writer, sender=writer)
    rc.revokeRole(role, writer, sender=admin)
    with ape.reverts(rc.AccessControlUnauthorizedAccount):
        rc.penalize(writer, sender=writer)
    rc.grantRole(role, writer, sender=admin)
    rc.renounceRole(role, writer, sender=writer)
    assert not rc.hasRole(role, writer)


def test_malformed_writes_revert(rc: Any, system: Any, accounts: Any) -> None:
    avatar = accounts[5]
    with ape.reverts(rc.ZeroAddress):
        rc.recordParticipation(ZERO, avatar, sender=system)
    with ape.reverts(rc.ZeroAddress):
        rc.recordInteraction(avatar, ZERO, sender=system)
    with ape.reverts(rc.ZeroAddress):
        rc.recordInteraction(ZERO, avatar, sender=system)
    with ape.reverts(rc.SelfInteraction):
        rc.recordParticipation(avatar, avatar, sender=system)
    with ape.reverts(rc.SelfInteraction):
        rc.recordInteraction(avatar, avatar, sender=system)


def test_view_gas(rc: Any, measure_view: Any, accounts: Any) -> None:
    avatar = accounts[5]
    for function, args in [
        ("reputationOf", (avatar,)),
        ("meetsMinimum", (avatar, 0)),
        ("stats", (avatar,)),
        ("haveMet", (avatar, accounts[6])),
        ("WRITER_ROLE", ()),
        ("ONE", ()),
        ("DEFAULT_ADMIN_ROLE", ()),
        ("hasRole", (bytes(32), avatar)),
        ("getRoleAdmin", (bytes(32),)),
        ("supportsInterface", (b"\x01\xff\xc9\xa7",)),
    ]:
        assert measure_view(rc, function, *args) > 21_000


def test_reward_shrinks_with_frequency_not_grows(rc: Any, system: Any, accounts: Any) -> None:
    """Spec §7 A20: the thesis says rewards are "directly proportional to the diversity and frequency of
    positive contributions", but A_i/P_i falls as participations with the same avatars pile up. The
    formula is implemented as written; this test documents that the claim holds for diversity only."""
    loyal, diverse = accounts[5], accounts[6]
    partners = [accounts[7], accounts[8], accounts[9]]
    deltas_loyal, deltas_diverse = [], []
    for round_ in range(3):
        rc.recordParticipation(loyal, partners[0], sender=system)
        deltas_loyal.append(rc.reward(loyal, sender=system).return_value)
        rc.recordParticipation(diverse, partners[round_], sender=system)
        deltas_diverse.append(rc.reward(diverse, sender=system).return_value)
    assert deltas_loyal == [ONE, ONE // 2, ONE // 3]  # more frequency, smaller reward
    assert deltas_diverse == [ONE, ONE, ONE]  # more diversity keeps it at 1

"""StateChannelManager (seed 004, spec §2.6 and §3.2.1–3.2.3): open/join escrow, EIP-712 co-signed states,
cooperative close, unilateral close with a challenge period, challenge, settle, and every revert path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
import pytest

from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.crypto.signing import typed_data_hash
from offchain.web3compute.state import (
    STATE_TYPES,
    ChannelDomain,
    ChannelState,
    compact_signature,
    next_transcript,
    sign_state,
    sorted_parties,
)
from offchain.web3compute.tasks import task_id_of

UNIT = 10**18
PERIOD = 600  # challenge period (s)
WINDOW = 300  # join window (s)
TASK = task_id_of(1)  # the module's running task (fixture ``task``): star of accounts 6 (global), 7, 8
DEPOSIT_A, DEPOSIT_B = 40 * UNIT, 60 * UNIT
ZERO = "0x0000000000000000000000000000000000000000"

# Raiden's published gas (open + 2 deposits + close + settle) and the targets.
RAIDEN_LIFECYCLE = 110_848 + 2 * 53_475 + 93_951 + 83_636
COOPERATIVE_TARGET = 200_000
DISPUTE_TARGET = 300_000


@dataclass
class Pair:
    """Two channel parties in the contract's order, with keys and deposits."""

    a: Any
    b: Any
    key_a: KeyPair
    key_b: KeyPair


@pytest.fixture(scope="module")
def task(start_task: Any) -> bytes:
    task_id = start_task()
    assert task_id == TASK
    return task_id


@pytest.fixture(scope="module")
def manager(project: Any, deployer: Any, token: Any, task_manager: Any, task: bytes) -> Any:
    return deployer.deploy(project.StateChannelManager, token.address, task_manager.address, PERIOD, WINDOW)


@pytest.fixture(scope="module")
def domain(manager: Any, chain: Any) -> ChannelDomain:
    return ChannelDomain(int(chain.chain_id), str(manager.address))


@pytest.fixture(scope="module")
def pair(accounts: Any, token: Any, pool_holders: Any, manager: Any) -> Pair:
    first, second = accounts[6], accounts[7]
    a_addr, _ = sorted_parties(first.address, second.address)
    a, b = (first, second) if a_addr == first.address else (second, first)
    for party in (a, b, accounts[8]):
        token.transfer(party, 1_000 * UNIT, sender=pool_holders[2])
        token.approve(manager.address, 2**256 - 1, sender=party)
    return Pair(a, b, from_private_key(a.private_key), from_private_key(b.private_key))


def open_channel(manager: Any, pair: Pair, dep_a: int = DEPOSIT_A, dep_b: int = DEPOSIT_B) -> list[Any]:
    opened = manager.open(TASK, pair.b.address, dep_a, sender=pair.a)
    joined = manager.join(TASK, pair.a.address, dep_b, sender=pair.b)
    return [opened, joined]


def channel_id(domain: ChannelDomain, pair: Pair) -> bytes:
    return domain.channel_id(TASK, pair.a.address, pair.b.address)


def states(domain: ChannelDomain, pair: Pair, count: int, dep_a: int = DEPOSIT_A) -> list[ChannelState]:
    """``count`` successive states after the initial one: one transmission each, A pays B 1 MTC each."""
    state = ChannelState.initial(channel_id(domain, pair), TASK, dep_a, DEPOSIT_B)
    out = []
    for j in range(1, count + 1):
        transcript = next_transcript(
            state.transcript_hash, keccak256(b"ciphertext %d" % j), pair.a.address, pair.b.address, j
        )
        state = state.advance(transcript_hash=transcript, messages=1, balance_a=state.balance_a - UNIT)
        out.append(state)
    return out


def signed(domain: ChannelDomain, pair: Pair, state: ChannelState) -> tuple[Any, ...]:
    return (
        state.as_tuple(),
        pair.a.address,
        pair.b.address,
        compact_signature(sign_state(pair.key_a, domain, state)),
        compact_signature(sign_state(pair.key_b, domain, state)),
    )


def finalise(state: ChannelState, result: bytes = keccak256(b"model")) -> ChannelState:
    return state.advance(result_hash=result, is_final=True)


def status_of(manager: Any, cid: bytes) -> int:
    return int(manager.getChannel(cid).status)


OPENING, OPEN, CLOSING, CLOSED, CANCELLED = 1, 2, 3, 4, 5


# ------------------------------------------------------------------------------------------- digests


def test_the_offchain_digest_matches_the_contract_and_the_signing_module(
    manager: Any, domain: ChannelDomain, pair: Pair, measure_view: Any
) -> None:
    state = finalise(states(domain, pair, 3)[-1])
    ours = keccak256(b"\x19\x01" + domain.separator + state.struct_hash())
    reference = typed_data_hash(domain.as_dict(), STATE_TYPES, "State", state.message())
    assert ours == reference
    assert bytes(manager.stateDigest(state.as_tuple())) == ours
    assert bytes(manager.STATE_TYPEHASH()) == keccak256(
        b"State(bytes32 channelId,bytes32 taskId,uint256 nonce,uint256 balanceA,uint256 balanceB,"
        b"uint256 msgCount,bytes32 transcriptHash,bytes32 resultHash,bool isFinal)"
    )
    fields = manager.eip712Domain()
    assert fields.name == "Web3PPDC-Channel"
    assert fields.version == "1"
    assert int(fields.chainId) == domain.chain_id
    assert fields.verifyingContract == manager.address
    assert bytes(manager.channelIdOf(TASK, pair.b.address, pair.a.address)) == channel_id(domain, pair)
    for view, args in (
        ("stateDigest", (state.as_tuple(),)),
        ("STATE_TYPEHASH", ()),
        ("eip712Domain", ()),
        ("channelIdOf", (TASK, pair.a.address, pair.b.address)),
        ("getChannel", (channel_id(domain, pair),)),
        ("isSettledState", (state.as_tuple(),)),
        ("MAX_PERIOD", ()),
        ("token", ()),
        ("roster", ()),
        ("challengePeriod", ()),
        ("joinWindow", ()),
    ):
        assert measure_view(manager, view, *args) > 21_000


def test_constructor_rejects_a_zero_token_and_overlong_periods(
    project: Any, deployer: Any, token: Any
) -> None:
    with ape.reverts(project.StateChannelManager.ZeroAddress):
        deployer.deploy(project.StateChannelManager, ZERO, ZERO, PERIOD, WINDOW)
    too_long = 30 * 86_400 + 1
    with ape.reverts(project.StateChannelManager.PeriodTooLong, period=too_long, max=30 * 86_400):
        deployer.deploy(project.StateChannelManager, token.address, ZERO, too_long, WINDOW)
    with ape.reverts(project.StateChannelManager.PeriodTooLong, period=too_long, max=30 * 86_400):
        deployer.deploy(project.StateChannelManager, token.address, ZERO, PERIOD, too_long)


# ------------------------------------------------------------------------------------------- opening


def test_open_and_join_escrow_both_deposits_and_emit_events(
    manager: Any, domain: ChannelDomain, pair: Pair, token: Any, chain: Any
) -> None:
    cid = channel_id(domain, pair)
    before_a, before_b = token.balanceOf(pair.a), token.balanceOf(pair.b)
    opened, joined = open_channel(manager, pair)
    join_by = opened.timestamp + WINDOW
    assert opened.events == [
        manager.ChannelOpened(cid, TASK, pair.a.address, pair.b.address, DEPOSIT_A, join_by),
        token.Transfer(pair.a.address, manager.address, DEPOSIT_A),
    ]
    assert manager.ChannelJoined(cid, pair.b.address, DEPOSIT_B) in joined.events
    record = manager.getChannel(cid)
    assert (record.depositA, record.depositB, int(record.status)) == (DEPOSIT_A, DEPOSIT_B, OPEN)
    assert token.balanceOf(manager) == DEPOSIT_A + DEPOSIT_B
    assert token.balanceOf(pair.a) == before_a - DEPOSIT_A
    assert token.balanceOf(pair.b) == before_b - DEPOSIT_B


def test_the_higher_address_may_open_and_the_lower_join(
    manager: Any, domain: ChannelDomain, pair: Pair
) -> None:
    manager.open(TASK, pair.a.address, DEPOSIT_B, sender=pair.b)
    cid = channel_id(domain, pair)
    assert manager.getChannel(cid).openedByB
    with ape.reverts(manager.NotJoiner, channelId=cid, caller=pair.b.address):
        manager.join(TASK, pair.a.address, 0, sender=pair.b)
    manager.join(TASK, pair.b.address, DEPOSIT_A, sender=pair.a)
    record = manager.getChannel(cid)
    assert (record.depositA, record.depositB, int(record.status)) == (DEPOSIT_A, DEPOSIT_B, OPEN)


def test_open_rejects_bad_counterparties_oversized_deposits_and_duplicates(
    manager: Any, domain: ChannelDomain, pair: Pair
) -> None:
    with ape.reverts(manager.InvalidCounterparty, counterparty=ZERO):
        manager.open(TASK, ZERO, 0, sender=pair.a)
    with ape.reverts(manager.InvalidCounterparty, counterparty=pair.a.address):
        manager.open(TASK, pair.a.address, 0, sender=pair.a)
    with ape.reverts(manager.DepositTooLarge, amount=2**96):
        manager.open(TASK, pair.b.address, 2**96, sender=pair.a)
    manager.open(TASK, pair.b.address, 0, sender=pair.a)
    cid = channel_id(domain, pair)
    # The lock: neither party can open a second channel of the pair for the task, in either direction.
    with ape.reverts(manager.ChannelExists, channelId=cid, status=OPENING):
        manager.open(TASK, pair.b.address, 0, sender=pair.a)
    with ape.reverts(manager.ChannelExists, channelId=cid, status=OPENING):
        manager.open(TASK, pair.a.address, 0, sender=pair.b)


def test_only_the_tasks_star_edges_may_open(
    manager: Any, pair: Pair, accounts: Any, task_manager: Any, actors: Any
) -> None:
    global_node, local_1, local_2, storage = accounts[6], accounts[7], accounts[8], accounts[9]
    a, b = sorted_parties(local_1.address, local_2.address)
    with ape.reverts(manager.NotTaskMembers, taskId=TASK, partyA=a, partyB=b):
        manager.open(TASK, local_2.address, 0, sender=local_1)  # local <-> local: not an edge of the star
    a, b = sorted_parties(global_node.address, storage.address)
    with ape.reverts(manager.NotTaskMembers, taskId=TASK, partyA=a, partyB=b):
        manager.open(TASK, storage.address, 0, sender=global_node)  # storage servers open no channels
    unknown = task_id_of(99)
    a, b = sorted_parties(global_node.address, local_1.address)
    with ape.reverts(manager.NotTaskMembers, taskId=unknown, partyA=a, partyB=b):
        manager.open(unknown, local_1.address, 0, sender=global_node)
    manager.open(TASK, global_node.address, 0, sender=local_2)  # the edge local_2 <-> global


def test_join_requires_an_opening_channel_and_the_other_party(
    manager: Any, domain: ChannelDomain, pair: Pair, accounts: Any
) -> None:
    cid = channel_id(domain, pair)
    with ape.reverts(manager.WrongStatus, channelId=cid, status=0, expected=OPENING):
        manager.join(TASK, pair.a.address, 0, sender=pair.b)
    manager.open(TASK, pair.b.address, DEPOSIT_A, sender=pair.a)
    with ape.reverts(manager.NotJoiner, channelId=cid, caller=pair.a.address):
        manager.join(TASK, pair.b.address, 0, sender=pair.a)
    outsider = accounts[8]
    other = domain.channel_id(TASK, pair.a.address, outsider.address)
    with ape.reverts(manager.WrongStatus, channelId=other, status=0, expected=OPENING):
        manager.join(TASK, pair.a.address, 0, sender=outsider)
    with ape.reverts(manager.DepositTooLarge, amount=2**96):
        manager.join(TASK, pair.a.address, 2**96, sender=pair.b)
    manager.join(TASK, pair.a.address, DEPOSIT_B, sender=pair.b)
    with ape.reverts(manager.WrongStatus, channelId=cid, status=OPEN, expected=OPENING):
        manager.join(TASK, pair.a.address, 0, sender=pair.b)


def test_the_opener_cancels_after_the_join_window(
    manager: Any, domain: ChannelDomain, pair: Pair, token: Any, chain: Any
) -> None:
    cid = channel_id(domain, pair)
    before = token.balanceOf(pair.a)
    opened = manager.open(TASK, pair.b.address, DEPOSIT_A, sender=pair.a)
    with ape.reverts(manager.JoinWindowOpen, channelId=cid, until=opened.timestamp + WINDOW):
        manager.cancelOpen(TASK, pair.b.address, sender=pair.a)
    with ape.reverts(manager.NotOpener, channelId=cid, caller=pair.b.address):
        manager.cancelOpen(TASK, pair.a.address, sender=pair.b)
    chain.pending_timestamp = opened.timestamp + WINDOW
    receipt = manager.cancelOpen(TASK, pair.b.address, sender=pair.a)
    assert manager.ChannelCancelled(cid, pair.a.address, DEPOSIT_A) in receipt.events
    assert token.balanceOf(pair.a) == before
    assert status_of(manager, cid) == CANCELLED
    # The channel id is spent: no join, no second open, no second cancel.
    with ape.reverts(manager.WrongStatus, channelId=cid, status=CANCELLED, expected=OPENING):
        manager.join(TASK, pair.a.address, 0, sender=pair.b)
    with ape.reverts(manager.ChannelExists, channelId=cid, status=CANCELLED):
        manager.open(TASK, pair.b.address, 0, sender=pair.a)
    with ape.reverts(manager.WrongStatus, channelId=cid, status=CANCELLED, expected=OPENING):
        manager.cancelOpen(TASK, pair.b.address, sender=pair.a)


# ------------------------------------------------------------------------------------------- closing


def test_cooperative_lifecycle_pays_out_records_and_meets_the_gas_target(
    manager: Any, domain: ChannelDomain, pair: Pair, token: Any, accounts: Any, gas_log: Any
) -> None:
    # Another channel escrows first: the steady state of a manager in use (its token balance is not 0).
    global_node, third = accounts[6], accounts[8]
    manager.open(TASK, third.address, UNIT, sender=global_node)
    before_a, before_b = token.balanceOf(pair.a), token.balanceOf(pair.b)
    receipts = open_channel(manager, pair)
    final = finalise(states(domain, pair, 5)[-1])
    receipt = manager.cooperativeClose(*signed(domain, pair, final), sender=pair.b)
    cid = channel_id(domain, pair)
    assert (
        manager.ChannelSettled(
            cid,
            TASK,
            final.nonce,
            final.msg_count,
            final.transcript_hash,
            final.result_hash,
            True,
        )
        in receipt.events
    )
    assert token.balanceOf(pair.a) == before_a - DEPOSIT_A + final.balance_a
    assert token.balanceOf(pair.b) == before_b - DEPOSIT_B + final.balance_b
    assert final.balance_a + final.balance_b == DEPOSIT_A + DEPOSIT_B
    record = manager.getChannel(cid)
    assert int(record.status) == CLOSED
    assert record.depositA == DEPOSIT_A
    assert record.depositB == DEPOSIT_B
    assert bytes(record.stateHash) == bytes(32)  # the cooperative record is the event
    total = sum(int(r.gas_used) for r in [*receipts, receipt])
    gas_log.add("StateChannelManager", "scenario_cooperative_lifecycle", total, kind="scenario")
    assert total <= COOPERATIVE_TARGET, f"open + join + cooperativeClose used {total:,} gas"
    assert 2 * total <= RAIDEN_LIFECYCLE
    # Replaying the final state on the closed channel reverts.
    with ape.reverts(manager.WrongStatus, channelId=cid, status=CLOSED, expected=OPEN):
        manager.cooperativeClose(*signed(domain, pair, final), sender=pair.a)


def test_dispute_stale_close_is_overridden_by_a_newer_state(
    manager: Any, domain: ChannelDomain, pair: Pair, token: Any, chain: Any, gas_log: Any
) -> None:
    open_channel(manager, pair)
    history = states(domain, pair, 6)
    stale, newest = history[1], history[5]
    before_a, before_b = token.balanceOf(pair.a), token.balanceOf(pair.b)
    cid = channel_id(domain, pair)

    closed = manager.close(*signed(domain, pair, stale), sender=pair.a)
    deadline = closed.timestamp + PERIOD
    assert (
        manager.ChannelClosing(cid, pair.a.address, stale.nonce, stale.struct_hash(), deadline)
        in closed.events
    )
    record = manager.getChannel(cid)
    assert (int(record.status), record.nonce, bytes(record.stateHash)) == (CLOSING, 2, stale.struct_hash())

    challenged = manager.challenge(*signed(domain, pair, newest), sender=pair.b)
    assert (
        manager.ChannelChallenged(cid, pair.b.address, newest.nonce, newest.struct_hash())
        in challenged.events
    )
    assert manager.getChannel(cid).deadline == deadline  # not extended

    with ape.reverts(manager.ChallengePeriodRunning, channelId=cid, deadline=deadline):
        manager.settle(newest.as_tuple(), pair.a.address, pair.b.address, sender=pair.a)
    chain.pending_timestamp = deadline
    with ape.reverts(manager.UnknownState, channelId=cid, stateHash=stale.struct_hash()):
        manager.settle(stale.as_tuple(), pair.a.address, pair.b.address, sender=pair.a)
    settled = manager.settle(newest.as_tuple(), pair.a.address, pair.b.address, sender=pair.a)
    assert (
        manager.ChannelSettled(
            cid,
            TASK,
            newest.nonce,
            newest.msg_count,
            newest.transcript_hash,
            newest.result_hash,
            False,
        )
        in settled.events
    )
    assert token.balanceOf(pair.a) == before_a + newest.balance_a
    assert token.balanceOf(pair.b) == before_b + newest.balance_b
    assert manager.isSettledState(newest.as_tuple())
    total = sum(int(r.gas_used) for r in (closed, challenged, settled))
    gas_log.add("StateChannelManager", "scenario_dispute_lifecycle", total, kind="scenario")
    assert total <= DISPUTE_TARGET, f"close + challenge + settle used {total:,} gas"
    with ape.reverts(manager.WrongStatus, channelId=cid, status=CLOSED, expected=CLOSING):
        manager.settle(newest.as_tuple(), pair.a.address, pair.b.address, sender=pair.a)


def test_a_final_state_ends_a_dispute_at_once(
    manager: Any, domain: ChannelDomain, pair: Pair, token: Any
) -> None:
    open_channel(manager, pair)
    history = states(domain, pair, 3)
    final = finalise(history[-1])
    manager.close(*signed(domain, pair, history[0]), sender=pair.a)
    receipt = manager.challenge(*signed(domain, pair, final), sender=pair.b)
    cid = channel_id(domain, pair)
    assert any(log.event_name == "ChannelSettled" and log.cooperative for log in receipt.events)
    assert status_of(manager, cid) == CLOSED
    assert manager.isSettledState(final.as_tuple())
    assert not manager.isSettledState(history[0].as_tuple())


def test_close_without_any_signed_state_settles_the_deposits(
    manager: Any, domain: ChannelDomain, pair: Pair, token: Any, chain: Any
) -> None:
    open_channel(manager, pair)
    cid = channel_id(domain, pair)
    receipt = manager.closeInitial(TASK, pair.a.address, sender=pair.b)
    initial = ChannelState.initial(cid, TASK, DEPOSIT_A, DEPOSIT_B)
    deadline = receipt.timestamp + PERIOD
    assert manager.ChannelClosing(cid, pair.b.address, 0, initial.struct_hash(), deadline) in receipt.events
    with ape.reverts(manager.WrongStatus, channelId=cid, status=CLOSING, expected=OPEN):
        manager.closeInitial(TASK, pair.b.address, sender=pair.a)
    # The counterparty could still answer with any co-signed state; here it has none, so settle pays back.
    before_a, before_b = token.balanceOf(pair.a), token.balanceOf(pair.b)
    chain.pending_timestamp = deadline
    manager.settle(initial.as_tuple(), pair.a.address, pair.b.address, sender=pair.b)
    assert token.balanceOf(pair.a) == before_a + DEPOSIT_A
    assert token.balanceOf(pair.b) == before_b + DEPOSIT_B


def test_close_initial_needs_an_open_channel(manager: Any, domain: ChannelDomain, pair: Pair) -> None:
    cid = channel_id(domain, pair)
    with ape.reverts(manager.WrongStatus, channelId=cid, status=0, expected=OPEN):
        manager.closeInitial(TASK, pair.b.address, sender=pair.a)


# ------------------------------------------------------------------------------------------- revert paths


def test_cooperative_close_needs_a_final_state_and_close_a_non_final_one(
    manager: Any, domain: ChannelDomain, pair: Pair
) -> None:
    open_channel(manager, pair)
    state = states(domain, pair, 2)[-1]
    cid = channel_id(domain, pair)
    with ape.reverts(manager.NotFinal, channelId=cid, nonce=2):
        manager.cooperativeClose(*signed(domain, pair, state), sender=pair.a)
    final = finalise(state)
    with ape.reverts(manager.StateIsFinal, channelId=cid, nonce=3):
        manager.close(*signed(domain, pair, final), sender=pair.a)


def test_one_sided_forged_and_malformed_signatures_are_rejected(
    manager: Any, domain: ChannelDomain, pair: Pair, accounts: Any
) -> None:
    open_channel(manager, pair)
    state = states(domain, pair, 2)[-1]
    good = signed(domain, pair, state)
    outsider = from_private_key(accounts[8].private_key)
    forged = compact_signature(sign_state(outsider, domain, state))
    with ape.reverts(manager.InvalidSignature, expected=pair.b.address, recovered=outsider.address):
        manager.close(*good[:4], forged, sender=pair.a)
    # One party's signature twice (a one-sided state).
    with ape.reverts(manager.InvalidSignature, expected=pair.b.address, recovered=pair.a.address):
        manager.close(*good[:4], good[3], sender=pair.a)
    # An empty signature, a truncated one, and a malleable (high-s) one.
    empty = (bytes(32), bytes(32))
    with ape.reverts(manager.InvalidSignature, expected=pair.a.address, recovered=ZERO):
        manager.close(*good[:3], empty, good[4], sender=pair.a)
    raw = sign_state(pair.key_a, domain, state)
    assert compact_signature(raw[:64]) == empty
    high_s = (good[3][0], (2**255 - 1).to_bytes(32, "big"))
    with ape.reverts(manager.InvalidSignature, expected=pair.a.address, recovered=ZERO):
        manager.close(*good[:3], high_s, good[4], sender=pair.a)
    # A signature of another state (a tampered field) recovers some other address.
    tampered = state.advance()
    with ape.reverts(manager.InvalidSignature):
        manager.close(tampered.as_tuple(), *good[1:], sender=pair.a)


def test_states_signed_for_another_chain_or_manager_do_not_replay(
    manager: Any, domain: ChannelDomain, pair: Pair
) -> None:
    open_channel(manager, pair)
    state = states(domain, pair, 2)[-1]
    for other in (
        ChannelDomain(domain.chain_id + 1, domain.manager),
        ChannelDomain(domain.chain_id, "0x000000000000000000000000000000000000dEaD"),
    ):
        args = (
            state.as_tuple(),
            pair.a.address,
            pair.b.address,
            compact_signature(sign_state(pair.key_a, other, state)),
            compact_signature(sign_state(pair.key_b, other, state)),
        )
        with ape.reverts(manager.InvalidSignature):
            manager.close(*args, sender=pair.a)


def test_malformed_states_are_rejected(manager: Any, domain: ChannelDomain, pair: Pair) -> None:
    open_channel(manager, pair)
    cid = channel_id(domain, pair)
    state = states(domain, pair, 2)[-1]
    # Parties out of order, or not the channel's parties.
    with ape.reverts(manager.ChannelMismatch):
        empty = (bytes(32), bytes(32))
        manager.close(state.as_tuple(), pair.b.address, pair.a.address, empty, empty, sender=pair.a)
    # Another task's id, or a made-up channel id.
    other_task = ChannelState(cid, keccak256(b"task-2"), 1, DEPOSIT_A, DEPOSIT_B)
    with ape.reverts(manager.ChannelMismatch):
        manager.close(*signed(domain, pair, other_task), sender=pair.a)
    made_up = ChannelState(keccak256(b"nope"), TASK, 1, DEPOSIT_A, DEPOSIT_B)
    with ape.reverts(manager.ChannelMismatch):
        manager.close(*signed(domain, pair, made_up), sender=pair.a)
    # Balances that do not add up to the escrow (more, less, or overflowing).
    for bal_a, bal_b in ((DEPOSIT_A, DEPOSIT_B + 1), (DEPOSIT_A - 1, DEPOSIT_B), (2**256 - 1, 2)):
        bad = ChannelState(cid, TASK, 3, bal_a, bal_b)
        with ape.reverts(
            manager.BalanceMismatch, balanceA=bal_a, balanceB=bal_b, escrow=DEPOSIT_A + DEPOSIT_B
        ):
            manager.close(*signed(domain, pair, bad), sender=pair.a)


def test_stale_replayed_and_late_challenges_revert(
    manager: Any, domain: ChannelDomain, pair: Pair, chain: Any
) -> None:
    open_channel(manager, pair)
    cid = channel_id(domain, pair)
    history = states(domain, pair, 4)
    with ape.reverts(manager.WrongStatus, channelId=cid, status=OPEN, expected=CLOSING):
        manager.challenge(*signed(domain, pair, history[3]), sender=pair.b)
    closed = manager.close(*signed(domain, pair, history[2]), sender=pair.a)
    with ape.reverts(manager.WrongStatus, channelId=cid, status=CLOSING, expected=OPEN):
        manager.close(*signed(domain, pair, history[3]), sender=pair.a)
    # The same state again (a replay) and an older one are stale.
    with ape.reverts(manager.StaleState, channelId=cid, nonce=3, storedNonce=3):
        manager.challenge(*signed(domain, pair, history[2]), sender=pair.b)
    with ape.reverts(manager.StaleState, channelId=cid, nonce=1, storedNonce=3):
        manager.challenge(*signed(domain, pair, history[0]), sender=pair.b)
    deadline = closed.timestamp + PERIOD
    chain.pending_timestamp = deadline
    with ape.reverts(manager.ChallengePeriodOver, channelId=cid, deadline=deadline):
        manager.challenge(*signed(domain, pair, history[3]), sender=pair.b)
    # Settling with a state whose balances differ from the escrow never reaches the hash check.
    bad = ChannelState(cid, TASK, 3, 0, 0)
    with ape.reverts(manager.BalanceMismatch):
        manager.settle(bad.as_tuple(), pair.a.address, pair.b.address, sender=pair.b)
    manager.settle(history[2].as_tuple(), pair.a.address, pair.b.address, sender=pair.b)


def test_zero_deposit_channels_are_transmission_ledgers(
    manager: Any, domain: ChannelDomain, pair: Pair, token: Any, gas_log: Any
) -> None:
    before = token.balanceOf(manager)
    receipts = open_channel(manager, pair, 0, 0)
    cid = channel_id(domain, pair)
    state = ChannelState.initial(cid, TASK, 0, 0)
    for j in range(1, 4):
        transcript = next_transcript(
            state.transcript_hash, keccak256(b"c%d" % j), pair.a.address, pair.b.address, j
        )
        state = state.advance(transcript_hash=transcript, messages=1)
    final = finalise(state)
    receipt = manager.cooperativeClose(*signed(domain, pair, final), sender=pair.a)
    assert token.balanceOf(manager) == before
    assert any(log.event_name == "ChannelSettled" and log.msgCount == 3 for log in receipt.events)
    total = sum(int(r.gas_used) for r in [*receipts, receipt])
    gas_log.add("StateChannelManager", "scenario_cooperative_lifecycle_no_escrow", total, kind="scenario")
    assert total < COOPERATIVE_TARGET

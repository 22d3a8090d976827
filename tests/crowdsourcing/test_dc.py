"""DC, the Data Contract of MetaAICM (seed 001, Algorithm 4.2), and OracleManager, the oracle network that
decides its disputes: escrow of Θ + α, encrypted submissions (ECIES-lite), honest/dishonest judgement, the
Sub_j alignment check, oracle majority with rewards and deductions, α shared by the winners (S1, S3, S5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
import coincurve
import pytest

from offchain.crypto import ecies_lite
from offchain.deploy import deploy_aicm

ONE = 10**18
THETA = 600 * ONE
ALPHA = 90 * ONE
HOUR = 3_600
LOCK = 5
STAKE, VOTE_REWARD, DEDUCTION = 100 * ONE, 10 * ONE, 20 * ONE
PENDING, HONEST, DISHONEST, DISPUTED, WON, LOST = 0, 1, 2, 3, 4, 5
OPEN, EVALUATED, FINALIZED = 1, 2, 3
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass
class Entry:
    url: bytes
    secret: int
    ciphertext: ecies_lite.Ciphertext


@pytest.fixture(scope="module")
def aicm(project: Any, deployer: Any, platform: Any) -> Any:
    return deploy_aicm(project, deployer, platform)


@pytest.fixture(scope="module")
def dc(aicm: Any) -> Any:
    return aicm.contracts["DC"]


@pytest.fixture(scope="module")
def om(aicm: Any) -> Any:
    return aicm.contracts["OracleManager"]


@pytest.fixture(scope="module")
def rc(aicm: Any) -> Any:
    return aicm.contracts["RC"]


@pytest.fixture(scope="module")
def requester(pool_holders: Any) -> Any:
    return pool_holders[3]


@pytest.fixture(scope="module")
def requester_key() -> coincurve.PrivateKey:
    return coincurve.PrivateKey()


@pytest.fixture(scope="module")
def workers(accounts: Any) -> list[Any]:
    return [accounts[6], accounts[7], accounts[8]]


@pytest.fixture(scope="module")
def oracle_nodes(pool_holders: Any) -> list[Any]:
    return [pool_holders[0], pool_holders[1], pool_holders[2]]


def key_point(key: coincurve.PrivateKey) -> tuple[int, int]:
    x, y = key.public_key.point()
    return int(x), int(y)


def params(chain: Any, key: coincurve.PrivateKey, **overrides: Any) -> tuple[Any, ...]:
    x, y = key_point(key)
    values: dict[str, Any] = {
        "reward": THETA,
        "compensation": ALPHA,
        "featuresURI": "ipfs://bafyfeatures",
        "keyX": x,
        "keyY": y,
        "deadline": chain.pending_timestamp + HOUR,
        "minReputation": 0,
        "evaluationWindow": HOUR,
        "disputeWindow": HOUR,
        "lockBlocks": LOCK,
        "maxSubmissions": 8,
    }
    values.update(overrides)
    return tuple(values.values())


def create(
    dc: Any, token: Any, chain: Any, requester: Any, key: coincurve.PrivateKey, **overrides: Any
) -> int:
    args = params(chain, key, **overrides)
    token.approve(dc.address, args[0] + args[1], sender=requester)
    tx = dc.createTask(args, sender=requester)
    return int(tx.events.filter(dc.DataTaskCreated)[0].taskId)


def submit(dc: Any, task_id: int, worker: Any, key: coincurve.PrivateKey, url: bytes | None = None) -> Entry:
    url = url or f"ipfs://bafydataset-{worker.address[2:10].lower()}".encode()
    context = bytes(dc.encryptionContext(task_id, worker))
    secret = ecies_lite.draw_ephemeral()
    ciphertext = ecies_lite.encrypt(key.public_key.format(), url, context, ephemeral=secret)
    dc.submitDataset(task_id, ciphertext.ephemeral_x, ciphertext.ephemeral_y, ciphertext.body, sender=worker)
    return Entry(url, secret, ciphertext)


def after_deadline(chain: Any, dc: Any, task_id: int) -> None:
    chain.pending_timestamp = dc.getTask(task_id).deadline + 1


def register_oracles(om: Any, token: Any, nodes: list[Any], funder: Any) -> None:
    for node in nodes:
        token.approve(om.address, STAKE, sender=node)
        om.register(sender=node)
    token.approve(om.address, 100 * ONE, sender=funder)
    om.fundRewards(100 * ONE, sender=funder)


def gains(token: Any, accounts: list[Any], before: list[int]) -> list[int]:
    return [int(token.balanceOf(a)) - b for a, b in zip(accounts, before, strict=True)]


def snapshot(token: Any, accounts: list[Any]) -> list[int]:
    return [int(token.balanceOf(a)) for a in accounts]


# -------------------------------------------------------------------------------- creation


def test_create_escrows_theta_plus_alpha(
    dc: Any, rc: Any, token: Any, chain: Any, requester: Any, requester_key: Any
) -> None:
    before = token.balanceOf(requester)
    task_id = create(dc, token, chain, requester, requester_key)
    assert token.balanceOf(requester) == before - THETA - ALPHA
    assert token.balanceOf(dc.address) == THETA + ALPHA
    task = dc.getTask(task_id)
    assert (task.requester, task.reward, task.compensation, task.status) == (
        requester.address,
        THETA,
        ALPHA,
        OPEN,
    )
    assert (task.keyX, task.keyY) == key_point(requester_key)
    assert rc.stats(requester) == (0, 1, 0)
    assert dc.taskCount() == 1


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"reward": 0}, "InvalidReward"),
        ({"reward": 2**96}, "InvalidReward"),
        ({"compensation": 2**96}, "InvalidReward"),
        ({"deadline": 1}, "InvalidDeadline"),
        ({"evaluationWindow": 0}, "InvalidWindow"),
        ({"disputeWindow": 0}, "InvalidWindow"),
        ({"maxSubmissions": 0}, "InvalidMaxSubmissions"),
        ({"maxSubmissions": 33}, "InvalidMaxSubmissions"),
        ({"keyY": 1}, "InvalidKey"),
        ({"featuresURI": ""}, "InvalidUri"),
        ({"minReputation": 2**127}, "InvalidMinReputation"),
    ],
)
def test_create_reverts(
    dc: Any, token: Any, chain: Any, requester: Any, requester_key: Any, overrides: dict[str, Any], error: str
) -> None:
    token.approve(dc.address, 2**97, sender=requester)
    with ape.reverts(getattr(dc, error)):
        dc.createTask(params(chain, requester_key, **overrides), sender=requester)


def test_constructor_rejects_zero_addresses(
    project: Any, deployer: Any, token: Any, rc: Any, om: Any
) -> None:
    for args in ((ZERO, rc, om), (token, ZERO, om), (token, rc, ZERO)):
        with ape.reverts(project.DC.ZeroAddress):
            deployer.deploy(project.DC, *args)


# -------------------------------------------------------------------------------- submissions (S5)


def test_submission_is_encrypted_to_the_requester(
    dc: Any, rc: Any, token: Any, chain: Any, requester: Any, requester_key: Any, workers: list[Any]
) -> None:
    task_id = create(dc, token, chain, requester, requester_key)
    entry = submit(dc, task_id, workers[0], requester_key)
    context = bytes(dc.encryptionContext(task_id, workers[0]))
    worker_index = int(workers[0].address, 16)  # the context binds Sub_j to the worker's address
    assert context == ecies_lite.context_digest(
        ape.chain.provider.chain_id, dc.address, task_id, worker_index
    )
    assert (
        ecies_lite.decrypt(int.from_bytes(requester_key.secret, "big"), entry.ciphertext, context)
        == entry.url
    )
    outsider = int.from_bytes(coincurve.PrivateKey().secret, "big")
    assert ecies_lite.decrypt(outsider, entry.ciphertext, context) != entry.url
    submission = dc.getSubmissions(task_id)[0]
    assert (submission.worker, submission.mark) == (workers[0].address, PENDING)
    assert rc.stats(workers[0]) == (0, 1, 1)


def test_submission_reverts(
    dc: Any, rc: Any, token: Any, chain: Any, requester: Any, requester_key: Any, workers: list[Any]
) -> None:
    with ape.reverts(dc.UnknownTask):
        dc.submitDataset(9, 1, 1, b"x", sender=workers[0])
    task_id = create(dc, token, chain, requester, requester_key, maxSubmissions=1, minReputation=0)
    good = ecies_lite.encrypt(requester_key.public_key.format(), b"ipfs://x", bytes(32))
    ex, ey = good.ephemeral_x, good.ephemeral_y
    with ape.reverts(dc.RequesterCannotSubmit):
        dc.submitDataset(task_id, ex, ey, good.body, sender=requester)
    with ape.reverts(dc.InvalidEphemeralKey):
        dc.submitDataset(task_id, ex, ey + 1, good.body, sender=workers[0])
    with ape.reverts(dc.InvalidUri):
        dc.submitDataset(task_id, ex, ey, b"", sender=workers[0])
    dc.submitDataset(task_id, ex, ey, good.body, sender=workers[0])
    with ape.reverts(dc.AlreadySubmitted):
        dc.submitDataset(task_id, ex, ey, good.body, sender=workers[0])
    with ape.reverts(dc.TaskFull):
        dc.submitDataset(task_id, ex, ey, good.body, sender=workers[1])
    gated = create(dc, token, chain, requester, requester_key, minReputation=ONE)
    with ape.reverts(dc.ReputationTooLow):
        dc.submitDataset(gated, ex, ey, good.body, sender=workers[1])
    after_deadline(chain, dc, gated)
    with ape.reverts(dc.SubmissionsClosed):
        dc.submitDataset(gated, ex, ey, good.body, sender=workers[1])


# -------------------------------------------------------------------------------- evaluation


def test_evaluation_pays_the_honest_datasets(
    dc: Any, rc: Any, token: Any, chain: Any, requester: Any, requester_key: Any, workers: list[Any]
) -> None:
    reward = THETA + 1
    task_id = create(dc, token, chain, requester, requester_key, reward=reward)
    for worker in workers:
        submit(dc, task_id, worker, requester_key)
    with ape.reverts(dc.EvaluationNotOpen):
        dc.submitEvaluation(task_id, [True, False, True], sender=requester)
    after_deadline(chain, dc, task_id)
    with ape.reverts(dc.NotRequester):
        dc.submitEvaluation(task_id, [True, False, True], sender=workers[0])
    with ape.reverts(dc.LengthMismatch):
        dc.submitEvaluation(task_id, [True, False], sender=requester)
    before = snapshot(token, [*workers, requester])
    tx = dc.submitEvaluation(task_id, [True, False, True], sender=requester)
    assert dc.DatasetsEvaluated(task_id, [True, False, True]) in tx.events
    half = reward // 2
    assert gains(token, [*workers, requester], before) == [half, 0, half, reward - 2 * half]
    assert token.balanceOf(dc.address) == ALPHA
    assert [rc.reputationOf(w) for w in workers] == [ONE, 0, ONE]
    assert [s.mark for s in dc.getSubmissions(task_id)] == [HONEST, DISHONEST, HONEST]
    with ape.reverts(dc.WrongStatus):
        dc.submitEvaluation(task_id, [True, True, True], sender=requester)
    late = create(dc, token, chain, requester, requester_key)
    submit(dc, late, workers[0], requester_key)
    chain.pending_timestamp = dc.getTask(late).deadline + HOUR + 1
    with ape.reverts(dc.EvaluationClosed):
        dc.submitEvaluation(late, [True], sender=requester)


# -------------------------------------------------------------------------------- disputes


def disputed_task(
    dc: Any, token: Any, chain: Any, requester: Any, key: Any, workers: list[Any]
) -> tuple[int, list[Entry]]:
    """Three submissions; the requester marks only the first honest (a false report on the second)."""
    task_id = create(dc, token, chain, requester, key)
    entries = [submit(dc, task_id, worker, key) for worker in workers]
    after_deadline(chain, dc, task_id)
    dc.submitEvaluation(task_id, [True, False, False], sender=requester)
    return task_id, entries


def test_false_report_is_overturned_by_the_oracles(
    dc: Any,
    om: Any,
    rc: Any,
    token: Any,
    chain: Any,
    requester: Any,
    requester_key: Any,
    workers: list[Any],
    oracle_nodes: list[Any],
    deployer: Any,
) -> None:
    """S1: the requester marks an honest dataset dishonest; the worker disputes, the oracle majority says
    "qualified": the worker receives α and +A/P, the requester -1; majority oracles rewarded, minority
    deducted; the other dishonest-marked worker (no dispute) -1."""
    register_oracles(om, token, oracle_nodes, requester)
    task_id, entries = disputed_task(dc, token, chain, requester, requester_key, workers)
    tx = dc.dispute(task_id, 1, entries[1].url, entries[1].secret, sender=workers[1])
    ticket = int(tx.events.filter(dc.DisputeRaised)[0].ticketId)
    assert dc.DisputeRaised(task_id, 1, entries[1].url, ticket) in tx.events
    assert dc.getSubmissions(task_id)[1].mark == DISPUTED
    with ape.reverts(dc.TooEarly):  # a dispute is open
        dc.finalize(task_id, sender=workers[1])
    om.vote(ticket, True, sender=oracle_nodes[0])
    om.vote(ticket, True, sender=oracle_nodes[1])
    with ape.reverts(om.VotingOpen):
        om.resolve(ticket, sender=workers[1])
    om.vote(ticket, False, sender=oracle_nodes[2])
    before_oracles = snapshot(token, oracle_nodes)
    tx = om.resolve(ticket, sender=workers[1])  # every oracle voted: no need to wait
    assert om.TicketResolved(ticket, True, 2, 1) in tx.events
    assert gains(token, oracle_nodes, before_oracles) == [VOTE_REWARD, VOTE_REWARD, 0]
    assert om.getOracle(oracle_nodes[2]).stake == STAKE - DEDUCTION
    assert om.rewardPool() == 100 * ONE - 2 * VOTE_REWARD + DEDUCTION
    assert dc.getSubmissions(task_id)[1].mark == WON
    assert rc.reputationOf(requester) == -ONE
    assert rc.reputationOf(workers[1]) == ONE  # P = 1, A = 1
    with ape.reverts(dc.TooEarly):  # the dispute window is still open
        dc.finalize(task_id, sender=workers[1])
    chain.pending_timestamp += HOUR + 1
    before = snapshot(token, [*workers, requester])
    tx = dc.finalize(task_id, sender=workers[1])
    assert dc.TaskFinalized(task_id, True, 1) in tx.events
    assert gains(token, [*workers, requester], before) == [0, ALPHA, 0, 0]
    assert token.balanceOf(dc.address) == 0
    assert rc.reputationOf(workers[2]) == -ONE  # marked dishonest, did not win
    assert rc.reputationOf(workers[0]) == ONE
    with ape.reverts(dc.WrongStatus):
        dc.finalize(task_id, sender=workers[1])
    with ape.reverts(om.AlreadyResolved):
        om.resolve(ticket, sender=workers[1])
    with ape.reverts(om.VotingClosed):
        om.vote(ticket, True, sender=oracle_nodes[0])


def test_lost_dispute_returns_alpha_after_t_lock(
    dc: Any,
    om: Any,
    rc: Any,
    token: Any,
    chain: Any,
    requester: Any,
    requester_key: Any,
    workers: list[Any],
    oracle_nodes: list[Any],
) -> None:
    """S3: a worker with a bad dataset disputes and loses: no payment, -1; α back to the requester only
    after t_lock blocks."""
    register_oracles(om, token, oracle_nodes, requester)
    task_id, entries = disputed_task(dc, token, chain, requester, requester_key, workers)
    ticket = int(
        dc.dispute(task_id, 2, entries[2].url, entries[2].secret, sender=workers[2]).events[-1].ticketId
    )
    om.vote(ticket, False, sender=oracle_nodes[0])
    chain.pending_timestamp += HOUR + 1  # vote window over with a single vote
    om.resolve(ticket, sender=requester)
    assert dc.getSubmissions(task_id)[2].mark == LOST
    evaluated_block = dc.getTask(task_id).evaluatedBlock
    if chain.blocks.head.number + 1 < evaluated_block + LOCK:
        with ape.reverts(dc.TooEarly):
            dc.finalize(task_id, sender=requester)
    chain.mine(LOCK)
    before = token.balanceOf(requester)
    dc.finalize(task_id, sender=requester)
    assert token.balanceOf(requester) == before + ALPHA
    assert [rc.reputationOf(w) for w in workers] == [ONE, -ONE, -ONE]
    assert rc.reputationOf(requester) == 0


def test_dispute_must_align_with_sub_j(
    dc: Any, om: Any, token: Any, chain: Any, requester: Any, requester_key: Any, workers: list[Any]
) -> None:
    task_id = create(dc, token, chain, requester, requester_key)
    first = submit(dc, task_id, workers[0], requester_key)
    # S5: the second worker copies the first worker's ciphertext into its own Sub_j.
    copy = first.ciphertext
    dc.submitDataset(task_id, copy.ephemeral_x, copy.ephemeral_y, copy.body, sender=workers[1])
    with ape.reverts(dc.WrongStatus):  # not evaluated yet
        dc.dispute(task_id, 0, first.url, first.secret, sender=workers[0])
    after_deadline(chain, dc, task_id)
    dc.submitEvaluation(task_id, [False, False], sender=requester)
    with ape.reverts(dc.DisputeMismatch):  # the copy is bound to the first worker's context
        dc.dispute(task_id, 1, first.url, first.secret, sender=workers[1])
    with ape.reverts(dc.DisputeMismatch):
        dc.dispute(task_id, 0, first.url + b"x", first.secret, sender=workers[0])
    with ape.reverts(dc.DisputeMismatch):
        dc.dispute(task_id, 0, first.url, first.secret + 1, sender=workers[0])
    with ape.reverts(dc.DisputeMismatch):
        dc.dispute(task_id, 0, first.url, 0, sender=workers[0])
    with ape.reverts(dc.NotWorker):
        dc.dispute(task_id, 0, first.url, first.secret, sender=workers[1])
    with ape.reverts(dc.NotDisputable):
        dc.dispute(task_id, 5, first.url, first.secret, sender=workers[0])
    with ape.reverts(dc.InvalidUri):
        dc.dispute(task_id, 0, b"", first.secret, sender=workers[0])
    dc.dispute(task_id, 0, first.url, first.secret, sender=workers[0])
    with ape.reverts(dc.NotDisputable):  # already disputed
        dc.dispute(task_id, 0, first.url, first.secret, sender=workers[0])
    chain.pending_timestamp += HOUR + 1
    with ape.reverts(dc.DisputeWindowClosed):
        dc.dispute(task_id, 1, first.url, first.secret, sender=workers[1])
    with ape.reverts(dc.NotOracleManager):
        dc.onDisputeResolved(1, True, sender=workers[0])


# -------------------------------------------------------------------------------- finalisation


def test_no_submissions_refunds_everything(
    dc: Any, token: Any, chain: Any, requester: Any, requester_key: Any
) -> None:
    task_id = create(dc, token, chain, requester, requester_key)
    with ape.reverts(dc.TooEarly):
        dc.finalize(task_id, sender=requester)
    after_deadline(chain, dc, task_id)
    before = token.balanceOf(requester)
    dc.finalize(task_id, sender=requester)
    assert token.balanceOf(requester) == before + THETA + ALPHA
    assert dc.getTask(task_id).status == FINALIZED
    with ape.reverts(dc.UnknownTask):
        dc.finalize(task_id + 1, sender=requester)


def test_no_evaluation_treats_every_dataset_as_honest(
    dc: Any, rc: Any, token: Any, chain: Any, requester: Any, requester_key: Any, workers: list[Any]
) -> None:
    task_id = create(dc, token, chain, requester, requester_key)
    for worker in workers:
        submit(dc, task_id, worker, requester_key)
    after_deadline(chain, dc, task_id)
    with ape.reverts(dc.TooEarly):  # the requester still has T_eval
        dc.finalize(task_id, sender=workers[0])
    chain.pending_timestamp += HOUR + 1
    before = snapshot(token, [*workers, requester])
    tx = dc.finalize(task_id, sender=workers[0])
    assert dc.TaskFinalized(task_id, False, 0) in tx.events
    share = THETA // 3
    assert gains(token, [*workers, requester], before) == [share, share, share, THETA - 3 * share + ALPHA]
    assert token.balanceOf(dc.address) == 0
    assert [s.mark for s in dc.getSubmissions(task_id)] == [HONEST] * 3


def test_nobody_honest_and_no_dispute_returns_theta_and_alpha(
    dc: Any, rc: Any, token: Any, chain: Any, requester: Any, requester_key: Any, workers: list[Any]
) -> None:
    task_id = create(dc, token, chain, requester, requester_key)
    submit(dc, task_id, workers[0], requester_key)
    after_deadline(chain, dc, task_id)
    dc.submitEvaluation(task_id, [False], sender=requester)
    chain.pending_timestamp += HOUR + 1
    chain.mine(LOCK)
    before = token.balanceOf(requester)
    dc.finalize(task_id, sender=requester)
    assert token.balanceOf(requester) == before + THETA + ALPHA
    assert rc.reputationOf(workers[0]) == -ONE


# -------------------------------------------------------------------------------- oracle manager


def test_oracle_registration(om: Any, token: Any, oracle_nodes: list[Any], accounts: Any) -> None:
    node = oracle_nodes[0]
    before = token.balanceOf(node)
    token.approve(om.address, STAKE, sender=node)
    tx = om.register(sender=node)
    assert tx.events.filter(om.OracleRegistered)[0] == om.OracleRegistered(node, STAKE)
    assert token.balanceOf(node) == before - STAKE
    assert om.oracleCount() == 1
    with ape.reverts(om.AlreadyRegistered):
        om.register(sender=node)
    tx = om.deregister(sender=node)
    assert om.OracleDeregistered(node, STAKE) in tx.events
    assert token.balanceOf(node) == before
    with ape.reverts(om.NotRegistered):
        om.deregister(sender=node)
    with ape.reverts(om.ZeroAmount):
        om.fundRewards(0, sender=node)


def test_oracle_set_is_bounded(om: Any, token: Any, deployer: Any, pool_holders: Any) -> None:
    test_accounts = ape.accounts.test_accounts
    for _ in range(15):
        node = test_accounts.generate_test_account()
        deployer.transfer(node, 10**17)
        token.transfer(node, STAKE, sender=pool_holders[3])
        token.approve(om.address, STAKE, sender=node)
        om.register(sender=node)
    late = pool_holders[0]
    token.approve(om.address, STAKE, sender=late)
    with ape.reverts(om.TooManyOracles):
        om.register(sender=late)


def test_oracle_votes_and_ties(
    dc: Any,
    om: Any,
    token: Any,
    chain: Any,
    requester: Any,
    requester_key: Any,
    workers: list[Any],
    oracle_nodes: list[Any],
    accounts: Any,
) -> None:
    register_oracles(om, token, oracle_nodes[:2], requester)
    task_id, entries = disputed_task(dc, token, chain, requester, requester_key, workers)
    ticket = int(
        dc.dispute(task_id, 1, entries[1].url, entries[1].secret, sender=workers[1]).events[-1].ticketId
    )
    with ape.reverts(om.UnknownTicket):
        om.vote(ticket + 1, True, sender=oracle_nodes[0])
    with ape.reverts(om.UnknownTicket):
        om.resolve(ticket + 1, sender=oracle_nodes[0])
    with ape.reverts(om.NotRegistered):
        om.vote(ticket, True, sender=accounts[9])
    om.vote(ticket, True, sender=oracle_nodes[0])
    with ape.reverts(om.AlreadyVoted):
        om.vote(ticket, True, sender=oracle_nodes[0])
    with ape.reverts(om.OpenVotes):
        om.deregister(sender=oracle_nodes[0])
    om.vote(ticket, False, sender=oracle_nodes[1])
    before = snapshot(token, oracle_nodes[:2])
    tx = om.resolve(ticket, sender=requester)
    assert om.TicketResolved(ticket, False, 1, 1) in tx.events  # a tie is not qualified
    assert gains(token, oracle_nodes[:2], before) == [0, 0]  # and nobody is rewarded or deducted
    assert om.getTicket(ticket).resolved
    assert om.ticketCount() == 1
    om.deregister(sender=oracle_nodes[0])
    with ape.reverts(om.AccessControlUnauthorizedAccount):
        om.open(sender=requester)


def test_a_ticket_without_oracles_waits_for_the_window(
    dc: Any, om: Any, token: Any, chain: Any, requester: Any, requester_key: Any, workers: list[Any]
) -> None:
    """With no registered oracle (so no vote), the ticket cannot be closed at once as "not qualified"."""
    task_id, entries = disputed_task(dc, token, chain, requester, requester_key, workers)
    ticket = int(
        dc.dispute(task_id, 1, entries[1].url, entries[1].secret, sender=workers[1]).events[-1].ticketId
    )
    with ape.reverts(om.VotingOpen):
        om.resolve(ticket, sender=requester)
    chain.pending_timestamp += HOUR + 1
    tx = om.resolve(ticket, sender=requester)
    assert om.TicketResolved(ticket, False, 0, 0) in tx.events
    assert dc.getSubmissions(task_id)[1].mark == LOST


def test_oracle_constructor_rejects_bad_config(project: Any, deployer: Any, token: Any) -> None:
    with ape.reverts(project.OracleManager.ZeroAddress):
        deployer.deploy(project.OracleManager, ZERO, token, STAKE, VOTE_REWARD, DEDUCTION, HOUR)
    with ape.reverts(project.OracleManager.ZeroAddress):
        deployer.deploy(project.OracleManager, deployer, ZERO, STAKE, VOTE_REWARD, DEDUCTION, HOUR)
    for stake, deduction, window in (
        (0, 0, HOUR),
        (STAKE, STAKE + 1, HOUR),
        (STAKE, DEDUCTION, 0),
        (2**128, 0, HOUR),
    ):
        with ape.reverts(project.OracleManager.InvalidConfig):
            deployer.deploy(project.OracleManager, deployer, token, stake, VOTE_REWARD, deduction, window)


def test_oracle_role_administration(om: Any, deployer: Any, accounts: Any) -> None:
    role = om.OPENER_ROLE()
    om.grantRole(role, accounts[9], sender=deployer)
    om.revokeRole(role, accounts[9], sender=deployer)
    om.grantRole(role, accounts[9], sender=deployer)
    om.renounceRole(role, accounts[9], sender=accounts[9])
    assert not om.hasRole(role, accounts[9])


# -------------------------------------------------------------------------------- gas


def test_view_gas(dc: Any, om: Any, measure_view: Any, accounts: Any) -> None:
    for contract, function, args in [
        (dc, "getTask", (1,)),
        (dc, "getSubmissions", (1,)),
        (dc, "taskCount", ()),
        (dc, "encryptionContext", (1, accounts[6])),
        (dc, "token", ()),
        (dc, "reputation", ()),
        (dc, "oracles", ()),
        (dc, "MAX_SUBMISSIONS", ()),
        (dc, "MAX_URI_LENGTH", ()),
        (om, "getOracle", (accounts[6],)),
        (om, "getTicket", (1,)),
        (om, "oracleCount", ()),
        (om, "ticketCount", ()),
        (om, "rewardPool", ()),
        (om, "token", ()),
        (om, "stake", ()),
        (om, "voteReward", ()),
        (om, "deduction", ()),
        (om, "voteWindow", ()),
        (om, "OPENER_ROLE", ()),
        (om, "MAX_ORACLES", ()),
        (om, "DEFAULT_ADMIN_ROLE", ()),
        (om, "hasRole", (bytes(32), accounts[6])),
        (om, "getRoleAdmin", (bytes(32),)),
        (om, "supportsInterface", (b"\x01\xff\xc9\xa7",)),
    ]:
        assert measure_view(contract, function, *args) > 21_000


def test_callback_and_open_gas(
    dc: Any,
    om: Any,
    token: Any,
    chain: Any,
    requester: Any,
    requester_key: Any,
    workers: list[Any],
    deployer: Any,
) -> None:
    """`onDisputeResolved` and `open` only run inside other contracts' transactions; measured here as
    transactions of their own (OracleManager impersonated on the devnet, an EOA granted OPENER_ROLE)."""
    task_id, entries = disputed_task(dc, token, chain, requester, requester_key, workers)
    ticket = int(
        dc.dispute(task_id, 1, entries[1].url, entries[1].secret, sender=workers[1]).events[-1].ticketId
    )
    chain.set_balance(om.address, 10**18)
    manager = ape.accounts[om.address]
    tx = dc.onDisputeResolved(ticket, True, sender=manager)
    assert dc.DisputeResolved(task_id, 1, True) in tx.events
    with ape.reverts(dc.UnknownTicket):  # a ticket is answered once
        dc.onDisputeResolved(ticket, True, sender=manager)
    om.grantRole(om.OPENER_ROLE(), deployer, sender=deployer)
    tx = om.open(sender=deployer)
    assert tx.events == [om.TicketOpened(ticket + 1, deployer)]

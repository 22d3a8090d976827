"""MLC, the Machine Learning Contract of MetaAICM (seed 001, Algorithm 4.1): escrowed reward, R_min gating,
model submissions, D_val publication, committee scores, and the payout and reputation rules of spec §2.2 as
exact balances (S1, S3). The committee is deploy_aicm's CommitteeManager, its members seated by the admin
(authorised institutions, then trusted seed nodes); elections are tested in test_committee_manager.py."""

from __future__ import annotations

import random
from typing import Any

import ape
import pytest
from eth_hash.auto import keccak

from offchain.crowdsourcing import rules
from offchain.deploy import deploy_aicm

ONE = 10**18
REWARD = 900 * ONE
HOUR = 3_600
TAU = 850_000  # the thesis's 85 % accuracy example
SCALE = 1_000_000
OPEN, EVALUATING, FINALIZED, NO_VALIDATION, REFUNDED = 1, 2, 3, 4, 5
ZERO = "0x0000000000000000000000000000000000000000"
VAL_URI = "ipfs://bafyvalidationdata"


@pytest.fixture(scope="module")
def members(accounts: Any) -> list[Any]:
    return [accounts[1], accounts[2], accounts[3]]


def seat(manager: Any, admin: Any, members: list[Any]) -> None:
    """Seat ``members`` on a CommitteeManager: the authorised seats first, the rest as trusted seed nodes
    (during the bootstrap rounds they form the dynamic partition)."""
    authorised = int(manager.authorisedSeats())
    for member in members[:authorised]:
        manager.appointAuthorised(member, sender=admin)
    if members[authorised:]:
        manager.setSeedNodes([m.address for m in members[authorised:]], sender=admin)


@pytest.fixture(scope="module")
def aicm(project: Any, deployer: Any, platform: Any, members: list[Any]) -> Any:
    deployment = deploy_aicm(project, deployer, platform)
    seat(deployment.contracts["CommitteeManager"], deployer, members)
    return deployment


@pytest.fixture(scope="module")
def mlc(aicm: Any) -> Any:
    return aicm.contracts["MLC"]


@pytest.fixture(scope="module")
def rc(aicm: Any) -> Any:
    return aicm.contracts["RC"]


@pytest.fixture(scope="module")
def committee(aicm: Any) -> Any:
    return aicm.contracts["CommitteeManager"]


@pytest.fixture(scope="module")
def requester(accounts: Any, pool_holders: Any) -> Any:
    return pool_holders[3]  # holds the incentives pool


@pytest.fixture(scope="module")
def workers(accounts: Any) -> list[Any]:
    return [accounts[6], accounts[7], accounts[8]]


def params(chain: Any, **overrides: Any) -> tuple[Any, ...]:
    values: dict[str, Any] = {
        "reward": REWARD,
        "descURI": "ipfs://bafytaskdescription",
        "deadline": chain.pending_timestamp + HOUR,
        "minReputation": 0,
        "threshold": TAU,
        "publishWindow": HOUR,
        "evaluationWindow": HOUR,
        "maxSubmissions": 8,
        "validationCommit": bytes(32),
    }
    values.update(overrides)
    return tuple(values.values())


def create(mlc: Any, token: Any, chain: Any, requester: Any, **overrides: Any) -> int:
    args = params(chain, **overrides)
    token.approve(mlc.address, args[0], sender=requester)
    tx = mlc.createTask(args, sender=requester)
    return int(tx.events.filter(mlc.ModelTaskCreated)[0].taskId)


def submit_all(mlc: Any, task_id: int, workers: list[Any]) -> None:
    for i, worker in enumerate(workers):
        mlc.submitModel(task_id, f"ipfs://bafymodel{i}", sender=worker)


def past_deadline(chain: Any, mlc: Any, task_id: int) -> None:
    chain.pending_timestamp = mlc.getTask(task_id).deadline + 1


def evaluating(mlc: Any, token: Any, chain: Any, requester: Any, workers: list[Any], **overrides: Any) -> int:
    task_id = create(mlc, token, chain, requester, **overrides)
    submit_all(mlc, task_id, workers)
    past_deadline(chain, mlc, task_id)
    mlc.publishValidationData(task_id, VAL_URI, sender=requester)
    return task_id


def test_mlc_uses_the_committee_manager(mlc: Any, committee: Any, members: list[Any]) -> None:
    assert mlc.committee() == committee.address
    assert committee.memberCount() == 3
    assert list(committee.members()) == [m.address for m in members]


# -------------------------------------------------------------------------------- creation (S1)


def test_create_escrows_theta(mlc: Any, rc: Any, token: Any, chain: Any, requester: Any) -> None:
    before = token.balanceOf(requester)
    args = params(chain)
    token.approve(mlc.address, REWARD, sender=requester)
    tx = mlc.createTask(args, sender=requester)
    assert tx.events.filter(mlc.ModelTaskCreated)[0] == mlc.ModelTaskCreated(
        1, requester, REWARD, args[1], args[2], 0, TAU, bytes(32)
    )
    assert token.balanceOf(requester) == before - REWARD
    assert token.balanceOf(mlc.address) == REWARD
    task = mlc.getTask(1)
    assert (task.requester, task.reward, task.status, task.threshold) == (
        requester.address,
        REWARD,
        OPEN,
        TAU,
    )
    assert rc.stats(requester) == (0, 1, 0)  # creating a task is one participation
    assert mlc.taskCount() == 1


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"reward": 0}, "InvalidReward"),
        ({"reward": 2**96}, "InvalidReward"),
        ({"deadline": 1}, "InvalidDeadline"),
        ({"publishWindow": 0}, "InvalidWindow"),
        ({"evaluationWindow": 0}, "InvalidWindow"),
        ({"threshold": SCALE + 1}, "InvalidThreshold"),
        ({"maxSubmissions": 0}, "InvalidMaxSubmissions"),
        ({"maxSubmissions": 33}, "InvalidMaxSubmissions"),
        ({"descURI": ""}, "InvalidUri"),
        ({"descURI": "x" * 257}, "InvalidUri"),
        ({"minReputation": 2**127}, "InvalidMinReputation"),
        ({"minReputation": -(2**127) - 1}, "InvalidMinReputation"),
    ],
)
def test_create_reverts(
    mlc: Any, token: Any, chain: Any, requester: Any, overrides: dict[str, Any], error: str
) -> None:
    token.approve(mlc.address, 2**96, sender=requester)
    with ape.reverts(getattr(mlc, error)):
        mlc.createTask(params(chain, **overrides), sender=requester)


def test_create_needs_the_allowance(mlc: Any, token: Any, chain: Any, requester: Any) -> None:
    with ape.reverts(token.ERC20InsufficientAllowance):
        mlc.createTask(params(chain), sender=requester)


def test_constructor_rejects_zero_addresses(
    project: Any, deployer: Any, token: Any, rc: Any, committee: Any
) -> None:
    for args in ((ZERO, rc, committee), (token, ZERO, committee), (token, rc, ZERO)):
        with ape.reverts(project.MLC.ZeroAddress):
            deployer.deploy(project.MLC, *args)


# -------------------------------------------------------------------------------- submissions


def test_submission_records_participation(
    mlc: Any, rc: Any, token: Any, chain: Any, requester: Any, workers: list[Any]
) -> None:
    task_id = create(mlc, token, chain, requester)
    tx = mlc.submitModel(task_id, "ipfs://bafymodel0", sender=workers[0])
    assert tx.events.filter(mlc.ModelSubmitted)[0] == mlc.ModelSubmitted(
        task_id, 0, workers[0], "ipfs://bafymodel0"
    )
    assert rc.stats(workers[0]) == (0, 1, 1)
    assert rc.haveMet(workers[0], requester)
    submission = mlc.getSubmissions(task_id)[0]
    assert (submission.worker, submission.modelURI) == (workers[0].address, "ipfs://bafymodel0")


def test_submission_reverts(
    mlc: Any, rc: Any, token: Any, chain: Any, requester: Any, workers: list[Any], deployer: Any
) -> None:
    with ape.reverts(mlc.UnknownTask):
        mlc.submitModel(77, "ipfs://m", sender=workers[0])
    task_id = create(mlc, token, chain, requester, maxSubmissions=2)
    with ape.reverts(mlc.RequesterCannotSubmit):
        mlc.submitModel(task_id, "ipfs://m", sender=requester)
    with ape.reverts(mlc.InvalidUri):
        mlc.submitModel(task_id, "", sender=workers[0])
    mlc.submitModel(task_id, "ipfs://m0", sender=workers[0])
    with ape.reverts(mlc.AlreadySubmitted):
        mlc.submitModel(task_id, "ipfs://m0", sender=workers[0])
    mlc.submitModel(task_id, "ipfs://m1", sender=workers[1])
    with ape.reverts(mlc.TaskFull):
        mlc.submitModel(task_id, "ipfs://m2", sender=workers[2])
    late = create(mlc, token, chain, requester)
    past_deadline(chain, mlc, late)
    with ape.reverts(mlc.SubmissionsClosed):
        mlc.submitModel(late, "ipfs://m", sender=workers[0])


def test_r_min_refuses_low_reputation(
    mlc: Any, rc: Any, token: Any, chain: Any, requester: Any, workers: list[Any], deployer: Any
) -> None:
    """Algorithm 4.1 line 4 and S6: a new identity (reputation 0) is refused by a task with R_min > 0."""
    task_id = create(mlc, token, chain, requester, minReputation=ONE)
    with ape.reverts(mlc.ReputationTooLow):
        mlc.submitModel(task_id, "ipfs://m", sender=workers[0])
    rc.grantRole(rc.WRITER_ROLE(), deployer, sender=deployer)
    rc.recordParticipation(workers[0], requester, sender=deployer)
    rc.reward(workers[0], sender=deployer)  # A/P = 1/1
    mlc.submitModel(task_id, "ipfs://m", sender=workers[0])


# -------------------------------------------------------------------------------- D_val and scores


def test_publication_reverts(
    mlc: Any,
    token: Any,
    chain: Any,
    requester: Any,
    workers: list[Any],
    committee: Any,
    deployer: Any,
    members: list[Any],
) -> None:
    commit = keccak(VAL_URI.encode())
    task_id = create(mlc, token, chain, requester, validationCommit=commit)
    with ape.reverts(mlc.NotRequester):
        mlc.publishValidationData(task_id, VAL_URI, sender=workers[0])
    with ape.reverts(mlc.PublicationNotOpen):
        mlc.publishValidationData(task_id, VAL_URI, sender=requester)
    past_deadline(chain, mlc, task_id)
    with ape.reverts(mlc.NoSubmissions):
        mlc.publishValidationData(task_id, VAL_URI, sender=requester)

    task_id = create(mlc, token, chain, requester, validationCommit=commit)
    submit_all(mlc, task_id, workers)
    past_deadline(chain, mlc, task_id)
    with ape.reverts(mlc.CommitmentMismatch):
        mlc.publishValidationData(task_id, "ipfs://bafyotherdata", sender=requester)
    with ape.reverts(mlc.InvalidUri):
        mlc.publishValidationData(task_id, "", sender=requester)
    for member in members:
        committee.removeAuthorised(member, sender=deployer)
    with ape.reverts(mlc.EmptyCommittee):
        mlc.publishValidationData(task_id, VAL_URI, sender=requester)
    committee.appointAuthorised(members[0], sender=deployer)
    tx = mlc.publishValidationData(task_id, VAL_URI, sender=requester)
    assert tx.events == [mlc.ValidationDataPublished(task_id, VAL_URI, 1, 1)]
    with ape.reverts(mlc.WrongStatus):
        mlc.publishValidationData(task_id, VAL_URI, sender=requester)

    task_id = create(mlc, token, chain, requester)
    submit_all(mlc, task_id, workers)
    chain.pending_timestamp = mlc.getTask(task_id).deadline + HOUR + 1
    with ape.reverts(mlc.PublicationClosed):
        mlc.publishValidationData(task_id, VAL_URI, sender=requester)


def test_score_reverts(
    mlc: Any,
    token: Any,
    chain: Any,
    requester: Any,
    workers: list[Any],
    members: list[Any],
    committee: Any,
    deployer: Any,
    accounts: Any,
) -> None:
    task_id = create(mlc, token, chain, requester)
    submit_all(mlc, task_id, workers)
    good = [900_000, 800_000, 950_000]
    with ape.reverts(mlc.WrongStatus):
        mlc.submitScores(task_id, good, sender=members[0])
    past_deadline(chain, mlc, task_id)
    mlc.publishValidationData(task_id, VAL_URI, sender=requester)
    with ape.reverts(mlc.NotCommitteeMember):
        mlc.submitScores(task_id, good, sender=workers[0])
    with ape.reverts(mlc.ScoreCountMismatch):
        mlc.submitScores(task_id, good[:2], sender=members[0])
    with ape.reverts(mlc.ScoreOutOfRange):
        mlc.submitScores(task_id, [SCALE + 1, 0, 0], sender=members[0])
    tx = mlc.submitScores(task_id, good, sender=members[0])
    assert tx.events == [mlc.ScoresSubmitted(task_id, members[0], good)]
    assert list(mlc.scoresOf(task_id, members[0])) == good
    with ape.reverts(mlc.AlreadyReported):
        mlc.submitScores(task_id, good, sender=members[0])
    mlc.submitScores(task_id, good, sender=members[1])
    mlc.submitScores(task_id, good, sender=members[2])
    committee.setSeedNodes([accounts[9].address], sender=deployer)  # joined after the snapshot of three
    assert committee.isMember(accounts[9])
    with ape.reverts(mlc.ReportsComplete):
        mlc.submitScores(task_id, good, sender=accounts[9])

    late = create(mlc, token, chain, requester)
    submit_all(mlc, late, workers)
    past_deadline(chain, mlc, late)
    mlc.publishValidationData(late, VAL_URI, sender=requester)
    chain.pending_timestamp += HOUR + 1
    with ape.reverts(mlc.EvaluationClosed):
        mlc.submitScores(late, good, sender=members[0])


# -------------------------------------------------------------------------------- payouts (S1, S3)


def balances(token: Any, accounts: list[Any]) -> list[int]:
    return [int(token.balanceOf(a)) for a in accounts]


def test_best_model_gets_half_and_qualified_others_share_the_rest(
    mlc: Any, rc: Any, token: Any, chain: Any, requester: Any, workers: list[Any], members: list[Any]
) -> None:
    extra = [ape.accounts.test_accounts[9]]
    everyone = [*workers, *extra]
    reward = REWARD + 1  # odd: one base unit of dust
    task_id = evaluating(mlc, token, chain, requester, everyone, reward=reward)
    # Medians: w0 0.90, w1 0.70 (below τ), w2 0.95 (best), w3 0.86.
    mlc.submitScores(task_id, [900_000, 700_000, 950_000, 860_000], sender=members[0])
    mlc.submitScores(task_id, [910_000, 690_000, 940_000, 870_000], sender=members[1])
    mlc.submitScores(task_id, [100_000, 999_000, 990_000, 860_000], sender=members[2])  # an outlier member
    assert list(mlc.medianScores(task_id)) == [900_000, 700_000, 950_000, 860_000]
    before = balances(token, [*everyone, requester])
    tx = mlc.finalize(task_id, sender=workers[1])  # all reported: no need to wait
    half = reward // 2
    rest = reward - half
    share = rest // 2
    expected_gain = [share, 0, half, share, rest - 2 * share]
    assert [
        after - b for after, b in zip(balances(token, [*everyone, requester]), before, strict=True)
    ] == expected_gain
    assert token.balanceOf(mlc.address) == 0
    assert tx.events.filter(mlc.BestModelSelected)[0] == mlc.BestModelSelected(
        task_id, 2, workers[2], "ipfs://bafymodel2", 950_000
    )
    task = mlc.getTask(task_id)
    assert (task.status, task.bestIndex) == (FINALIZED, 2)
    # Reputation: one participation with one requester each -> +1 above τ, -1 below.
    assert [rc.reputationOf(w) for w in everyone] == [ONE, -ONE, ONE, ONE]
    with ape.reverts(mlc.WrongStatus):
        mlc.finalize(task_id, sender=workers[1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_settlement_matches_the_python_rules(
    mlc: Any,
    rc: Any,
    token: Any,
    chain: Any,
    requester: Any,
    workers: list[Any],
    members: list[Any],
    seed: int,
) -> None:
    """Random instances: balances, medians and reputation equal `offchain.crowdsourcing.rules`."""
    rng = random.Random(seed)
    everyone = [*workers, ape.accounts.test_accounts[9]]
    reward = rng.randrange(10**18, 10**21)
    task_id = evaluating(mlc, token, chain, requester, everyone, reward=reward)
    reporters = members[: rng.choice([2, 3])]
    reports = [
        [
            rng.randrange(0, SCALE + 1) if rng.random() < 0.4 else rng.randrange(800_000, 960_000)
            for _ in everyone
        ]
        for _ in reporters
    ]
    for member, report in zip(reporters, reports, strict=True):
        mlc.submitScores(task_id, report, sender=member)
    if len(reporters) < len(members):
        chain.pending_timestamp += HOUR + 1
    expected = rules.settle_scored(reward, reports, TAU)
    assert tuple(mlc.medianScores(task_id)) == expected.medians
    before = balances(token, [*everyone, requester])
    mlc.finalize(task_id, sender=requester)
    gained = [a - b for a, b in zip(balances(token, [*everyone, requester]), before, strict=True)]
    assert gained == [*expected.payouts, expected.requester_refund]
    assert mlc.getTask(task_id).bestIndex == expected.best
    assert [rc.reputationOf(w) for w in everyone] == [ONE if up else -ONE for up in expected.rewarded]


def test_without_qualified_others_the_rest_returns_to_the_requester(
    mlc: Any, rc: Any, token: Any, chain: Any, requester: Any, workers: list[Any], members: list[Any]
) -> None:
    """The best model is paid even below τ (thesis rule), but its reputation still drops."""
    task_id = evaluating(mlc, token, chain, requester, workers)
    scores = [500_000, 600_000, 600_000]  # tie between w1 and w2: the earliest wins
    for member in members:
        mlc.submitScores(task_id, scores, sender=member)
    before = balances(token, [*workers, requester])
    mlc.finalize(task_id, sender=requester)
    gains = [a - b for a, b in zip(balances(token, [*workers, requester]), before, strict=True)]
    assert gains == [0, REWARD // 2, 0, REWARD // 2]
    assert [rc.reputationOf(w) for w in workers] == [-ONE, -ONE, -ONE]
    assert mlc.getTask(task_id).bestIndex == 1


def test_quorum_after_the_window_uses_the_reports_received(
    mlc: Any, token: Any, chain: Any, requester: Any, workers: list[Any], members: list[Any]
) -> None:
    task_id = evaluating(mlc, token, chain, requester, workers)
    mlc.submitScores(task_id, [900_000, 860_000, 100_000], sender=members[0])
    mlc.submitScores(task_id, [950_000, 870_000, 200_000], sender=members[1])
    with ape.reverts(mlc.TooEarly):
        mlc.finalize(task_id, sender=requester)
    chain.pending_timestamp += HOUR + 1
    assert list(mlc.medianScores(task_id)) == [925_000, 865_000, 150_000]  # even count: mean of the two
    before = balances(token, [*workers, requester])
    mlc.finalize(task_id, sender=requester)
    gains = [a - b for a, b in zip(balances(token, [*workers, requester]), before, strict=True)]
    assert gains == [REWARD // 2, REWARD // 2, 0, 0]


def test_committee_without_quorum_falls_back_to_the_equal_split(
    mlc: Any, rc: Any, token: Any, chain: Any, requester: Any, workers: list[Any], members: list[Any]
) -> None:
    task_id = evaluating(mlc, token, chain, requester, workers)
    mlc.submitScores(task_id, [0, 0, 0], sender=members[0])  # one report of three: no quorum
    chain.pending_timestamp += HOUR + 1
    before = balances(token, workers)
    tx = mlc.finalize(task_id, sender=workers[0])
    assert mlc.TaskFinalizedNoValidation(task_id, True) in tx.events
    assert [a - b for a, b in zip(balances(token, workers), before, strict=True)] == [REWARD // 3] * 3
    assert [rc.reputationOf(w) for w in workers] == [0, 0, 0]
    assert mlc.getTask(task_id).status == NO_VALIDATION


def test_requester_withholding_d_val_pays_everyone_equally(
    mlc: Any, rc: Any, token: Any, chain: Any, requester: Any, workers: list[Any]
) -> None:
    """S1: the requester cannot keep Θ by never publishing D_val; the split ignores performance."""
    reward = 1_000 * ONE + 2  # not a multiple of 3: the remainder goes back to the requester
    task_id = create(mlc, token, chain, requester, reward=reward)
    submit_all(mlc, task_id, workers)
    past_deadline(chain, mlc, task_id)
    with ape.reverts(mlc.TooEarly):  # the requester still has T_pub
        mlc.finalize(task_id, sender=workers[0])
    chain.pending_timestamp += HOUR + 1
    before = balances(token, [*workers, requester])
    tx = mlc.finalize(task_id, sender=workers[0])
    assert mlc.TaskFinalizedNoValidation(task_id, False) in tx.events
    share = reward // 3
    gains = [a - b for a, b in zip(balances(token, [*workers, requester]), before, strict=True)]
    assert gains == [share, share, share, reward - 3 * share]
    assert token.balanceOf(mlc.address) == 0
    assert [rc.reputationOf(w) for w in workers] == [0, 0, 0]


def test_task_without_submissions_is_refunded(mlc: Any, token: Any, chain: Any, requester: Any) -> None:
    task_id = create(mlc, token, chain, requester)
    with ape.reverts(mlc.TooEarly):
        mlc.finalize(task_id, sender=requester)
    past_deadline(chain, mlc, task_id)
    before = token.balanceOf(requester)
    tx = mlc.finalize(task_id, sender=requester)
    assert tx.events.filter(mlc.TaskRefunded)[0] == mlc.TaskRefunded(task_id, REWARD)
    assert token.balanceOf(requester) == before + REWARD
    assert mlc.getTask(task_id).status == REFUNDED
    with ape.reverts(mlc.WrongStatus):
        mlc.finalize(task_id, sender=requester)
    with ape.reverts(mlc.UnknownTask):
        mlc.finalize(task_id + 1, sender=requester)


# -------------------------------------------------------------------------------- gas


def test_gas_rows(
    mlc: Any,
    token: Any,
    chain: Any,
    requester: Any,
    workers: list[Any],
    members: list[Any],
    measure_view: Any,
    gas_log: Any,
) -> None:
    task_id = evaluating(mlc, token, chain, requester, workers)
    scores = [900_000, 860_000, 700_000]
    for member in members:
        mlc.submitScores(task_id, scores, sender=member)
    tx = mlc.finalize(task_id, sender=requester)
    gas_log.add("MLC", "finalize_3_models_3_reports", int(tx.gas_used), kind="tx")
    for function, args in [
        ("getTask", (task_id,)),
        ("getSubmissions", (task_id,)),
        ("scoresOf", (task_id, members[0])),
        ("medianScores", (task_id,)),
        ("taskCount", ()),
        ("token", ()),
        ("reputation", ()),
        ("committee", ()),
        ("MAX_SUBMISSIONS", ()),
        ("MAX_REPORTS", ()),
        ("SCORE_SCALE", ()),
        ("MAX_URI_LENGTH", ()),
    ]:
        assert measure_view(mlc, function, *args) > 21_000


def test_finalize_gas_at_capacity(
    project: Any, deployer: Any, platform: Any, token: Any, chain: Any, pool_holders: Any, gas_log: Any
) -> None:
    """The worst case the loops allow with a committee of 9: 32 submissions, 9 reports each, all above τ."""
    test_accounts = ape.accounts.test_accounts
    committee = [test_accounts.generate_test_account() for _ in range(9)]
    workers = [test_accounts.generate_test_account() for _ in range(32)]
    for account in (*committee, *workers):
        deployer.transfer(account, 10**17)
    aicm = deploy_aicm(project, deployer, platform)
    seat(aicm.contracts["CommitteeManager"], deployer, committee)  # 3 authorised + 6 seed nodes
    mlc = aicm.contracts["MLC"]
    requester = pool_holders[3]
    task_id = create(mlc, token, chain, requester, maxSubmissions=32)
    for i, worker in enumerate(workers):
        mlc.submitModel(task_id, f"ipfs://bafymodel{i}", sender=worker)
    past_deadline(chain, mlc, task_id)
    mlc.publishValidationData(task_id, VAL_URI, sender=requester)
    for r, member in enumerate(committee):
        mlc.submitScores(task_id, [860_000 + 1_000 * i + r for i in range(32)], sender=member)
    tx = mlc.finalize(task_id, sender=requester)
    gas_log.add("MLC", "finalize_32_models_9_reports", int(tx.gas_used), kind="tx")
    assert tx.gas_used < 5_000_000
    assert token.balanceOf(mlc.address) == 0
    assert mlc.getTask(task_id).bestIndex == 31

"""MExpmMarket (an extension, spec 003 §4.3): escrow in MTC, Aux commit-reveal, Algorithm 2 on chain,
the dispute that closes the malicious-IV gap, timeouts; every revert path and every event."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

import ape
import pytest

from offchain.chain.roles import ActorRole
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import from_private_key
from offchain.crypto.signing import recover_hash_signer, sign_typed_data
from offchain.deploy import Deployment, deploy_modexp
from offchain.modexp import core
from offchain.modexp.encoding import (
    Opening,
    encode_pairs,
    encode_values,
    pairs_commitment,
    width_of,
)
from offchain.modexp.params import ServerTask

PAYMENT = 50 * 10**18
COLLATERAL = 20 * 10**18
DISPUTE_WINDOW = 600
MIN_REVEAL = 60
REVEAL_WINDOW = 300
ZERO = "0x0000000000000000000000000000000000000000"
# Status enum of the contract
CREATED, ACCEPTED, SUBMITTED, REJECTED, VERIFIED, PAID_BY_TIMEOUT, REFUNDED, DISPUTE_WON, FINAL = range(1, 10)


@dataclass(frozen=True)
class Job:
    """One MExpm task from the real protocol (512-bit N, 1024-bit L): what each party holds."""

    L: int
    N: int
    bases: tuple[int, ...]
    exponents: tuple[int, ...]
    task: ServerTask
    outputs: tuple[int, ...]
    opening: Opening
    pairs: bytes
    pairs_salt: bytes
    r: int

    @property
    def n(self) -> int:
        return len(self.outputs) // 2 - 1

    @property
    def encoded_outputs(self) -> bytes:
        return encode_values(self.outputs, self.L)

    def forged(self) -> bytes:
        values = list(self.outputs)
        values[0] = values[0] * 2 % self.L
        return encode_values(values, self.L)


def make_job(seed: int, n: int = 1) -> Job:
    rng = random.Random(seed)
    N = core.random_prime(512, rng)
    bases = tuple(rng.randrange(2, N) for _ in range(n))
    params, rk, _ = core.setup(bases, N, rng=rng)
    while True:  # exponents with at least one unit mod φ(L), so that KeyGen appends no dummy term
        exponents = tuple(rng.getrandbits(512) for _ in range(n))
        tk, vk, aux, secret = core.keygen(exponents, params, rk, rng=rng)
        if not secret.dummy:
            break
    task = core.server_task(tk, vk, secret, params.L)
    salt = rng.randbytes(32)
    pairs = encode_pairs(task)
    return Job(
        L=params.L,
        N=N,
        bases=bases,
        exponents=exponents,
        task=task,
        outputs=core.compute(task),
        opening=Opening.build(aux, secret, params.L, rng.randbytes(32)),
        pairs=pairs,
        pairs_salt=salt,
        r=secret.r,
    )


JOB = make_job(3_001)


@pytest.fixture(scope="module")
def iv(accounts: Any) -> Any:
    return accounts[6]


@pytest.fixture(scope="module")
def server(accounts: Any) -> Any:
    return accounts[7]


@pytest.fixture(scope="module")
def rsu(accounts: Any) -> Any:
    return accounts[8]


@pytest.fixture(scope="module")
def stranger(accounts: Any) -> Any:
    return accounts[9]


@pytest.fixture(scope="module")
def modexp(
    project: Any,
    deployer: Any,
    platform: Deployment,
    auditor: Any,
    pool_holders: Any,
    iv: Any,
    server: Any,
    stranger: Any,
) -> Deployment:
    deployment = deploy_modexp(
        project, deployer, platform, dispute_window=DISPUTE_WINDOW, min_reveal_window=MIN_REVEAL
    )
    registry, token = platform.contracts["RSC"], platform.contracts["MetaCoin"]
    enc = encryption_keypair(from_private_key(server.private_key)).compressed_public_key
    registry.register(
        int(ActorRole.MEC_SERVER), enc, b"", "http://127.0.0.1:9", ("", 0, 0, 0, 0), bytes(32), sender=server
    )
    registry.approveRoles(server, int(ActorRole.MEC_SERVER), sender=auditor)
    market = deployment.contracts["MExpmMarket"]
    for account in (iv, server, stranger):
        token.transfer(account, 1_000 * 10**18, sender=pool_holders[0])
        token.approve(market, 2**256 - 1, sender=account)
    return deployment


@pytest.fixture(scope="module")
def market(modexp: Deployment, registry: Any, verifier_contract: Any, measure_view: Any) -> Any:
    return modexp.contracts["MExpmMarket"]


def terms(job: Job, chain: Any, **changes: Any) -> dict[str, Any]:
    base = {
        "modulus": job.L.to_bytes(width_of(job.L), "big"),
        "n": job.n,
        "payment": PAYMENT,
        "collateral": COLLATERAL,
        "auxCommit": job.opening.commitment(),
        "pairsCommit": pairs_commitment(job.pairs, job.pairs_salt),
        "submitDeadline": chain.pending_timestamp + 3_600,
        "revealWindow": REVEAL_WINDOW,
    }
    base.update(changes)
    return base


def create(market: Any, iv: Any, job: Job, chain: Any, **changes: Any) -> tuple[int, Any]:
    receipt = market.createTask(terms(job, chain, **changes), sender=iv)
    events = receipt.events.filter(market.TaskCreated)
    return int(events[0].taskId), receipt


def submitted(market: Any, iv: Any, server: Any, job: Job, chain: Any, outputs: bytes | None = None) -> int:
    task_id, _ = create(market, iv, job, chain)
    market.acceptTask(task_id, sender=server)
    market.submitResult(task_id, outputs if outputs is not None else job.encoded_outputs, sender=server)
    return task_id


def rejected(market: Any, iv: Any, server: Any, job: Job, chain: Any, outputs: bytes | None = None) -> int:
    task_id = submitted(market, iv, server, job, chain, outputs)
    receipt = market.revealAndVerify(
        task_id, outputs or job.encoded_outputs, job.opening.as_tuple(), sender=iv
    )
    verified = receipt.events.filter(market.Verified)[0]
    assert not verified.ok
    assert verified.sigma == b""
    opened = receipt.events.filter(market.DisputeWindowOpened)[0]
    assert opened.disputeDeadline == receipt.timestamp + DISPUTE_WINDOW
    assert market.getTask(task_id).deadline == opened.disputeDeadline
    assert not receipt.events.filter(market.Paid)
    return task_id


def later(chain: Any, seconds: int) -> None:
    chain.mine(1, timestamp=chain.pending_timestamp + seconds)


def bad_aux_job() -> Job:
    """The malicious IV's task: a correct TK, but Aux committed with a wrong δ1 (Eq. 5 then fails)."""
    opening = JOB.opening
    delta1 = (int.from_bytes(opening.delta1, "big") + 2).to_bytes(len(opening.delta1), "big")
    return replace(JOB, opening=replace(opening, delta1=delta1))


# ------------------------------------------------------------------------ the happy path


def test_honest_task_is_verified_and_paid(
    market: Any, token: Any, iv: Any, server: Any, chain: Any, gas_log: Any
) -> None:
    iv_before, server_before = token.balanceOf(iv), token.balanceOf(server)
    task_id, create_receipt = create(market, iv, JOB, chain)
    created = create_receipt.events.filter(market.TaskCreated)[0]
    assert (created.iv, created.n, created.payment, created.collateral) == (
        iv.address,
        1,
        PAYMENT,
        COLLATERAL,
    )
    assert created.modulus == JOB.L.to_bytes(128, "big")
    assert len(created.modulus) == 128
    assert market.getTask(task_id).status == CREATED
    assert market.modulusOf(task_id) == JOB.L.to_bytes(128, "big")

    accept = market.acceptTask(task_id, sender=server)
    assert accept.events.filter(market.TaskAccepted)[0].server == server.address
    submit = market.submitResult(task_id, JOB.encoded_outputs, sender=server)
    event = submit.events.filter(market.ResultSubmitted)[0]
    assert event.outputs == JOB.encoded_outputs
    assert event.submitter == server.address
    assert token.balanceOf(market) == PAYMENT + COLLATERAL

    reveal = market.revealAndVerify(task_id, JOB.encoded_outputs, JOB.opening.as_tuple(), sender=iv)
    verified = reveal.events.filter(market.Verified)[0]
    assert verified.ok
    sigma = int.from_bytes(verified.sigma, "big")
    assert core.recover(sigma, JOB.r, JOB.L, JOB.N) == core.local_product(JOB.bases, JOB.exponents, JOB.N)
    paid = reveal.events.filter(market.Paid)[0]
    assert (paid.server, paid.amount) == (server.address, PAYMENT + COLLATERAL)
    task = market.getTask(task_id)
    assert task.status == VERIFIED
    assert bytes(task.sigmaHash) == keccak256(verified.sigma)
    assert token.balanceOf(iv) == iv_before - PAYMENT
    assert token.balanceOf(server) == server_before + PAYMENT
    total = sum(int(r.gas_used) for r in (create_receipt, accept, submit, reveal))
    gas_log.add("MExpmMarket", "scenario_market_flow_n1", total, kind="scenario")


@pytest.mark.parametrize("n", [3])
def test_larger_batch_round_trip(market: Any, iv: Any, server: Any, chain: Any, gas_log: Any, n: int) -> None:
    job = make_job(3_100 + n, n)
    task_id, create_receipt = create(market, iv, job, chain)
    accept = market.acceptTask(task_id, sender=server)
    submit = market.submitResult(task_id, job.encoded_outputs, sender=server)
    reveal = market.revealAndVerify(task_id, job.encoded_outputs, job.opening.as_tuple(), sender=iv)
    sigma = int.from_bytes(reveal.events.filter(market.Verified)[0].sigma, "big")
    assert core.recover(sigma, job.r, job.L, job.N) == core.local_product(job.bases, job.exponents, job.N)
    total = sum(int(r.gas_used) for r in (create_receipt, accept, submit, reveal))
    gas_log.add("MExpmMarket", f"scenario_market_flow_n{n}", total, kind="scenario")


def test_rsu_relays_a_server_signed_submission(
    market: Any, iv: Any, server: Any, rsu: Any, chain: Any
) -> None:
    task_id, _ = create(market, iv, JOB, chain)
    market.acceptTask(task_id, sender=server)
    digest = market.submissionDigest(task_id, keccak256(JOB.encoded_outputs))
    domain = {
        "name": "MExpmMarket",
        "version": "1",
        "chainId": chain.chain_id,
        "verifyingContract": market.address,
    }
    types = {
        "Submission": [{"name": "taskId", "type": "uint256"}, {"name": "outputsHash", "type": "bytes32"}]
    }
    message = {"taskId": task_id, "outputsHash": keccak256(JOB.encoded_outputs)}
    signature = sign_typed_data(from_private_key(server.private_key), domain, types, "Submission", message)
    assert recover_hash_signer(bytes(digest), signature) == server.address
    with ape.reverts(market.BadSignature):  # signed by someone else
        other = sign_typed_data(from_private_key(rsu.private_key), domain, types, "Submission", message)
        market.submitResultSigned(task_id, JOB.encoded_outputs, other, sender=rsu)
    with ape.reverts(market.BadSignature):  # a signature over other outputs
        market.submitResultSigned(task_id, JOB.forged(), signature, sender=rsu)
    with ape.reverts(market.BadSignature):  # malformed
        market.submitResultSigned(task_id, JOB.encoded_outputs, b"\x01" * 64, sender=rsu)
    receipt = market.submitResultSigned(task_id, JOB.encoded_outputs, signature, sender=rsu)
    event = receipt.events.filter(market.ResultSubmitted)[0]
    assert (event.server, event.submitter) == (server.address, rsu.address)
    with ape.reverts(market.WrongStatus):  # the relayed signature cannot be replayed
        market.submitResultSigned(task_id, JOB.encoded_outputs, signature, sender=rsu)


# ------------------------------------------------------------------------ cheating server, malicious IV


def test_forged_result_is_rejected_refunded_and_slashed(
    market: Any, token: Any, iv: Any, server: Any, chain: Any
) -> None:
    iv_before, server_before = token.balanceOf(iv), token.balanceOf(server)
    task_id = rejected(market, iv, server, JOB, chain, JOB.forged())
    assert market.getTask(task_id).status == REJECTED
    with ape.reverts(market.DeadlineNotReached):
        market.finalizeRejection(task_id, sender=iv)
    later(chain, DISPUTE_WINDOW + 1)
    with ape.reverts(market.DeadlinePassed):  # too late to dispute
        market.disputeRejection(task_id, JOB.forged(), JOB.pairs, JOB.pairs_salt, sender=server)
    receipt = market.finalizeRejection(task_id, sender=iv)
    assert receipt.events.filter(market.RejectionFinalized)[0].taskId == task_id
    slashed = receipt.events.filter(market.CollateralSlashed)[0]
    assert (slashed.server, slashed.amount) == (server.address, COLLATERAL)
    refunded = receipt.events.filter(market.Refunded)[0]
    assert (refunded.iv, refunded.amount) == (iv.address, PAYMENT + COLLATERAL)
    assert market.getTask(task_id).status == FINAL
    assert token.balanceOf(iv) == iv_before + COLLATERAL
    assert token.balanceOf(server) == server_before - COLLATERAL


def test_a_cheating_servers_dispute_upholds_the_rejection(
    market: Any, token: Any, iv: Any, server: Any, chain: Any
) -> None:
    iv_before = token.balanceOf(iv)
    task_id = rejected(market, iv, server, JOB, chain, JOB.forged())
    receipt = market.disputeRejection(task_id, JOB.forged(), JOB.pairs, JOB.pairs_salt, sender=server)
    resolved = receipt.events.filter(market.DisputeResolved)[0]
    assert not resolved.serverWon
    assert resolved.firstWrongOutput == 0
    assert market.getTask(task_id).status == FINAL
    assert token.balanceOf(iv) == iv_before + COLLATERAL


def test_malicious_iv_with_a_bad_aux_loses_the_dispute(
    market: Any, token: Any, iv: Any, server: Any, chain: Any, gas_log: Any
) -> None:
    """Spec 003 §8 req. 13: an IV cannot obtain a reject for a correct result."""
    job = bad_aux_job()
    iv_before, server_before = token.balanceOf(iv), token.balanceOf(server)
    task_id = rejected(market, iv, server, job, chain)  # a correct result fails Eq. (5) with this Aux
    opened = market.getTask(task_id)
    assert opened.status == REJECTED
    receipt = market.disputeRejection(task_id, job.encoded_outputs, job.pairs, job.pairs_salt, sender=server)
    resolved = receipt.events.filter(market.DisputeResolved)[0]
    assert resolved.serverWon
    assert resolved.firstWrongOutput == 2**256 - 1
    assert receipt.events.filter(market.Paid)[0].amount == PAYMENT + COLLATERAL
    assert market.getTask(task_id).status == DISPUTE_WON
    assert token.balanceOf(iv) == iv_before - PAYMENT
    assert token.balanceOf(server) == server_before + PAYMENT
    gas_log.add("MExpmMarket", "scenario_dispute_n1", int(receipt.gas_used), kind="scenario")
    with ape.reverts(market.WrongStatus):
        market.finalizeRejection(task_id, sender=iv)


# ------------------------------------------------------------------------ timeouts


def test_server_is_paid_when_the_iv_never_reveals(
    market: Any, token: Any, iv: Any, server: Any, chain: Any
) -> None:
    server_before = token.balanceOf(server)
    task_id = submitted(market, iv, server, JOB, chain)
    with ape.reverts(market.DeadlineNotReached):
        market.claimByTimeout(task_id, sender=server)
    later(chain, REVEAL_WINDOW + 1)
    with ape.reverts(market.DeadlinePassed):  # the IV can no longer reveal (and reject)
        market.revealAndVerify(task_id, JOB.encoded_outputs, JOB.opening.as_tuple(), sender=iv)
    receipt = market.claimByTimeout(task_id, sender=server)
    assert receipt.events.filter(market.TimedOut)[0].outcome == PAID_BY_TIMEOUT
    assert receipt.events.filter(market.Paid)[0].amount == PAYMENT + COLLATERAL
    assert token.balanceOf(server) == server_before + PAYMENT
    with ape.reverts(market.WrongStatus):
        market.claimByTimeout(task_id, sender=server)


def test_iv_is_refunded_when_the_server_never_submits(
    market: Any, token: Any, iv: Any, server: Any, chain: Any
) -> None:
    iv_before = token.balanceOf(iv)
    task_id, _ = create(market, iv, JOB, chain)
    market.acceptTask(task_id, sender=server)
    with ape.reverts(market.DeadlineNotReached):
        market.claimByTimeout(task_id, sender=iv)
    later(chain, 3_601)
    with ape.reverts(market.DeadlinePassed):
        market.submitResult(task_id, JOB.encoded_outputs, sender=server)
    receipt = market.claimByTimeout(task_id, sender=iv)
    assert receipt.events.filter(market.TimedOut)[0].outcome == REFUNDED
    assert receipt.events.filter(market.CollateralSlashed)[0].amount == COLLATERAL
    assert token.balanceOf(iv) == iv_before + COLLATERAL


def test_an_unaccepted_task_is_refunded_after_the_deadline(
    market: Any, token: Any, iv: Any, server: Any, chain: Any
) -> None:
    iv_before = token.balanceOf(iv)
    task_id, _ = create(market, iv, JOB, chain)
    later(chain, 3_601)
    with ape.reverts(market.DeadlinePassed):
        market.acceptTask(task_id, sender=server)
    receipt = market.claimByTimeout(task_id, sender=iv)
    assert receipt.events.filter(market.Refunded)[0].amount == PAYMENT
    assert not receipt.events.filter(market.CollateralSlashed)
    assert token.balanceOf(iv) == iv_before


def test_an_aux_the_verifier_refuses_cannot_stall_payment(
    market: Any, verifier_contract: Any, iv: Any, server: Any, chain: Any, token: Any
) -> None:
    """rv3 committed at the wrong width: the reveal reverts with the verifier's error, and the server is paid
    at the reveal deadline."""
    job = replace(JOB, opening=replace(JOB.opening, rv3=JOB.opening.rv3[1:]))
    task_id = submitted(market, iv, server, job, chain)
    with ape.reverts(verifier_contract.BadEncoding):
        market.revealAndVerify(task_id, job.encoded_outputs, job.opening.as_tuple(), sender=iv)
    later(chain, REVEAL_WINDOW + 1)
    assert market.claimByTimeout(task_id, sender=server).events.filter(market.Paid)


@pytest.fixture(scope="module")
def verifier_contract(modexp: Deployment) -> Any:
    return modexp.contracts["MExpmVerifier"]


# ------------------------------------------------------------------------ every other revert path


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"modulus": b""}, "InvalidModulus"),
        ({"modulus": bytes(30) + b"\x8f"}, "InvalidModulus"),
        ({"modulus": bytes(31) + b"\x8e"}, "InvalidModulus"),
        ({"modulus": b"\x01" * 544}, "InvalidModulus"),
        ({"n": 0}, "NoBases"),
        ({"n": 33}, "TooManyBases"),
        ({"modulus": b"\xff" * 512}, "DisputeTooCostly"),
        ({"modulus": b"\xff" * 192, "n": 32}, "DisputeTooCostly"),
        ({"payment": 0}, "ZeroPayment"),
        ({"payment": 2**128}, "AmountTooLarge"),
        ({"collateral": 2**128}, "AmountTooLarge"),
        ({"submitDeadline": 1}, "DeadlineInPast"),
        ({"revealWindow": MIN_REVEAL - 1}, "RevealWindowTooShort"),
    ],
    ids=[
        "empty-modulus",
        "ragged-modulus",
        "even-modulus",
        "too-wide-modulus",
        "no-bases",
        "too-many-bases",
        "dispute-4096-bit",
        "dispute-1536-bit-n32",
        "zero-payment",
        "payment-overflow",
        "collateral-overflow",
        "deadline-past",
        "reveal-window",
    ],
)
def test_create_rejects_bad_terms(
    market: Any, iv: Any, chain: Any, changes: dict[str, Any], error: str
) -> None:
    with ape.reverts(getattr(market, error)):
        market.createTask(terms(JOB, chain, **changes), sender=iv)


def test_create_needs_an_allowance(market: Any, token: Any, accounts: Any, chain: Any) -> None:
    poor = accounts[5]  # a pool holder that never approved the market
    with ape.reverts(token.ERC20InsufficientAllowance):
        market.createTask(terms(JOB, chain), sender=poor)


def test_too_many_bases_names_the_bound(market: Any, iv: Any, chain: Any) -> None:
    with ape.reverts(market.TooManyBases, n=33, max=32):
        market.createTask(terms(JOB, chain, n=33), sender=iv)
    assert market.MAX_N() == 32


def test_accept_rules(market: Any, iv: Any, server: Any, stranger: Any, chain: Any) -> None:
    with ape.reverts(market.TaskNotFound):
        market.acceptTask(10**6, sender=server)
    task_id, _ = create(market, iv, JOB, chain)
    with ape.reverts(market.NotMecServer):
        market.acceptTask(task_id, sender=stranger)
    with ape.reverts(market.SelfDealing):
        market.acceptTask(task_id, sender=iv)
    market.acceptTask(task_id, sender=server)
    with ape.reverts(market.WrongStatus):
        market.acceptTask(task_id, sender=server)


def test_submit_rules(market: Any, iv: Any, server: Any, stranger: Any, chain: Any) -> None:
    task_id, _ = create(market, iv, JOB, chain)
    with ape.reverts(market.NotServer):  # nobody accepted yet
        market.submitResult(task_id, JOB.encoded_outputs, sender=server)
    market.acceptTask(task_id, sender=server)
    with ape.reverts(market.NotServer):
        market.submitResult(task_id, JOB.encoded_outputs, sender=stranger)
    with ape.reverts(market.WrongOutputLength, length=3 * 128, expected=4 * 128):  # an omitted output
        market.submitResult(task_id, JOB.encoded_outputs[:-128], sender=server)
    with ape.reverts(market.WrongOutputLength):  # an extra output
        market.submitResult(task_id, JOB.encoded_outputs + bytes(128), sender=server)
    too_big = JOB.encoded_outputs[:256] + JOB.L.to_bytes(128, "big") + JOB.encoded_outputs[384:]
    with ape.reverts(market.OutputNotBelowModulus, index=2):
        market.submitResult(task_id, too_big, sender=server)
    market.submitResult(task_id, JOB.encoded_outputs, sender=server)
    with ape.reverts(market.WrongStatus):
        market.submitResult(task_id, JOB.encoded_outputs, sender=server)


def test_reveal_rules(market: Any, iv: Any, server: Any, chain: Any) -> None:
    task_id, _ = create(market, iv, JOB, chain)
    with ape.reverts(market.WrongStatus):  # Aux cannot be revealed before the results are on chain
        market.revealAndVerify(task_id, JOB.encoded_outputs, JOB.opening.as_tuple(), sender=iv)
    market.acceptTask(task_id, sender=server)
    market.submitResult(task_id, JOB.encoded_outputs, sender=server)
    with ape.reverts(market.ResultMismatch):
        market.revealAndVerify(task_id, JOB.forged(), JOB.opening.as_tuple(), sender=iv)
    wrong_salt = replace(JOB.opening, salt=bytes(32))
    with ape.reverts(market.CommitmentMismatch):
        market.revealAndVerify(task_id, JOB.encoded_outputs, wrong_salt.as_tuple(), sender=iv)


@pytest.mark.parametrize(
    "perm", [bytes([0, 1, 2]), bytes([0, 1, 1, 3]), bytes([0, 1, 2, 9])], ids=["short", "dup", "range"]
)
def test_a_bad_committed_permutation_cannot_be_revealed(
    market: Any, iv: Any, server: Any, chain: Any, perm: bytes
) -> None:
    job = replace(JOB, opening=replace(JOB.opening, perm=perm))
    task_id = submitted(market, iv, server, job, chain)
    with ape.reverts(market.BadPermutation):
        market.revealAndVerify(task_id, job.encoded_outputs, job.opening.as_tuple(), sender=iv)


def test_dispute_rules(market: Any, iv: Any, server: Any, chain: Any) -> None:
    job = bad_aux_job()
    task_id = submitted(market, iv, server, job, chain)
    with ape.reverts(market.WrongStatus):
        market.disputeRejection(task_id, job.encoded_outputs, job.pairs, job.pairs_salt, sender=server)
    market.revealAndVerify(task_id, job.encoded_outputs, job.opening.as_tuple(), sender=iv)
    with ape.reverts(market.ResultMismatch):
        market.disputeRejection(task_id, job.forged(), job.pairs, job.pairs_salt, sender=server)
    with ape.reverts(market.PairsMismatch):
        market.disputeRejection(task_id, job.encoded_outputs, job.pairs, bytes(32), sender=server)
    with ape.reverts(market.PairsMismatch):
        market.disputeRejection(task_id, job.encoded_outputs, job.pairs[:-1], job.pairs_salt, sender=server)


def test_dispute_refuses_pairs_of_the_wrong_length_even_when_committed(
    market: Any, iv: Any, server: Any, chain: Any
) -> None:
    short = JOB.pairs[:-256]
    task_id, _ = create(market, iv, bad_aux_job(), chain, pairsCommit=pairs_commitment(short, JOB.pairs_salt))
    market.acceptTask(task_id, sender=server)
    market.submitResult(task_id, JOB.encoded_outputs, sender=server)
    market.revealAndVerify(task_id, JOB.encoded_outputs, bad_aux_job().opening.as_tuple(), sender=iv)
    with ape.reverts(market.PairsMismatch):
        market.disputeRejection(task_id, JOB.encoded_outputs, short, JOB.pairs_salt, sender=server)


def test_finalize_and_claim_on_wrong_status(market: Any, iv: Any, server: Any, chain: Any) -> None:
    task_id, _ = create(market, iv, JOB, chain)
    with ape.reverts(market.WrongStatus):
        market.finalizeRejection(task_id, sender=iv)
    with ape.reverts(market.DeadlineNotReached):
        market.claimByTimeout(task_id, sender=iv)
    with ape.reverts(market.TaskNotFound):
        market.claimByTimeout(10**6, sender=iv)


def test_constructor_rejects_zero_addresses(project: Any, deployer: Any, token: Any, registry: Any) -> None:
    with ape.reverts(project.MExpmMarket.ZeroAddress):
        deployer.deploy(project.MExpmMarket, ZERO, registry, registry, 1, 1)
    with ape.reverts(project.MExpmMarket.ZeroAddress):
        deployer.deploy(project.MExpmMarket, token, registry, ZERO, 1, 1)


# ------------------------------------------------------------------------ views and commitments


def test_views_and_commitments_match_python(
    market: Any, token: Any, registry: Any, verifier_contract: Any, iv: Any, chain: Any, measure_view: Any
) -> None:
    task_id, _ = create(market, iv, JOB, chain)
    assert market.auxCommitment(JOB.opening.as_tuple()) == JOB.opening.commitment()
    assert market.pairsCommitment(JOB.pairs, JOB.pairs_salt) == pairs_commitment(JOB.pairs, JOB.pairs_salt)
    assert market.token() == token.address
    assert market.registry() == registry.address
    assert market.verifier() == verifier_contract.address
    assert (market.disputeWindow(), market.minRevealWindow()) == (DISPUTE_WINDOW, MIN_REVEAL)
    assert market.taskCount() == task_id + 1
    assert market.MAX_MODULUS_BYTES() == 512
    bound = 4 * (16 * 16 * 1023 // 3)  # n = 1, 1024-bit L: four modexps of EIP-2565 price
    assert market.disputeGasBound(1, 128) == bound
    assert market.disputeGasBound(32, 128) <= market.MAX_DISPUTE_GAS() == 12_000_000
    assert market.SUBMISSION_TYPEHASH() == keccak256(b"Submission(uint256 taskId,bytes32 outputsHash)")
    assert market.eip712Domain()[1] == "MExpmMarket"
    with ape.reverts(market.TaskNotFound):
        market.getTask(10**6)
    with ape.reverts(market.TaskNotFound):
        market.modulusOf(10**6)
    for name, args in (
        ("MAX_N", ()),
        ("MAX_MODULUS_BYTES", ()),
        ("MAX_DISPUTE_GAS", ()),
        ("disputeGasBound", (1, 128)),
        ("SUBMISSION_TYPEHASH", ()),
        ("token", ()),
        ("registry", ()),
        ("verifier", ()),
        ("disputeWindow", ()),
        ("minRevealWindow", ()),
        ("taskCount", ()),
        ("eip712Domain", ()),
        ("getTask", (task_id,)),
        ("modulusOf", (task_id,)),
        ("auxCommitment", (JOB.opening.as_tuple(),)),
        ("pairsCommitment", (JOB.pairs, JOB.pairs_salt)),
        ("submissionDigest", (task_id, bytes(32))),
    ):
        measure_view(market, name, *args)


def test_the_iv_can_prove_a_forgery_at_once(
    market: Any, token: Any, iv: Any, server: Any, chain: Any
) -> None:
    """Anyone holding the pairs may open them: the IV settles a forgery without waiting out the window."""
    iv_before = token.balanceOf(iv)
    task_id = rejected(market, iv, server, JOB, chain, JOB.forged())
    receipt = market.disputeRejection(task_id, JOB.forged(), JOB.pairs, JOB.pairs_salt, sender=iv)
    assert not receipt.events.filter(market.DisputeResolved)[0].serverWon
    assert market.getTask(task_id).status == FINAL
    assert token.balanceOf(iv) == iv_before + COLLATERAL

"""The data-crowdsourcing flow of ``make demo`` (MetaAICM, seed 001, Algorithm 4.2, §4.5.3).

1. Three oracle nodes (one of them dishonest) run as HTTP agents on loopback, register in RSC (the auditor
   approves the ORACLE role) and stake in OracleManager; the treasury funds the vote-reward pool.
2. A requester publishes f_data and escrows Θ + α in DC with its encryption key pk; two data workers store
   their datasets encrypted and submit (URL ‖ K) encrypted to pk.
3. After the deadline the requester decrypts and checks both datasets (both qualify) but, cheating, marks
   the second dishonest: Θ goes to the first worker (+A/P).
4. The second worker disputes by revealing (URL ‖ K, e): DC re-encrypts and finds it equal to Sub_j and
   opens an oracle ticket; the worker asks every oracle in RSC to review. Each fetches and checks the
   dataset itself; the two honest ones vote "qualified", the dishonest one "not qualified". The majority
   wins: honest oracles +vote reward, the dishonest one loses its deduction, the worker +A/P, the
   requester −1. After T_dispute the task is finalised and α goes to the worker.
5. Bad input: a review request for a ticket that does not exist gets a 404 and the oracle keeps serving.

Every MTC and reputation change is printed beside the rule's prediction and checked exactly.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from web3 import Web3

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.chain.errors import ContractRevert
from offchain.chain.roles import ActorRole
from offchain.crowdsourcing.datatask.agents import (
    REVIEW_ACTION,
    DataRequester,
    DataWorker,
    OracleNode,
    ReviewRequest,
    ReviewVote,
)
from offchain.crowdsourcing.datatask.chain import DataTaskClient, Mark, OracleClient, TaskStatus
from offchain.crowdsourcing.datatask.features import FeatureSpec
from offchain.crowdsourcing.rules import reward_delta
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, derive
from offchain.marketplace.chain import ReputationReader
from offchain.marketplace.support import (
    ONE,
    TOKEN,
    Change,
    Ledger,
    advance_time,
    chain_now,
    ensure_registered,
    mtc,
    registry_for,
    sender_for,
)
from offchain.storage.embedded import LocalStore

THETA = 600 * TOKEN
ALPHA = 90 * TOKEN
WINDOW = 3_600
SPEC = FeatureSpec(("pixel_mean", "pixel_std", "label"), min_rows=20)


@dataclass
class DataFlowReport:
    """What the flow showed, for the caller to check."""

    steps: list[str] = field(default_factory=list)
    changes: dict[str, list[Change]] = field(default_factory=dict)
    task_id: int = 0
    ticket_id: int = 0
    votes: list[bool] = field(default_factory=list)
    qualified: bool = False
    bad_request_status: int = 0
    oracle_stakes: dict[str, int] = field(default_factory=dict)

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


def worker_dataset(seed: int, rows: int = 30) -> bytes:
    """A dataset with every feature of :data:`SPEC`."""
    rng = random.Random(seed)
    lines = [",".join(SPEC.columns)]
    lines += [f"{rng.uniform(0, 16):.3f},{rng.uniform(0, 8):.3f},{rng.randrange(10)}" for _ in range(rows)]
    return ("\n".join(lines) + "\n").encode()


async def run_data_task_flow(
    w3: Web3,
    deployments: Deployments,
    treasury: KeyPair,
    auditor: KeyPair,
    console: Console,
    *,
    seed: bytes = b"metaaicm-data-task-demo",
    store_root: Path | None = None,
) -> DataFlowReport:
    """Run one data task whose false "dishonest" mark is overturned by the oracles' majority.

    ``treasury`` holds MTC (Θ + α for the requester, the oracles' stakes and the vote-reward pool);
    ``auditor`` holds RSC's AUDITOR_ROLE (approves the ORACLE role). The requester, two workers and three
    oracles are keys derived from ``seed`` (another seed reruns the flow on the same chain), given gas money
    with ``fund_on_devnet``; the devnet clock is moved past the deadline and T_dispute with
    ``evm_increaseTime``. A dishonest oracle votes against its own finding, to show the majority rule.
    """
    report = DataFlowReport()
    console.rule("[bold]MetaAICM data crowdsourcing: a false 'dishonest' mark overturned by the oracles")
    requester_key, worker_a_key, worker_b_key, *oracle_keys = (derive(seed, i) for i in range(6))
    people = [requester_key, worker_a_key, worker_b_key, *oracle_keys]
    fund_on_devnet(w3, [k.address for k in people])
    token = contract(w3, deployments, "MetaCoin")
    dc_contract = contract(w3, deployments, "DC")
    om_contract = contract(w3, deployments, "OracleManager")
    reputation = ReputationReader(contract(w3, deployments, "RC"))
    reader = OracleClient(om_contract)
    stake, vote_reward, deduction = reader.stake(), reader.vote_reward(), reader.deduction()
    treasury_sender = sender_for(w3, deployments, treasury)
    auditor_registry = registry_for(w3, deployments, auditor)
    temp = tempfile.TemporaryDirectory(prefix="metaaicm-data-") if store_root is None else None
    store = LocalStore(Path(temp.name) if temp is not None else Path(store_root or "."))

    def dc(key: KeyPair) -> DataTaskClient:
        return DataTaskClient(dc_contract, sender_for(w3, deployments, key))

    oracles = [
        OracleNode(
            key,
            OracleClient(om_contract, sender_for(w3, deployments, key)),
            DataTaskClient(dc_contract),
            store,
            dishonest=index == 2,
            name=f"oracle-{index}",
        )
        for index, key in enumerate(oracle_keys)
    ]
    requester = DataRequester(
        requester_key, encryption_keypair(requester_key), dc(requester_key), token, store, false_marks={1}
    )
    worker_a = DataWorker(worker_a_key, dc(worker_a_key), store, registry_for(w3, deployments, worker_a_key))
    worker_b = DataWorker(worker_b_key, dc(worker_b_key), store, registry_for(w3, deployments, worker_b_key))
    labels = {"requester": requester_key, "worker A": worker_a_key, "worker B": worker_b_key}
    labels |= {f"oracle {i}{' (dishonest)' if i == 2 else ''}": k for i, k in enumerate(oracle_keys)}
    ledger = Ledger(token, reputation, {label: key.address for label, key in labels.items()})
    ledger.accounts["DC escrow"] = dc_contract.address
    try:
        async with oracles[0].agent, oracles[1].agent, oracles[2].agent:
            for oracle in oracles:
                ensure_registered(
                    registry_for(w3, deployments, oracle.key),
                    oracle.key,
                    ActorRole.ORACLE,
                    oracle.agent.endpoint,
                    auditor_registry,
                )
                treasury_sender.send(token.functions.transfer(oracle.key.address, stake))
                if not oracle.oracles.oracle(oracle.key.address).registered:
                    oracle.stake(token)
            treasury_sender.send(token.functions.approve(om_contract.address, 3 * vote_reward))
            OracleClient(om_contract, treasury_sender).fund_rewards(3 * vote_reward)
            for key, roles in (
                (requester_key, ActorRole.MSP),  # the requester of a data task is an MSP
                (worker_a_key, ActorRole.DATA_WORKER),
                (worker_b_key, ActorRole.DATA_WORKER),
            ):
                ensure_registered(registry_for(w3, deployments, key), key, roles, "")
            treasury_sender.send(token.functions.transfer(requester_key.address, THETA + ALPHA))
            report.note(
                console,
                f"3 oracle agents registered in RSC (ORACLE approved by the auditor) and staked {mtc(stake)} "
                f"each; reward pool +{mtc(3 * vote_reward)}; requester funded with {mtc(THETA + ALPHA)}",
            )

            # --- task, submissions, evaluation -----------------------------------------------------------
            before = ledger.snapshot()
            deadline = chain_now(w3) + WINDOW
            task_id = requester.create_task(
                SPEC, THETA, ALPHA, deadline, evaluation_window=WINDOW, dispute_window=WINDOW, lock_blocks=5
            )
            report.task_id = task_id
            report.note(
                console,
                f"data task {task_id}: Θ = {mtc(THETA)} + α = {mtc(ALPHA)} escrowed, f_data {SPEC.columns} "
                f"(≥ {SPEC.min_rows} rows), pk = the requester's encryption key",
            )
            worker_a.submit(task_id, worker_dataset(1))
            worker_b.submit(task_id, worker_dataset(2))
            report.note(
                console, "workers A and B stored their datasets encrypted and submitted Enc_pk(URL ‖ K)"
            )
            advance_time(w3, WINDOW + 1)
            verdicts = requester.review(task_id)
            if not all(v.qualified for v in verdicts):
                raise RuntimeError(f"a worker's dataset did not qualify: {[v.reason for v in verdicts]}")
            stats_a = reputation.stats(worker_a_key.address)
            marks = requester.evaluate(task_id)
            report.note(
                console,
                f"requester decrypted both Sub_j, both qualify ({verdicts[1].reason}), yet marked {marks} "
                "(a false 'dishonest' for B); Θ paid to the honest-marked A",
            )
            report.changes["evaluation"] = ledger.check(
                before,
                {"requester": -(THETA + ALPHA), "worker A": THETA, "DC escrow": ALPHA},
                {"worker A": reward_delta(stats_a.interactions, stats_a.participations)},
                console,
                "task creation and evaluation",
            )

            # --- dispute and oracle vote -----------------------------------------------------------------
            before = ledger.snapshot()
            ticket_id = worker_b.dispute(task_id)
            report.ticket_id = ticket_id
            report.note(
                console,
                "worker B disputed revealing (URL ‖ K, e): DC's re-encryption equals Sub_j; "
                f"ticket {ticket_id}",
            )
            async with AgentClient(worker_b_key) as rpc:
                try:
                    await rpc.call(
                        oracles[0].agent.endpoint,
                        oracle_keys[0].address,
                        REVIEW_ACTION,
                        ReviewRequest(ticket_id=10**9),
                        ReviewVote,
                    )
                except AgentCallError as exc:
                    report.bad_request_status = exc.status
                    report.note(
                        console, f"a review of a ticket that does not exist → HTTP {exc.status}: {exc.reason}"
                    )
                else:
                    raise RuntimeError("an oracle reviewed a ticket that does not exist")
            answers = await worker_b.ask_oracles(ticket_id)
            votes = [a for a in answers if isinstance(a, ReviewVote)]
            report.votes = [v.qualified for v in votes]
            if len(votes) < len(oracles):
                raise RuntimeError(f"not every oracle voted: {answers}")
            report.note(
                console,
                "oracles fetched and checked the dataset themselves; votes: "
                + ", ".join(f"{'qualified' if v.qualified else 'not qualified'}" for v in votes)
                + f" ({votes[0].reason})",
            )
            stats_b = reputation.stats(worker_b_key.address)
            resolver = OracleClient(om_contract, treasury_sender)
            try:
                resolver.resolve(ticket_id)
            except ContractRevert as exc:  # oracles registered by others did not vote: wait out T_vote
                if exc.error_name != "VotingOpen":
                    raise
                advance_time(w3, int(om_contract.functions.voteWindow().call()) + 1)
                resolver.resolve(ticket_id)
            ticket = reader.ticket(ticket_id)
            report.qualified = ticket.qualified
            if not ticket.qualified:
                raise RuntimeError("the oracle majority did not find the dataset qualified")
            mark = DataTaskClient(dc_contract).submissions(task_id)[1].mark
            report.note(
                console,
                f"ticket resolved by majority {ticket.votes_for}–{ticket.votes_against}: qualified; "
                f"B's mark is now {mark.name}",
            )
            expected_mtc = {
                f"oracle {i}{' (dishonest)' if i == 2 else ''}": (0 if i == 2 else vote_reward)
                for i in range(3)
            }
            report.changes["dispute"] = ledger.check(
                before,
                expected_mtc,
                {"worker B": reward_delta(stats_b.interactions, stats_b.participations), "requester": -ONE},
                console,
                "dispute resolved by the oracles",
            )
            report.oracle_stakes = {o.key.address: reader.oracle(o.key.address).stake for o in oracles}
            if report.oracle_stakes[oracle_keys[2].address] != stake - deduction:
                raise RuntimeError("the dishonest oracle's stake was not reduced by the deduction")
            report.note(
                console,
                f"the dishonest oracle's stake fell by {mtc(deduction)} to {mtc(stake - deduction)} "
                "(into the reward pool)",
            )

            # --- finalisation -----------------------------------------------------------------------------
            before = ledger.snapshot()
            advance_time(w3, WINDOW + 1)
            DataTaskClient(dc_contract, treasury_sender).finalize(task_id)
            task = DataTaskClient(dc_contract).task(task_id)
            if task.status is not TaskStatus.FINALIZED or mark is not Mark.WON:
                raise RuntimeError("the task did not finalise with B as the winner")
            report.note(console, f"after T_dispute the task was finalised: α = {mtc(ALPHA)} to worker B")
            report.changes["finalisation"] = ledger.check(
                before, {"worker B": ALPHA, "DC escrow": -ALPHA}, {}, console, "finalisation"
            )
    finally:
        if temp is not None:
            temp.cleanup()
    return report

"""The MetaAICM committee flow for ``make demo``: a reputation-based election and a re-election (seed 001,
§4.5.4, Algorithm 4.3) on the deployed ``CommitteeManager``.

1. The admin appoints the institutions (authorised partition) and the trusted seed nodes; each institution
   publishes its BLS VRF key; the candidates register.
2. Reputation events through RC give the candidates different reputations (a stand-in writer holds RC's
   WRITER_ROLE for these writes only, in place of MLC / DC / MPC).
3. The devnet is mined to the next term; its leader proves the term's seed with its VRF key; the flow predicts
   the elected partition with the pure Python election, submits the proof and checks the contract agrees.
   This committee (authorised + elected members) is MLC's: ``make demo`` runs the ML-model task here, and
   its elected members score the models (``offchain/crowdsourcing/ml/flow.py``).
4. Reputations change (the most reputable candidate is penalised until its reputation is no longer positive,
   the last candidate is rewarded six times), the next term starts, and the re-election follows them.
5. With a funder, the round-reward pool is funded and a completed round is paid to the committee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.sender import TransactionSender
from offchain.crowdsourcing import committee as alg
from offchain.crowdsourcing import vrf
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair

ONE = 10**18


@dataclass(frozen=True)
class ElectionLine:
    """One election of the flow."""

    term: int
    leader: str
    phi: bytes
    reputations: dict[str, int]
    members: list[str]
    predicted: list[str]

    @property
    def reproduced(self) -> bool:
        return self.members == self.predicted


@dataclass
class CommitteeFlowReport:
    """What the flow showed, for the caller to check."""

    steps: list[str] = field(default_factory=list)
    elections: list[ElectionLine] = field(default_factory=list)
    reward_per_member: int | None = None

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


def vrf_key_for(key: KeyPair) -> vrf.VrfKey:
    """A node's VRF key, derived from its account key (domain-separated), so an agent needs one secret."""
    digest = int.from_bytes(keccak256(b"metatrust/committee-vrf/v1" + key.private_key), "big")
    return vrf.VrfKey(digest % (vrf.CURVE_ORDER - 1) + 1)


def _mine(w3: Web3, blocks: int) -> None:
    if blocks > 0:
        w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]


def _sender(w3: Web3, deployments: Deployments, key: KeyPair) -> TransactionSender:
    return TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)


def _schedule(manager: Contract) -> alg.Schedule:
    return alg.Schedule(
        genesis_block=manager.functions.genesisBlock().call(),
        round_blocks=manager.functions.roundBlocks().call(),
        bootstrap_rounds=manager.functions.bootstrapRounds().call(),
        term_rounds=manager.functions.termRounds().call(),
    )


def _short(address: str) -> str:
    return f"{address[:8]}…{address[-4:]}"


def _elect_next_term(
    w3: Web3,
    deployments: Deployments,
    manager: Contract,
    rc: Contract,
    leaders: dict[str, tuple[KeyPair, vrf.VrfKey]],
    console: Console,
) -> ElectionLine:
    schedule = _schedule(manager)
    round_now = manager.functions.currentRound().call()
    term = max(schedule.term_of(round_now) + 1, manager.functions.electedTerm().call() + 1)
    _mine(w3, schedule.first_block_of_term(term) + 1 - w3.eth.block_number)
    leader = manager.functions.leaderOf(term).call()
    account, key = leaders[leader]
    anchor = schedule.anchor_block(term)
    seed = alg.election_seed(w3.eth.chain_id, manager.address, term, bytes(w3.eth.get_block(anchor)["hash"]))
    proof = key.prove(seed)
    if not vrf.verify(key.public_key, seed, proof):
        raise RuntimeError("the leader's own VRF proof does not verify")
    candidates = [
        alg.Candidate(str(c), int(rc.functions.reputationOf(c).call()))
        for c in manager.functions.candidates().call()
    ]
    seats = manager.functions.dynamicSeats().call()
    unit = manager.functions.reputationUnit().call()
    literal = manager.functions.literal().call()
    seeds = manager.functions.seedNodes().call()
    predicted = alg.elect(candidates, seats, unit, vrf.output(proof), seeds, literal=literal)
    receipt = _sender(w3, deployments, account).send(manager.functions.submitElection(term, proof))
    event = manager.events.CommitteeElected().process_receipt(receipt, errors=DISCARD)[0]["args"]
    line = ElectionLine(
        term=term,
        leader=leader,
        phi=bytes(event["phi"]),
        reputations={c.address: c.reputation for c in candidates},
        members=list(event["members"]),
        predicted=predicted,
    )
    table = Table(
        title=f"term {term}: leader {_short(leader)}, φ₁ = {line.phi.hex()[:16]}…", title_justify="left"
    )
    for column in ("candidate", "reputation", "units", "seat"):
        table.add_column(column, justify="right" if column in {"reputation", "units"} else "left")
    for c in candidates:
        units = alg.units_of(c.reputation, unit)
        seat = "[bold green]elected[/]" if c.address in line.members else "-"
        table.add_row(_short(c.address), f"{c.reputation / ONE:+.3f}", str(units), seat)
    for s in line.members:
        if s not in line.reputations:
            table.add_row(_short(s), "", "", "[yellow]seed node (unfilled seat)[/]")
    console.print(table)
    return line


@dataclass
class CommitteeSession:
    """The state the committee flow's steps share: the contracts, the admin's sender, the leaders' VRF keys
    and the report they fill."""

    w3: Web3
    deployments: Deployments
    manager: Contract
    rc: Contract
    admin: KeyPair
    admin_tx: TransactionSender
    leaders: dict[str, tuple[KeyPair, vrf.VrfKey]]
    candidates: list[KeyPair]
    console: Console
    report: CommitteeFlowReport = field(default_factory=CommitteeFlowReport)

    def seats(self) -> dict[str, str]:
        """Every current committee member with its seat (see :func:`committee_seats`)."""
        return committee_seats(self.manager)

    def as_writer(self, calls: Sequence[Any]) -> None:
        """RC writes by a stand-in writer (the admin holds WRITER_ROLE only for these calls)."""
        writer_role = self.rc.functions.WRITER_ROLE().call()
        self.admin_tx.send(self.rc.functions.grantRole(writer_role, self.admin.address))
        for call in calls:
            self.admin_tx.send(call)
        self.admin_tx.send(self.rc.functions.revokeRole(writer_role, self.admin.address))


def committee_seats(manager: Contract) -> dict[str, str]:
    """The members of a ``CommitteeManager`` with their seats, authorised partition first, then the dynamic
    partition in election order: ``authorised``, ``elected (term t)``, or ``seed node`` (a trusted seed node
    serving the bootstrap rounds, or a seat the candidates could not fill)."""
    view = manager.functions
    term = view.electedTerm().call()
    candidates = set(view.candidates().call())
    seeds = set(view.seedNodes().call())
    seats = {str(a): "authorised" for a in view.authorisedMembers().call()}
    for member in view.dynamicMembers().call():
        elected = term > 0 and (member in candidates or member not in seeds)
        seats[str(member)] = f"elected (term {term})" if elected else "seed node"
    return seats


def elect_committee(
    w3: Web3,
    deployments: Deployments,
    admin: KeyPair,
    institutions: Sequence[KeyPair],
    seed_nodes: Sequence[str],
    candidates: Sequence[KeyPair],
    console: Console,
    *,
    reputation_events: Sequence[int] = (),
) -> CommitteeSession:
    """Steps 1-3 of the flow on an anvil devnet where ``deploy_aicm`` deployed RC and CommitteeManager:
    institutions, VRF keys, seed nodes, candidates, reputations, and the first election (checked against
    the Python re-computation). Returns the session for :func:`reelect_after_reputation_changes` and
    :func:`pay_round_reward`.

    ``admin`` holds DEFAULT_ADMIN_ROLE of both; ``institutions`` (1 .. authorisedSeats, funded) form the
    authorised partition and prove the elections; ``seed_nodes`` are the TSNs' addresses; ``candidates``
    (funded) run for the dynamic partition; ``reputation_events`` (default 5, 3, 2, 1, 0, ...) is the number
    of reward events each candidate receives before the first election (a zero means one penalty instead).
    Mines blocks with ``anvil_mine``.
    """
    manager = contract(w3, deployments, "CommitteeManager")
    session = CommitteeSession(
        w3=w3,
        deployments=deployments,
        manager=manager,
        rc=contract(w3, deployments, "RC"),
        admin=admin,
        admin_tx=_sender(w3, deployments, admin),
        leaders={},
        candidates=list(candidates),
        console=console,
    )
    report, admin_tx, rc = session.report, session.admin_tx, session.rc
    console.rule("[bold]MetaAICM committee (Algorithm 4.3, BLS VRF)")
    view = manager.functions
    console.print(
        f"  seats: {view.authorisedSeats().call()} authorised + {view.dynamicSeats().call()} dynamic; "
        f"k = {view.termRounds().call()} rounds, W = {view.bootstrapRounds().call()} rounds of "
        f"{view.roundBlocks().call()} block(s)"
    )

    # 1. institutions, VRF keys, seed nodes, candidates
    for institution in institutions:
        if not manager.functions.isMember(institution.address).call():
            admin_tx.send(manager.functions.appointAuthorised(institution.address))
        key = vrf_key_for(institution)
        if bytes(manager.functions.vrfKeyOf(institution.address).call()[0]) != key.public_key:
            _sender(w3, deployments, institution).send(manager.functions.setVrfKey(key.public_key))
        session.leaders[institution.address] = (institution, key)
    report.note(
        console, f"{len(institutions)} institutions appointed, each with a BLS12-381 VRF key on chain"
    )
    admin_tx.send(manager.functions.setSeedNodes(list(seed_nodes)))
    report.note(console, f"{len(seed_nodes)} trusted seed nodes serve the first W rounds")
    registered = set(manager.functions.candidates().call())
    for node in candidates:
        if node.address not in registered:
            _sender(w3, deployments, node).send(manager.functions.registerCandidate())
    report.note(console, f"{len(candidates)} candidates registered")

    # 2. reputations through RC (a stand-in writer in place of the system contracts)
    events = list(reputation_events) or [5, 3, 2, 1, *([0] * max(0, len(candidates) - 4))]
    writes: list[Any] = []
    for node, count in zip(candidates, events, strict=False):
        writes.append(rc.functions.recordParticipation(node.address, admin.address))
        writes.extend(rc.functions.reward(node.address) for _ in range(count))
        if count == 0:
            writes.append(rc.functions.penalize(node.address))
    session.as_writer(writes)
    report.note(console, f"{len(writes)} reputation events recorded through RC")

    # 3. first election
    first = _elect_next_term(w3, deployments, manager, rc, session.leaders, console)
    report.elections.append(first)
    if not first.reproduced:
        raise RuntimeError(f"election of term {first.term} differs from the Python re-computation")
    report.note(console, f"term {first.term} elected; the Python re-computation agrees bit for bit")
    return session


def reelect_after_reputation_changes(session: CommitteeSession) -> ElectionLine:
    """Step 4: the most reputable candidate of the last election is penalised until its reputation is no
    longer positive, the last candidate is rewarded six times, the next term starts and the re-election
    (checked against the Python re-computation) follows them."""
    report, rc, console = session.report, session.rc, session.console
    previous = report.elections[-1]
    top = max(previous.reputations, key=lambda a: previous.reputations[a])
    last = session.candidates[-1].address
    reputation_now = int(rc.functions.reputationOf(top).call())
    penalties = max(reputation_now, 0) // ONE + 1
    writes = [rc.functions.penalize(top) for _ in range(penalties)]
    writes.extend(rc.functions.reward(last) for _ in range(6))
    session.as_writer(writes)
    console.print(
        f"  reputation changes: {_short(top)} penalised {penalties} times, {_short(last)} rewarded six times"
    )
    line = _elect_next_term(session.w3, session.deployments, session.manager, rc, session.leaders, console)
    report.elections.append(line)
    if not line.reproduced:
        raise RuntimeError(f"election of term {line.term} differs from the Python re-computation")
    joined = [m for m in line.members if m not in previous.members]
    left = [m for m in previous.members if m not in line.members]
    report.note(
        console,
        f"term {line.term} re-elected after the reputation changes: "
        f"joined {[_short(a) for a in joined]}, left {[_short(a) for a in left]}",
    )
    return line


def pay_round_reward(session: CommitteeSession, funder: KeyPair) -> int:
    """Step 5: ``funder`` (holds MTC) funds the round-reward pool with β and a completed round is paid to the
    committee. Returns the amount each member received."""
    w3, deployments, manager = session.w3, session.deployments, session.manager
    beta = manager.functions.roundReward().call()
    erc20 = w3.eth.contract(address=manager.functions.token().call(), abi=_ERC20_ABI)
    funder_tx = _sender(w3, deployments, funder)
    funder_tx.send(erc20.functions.approve(manager.address, beta))
    funder_tx.send(manager.functions.fundRewards(beta))
    _mine(w3, manager.functions.roundBlocks().call())
    round_ = manager.functions.currentRound().call() - 1
    receipt = funder_tx.send(manager.functions.rewardRound(round_))
    paid = manager.events.RoundRewarded().process_receipt(receipt, errors=DISCARD)[0]["args"]
    session.report.reward_per_member = int(paid["amountPerMember"])
    session.report.note(
        session.console,
        f"round {round_} paid {paid['amountPerMember'] / ONE:.4f} MTC to each of {paid['members']} members",
    )
    return int(paid["amountPerMember"])


def run_committee_flow(session: CommitteeSession, *, funder: KeyPair | None = None) -> CommitteeFlowReport:
    """The whole flow in one call, on the session :func:`elect_committee` returns:
    ``run_committee_flow(elect_committee(...), funder=...)`` goes on with
    :func:`reelect_after_reputation_changes` and, with a ``funder`` holding MTC, :func:`pay_round_reward`
    (``make demo`` runs the ML-model task between the election and the re-election instead, scored by the
    elected committee)."""
    reelect_after_reputation_changes(session)
    if funder is not None:
        pay_round_reward(session, funder)
    return session.report


_ERC20_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "approve",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    }
]

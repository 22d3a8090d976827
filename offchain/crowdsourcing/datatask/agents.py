"""The data-crowdsourcing agents (seed 001, Algorithm 4.2): requester, data worker and oracle node.

* :class:`DataRequester` publishes f_data, escrows Θ + α in DC with its encryption key pk, decrypts every
  Sub_j after the deadline, fetches and checks the dataset against f_data and marks it honest or
  dishonest. ``false_marks`` makes it a cheating requester that marks chosen qualified datasets dishonest.
* :class:`DataWorker` stores its dataset encrypted (URL ‖ K, spec §4.3 extension), encrypts the keyed
  reference to pk with ECIES-lite in its slot's context (keeping the scalar e), submits it, and when marked
  dishonest disputes by revealing (URL, e) and asks every registered oracle to review the ticket.
* :class:`OracleNode` stakes in OracleManager and serves ``dc-review``: it reads the dispute (the revealed
  URL) and the task's f_data from the chain, fetches and checks the dataset itself, and votes;
  ``dishonest=True`` makes it vote against its own finding (to show the majority and the deduction).

Bad requests get 4xx answers with reasons (unknown ticket 404, resolved or already voted 409).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pydantic import BaseModel, Field
from web3.contract import Contract

from offchain.agents.client import AgentClient
from offchain.agents.discovery import find_peers
from offchain.agents.errors import AgentCallError, AgentError
from offchain.agents.service import Agent
from offchain.chain.errors import ChainError, ContractRevert
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.crowdsourcing.datatask.chain import DataTaskClient, DataTaskParams, OracleClient
from offchain.crowdsourcing.datatask.features import FeatureSpec, Verdict, check_dataset
from offchain.crypto import ecies_lite
from offchain.crypto.keys import KeyPair
from offchain.marketplace.reference import keyed_reference, parse_keyed_reference
from offchain.storage.base import ContentStore
from offchain.storage.cid import canonical_reference
from offchain.storage.encrypted import EncryptedStore
from offchain.storage.errors import StorageError

REVIEW_ACTION = "dc-review"


class ReviewRequest(BaseModel):
    """Ask an oracle to review the dispute behind ``ticket_id``."""

    ticket_id: int = Field(ge=1, lt=2**64)


class ReviewVote(BaseModel):
    """The oracle's vote and why."""

    ticket_id: int
    qualified: bool
    reason: str
    tx_hash: str


def fetch_and_check(store: ContentStore, spec: FeatureSpec, reference: bytes) -> Verdict:
    """Open the dataset behind a keyed reference and check it against f_data."""
    try:
        cid, content_key = parse_keyed_reference(reference)
        data = EncryptedStore(store).get_with_key(cid, content_key)
    except (ValueError, StorageError) as exc:
        return Verdict(False, f"the dataset cannot be fetched: {exc}")
    return check_dataset(spec, data)


def load_spec(store: ContentStore, uri: str) -> FeatureSpec:
    return FeatureSpec.from_json(store.get(uri.removeprefix("ipfs://")))


def _point_bytes(point: tuple[int, int]) -> bytes:
    return b"\x04" + point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


@dataclass
class DataRequester:
    """The ML worker who crowdsources data (MLW_i); ``encryption`` holds pk's secret."""

    key: KeyPair
    encryption: KeyPair
    dc: DataTaskClient
    token: Contract
    store: ContentStore
    false_marks: set[int] = field(default_factory=set)

    @property
    def key_point(self) -> tuple[int, int]:
        return ecies_lite.public_point(self.encryption.public_key)

    def create_task(
        self, spec: FeatureSpec, reward: int, compensation: int, deadline: int, **windows: int
    ) -> int:
        """Publish f_data and escrow Θ + α; returns the task id."""
        features_uri = canonical_reference(self.store.put(spec.to_json()))
        self.dc.approve(self.token, reward + compensation)
        params = DataTaskParams(reward, compensation, features_uri, self.key_point, deadline, **windows)
        task_id, _ = self.dc.create_task(params)
        return task_id

    def review(self, task_id: int) -> list[Verdict]:
        """Decrypt and check every submission (what the requester really finds)."""
        spec = load_spec(self.store, self.dc.features_uri(task_id))
        scalar = int.from_bytes(self.encryption.private_key, "big")
        verdicts = []
        for submission in self.dc.submissions(task_id):
            context = self.dc.encryption_context(task_id, submission.worker)
            reference = ecies_lite.decrypt(scalar, submission.ciphertext, context)
            verdicts.append(fetch_and_check(self.store, spec, reference))
        return verdicts

    def evaluate(self, task_id: int) -> list[bool]:
        """Mark every dataset (a cheating requester flips ``false_marks`` to dishonest) and send it."""
        marks = [v.qualified and i not in self.false_marks for i, v in enumerate(self.review(task_id))]
        self.dc.submit_evaluation(task_id, marks)
        return marks


@dataclass
class Contribution:
    """What a worker keeps about its submission: the keyed reference and the scalar e."""

    task_id: int
    index: int
    reference: bytes
    ephemeral: int


@dataclass
class DataWorker:
    """A data worker (DW_j)."""

    key: KeyPair
    dc: DataTaskClient
    store: ContentStore
    registry: RegistryClient
    contributions: dict[int, Contribution] = field(default_factory=dict)

    def submit(self, task_id: int, dataset: bytes) -> Contribution:
        """Store the dataset encrypted and submit Sub_j = Enc_pk(URL ‖ K) in this worker's slot."""
        ref, content_key = EncryptedStore(self.store).put(dataset, self.key.public_key)
        reference = keyed_reference(ref.cid, content_key)
        task = self.dc.task(task_id)
        context = self.dc.encryption_context(task_id, self.key.address)
        ephemeral = ecies_lite.draw_ephemeral()
        ciphertext = ecies_lite.encrypt(_point_bytes(task.key), reference, context, ephemeral=ephemeral)
        index, _ = self.dc.submit_dataset(task_id, ciphertext)
        contribution = Contribution(task_id, index, reference, ephemeral)
        self.contributions[task_id] = contribution
        return contribution

    def dispute(self, task_id: int) -> int:
        """Reveal (URL ‖ K, e) against a dishonest mark; returns the oracle ticket."""
        mine = self.contributions[task_id]
        ticket_id, _ = self.dc.dispute(task_id, mine.index, mine.reference, mine.ephemeral)
        return ticket_id

    async def ask_oracles(self, ticket_id: int) -> list[ReviewVote | AgentCallError]:
        """Ask every oracle registered in RSC to review the ticket; their answers (or errors)."""
        peers = [p for p in await find_peers(self.registry, ActorRole.ORACLE) if p.endpoint]
        results: list[ReviewVote | AgentCallError] = []
        async with AgentClient(self.key, timeout=60.0) as rpc:
            for peer in peers:
                try:
                    vote = await rpc.call(
                        peer.endpoint,
                        peer.address,
                        REVIEW_ACTION,
                        ReviewRequest(ticket_id=ticket_id),
                        ReviewVote,
                    )
                    results.append(vote)
                except AgentCallError as exc:
                    results.append(exc)
        return results


class OracleNode:
    """An oracle node: staked in OracleManager, votes on DC disputes after checking the evidence."""

    def __init__(
        self,
        key: KeyPair,
        oracles: OracleClient,
        dc: DataTaskClient,
        store: ContentStore,
        *,
        dishonest: bool = False,
        name: str = "oracle",
    ) -> None:
        self.key = key
        self.oracles = oracles
        self.dc = dc
        self.store = store
        self.dishonest = dishonest
        self.agent = Agent(key, name=name, role="oracle")
        self.agent.route(REVIEW_ACTION, ReviewRequest, self._on_review)

    def stake(self, token: Contract) -> None:
        """Approve and register (deposits the stake)."""
        self.oracles.approve(token, self.oracles.stake())
        self.oracles.register()

    def judge(self, ticket_id: int) -> Verdict:
        """Check the disputed dataset against its task's f_data (no chain writes)."""
        raised = self.dc.dispute_of_ticket(ticket_id)
        spec = load_spec(self.store, self.dc.features_uri(raised.task_id))
        return fetch_and_check(self.store, spec, raised.url)

    async def _on_review(self, sender: str, request: ReviewRequest) -> ReviewVote:
        ticket_id = request.ticket_id
        if ticket_id > await asyncio.to_thread(self.oracles.ticket_count):
            raise AgentError(404, "unknown-ticket", f"ticket {ticket_id} does not exist")
        ticket = await asyncio.to_thread(self.oracles.ticket, ticket_id)
        if ticket.resolved:
            raise AgentError(409, "resolved", f"ticket {ticket_id} is already resolved")
        if ticket.opener.lower() != self.dc.address.lower():
            raise AgentError(422, "foreign-ticket", f"ticket {ticket_id} was not opened by DC")
        try:
            verdict = await asyncio.to_thread(self.judge, ticket_id)
        except (LookupError, ValueError, StorageError, ChainError) as exc:
            raise AgentError(422, "no-evidence", f"cannot review ticket {ticket_id}: {exc}") from exc
        qualified = verdict.qualified != self.dishonest
        try:
            receipt = await asyncio.to_thread(self.oracles.vote, ticket_id, qualified)
        except ContractRevert as exc:
            raise AgentError(409, "refused-on-chain", str(exc), contract_error=exc.error_name) from exc
        return ReviewVote(
            ticket_id=ticket_id,
            qualified=qualified,
            reason=verdict.reason,
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        )

"""The agents of ML-model crowdsourcing (Algorithm 4.1) on the shared agent base.

* :class:`MspAgent` (requester): describes the task in storage, creates it on MLC with Θ escrowed,
  announces it to the ML workers it finds in RSC, seals D_val to the committee after the deadline,
  publishes it, asks the committee nodes to evaluate, finalises, and opens the best model.
* :class:`WorkerAgent` (MLW): on ``ml.task`` checks the task on chain, trains its recipe, exports ONNX,
  seals the file to the committee members and the requester, stores it and submits the reference.
* :class:`CommitteeAgent` (committee node): on ``ml.evaluate`` downloads D_val and every submitted model,
  admits each file only as ONNX (:mod:`.validator`), scores it with onnxruntime and reports on chain.

Bad requests get a 4xx with the reason (unknown task, closed window, not a member, …); a bad model file
scores 0 with its rejection recorded, and never stops an evaluation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from eth_account import Account
from pydantic import BaseModel, Field
from web3 import Web3

from offchain.agents.client import AgentClient
from offchain.agents.discovery import find_peers, lookup_peer
from offchain.agents.errors import AgentCallError, AgentError
from offchain.agents.runner import ROLE_SERVICES
from offchain.agents.service import Agent
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.errors import ContractRevert, TransactionFailed
from offchain.chain.events import get_events
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crowdsourcing.ml.client import MlcClient, TaskParams, TaskStatus, TaskView
from offchain.crowdsourcing.ml.evaluate import accuracy_score
from offchain.crowdsourcing.ml.models import DIGITS, RECIPES, Dataset, Recipe, digits_split, export_onnx
from offchain.crowdsourcing.ml.sealed import SealedBlobError, open_sealed, publish_sealed
from offchain.crowdsourcing.ml.validator import DEFAULT_MAX_MODEL_BYTES, ModelRejected, validate_model
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair
from offchain.storage import EncryptedStore, KuboRpcStore, LocalStore, canonical_reference

log = logging.getLogger(__name__)

MODEL_KIND = "onnx-model"
VALIDATION_KIND = "validation-data"
DESCRIPTION_FORMAT = "metatrust/mlc-task/v1"
MAX_VALIDATION_BYTES = 16 << 20
T = TypeVar("T")


# ---------------------------------------------------------------------------------------- messages


class TaskNotice(BaseModel):
    """``ml.task`` (MSP → worker) and ``ml.evaluate`` (MSP → committee node): act on this task."""

    task_id: int = Field(ge=1, le=2**64)


class SubmittedNotice(BaseModel):
    """``ml.submitted`` (worker → MSP): I submitted model ``index`` to ``task_id``."""

    task_id: int = Field(ge=1, le=2**64)
    index: int = Field(ge=0, le=31)


class Ack(BaseModel):
    ok: bool
    detail: str = ""


class SubmissionReceipt(BaseModel):
    """A worker's answer to ``ml.task``."""

    task_id: int
    index: int
    worker: str
    recipe: str
    model_uri: str
    model_bytes: int
    own_accuracy_on_training: int
    gas_used: int


class EvaluationReport(BaseModel):
    """A committee node's answer to ``ml.evaluate``."""

    task_id: int
    member: str
    scores: list[int]
    rejected: dict[int, str]
    validation_samples: int
    gas_used: int


@dataclass(frozen=True)
class TaskDescription:
    """T_desc: what the MSP asks for, stored (public) in content storage."""

    task: str
    features: int
    classes: int
    metric: str
    model_format: str

    def to_bytes(self) -> bytes:
        body = {"format": DESCRIPTION_FORMAT, **self.__dict__}
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> TaskDescription:
        try:
            body = json.loads(data)
            if body.get("format") != DESCRIPTION_FORMAT:
                raise ValueError(f"format {body.get('format')!r}")
            return cls(
                str(body["task"]), int(body["features"]), int(body["classes"]), str(body["metric"]),
                str(body["model_format"]),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a task description: {exc}") from None


DIGITS_TASK = TaskDescription("digits-8x8", DIGITS.features, DIGITS.classes, "accuracy", "onnx")


# ---------------------------------------------------------------------------------------- shared


class _Participant:
    """A funded account with an encryption key, its chain clients and its agent service."""

    def __init__(
        self,
        key: KeyPair,
        w3: Web3,
        deployments: Deployments,
        store: EncryptedStore,
        name: str,
        role: str,
        committee: str | None,
        agent: Agent | None = None,
    ) -> None:
        self.key = key
        self.encryption = encryption_keypair(key)
        self.sender = TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
        self.mlc = MlcClient(w3, deployments, self.sender, committee)
        self.registry = RegistryClient(contract(w3, deployments, "RSC"), self.sender)
        self.store = store
        self.agent = agent or Agent(key, name=name, role=role)

    @property
    def address(self) -> str:
        return self.key.address

    def register(self, roles: ActorRole) -> None:
        """Register in RSC with this agent's endpoint and encryption key (the agent must be running)."""
        self.registry.register(roles, self.encryption.compressed_public_key, self.agent.endpoint)

    async def start(self) -> None:
        await self.agent.start()

    async def stop(self) -> None:
        await self.agent.stop()

    async def committee_keys(self) -> dict[str, bytes]:
        """Encryption keys of the committee members registered in RSC (role COMMITTEE and ``isMember``)."""
        peers = await find_peers(self.registry, ActorRole.COMMITTEE)
        members = await asyncio.gather(*(asyncio.to_thread(self.mlc.is_member, p.address) for p in peers))
        return {
            peer.address: peer.encryption_key for peer, member in zip(peers, members, strict=True) if member
        }


async def _chain(call: Callable[[], T]) -> T:
    """Run a chain call off the event loop; reverts become 409 answers with the error's name."""
    try:
        return await asyncio.to_thread(call)
    except ContractRevert as exc:
        raise AgentError(409, "chain-revert", str(exc), error=exc.error_name) from None
    except TransactionFailed as exc:
        raise AgentError(502, "chain-failed", str(exc)[:500]) from None


async def _task_or_404(client: MlcClient, task_id: int) -> TaskView:
    task = await asyncio.to_thread(client.task, task_id)
    if not task.exists:
        raise AgentError(404, "unknown-task", f"MLC has no task {task_id}")
    return task


def _description_uri(client: MlcClient, task_id: int) -> str:
    for event in get_events(client.mlc, "ModelTaskCreated"):
        if int(event["args"]["taskId"]) == task_id:
            return str(event["args"]["descURI"])
    raise LookupError(f"no ModelTaskCreated event for task {task_id}")


# ---------------------------------------------------------------------------------------- worker


class WorkerAgent(_Participant):
    """An ML worker that trains ``recipe`` on its own data ``pool`` when a requester announces a task."""

    def __init__(
        self,
        key: KeyPair,
        recipe: Recipe,
        pool: Dataset,
        w3: Web3,
        deployments: Deployments,
        store: EncryptedStore,
        committee: str | None = None,
        seed: int = 0,
        agent: Agent | None = None,
    ) -> None:
        name = f"ml-worker-{recipe.name}"
        super().__init__(key, w3, deployments, store, name, "ml-worker", committee, agent)
        self.recipe = recipe
        self.pool = pool
        self.seed = seed
        self.submissions: dict[int, SubmissionReceipt] = {}
        self._lock = asyncio.Lock()
        self.agent.route("ml.task", TaskNotice, self._on_task)

    async def _on_task(self, sender: str, notice: TaskNotice) -> SubmissionReceipt:
        async with self._lock:  # one task at a time: training is CPU-bound
            task = await _task_or_404(self.mlc, notice.task_id)
            if task.requester != Web3.to_checksum_address(sender):
                raise AgentError(403, "not-requester", f"only task {notice.task_id}'s requester announces it")
            if task.status is not TaskStatus.OPEN or await asyncio.to_thread(self.mlc.now) >= task.deadline:
                raise AgentError(409, "submissions-closed", f"task {notice.task_id} no longer takes models")
            if notice.task_id in self.submissions:
                raise AgentError(409, "already-submitted", f"already submitted to task {notice.task_id}")
            stats = await asyncio.to_thread(self.mlc.stats, self.address)
            if stats.reputation < task.min_reputation:
                raise AgentError(
                    409, "reputation-too-low", f"reputation {stats.reputation} < R_min {task.min_reputation}"
                )
            try:
                desc_uri = await asyncio.to_thread(_description_uri, self.mlc, notice.task_id)
                description = TaskDescription.from_bytes(
                    await asyncio.to_thread(self.store.backend.get, desc_uri.removeprefix("ipfs://"))
                )
            except (LookupError, ValueError) as exc:
                raise AgentError(422, "bad-description", str(exc)) from None
            if (description.features, description.classes, description.model_format) != (
                DIGITS.features,
                DIGITS.classes,
                "onnx",
            ):
                raise AgentError(422, "unsupported-task", f"this worker cannot serve {description}")
            recipients = await self.committee_keys()
            if not recipients:
                raise AgentError(409, "no-committee", "no committee member has a registered encryption key")
            requester = await lookup_peer(self.registry, task.requester)
            if requester is None:
                raise AgentError(409, "requester-unregistered", f"{task.requester} is not active in RSC")
            recipients[requester.address] = requester.encryption_key
            model_bytes, training_accuracy = await asyncio.to_thread(self._train)
            model_uri = await asyncio.to_thread(
                publish_sealed, self.store, model_bytes, recipients, MODEL_KIND
            )
            index, receipt = await _chain(lambda: self.mlc.submit_model(notice.task_id, model_uri))
            result = SubmissionReceipt(
                task_id=notice.task_id,
                index=index,
                worker=self.address,
                recipe=self.recipe.name,
                model_uri=model_uri,
                model_bytes=len(model_bytes),
                own_accuracy_on_training=training_accuracy,
                gas_used=int(receipt["gasUsed"]),
            )
            self.submissions[notice.task_id] = result
        try:  # tell the requester (best effort: the chain is the record)
            async with AgentClient(self.key) as rpc:
                await rpc.call(
                    requester.endpoint, requester.address, "ml.submitted",
                    SubmittedNotice(task_id=notice.task_id, index=index), Ack,
                )  # fmt: skip
        except AgentCallError as exc:
            log.warning("worker %s: requester did not take the notice: %s", self.address, exc)
        return result

    def _train(self) -> tuple[bytes, int]:
        estimator = self.recipe.train(self.pool, self.seed)
        data = export_onnx(estimator)
        model = validate_model(data, DIGITS)  # never submit what a committee would reject
        return data, accuracy_score(model, self.pool)


# ---------------------------------------------------------------------------------------- committee


class CommitteeAgent(_Participant):
    """A committee node: evaluates every submission of a task on D_val and reports the scores."""

    def __init__(
        self,
        key: KeyPair,
        w3: Web3,
        deployments: Deployments,
        store: EncryptedStore,
        committee: str | None = None,
        name: str = "committee-node",
        max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES,
        agent: Agent | None = None,
    ) -> None:
        super().__init__(key, w3, deployments, store, name, "committee", committee, agent)
        self.max_model_bytes = max_model_bytes
        self.reports: dict[int, EvaluationReport] = {}
        self._lock = asyncio.Lock()
        self.agent.route("ml.evaluate", TaskNotice, self._on_evaluate)

    async def _on_evaluate(self, sender: str, notice: TaskNotice) -> EvaluationReport:
        async with self._lock:
            task = await _task_or_404(self.mlc, notice.task_id)
            if Web3.to_checksum_address(sender) != task.requester and not await asyncio.to_thread(
                self.mlc.is_member, sender
            ):  # evaluation costs CPU: only the requester or a fellow member may ask for it
                raise AgentError(
                    403, "not-requester", f"only task {notice.task_id}'s requester or a member asks"
                )
            if notice.task_id in self.reports:  # asked again: the same report
                return self.reports[notice.task_id]
            if not await asyncio.to_thread(self.mlc.is_member, self.address):
                raise AgentError(409, "not-a-member", f"{self.address} is not on the committee")
            if task.status is not TaskStatus.EVALUATING:
                raise AgentError(
                    409, "not-evaluating", f"task {notice.task_id} is {task.status.name.lower()}"
                )
            if await asyncio.to_thread(self.mlc.scores_of, notice.task_id, self.address):
                raise AgentError(409, "already-reported", f"already reported on task {notice.task_id}")
            report = await asyncio.to_thread(self._evaluate, notice.task_id)
            receipt = await _chain(lambda: self.mlc.submit_scores(notice.task_id, report.scores))
            report.gas_used = int(receipt["gasUsed"])
            self.reports[notice.task_id] = report
            return report

    def _evaluate(self, task_id: int) -> EvaluationReport:
        uri = self.mlc.validation_uri(task_id)
        if uri is None:
            raise AgentError(409, "no-validation-data", f"task {task_id} has no published D_val")
        try:
            validation = Dataset.from_bytes(
                open_sealed(
                    self.store, uri, self.address, self.encryption, VALIDATION_KIND, MAX_VALIDATION_BYTES
                )
            )
        except SealedBlobError as exc:
            raise AgentError(422, f"validation-{exc.code}", exc.reason) from None
        except ValueError as exc:
            raise AgentError(422, "bad-validation-data", str(exc)) from None
        scores: list[int] = []
        rejected: dict[int, str] = {}
        for submission in self.mlc.submissions(task_id):
            try:
                data = open_sealed(
                    self.store,
                    submission.model_uri,
                    self.address,
                    self.encryption,
                    MODEL_KIND,
                    self.max_model_bytes,
                )
                scores.append(accuracy_score(validate_model(data, DIGITS, self.max_model_bytes), validation))
            except (SealedBlobError, ModelRejected) as exc:
                code = getattr(exc, "code", "rejected")
                rejected[submission.index] = f"{code}: {getattr(exc, 'reason', str(exc))}"
                scores.append(0)
        return EvaluationReport(
            task_id=task_id,
            member=self.address,
            scores=scores,
            rejected=rejected,
            validation_samples=len(validation),
            gas_used=0,
        )


# ---------------------------------------------------------------------------------------- requester


@dataclass(frozen=True)
class BestModel:
    """What the requester gets at the end: the best model's file, re-checked and re-scored by itself."""

    index: int
    worker: str
    model_uri: str
    data: bytes
    accuracy: int


class MspAgent(_Participant):
    """The requester (MSP): owns D_val, creates and drives one or more tasks."""

    def __init__(
        self,
        key: KeyPair,
        validation: Dataset,
        w3: Web3,
        deployments: Deployments,
        store: EncryptedStore,
        committee: str | None = None,
    ) -> None:
        super().__init__(key, w3, deployments, store, "msp", "msp", committee)
        self.validation = validation
        self.notices: dict[int, dict[int, str]] = {}
        self.agent.route("ml.submitted", SubmittedNotice, self._on_submitted)

    async def _on_submitted(self, sender: str, notice: SubmittedNotice) -> Ack:
        task = await _task_or_404(self.mlc, notice.task_id)
        if task.requester != self.address:
            raise AgentError(404, "not-my-task", f"task {notice.task_id} belongs to {task.requester}")
        submissions = await asyncio.to_thread(self.mlc.submissions, notice.task_id)
        if notice.index >= len(submissions) or submissions[notice.index].worker != Web3.to_checksum_address(
            sender
        ):
            raise AgentError(422, "no-such-submission", f"{sender} has no model {notice.index} on chain")
        self.notices.setdefault(notice.task_id, {})[notice.index] = sender
        return Ack(ok=True, detail=f"model {notice.index} of task {notice.task_id} noted")

    def create_task(
        self,
        reward: int,
        deadline: int,
        threshold: int,
        *,
        min_reputation: int = 0,
        publish_window: int = 3_600,
        evaluation_window: int = 3_600,
        max_submissions: int = 8,
        description: TaskDescription = DIGITS_TASK,
    ) -> tuple[int, int]:
        """Store T_desc and create the task with Θ escrowed; returns (task id, gas of approve + create)."""
        desc_uri = canonical_reference(self.store.backend.put(description.to_bytes()))
        params = TaskParams(
            reward,
            desc_uri,
            deadline,
            min_reputation,
            threshold,
            publish_window,
            evaluation_window,
            max_submissions,
        )
        task_id, receipts = self.mlc.create_task(params)
        return task_id, sum(int(r["gasUsed"]) for r in receipts)

    async def _call_all(
        self,
        roles: ActorRole,
        action: str,
        task_id: int,
        model: type[Any],
        keep: Callable[[str], Awaitable[bool]],
    ) -> dict[str, Any]:
        # a node without an endpoint holds the role but runs no service (e.g. a client-only registration)
        peers = [
            peer
            for peer in await find_peers(self.registry, roles)
            if peer.endpoint and await keep(peer.address)
        ]
        async with AgentClient(self.key, timeout=300.0) as rpc:
            answers = await asyncio.gather(
                *(rpc.call(p.endpoint, p.address, action, TaskNotice(task_id=task_id), model) for p in peers),
                return_exceptions=True,
            )
        results: dict[str, Any] = {}
        for peer, answer in zip(peers, answers, strict=True):
            if isinstance(answer, BaseException) and not isinstance(answer, Exception):
                raise answer
            results[peer.address] = answer
        return results

    async def announce(self, task_id: int) -> dict[str, SubmissionReceipt | Exception]:
        """Tell every ML worker in RSC about the task; answers (or errors) by worker address."""

        async def everyone(_: str) -> bool:
            return True

        return await self._call_all(ActorRole.ML_WORKER, "ml.task", task_id, SubmissionReceipt, everyone)

    async def publish_validation(self, task_id: int) -> tuple[str, int, list[str]]:
        """Seal D_val to the committee members in RSC, publish its URI on MLC; returns (URI, gas, readers)."""
        recipients = await self.committee_keys()
        if not recipients:
            raise RuntimeError("no committee member has a registered encryption key")
        uri = await asyncio.to_thread(
            publish_sealed, self.store, self.validation.to_bytes(), recipients, VALIDATION_KIND
        )
        receipt = await asyncio.to_thread(self.mlc.publish_validation_data, task_id, uri)
        return uri, int(receipt["gasUsed"]), sorted(recipients)

    async def request_evaluation(self, task_id: int) -> dict[str, EvaluationReport | Exception]:
        """Ask every committee node in RSC that sits on the committee to evaluate the task."""

        async def member(address: str) -> bool:
            return await asyncio.to_thread(self.mlc.is_member, address)

        return await self._call_all(ActorRole.COMMITTEE, "ml.evaluate", task_id, EvaluationReport, member)

    def best_model(self, task_id: int) -> BestModel:
        """Open the selected model (sealed to the requester too), validate it and score it on D_val."""
        task = self.mlc.task(task_id)
        if task.status is not TaskStatus.FINALIZED:
            raise RuntimeError(f"task {task_id} has no selected model (status {task.status.name})")
        submission = self.mlc.submissions(task_id)[task.best_index]
        data = open_sealed(
            self.store,
            submission.model_uri,
            self.address,
            self.encryption,
            MODEL_KIND,
            DEFAULT_MAX_MODEL_BYTES,
        )
        accuracy = accuracy_score(validate_model(data, DIGITS), self.validation)
        return BestModel(task.best_index, submission.worker, submission.model_uri, data, accuracy)


# ---------------------------------------------------------------------------------------- metatrust agent run


def default_store() -> EncryptedStore:
    """The store of a long-running agent: Kubo's RPC at ``METATRUST_KUBO_API`` when set, else the embedded
    store in ``METATRUST_STORAGE_DIR`` (default ``~/.metatrust/storage``, as ``metatrust storage``)."""
    api = os.environ.get("METATRUST_KUBO_API")
    if api:
        return EncryptedStore(KuboRpcStore(api))
    root = os.environ.get("METATRUST_STORAGE_DIR", str(Path.home() / ".metatrust" / "storage"))
    return EncryptedStore(LocalStore(root))


def _context(registry: RegistryClient) -> tuple[Web3, Deployments]:
    sender = registry.sender
    if sender is None or sender.deployments is None:
        raise RuntimeError("the ML services need a registry client whose sender knows the deployments")
    return sender.w3, sender.deployments


def install_committee_service(agent: Agent, registry: RegistryClient, encryption_key: KeyPair) -> None:
    """``ROLE_SERVICES`` installer for ``metatrust agent run committee``: serves ``ml.evaluate``."""
    w3, deployments = _context(registry)
    CommitteeAgent(agent.keypair, w3, deployments, default_store(), name=agent.name, agent=agent)


def install_worker_service(agent: Agent, registry: RegistryClient, encryption_key: KeyPair) -> None:
    """``ROLE_SERVICES`` installer for ``metatrust agent run ml-worker``: serves ``ml.task`` with the recipe
    named by ``METATRUST_ML_RECIPE`` (default ``logistic-full``) on its share of the digits data."""
    w3, deployments = _context(registry)
    recipe = RECIPES[os.environ.get("METATRUST_ML_RECIPE", "logistic-full")]
    pool, _ = digits_split()
    WorkerAgent(agent.keypair, recipe, pool, w3, deployments, default_store(), agent=agent)


ROLE_SERVICES.update(
    {ActorRole.COMMITTEE: install_committee_service, ActorRole.ML_WORKER: install_worker_service}
)

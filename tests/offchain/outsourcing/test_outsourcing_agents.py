"""Meta-BMEOC with real CSN agents on loopback and the devnet: demo flow, refused tasks, concurrency."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from rich.console import Console
from typer.testing import CliRunner

from offchain import cli
from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.chain.connection import connect, contract
from offchain.chain.deployments import Deployments, load_deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.chain.registry import RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, derive, from_private_key
from offchain.deploy import Deployment, write_deployments
from offchain.outsourcing import get_field, prepare_task, random_dense
from offchain.outsourcing.client import outsource
from offchain.outsourcing.flow import csn_fleet, live_csns, run_outsourcing_flow
from offchain.outsourcing.task import Share, TaskTransaction, build_task_transaction
from offchain.outsourcing.wire import (
    ACTION,
    ComputeRequest,
    ComputeResponse,
    TaskTransactionModel,
    seal_share,
)

QUIET = Console(quiet=True)
pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def deployments_path(platform: Deployment, tmp_path_factory: pytest.TempPathFactory, chain: Any) -> Path:
    return write_deployments(platform, chain.provider.uri, root=tmp_path_factory.mktemp("deployments"))


@pytest.fixture(scope="module")
def deployments(deployments_path: Path) -> Deployments:
    return load_deployments(deployments_path)


@pytest.fixture(scope="module")
def w3(deployments: Deployments) -> Any:
    return connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)


def key_of(account: Any) -> KeyPair:
    return from_private_key(account.private_key)


def test_demo_flow_verifies_the_honest_task_and_flags_the_cheater(
    w3: Any, deployments: Deployments, auditor: Any, accounts: Any
) -> None:
    report = asyncio.run(
        run_outsourcing_flow(
            w3,
            deployments,
            key_of(auditor),
            key_of(accounts[7]),
            QUIET,
            k=12,
            d=2,
            t=2,
            cheats=(0, 1, 2),
            seed=3,
        )
    )
    honest, one, two = report.outcomes
    assert honest.verification.accepted
    assert honest.value == report.expected[0]
    assert honest.accountability is None  # accountability runs only after a failed verification
    for outcome, cheaters in ((one, report.cheaters[1]), (two, report.cheaters[2])):
        assert not outcome.verification.accepted
        assert outcome.value is None
        assert outcome.accountability is not None
        assert outcome.accountability.valid
        assert sorted(outcome.accountability.flagged) == sorted(cheaters)
    assert len(report.cheaters[2]) == 2
    assert report.replay_status == 409
    reader = RegistryClient(contract(w3, deployments, "RSC"))
    providers = [reader.node(r.address).provider for r in honest.group]
    assert max(providers.count(p) for p in providers) <= 2  # at most t per provider


def _registry(w3: Any, deployments: Deployments, key: KeyPair) -> RegistryClient:
    return RegistryClient(
        contract(w3, deployments, "RSC"),
        TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments),
    )


def test_bad_tasks_get_4xx_and_are_not_computed(
    w3: Any, deployments: Deployments, auditor: Any, accounts: Any
) -> None:
    mtd, stranger = key_of(accounts[8]), derive(b"bmeoc-test-stranger", 0)
    keys = [derive(b"bmeoc-test-csn-b", i) for i in range(4)]
    field = get_field()
    polynomial = random_dense(field, 5, 2, random.Random(1))
    fund_on_devnet(w3, [mtd.address, stranger.address])
    _registry(w3, deployments, mtd).register(ActorRole.MTD, encryption_keypair(mtd).compressed_public_key, "")

    async def scenario() -> dict[str, tuple[int, str]]:
        answers: dict[str, tuple[int, str]] = {}
        async with csn_fleet(w3, deployments, key_of(auditor), keys, QUIET) as fleet:
            member = fleet[0]
            record = _registry(w3, deployments, mtd).node(member.key.address)
            task = prepare_task(mtd, polynomial, field.random_elements(5), 1, rng=random.Random(2))
            tx = task.transaction

            def request(
                transaction: TaskTransaction, share: Share, j: int = 1, key: bytes | None = None
            ) -> ComputeRequest:
                sealed = seal_share(
                    field,
                    key or record.encryption_key,
                    share,
                    transaction.task_id,
                    record.address,
                    transaction.mtd,
                )
                return ComputeRequest(
                    transaction=TaskTransactionModel.of(transaction),
                    j=j,
                    sealed_share=sealed,
                    polynomial=polynomial.to_wire(),
                )

            good = task.shares[0]
            tampered = Share(1, good.v, (good.w + 1) % field.q)
            other_mtd_tx = build_task_transaction(
                stranger, task.params, polynomial.digest(), tx.task_hashes, task_id=tx.task_id
            )
            cases = {
                "tampered share": (mtd, request(tx, tampered)),
                "wrong key": (mtd, request(tx, good, key=encryption_keypair(mtd).compressed_public_key)),
                "TX_t of another MTD": (mtd, request(other_mtd_tx, good)),
                "unregistered sender": (stranger, request(tx, good)),
                "index beyond m": (mtd, request(tx, good, j=9)),
            }
            for name, (sender, payload) in cases.items():
                async with AgentClient(sender) as rpc:
                    with pytest.raises(AgentCallError) as refused:
                        await rpc.call(member.agent.endpoint, member.key.address, ACTION, payload)
                    answers[name] = (refused.value.status, refused.value.code)
            assert member.state.computed == 0  # nothing refused was computed
            async with AgentClient(mtd) as rpc:
                result = await rpc.call(
                    member.agent.endpoint, member.key.address, ACTION, request(tx, good), ComputeResponse
                )
                assert result.j == 1
                with pytest.raises(AgentCallError) as replay:
                    await rpc.call(member.agent.endpoint, member.key.address, ACTION, request(tx, good))
                answers["replayed task"] = (replay.value.status, replay.value.code)
            assert member.state.computed == 1
        return answers

    answers = asyncio.run(scenario())
    assert answers == {
        "tampered share": (422, "share-mismatch"),
        "wrong key": (422, "undecryptable"),
        "TX_t of another MTD": (403, "wrong-mtd"),
        "unregistered sender": (403, "forbidden"),
        "index beyond m": (422, "bad-index"),
        "replayed task": (409, "replayed-task"),
    }


def test_concurrent_tasks_on_the_same_agents(
    w3: Any, deployments: Deployments, auditor: Any, accounts: Any
) -> None:
    mtd = key_of(accounts[9])
    keys = [derive(b"bmeoc-test-csn-c", i) for i in range(4)]
    field = get_field()
    polynomial = random_dense(field, 8, 2, random.Random(4))
    fund_on_devnet(w3, [mtd.address])
    registry = _registry(w3, deployments, mtd)
    registry.register(ActorRole.MTD, encryption_keypair(mtd).compressed_public_key, "")

    async def scenario() -> list[tuple[int | None, int]]:
        async with csn_fleet(w3, deployments, key_of(auditor), keys, QUIET) as fleet, AgentClient(mtd) as rpc:
            addresses = {m.key.address for m in fleet}
            candidates = [r for r in await live_csns(registry) if r.address in addresses]
            inputs = [field.random_elements(8) for _ in range(3)]
            outcomes = await asyncio.gather(
                *(outsource(mtd, rpc, polynomial, x, 1, candidates) for x in inputs)
            )
            return [(o.value, polynomial.evaluate(x)) for o, x in zip(outcomes, inputs, strict=True)]

    for value, expected in asyncio.run(scenario()):
        assert value == expected


@pytest.mark.parametrize("cheat", [0, 1])
def test_outsource_command(deployments_path: Path, accounts: Any, auditor: Any, cheat: int) -> None:
    auditor_index = next(i for i in range(10) if accounts[i].address == auditor.address)
    result = CliRunner().invoke(
        cli.app,
        [
            "outsource",
            *("--k", "6", "--d", "2", "--t", "1", "--cheat", str(cheat), "--seed", "5"),
            *(
                "--deployments",
                str(deployments_path),
                "--mtd-index",
                "5",
                "--auditor-index",
                str(auditor_index),
            ),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    if cheat:
        assert "Algorithm 1" in text
        assert "exactly the cheaters" in text
    else:
        assert "verified, F(x) reconstructed (correct)" in text


def test_agent_run_installs_the_csn_action_for_mtds_only(
    w3: Any, deployments: Deployments, accounts: Any
) -> None:
    from offchain.agents.runner import ROLE_SERVICES
    from offchain.agents.service import Agent

    csn, other = derive(b"bmeoc-test-runner", 0), key_of(accounts[6])
    registry = _registry(w3, deployments, csn)
    agent = Agent(csn, "csn", authorizer=None)
    ROLE_SERVICES[ActorRole.CSN](agent, registry, encryption_keypair(csn))
    assert ACTION in agent.actions
    assert agent.authorizer is not None
    fund_on_devnet(w3, [other.address])
    _registry(w3, deployments, other).register(
        ActorRole.AVATAR, encryption_keypair(other).compressed_public_key, ""
    )
    assert not asyncio.run(agent.authorizer(other.address, ACTION))  # active, but not an MTD
    assert asyncio.run(agent.authorizer(other.address, "sealed-note"))


def test_f_is_sent_once_per_csn_and_again_after_eviction(
    w3: Any, deployments: Deployments, auditor: Any, accounts: Any
) -> None:
    mtd = key_of(accounts[9])
    keys = [derive(b"bmeoc-test-csn-d", i) for i in range(4)]
    field = get_field()
    polynomial = random_dense(field, 8, 2, random.Random(6))
    fund_on_devnet(w3, [mtd.address])
    registry = _registry(w3, deployments, mtd)
    registry.register(ActorRole.MTD, encryption_keypair(mtd).compressed_public_key, "")

    async def scenario() -> list[bool]:
        delivered: set[tuple[str, bytes]] = set()
        async with csn_fleet(w3, deployments, key_of(auditor), keys, QUIET) as fleet, AgentClient(mtd) as rpc:
            addresses = {m.key.address for m in fleet}
            candidates = [r for r in await live_csns(registry) if r.address in addresses]
            correct = []
            for round_ in range(3):
                if round_ == 2:
                    fleet[0].state.polynomials.clear()  # the CSN evicted F: it answers 422, the MTD resends F
                x = field.random_elements(8)
                outcome = await outsource(mtd, rpc, polynomial, x, 1, candidates, delivered=delivered)
                correct.append(outcome.value == polynomial.evaluate(x))
            assert len(delivered) == 4
            return correct

    assert asyncio.run(scenario()) == [True, True, True]

"""TaskManager (seed 004, spec §2.4, §2.13, §3.2.6, §3.2.7, R3, R4): task requirements, scheduling on RSC
servers, acceptance, deadlines, the co-signed sandbox key and its invalidation, and every revert path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ape
import pytest
from web3compute_fixtures import PROGRAM_HASH, Actors, requirements

from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, derive, from_private_key
from offchain.web3compute.tasks import (
    TaskStatus,
    Topology,
    sandbox_key_digest,
    sign_sandbox_key,
    task_domain,
    task_id_of,
)

ZERO = "0x0000000000000000000000000000000000000000"
SANDBOX_ENC = derive(b"sandbox", 1).compressed_public_key
SANDBOX_SIGNER = derive(b"sandbox", 2).address
WEB3_USER, SERVICE_PROVIDER = 1 << 17, 1 << 20


def key_of(account: Any) -> KeyPair:
    return from_private_key(account.private_key)


def signatures(task_manager: Any, chain: Any, task_id: bytes, servers: list[Any]) -> list[bytes]:
    domain = task_domain(int(chain.chain_id), str(task_manager.address))
    return [
        sign_sandbox_key(key_of(s), domain, task_id, SANDBOX_ENC, SANDBOX_SIGNER, PROGRAM_HASH)
        for s in servers
    ]


def status(task_manager: Any, task_id: bytes) -> TaskStatus:
    return TaskStatus(int(task_manager.getTask(task_id).status))


def create(task_manager: Any, actors: Actors, **overrides: Any) -> bytes:
    task_manager.createTask(requirements(actors, **overrides).as_tuple(), sender=actors.user)
    return task_id_of(int(task_manager.taskCount()))


@pytest.fixture
def ready(task_manager: Any, actors: Actors, chain: Any, start_task: Callable[..., bytes]) -> bytes:
    """A task whose sandbox key is registered (status SandboxReady)."""
    task_id = start_task()
    sigs = signatures(task_manager, chain, task_id, actors.compute)
    task_manager.registerSandboxKey(task_id, SANDBOX_ENC, SANDBOX_SIGNER, sigs, sender=actors.compute[0])
    return task_id


# ------------------------------------------------------------------------------------------- creation


def test_create_task_records_the_requirements(task_manager: Any, actors: Actors) -> None:
    req = requirements(actors)
    receipt = task_manager.createTask(req.as_tuple(), sender=actors.user)
    task_id = task_id_of(1)
    assert receipt.events == [
        task_manager.TaskCreated(
            task_id, actors.user, actors.provider, PROGRAM_HASH, 3, 1, int(Topology.STAR)
        )
    ]
    record = task_manager.getTask(task_id)
    assert record.user == actors.user.address
    assert TaskStatus(int(record.status)) is TaskStatus.CREATED
    assert tuple(record.requirements)[:3] == (actors.provider.address, PROGRAM_HASH, req.data_type)
    assert task_manager.taskCount() == 1


def test_create_task_requires_a_registered_user_and_service_provider(
    task_manager: Any, actors: Actors, accounts: Any
) -> None:
    with ape.reverts(task_manager.MissingRole, account=actors.provider.address, roles=WEB3_USER):
        task_manager.createTask(requirements(actors).as_tuple(), sender=actors.provider)
    bad = requirements(actors, service_provider=actors.user.address)
    with ape.reverts(task_manager.MissingRole, account=actors.user.address, roles=SERVICE_PROVIDER):
        task_manager.createTask(bad.as_tuple(), sender=actors.user)
    with ape.reverts(task_manager.ZeroAddress):
        task_manager.createTask(requirements(actors, service_provider=ZERO).as_tuple(), sender=actors.user)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"program_hash": bytes(32)}, "programHash is zero"),
        ({"compute_nodes": 0}, "computeNodes outside 1..MAX_NODES"),
        ({"compute_nodes": 17}, "computeNodes outside 1..MAX_NODES"),
        ({"compute_nodes": 1}, "a star needs 2 nodes"),
        ({"storage_nodes": 17}, "storageNodes above MAX_NODES"),
        ({"accept_window": 0}, "acceptWindow outside 1..MAX_WINDOW"),
        ({"accept_window": 30 * 86_400 + 1}, "acceptWindow outside 1..MAX_WINDOW"),
        ({"duration": 0}, "duration outside 1..MAX_WINDOW"),
    ],
)
def test_invalid_requirements_revert_with_the_reason(
    task_manager: Any, actors: Actors, overrides: dict[str, Any], reason: str
) -> None:
    with ape.reverts(task_manager.InvalidRequirements, reason=reason):
        task_manager.createTask(requirements(actors, **overrides).as_tuple(), sender=actors.user)


def test_a_single_node_task_is_allowed_with_the_full_topology(task_manager: Any, actors: Actors) -> None:
    task_id = create(task_manager, actors, compute_nodes=1, topology=Topology.FULL)
    assert status(task_manager, task_id) is TaskStatus.CREATED


def test_constructor_rejects_a_zero_registry(project: Any, deployer: Any) -> None:
    with ape.reverts(project.TaskManager.ZeroAddress):
        deployer.deploy(project.TaskManager, ZERO)


# ------------------------------------------------------------------------------------------- scheduling


def test_schedule_and_accept_start_the_task(task_manager: Any, actors: Actors) -> None:
    task_id = create(task_manager, actors)
    receipt = task_manager.schedule(task_id, actors.compute, actors.storage, sender=actors.user)
    accept_by = receipt.timestamp + 600
    compute = [s.address for s in actors.compute]
    storage = [s.address for s in actors.storage]
    assert receipt.events == [task_manager.TaskScheduled(task_id, compute, storage, compute[0], accept_by)]
    assert all(bytes(task_manager.busyWith(s)) == task_id for s in compute)
    assert status(task_manager, task_id) is TaskStatus.SCHEDULED
    servers = [*actors.compute, *actors.storage]
    for server in servers[:-1]:
        assert task_manager.acceptTask(task_id, sender=server).events == [
            task_manager.TaskAccepted(task_id, server)
        ]
    last = task_manager.acceptTask(task_id, sender=servers[-1])
    assert last.events == [
        task_manager.TaskAccepted(task_id, servers[-1]),
        task_manager.TaskRunning(task_id, last.timestamp + 3_600),
    ]
    record = task_manager.getTask(task_id)
    assert TaskStatus(int(record.status)) is TaskStatus.ACCEPTED
    assert record.globalNode == compute[0]
    assert int(record.accepted) == 4
    assert task_manager.mayOpenChannel(task_id, compute[0], compute[2])


def test_schedule_checks_the_caller_counts_roles_resources_duplicates_and_busy_servers(
    task_manager: Any, actors: Actors, accounts: Any, start_task: Callable[..., bytes]
) -> None:
    task_id = create(task_manager, actors)
    compute, storage = actors.compute, actors.storage
    with ape.reverts(task_manager.NotTaskUser, taskId=task_id, caller=actors.provider.address):
        task_manager.schedule(task_id, compute, storage, sender=actors.provider)
    with ape.reverts(task_manager.UnknownTask, taskId=task_id_of(42)):
        task_manager.schedule(task_id_of(42), compute, storage, sender=actors.user)
    with ape.reverts(task_manager.ServerCountMismatch, compute=2, storage_=1):
        task_manager.schedule(task_id, compute[:2], storage, sender=actors.user)
    with ape.reverts(task_manager.IneligibleServer, server=storage[0].address, reason="role"):
        task_manager.schedule(task_id, [compute[0], compute[1], storage[0]], storage, sender=actors.user)
    with ape.reverts(task_manager.IneligibleServer, server=compute[0].address, reason="role"):
        task_manager.schedule(task_id, compute, [compute[0]], sender=actors.user)
    with ape.reverts(task_manager.IneligibleServer, server=accounts[5].address, reason="role"):
        task_manager.schedule(task_id, [*compute[:2], accounts[5]], storage, sender=actors.user)
    with ape.reverts(task_manager.DuplicateServer, server=compute[0].address):
        task_manager.schedule(task_id, [compute[0], compute[1], compute[0]], storage, sender=actors.user)
    for overrides, reason in (
        ({"min_cpu_cores": 9}, "cpu cores"),
        ({"min_bandwidth_mbps": 1_001}, "bandwidth"),
        ({"min_storage_gib": 2_001}, "storage"),
    ):
        demanding = create(task_manager, actors, **overrides)
        server = storage[0] if reason == "storage" else compute[0]
        with ape.reverts(task_manager.IneligibleServer, server=server.address, reason=reason):
            task_manager.schedule(demanding, compute, storage, sender=actors.user)
    busy_task = start_task()
    with ape.reverts(task_manager.ServerBusy, server=compute[0].address, taskId=busy_task):
        task_manager.schedule(task_id, compute, storage, sender=actors.user)


def test_accept_requires_an_assigned_server_once_and_in_time(
    task_manager: Any, actors: Actors, accounts: Any, chain: Any
) -> None:
    task_id = create(task_manager, actors)
    with ape.reverts(task_manager.WrongStatus, taskId=task_id, status=int(TaskStatus.CREATED)):
        task_manager.acceptTask(task_id, sender=actors.compute[0])
    receipt = task_manager.schedule(task_id, actors.compute, actors.storage, sender=actors.user)
    with ape.reverts(task_manager.NotAssigned, taskId=task_id, caller=accounts[5].address):
        task_manager.acceptTask(task_id, sender=accounts[5])
    task_manager.acceptTask(task_id, sender=actors.storage[0])
    with ape.reverts(task_manager.AlreadyAccepted, taskId=task_id, server=actors.storage[0].address):
        task_manager.acceptTask(task_id, sender=actors.storage[0])
    chain.pending_timestamp = receipt.timestamp + 600
    with ape.reverts(task_manager.DeadlinePassed, taskId=task_id, deadline=receipt.timestamp + 600):
        task_manager.acceptTask(task_id, sender=actors.compute[0])


def test_a_decline_sends_the_task_back_to_scheduling(
    task_manager: Any, actors: Actors, accounts: Any
) -> None:
    task_id = create(task_manager, actors)
    task_manager.schedule(task_id, actors.compute, actors.storage, sender=actors.user)
    task_manager.acceptTask(task_id, sender=actors.compute[0])
    with ape.reverts(task_manager.NotAssigned, taskId=task_id, caller=accounts[5].address):
        task_manager.declineTask(task_id, sender=accounts[5])
    receipt = task_manager.declineTask(task_id, sender=actors.compute[1])
    assert receipt.events == [task_manager.TaskDeclined(task_id, actors.compute[1])]
    record = task_manager.getTask(task_id)
    assert TaskStatus(int(record.status)) is TaskStatus.CREATED
    assert list(record.computeServers) == []
    assert int(record.accepted) == 0
    assert all(bytes(task_manager.busyWith(s)) == bytes(32) for s in actors.compute)
    with ape.reverts(task_manager.WrongStatus, taskId=task_id, status=int(TaskStatus.CREATED)):
        task_manager.declineTask(task_id, sender=actors.compute[1])
    # Scheduled again, the earlier acceptance no longer counts.
    task_manager.schedule(task_id, actors.compute, actors.storage, sender=actors.user)
    task_manager.acceptTask(task_id, sender=actors.compute[0])
    assert int(task_manager.getTask(task_id).accepted) == 1


# ------------------------------------------------------------------------------------------- sandbox key


def test_the_sandbox_key_needs_every_computing_servers_signature(
    task_manager: Any, actors: Actors, chain: Any, accounts: Any, start_task: Callable[..., bytes]
) -> None:
    task_id = start_task()
    domain = task_domain(int(chain.chain_id), str(task_manager.address))
    ours = sandbox_key_digest(domain, task_id, SANDBOX_ENC, SANDBOX_SIGNER, PROGRAM_HASH)
    assert bytes(task_manager.sandboxKeyDigest(task_id, SANDBOX_ENC, SANDBOX_SIGNER)) == ours
    sigs = signatures(task_manager, chain, task_id, actors.compute)
    global_node = actors.compute[0]
    with ape.reverts(task_manager.SignatureCountMismatch, given=2, expected=3):
        task_manager.registerSandboxKey(task_id, SANDBOX_ENC, SANDBOX_SIGNER, sigs[:2], sender=global_node)
    forged = signatures(task_manager, chain, task_id, [accounts[5]])[0]
    with ape.reverts(task_manager.MissingCoSignature, taskId=task_id, server=actors.compute[2].address):
        task_manager.registerSandboxKey(
            task_id, SANDBOX_ENC, SANDBOX_SIGNER, [*sigs[:2], forged], sender=global_node
        )
    with ape.reverts(task_manager.MissingCoSignature, taskId=task_id, server=actors.compute[1].address):
        task_manager.registerSandboxKey(
            task_id, SANDBOX_ENC, SANDBOX_SIGNER, [sigs[0], sigs[2], sigs[1]], sender=global_node
        )
    with ape.reverts(task_manager.MissingCoSignature, taskId=task_id, server=actors.compute[0].address):
        task_manager.registerSandboxKey(
            task_id, SANDBOX_ENC, SANDBOX_SIGNER, [sigs[0][:64], *sigs[1:]], sender=global_node
        )
    # Signatures of another key do not carry over.
    other_key = derive(b"sandbox", 3).compressed_public_key
    with ape.reverts(task_manager.MissingCoSignature):
        task_manager.registerSandboxKey(task_id, other_key, SANDBOX_SIGNER, sigs, sender=global_node)
    with ape.reverts(task_manager.InvalidSandboxKey):
        task_manager.registerSandboxKey(
            task_id, b"\x04" + bytes(32), SANDBOX_SIGNER, sigs, sender=global_node
        )
    with ape.reverts(task_manager.InvalidSandboxKey):
        task_manager.registerSandboxKey(task_id, SANDBOX_ENC[:32], SANDBOX_SIGNER, sigs, sender=global_node)
    with ape.reverts(task_manager.ZeroAddress):
        task_manager.registerSandboxKey(task_id, SANDBOX_ENC, ZERO, sigs, sender=global_node)
    with ape.reverts(task_manager.NotAssigned, taskId=task_id, caller=accounts[5].address):
        task_manager.registerSandboxKey(task_id, SANDBOX_ENC, SANDBOX_SIGNER, sigs, sender=accounts[5])
    with ape.reverts(task_manager.SandboxKeyInvalid, taskId=task_id):
        task_manager.sandboxKey(task_id)
    receipt = task_manager.registerSandboxKey(task_id, SANDBOX_ENC, SANDBOX_SIGNER, sigs, sender=global_node)
    assert receipt.events == [task_manager.SandboxKeyRegistered(task_id, SANDBOX_ENC, SANDBOX_SIGNER)]
    assert task_manager.isSandboxKeyValid(task_id)
    key, signer = task_manager.sandboxKey(task_id)
    assert (bytes(key), signer) == (SANDBOX_ENC, SANDBOX_SIGNER)
    assert status(task_manager, task_id) is TaskStatus.SANDBOX_READY
    with ape.reverts(task_manager.WrongStatus, taskId=task_id, status=int(TaskStatus.SANDBOX_READY)):
        task_manager.registerSandboxKey(task_id, SANDBOX_ENC, SANDBOX_SIGNER, sigs, sender=global_node)


def test_destruction_invalidates_the_key_for_good(task_manager: Any, actors: Actors, ready: bytes) -> None:
    with ape.reverts(task_manager.NotAssigned, taskId=ready, caller=actors.storage[0].address):
        task_manager.invalidateSandboxKey(ready, sender=actors.storage[0])
    receipt = task_manager.invalidateSandboxKey(ready, sender=actors.compute[2])
    assert receipt.events == [task_manager.SandboxKeyInvalidated(ready, actors.compute[2])]
    assert not task_manager.isSandboxKeyValid(ready)
    # Use of an invalidated key: the key lookup reverts, and it cannot be invalidated twice.
    with ape.reverts(task_manager.SandboxKeyInvalid, taskId=ready):
        task_manager.sandboxKey(ready)
    with ape.reverts(task_manager.SandboxKeyInvalid, taskId=ready):
        task_manager.invalidateSandboxKey(ready, sender=actors.compute[0])


# ------------------------------------------------------------------------------------------- results, end


def test_result_and_completion_free_the_servers(task_manager: Any, actors: Actors, ready: bytes) -> None:
    result = keccak256(b"aggregated model")
    with ape.reverts(task_manager.NotGlobalNode, taskId=ready, caller=actors.compute[1].address):
        task_manager.submitResult(ready, result, sender=actors.compute[1])
    with ape.reverts(task_manager.ZeroResultHash):
        task_manager.submitResult(ready, bytes(32), sender=actors.compute[0])
    with ape.reverts(task_manager.WrongStatus, taskId=ready, status=int(TaskStatus.SANDBOX_READY)):
        task_manager.completeTask(ready, sender=actors.provider)
    receipt = task_manager.submitResult(ready, result, sender=actors.compute[0])
    assert receipt.events == [task_manager.ResultSubmitted(ready, result)]
    with ape.reverts(task_manager.NotServiceProvider, taskId=ready, caller=actors.user.address):
        task_manager.completeTask(ready, sender=actors.user)
    done = task_manager.completeTask(ready, sender=actors.provider)
    assert done.events == [
        task_manager.SandboxKeyInvalidated(ready, actors.provider),
        task_manager.TaskCompleted(ready, result),
    ]
    record = task_manager.getTask(ready)
    assert TaskStatus(int(record.status)) is TaskStatus.COMPLETED
    assert bytes(record.resultHash) == result
    assert not task_manager.isSandboxKeyValid(ready)
    assert all(bytes(task_manager.busyWith(s)) == bytes(32) for s in actors.compute)
    assert not task_manager.mayOpenChannel(ready, actors.compute[0], actors.compute[1])
    with ape.reverts(task_manager.WrongStatus, taskId=ready, status=int(TaskStatus.COMPLETED)):
        task_manager.failTask(ready, sender=actors.user)


def test_a_late_result_is_refused(task_manager: Any, actors: Actors, ready: bytes, chain: Any) -> None:
    deadline = int(task_manager.getTask(ready).deadline)
    chain.pending_timestamp = deadline
    with ape.reverts(task_manager.DeadlinePassed, taskId=ready, deadline=deadline):
        task_manager.submitResult(ready, keccak256(b"late"), sender=actors.compute[0])


def test_fail_task_by_a_party_at_once_and_by_anyone_after_the_deadline(
    task_manager: Any,
    actors: Actors,
    ready: bytes,
    accounts: Any,
    chain: Any,
    start_task: Callable[..., bytes],
) -> None:
    deadline = int(task_manager.getTask(ready).deadline)
    with ape.reverts(task_manager.DeadlineNotReached, taskId=ready, deadline=deadline):
        task_manager.failTask(ready, sender=accounts[5])
    chain.pending_timestamp = deadline
    receipt = task_manager.failTask(ready, sender=accounts[5])
    assert receipt.events == [
        task_manager.SandboxKeyInvalidated(ready, accounts[5]),
        task_manager.TaskFailed(ready, accounts[5], int(TaskStatus.SANDBOX_READY)),
    ]
    assert all(bytes(task_manager.busyWith(s)) == bytes(32) for s in actors.compute)
    with ape.reverts(task_manager.WrongStatus, taskId=ready, status=int(TaskStatus.FAILED)):
        task_manager.failTask(ready, sender=actors.user)
    # The user may give up at any time, also before scheduling; strangers may not fail a fresh task.
    fresh = create(task_manager, actors)
    with ape.reverts(task_manager.NotTaskUser, taskId=fresh, caller=accounts[5].address):
        task_manager.failTask(fresh, sender=accounts[5])
    assert task_manager.failTask(fresh, sender=actors.user).events == [
        task_manager.TaskFailed(fresh, actors.user, int(TaskStatus.CREATED))
    ]
    running = start_task()
    task_manager.failTask(running, sender=actors.provider)
    assert status(task_manager, running) is TaskStatus.FAILED


def test_the_channel_roster_follows_the_topology(
    task_manager: Any, actors: Actors, accounts: Any, measure_view: Any, start_task: Callable[..., bytes]
) -> None:
    g, l1, l2 = (s.address for s in actors.compute)
    star = start_task()
    assert task_manager.mayOpenChannel(star, g, l1)
    assert task_manager.mayOpenChannel(star, l2, g)
    assert not task_manager.mayOpenChannel(star, l1, l2)
    assert not task_manager.mayOpenChannel(star, g, g)
    assert not task_manager.mayOpenChannel(star, g, actors.storage[0].address)
    assert not task_manager.mayOpenChannel(star, g, accounts[5].address)
    assert not task_manager.mayOpenChannel(task_id_of(99), g, l1)
    task_manager.failTask(star, sender=actors.user)
    full = start_task(topology=Topology.FULL)
    assert task_manager.mayOpenChannel(full, l1, l2)
    assert not task_manager.mayOpenChannel(full, l1, actors.storage[0].address)
    assert not task_manager.mayOpenChannel(full, l1, l1)
    for view, args in (
        ("mayOpenChannel", (full, l1, l2)),
        ("getTask", (full,)),
        ("isSandboxKeyValid", (full,)),
        ("sandboxKeyDigest", (full, SANDBOX_ENC, SANDBOX_SIGNER)),
        ("busyWith", (g,)),
        ("taskCount", ()),
        ("MAX_NODES", ()),
        ("MAX_WINDOW", ()),
        ("SANDBOX_KEY_TYPEHASH", ()),
        ("registry", ()),
        ("eip712Domain", ()),
    ):
        assert measure_view(task_manager, view, *args) > 21_000


def test_sandbox_key_view_is_measured_while_valid(task_manager: Any, ready: bytes, measure_view: Any) -> None:
    assert measure_view(task_manager, "sandboxKey", ready) > 21_000


def test_deploy_web3compute_wires_the_channel_manager_to_the_task_roster(
    project: Any, deployer: Any, platform: Any
) -> None:
    from offchain.deploy import Web3ComputeConfig, deploy_web3compute

    deployment = deploy_web3compute(project, deployer, platform, Web3ComputeConfig(120, 60))
    tasks, channels = deployment.contracts["TaskManager"], deployment.contracts["StateChannelManager"]
    assert tasks.registry() == platform.contracts["RSC"].address
    assert channels.roster() == tasks.address
    assert channels.token() == platform.contracts["MetaCoin"].address
    assert (channels.challengePeriod(), channels.joinWindow()) == (120, 60)
    assert {"TaskManager", "StateChannelManager"} <= set(deployment.records)

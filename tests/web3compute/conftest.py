"""Fixtures of the seed 004 contract tests: actors registered in RSC, a TaskManager and a running task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ape_ethereum.trace import Trace
from web3compute_fixtures import COMPUTE_RESOURCES, STORAGE_RESOURCES, Actors, register, requirements

from offchain.chain.roles import ActorRole
from offchain.web3compute.tasks import task_id_of


@pytest.fixture(autouse=True)
def _no_revert_trace_printing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ape prints the call trace of every reverted transaction through rich, which parses the raw bytes of
    bytes32 error arguments as markup and crashes when an id happens to contain ``[/``."""
    monkeypatch.setattr(Trace, "show", lambda self, *args, **kwargs: None)


@pytest.fixture(scope="module")
def actors(registry: Any, accounts: Any, auditor: Any) -> Actors:
    actors = Actors(accounts[2], accounts[3], [accounts[6], accounts[7], accounts[8]], [accounts[9]])
    register(registry, actors.user, ActorRole.WEB3_USER, ("", 0, 0, 0, 0))
    register(registry, actors.provider, ActorRole.SERVICE_PROVIDER, ("", 0, 0, 0, 0))
    for server in actors.compute:
        register(registry, server, ActorRole.COMPUTE_SERVER, COMPUTE_RESOURCES)
        registry.approveRoles(server, int(ActorRole.COMPUTE_SERVER), sender=auditor)
    for server in actors.storage:
        register(registry, server, ActorRole.STORAGE_SERVER, STORAGE_RESOURCES)
        registry.approveRoles(server, int(ActorRole.STORAGE_SERVER), sender=auditor)
    return actors


@pytest.fixture(scope="module")
def task_manager(project: Any, deployer: Any, registry: Any) -> Any:
    return deployer.deploy(project.TaskManager, registry.address)


@pytest.fixture(scope="module")
def start_task(task_manager: Any, actors: Actors) -> Callable[..., bytes]:
    """Create, schedule and accept a task (status Accepted) with ``requirements(**overrides)``."""

    def start(**overrides: Any) -> bytes:
        task_manager.createTask(requirements(actors, **overrides).as_tuple(), sender=actors.user)
        task_id = task_id_of(int(task_manager.taskCount()))
        servers = actors.compute[: overrides.get("compute_nodes", 3)]
        task_manager.schedule(task_id, servers, actors.storage, sender=actors.user)
        for server in [*servers, *actors.storage]:
            task_manager.acceptTask(task_id, sender=server)
        return task_id

    return start

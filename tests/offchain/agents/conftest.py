"""Fixtures of the agent tests: deterministic key pairs and a factory of agents with test routes.

Tests are plain functions running their scenario with ``asyncio.run`` (no pytest-asyncio).
"""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, Field

from offchain.agents import Agent, AgentError
from offchain.crypto import KeyPair, derive

SEED = b"metatrust-agent-tests"


class EchoRequest(BaseModel):
    text: str
    count: int = Field(default=1, ge=1, le=10)


class EchoResponse(BaseModel):
    text: str
    sender: str


class SlowRequest(BaseModel):
    seconds: float = Field(ge=0, le=5)


class Empty(BaseModel):
    pass


@pytest.fixture
def agent_keys() -> KeyPair:
    return derive(SEED, 0)


@pytest.fixture
def client_keys() -> KeyPair:
    return derive(SEED, 1)


@pytest.fixture
def other_keys() -> KeyPair:
    return derive(SEED, 2)


@pytest.fixture
def make_agent(agent_keys: KeyPair, client_keys: KeyPair) -> Callable[..., Agent]:
    """Build (not start) an agent with the test routes; ``admin`` is allowed to ``client_keys`` only."""

    def factory(**options: Any) -> Agent:
        async def only_client_for_admin(sender: str, action: str) -> bool:
            return action != "admin" or sender == client_keys.address

        options.setdefault("authorizer", only_client_for_admin)
        agent = Agent(agent_keys, "test-agent", "tester", **options)

        @agent.route("echo", EchoRequest)
        async def echo(sender: str, request: EchoRequest) -> EchoResponse:
            return EchoResponse(text=request.text * request.count, sender=sender)

        async def crash(sender: str, request: Empty) -> dict[str, Any]:
            raise RuntimeError("handler bug")

        async def refuse(sender: str, request: Empty) -> dict[str, Any]:
            raise AgentError(422, "refused", "this request is refused")

        async def slow(sender: str, request: SlowRequest) -> dict[str, Any]:
            await asyncio.sleep(request.seconds)
            return {"slept": request.seconds}

        async def admin(sender: str, request: Empty) -> dict[str, Any]:
            return {"admin": True}

        agent.route("crash", Empty, crash)
        agent.route("refuse", Empty, refuse)
        agent.route("slow", SlowRequest, slow)
        agent.route("admin", Empty, admin)
        return agent

    return factory

"""The agent HTTP service, end to end on 127.0.0.1 with an OS-assigned port."""

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel

from offchain.agents import (
    Agent,
    AgentCallError,
    AgentClient,
    AgentUnreachableError,
    Envelope,
    build_envelope,
)
from offchain.crypto import KeyPair

MakeAgent = Callable[..., Agent]


class EchoReply(BaseModel):
    text: str
    sender: str


async def post_raw(agent: Agent, action: str, body: bytes) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{agent.endpoint}/rpc/{action}", data=body, headers={"Content-Type": "application/json"}
        ) as answer,
    ):
        return answer.status, await answer.json(content_type=None)


async def post_envelope(agent: Agent, action: str, envelope: Envelope) -> tuple[int, dict[str, Any]]:
    return await post_raw(agent, action, envelope.to_json())


async def assert_still_serving(agent: Agent, keys: KeyPair) -> None:
    async with AgentClient(keys) as client:
        answer = await client.call(agent.endpoint, agent.address, "echo", {"text": "alive"}, EchoReply)
    assert answer.text == "alive"


def test_health_and_endpoint(make_agent: MakeAgent) -> None:
    async def scenario() -> None:
        async with make_agent() as agent:
            assert agent.endpoint == f"http://127.0.0.1:{agent.port}"
            assert agent.port > 0
            async with aiohttp.ClientSession() as session, session.get(f"{agent.endpoint}/health") as answer:
                assert answer.status == 200
                health = await answer.json()
        assert health["name"] == "test-agent"
        assert health["role"] == "tester"
        assert health["address"] == agent.address
        assert health["actions"] == ["admin", "crash", "echo", "refuse", "slow"]
        assert health["uptime"] >= 0

    asyncio.run(scenario())


def test_valid_call_returns_verified_signed_response(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> None:
        async with make_agent() as agent, AgentClient(client_keys) as client:
            typed = await client.call(
                agent.endpoint, agent.address, "echo", {"text": "ab", "count": 2}, EchoReply
            )
            untyped = await client.call(agent.endpoint, agent.address.lower(), "echo", {"text": "x"})
        assert typed == EchoReply(text="abab", sender=client_keys.address)
        assert untyped == {"text": "x", "sender": client_keys.address}

    asyncio.run(scenario())


def test_response_is_signed_by_the_agent_for_the_request(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> None:
        async with make_agent() as agent:
            request = build_envelope(client_keys, agent.address, "echo", {"text": "hi"})
            status, body = await post_envelope(agent, "echo", request)
        assert status == 200
        response = Envelope.model_validate(body)
        assert response.sender == agent.address
        assert response.action == "echo:response"
        assert response.nonce == request.nonce

    asyncio.run(scenario())


def test_client_rejects_a_response_from_another_agent(
    make_agent: MakeAgent, client_keys: KeyPair, other_keys: KeyPair
) -> None:
    async def scenario() -> None:
        async with make_agent() as agent, AgentClient(client_keys) as client:
            # The request is signed for other_keys, so the agent refuses it: it never answers for others.
            with pytest.raises(AgentCallError) as refused:
                await client.call(agent.endpoint, other_keys.address, "echo", {"text": "hi"})
        assert refused.value.status == 401

    asyncio.run(scenario())


def test_malformed_json_is_400_with_reason(make_agent: MakeAgent) -> None:
    async def scenario() -> None:
        async with make_agent() as agent:
            status, body = await post_raw(agent, "echo", b'{"sender": ')
        assert status == 400
        assert body["error"] == "invalid-json"
        assert body["reason"]

    asyncio.run(scenario())


def test_not_an_envelope_is_400_naming_fields(make_agent: MakeAgent) -> None:
    async def scenario() -> None:
        async with make_agent() as agent:
            status, body = await post_raw(agent, "echo", json.dumps({"sender": "0xabc", "extra": 1}).encode())
        assert status == 400
        assert body["error"] == "invalid-envelope"
        assert {"sender", "nonce", "timestamp", "action", "payload", "signature", "extra"} <= set(
            body["fields"]
        )

    asyncio.run(scenario())


def test_payload_schema_violation_is_400_naming_the_field(
    make_agent: MakeAgent, client_keys: KeyPair
) -> None:
    async def scenario() -> None:
        async with make_agent() as agent, AgentClient(client_keys) as client:
            with pytest.raises(AgentCallError) as missing:
                await client.call(agent.endpoint, agent.address, "echo", {"count": 2})
            with pytest.raises(AgentCallError) as too_big:
                await client.call(agent.endpoint, agent.address, "echo", {"text": "a", "count": 99})
        assert (missing.value.status, missing.value.code) == (400, "invalid-payload")
        assert "payload.text" in missing.value.reason
        assert (too_big.value.status, too_big.value.code) == (400, "invalid-payload")
        assert "payload.count" in too_big.value.reason

    asyncio.run(scenario())


def test_bad_signature_is_401(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> None:
        async with make_agent() as agent:
            envelope = build_envelope(client_keys, agent.address, "echo", {"text": "hi"})
            tampered_payload = envelope.model_copy(update={"payload": {"text": "bye"}})
            garbage = envelope.model_copy(update={"signature": "0x" + "00" * 65})
            results = [await post_envelope(agent, "echo", e) for e in (tampered_payload, garbage)]
        for status, body in results:
            assert status == 401
            assert body["error"] == "bad-signature"

    asyncio.run(scenario())


def test_envelope_for_another_recipient_is_401(
    make_agent: MakeAgent, client_keys: KeyPair, other_keys: KeyPair
) -> None:
    async def scenario() -> tuple[int, dict[str, Any]]:
        async with make_agent() as agent:
            envelope = build_envelope(client_keys, other_keys.address, "echo", {"text": "hi"})
            return await post_envelope(agent, "echo", envelope)

    status, body = asyncio.run(scenario())
    assert (status, body["error"]) == (401, "bad-signature")


def test_envelope_for_another_action_is_401(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> tuple[int, dict[str, Any]]:
        async with make_agent() as agent:
            envelope = build_envelope(client_keys, agent.address, "admin", {})
            return await post_envelope(agent, "echo", envelope)

    status, body = asyncio.run(scenario())
    assert (status, body["error"]) == (401, "action-mismatch")


def test_stale_and_future_timestamps_are_401(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> list[tuple[int, dict[str, Any]]]:
        async with make_agent(max_skew=60) as agent:
            now = time.time()
            stale = build_envelope(client_keys, agent.address, "echo", {"text": "a"}, now=now - 120)
            future = build_envelope(client_keys, agent.address, "echo", {"text": "a"}, now=now + 120)
            return [await post_envelope(agent, "echo", e) for e in (stale, future)]

    for status, body in asyncio.run(scenario()):
        assert (status, body["error"]) == (401, "stale-timestamp")


def test_replayed_nonce_is_409(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> list[int]:
        async with make_agent() as agent:
            envelope = build_envelope(client_keys, agent.address, "echo", {"text": "once"})
            first, _ = await post_envelope(agent, "echo", envelope)
            second, body = await post_envelope(agent, "echo", envelope)
            assert body["error"] == "replayed-nonce"
            return [first, second]

    assert asyncio.run(scenario()) == [200, 409]


def test_oversized_body_is_413(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> None:
        async with make_agent(max_body_bytes=4096) as agent:
            big = build_envelope(client_keys, agent.address, "echo", {"text": "x" * 8192})
            status, body = await post_envelope(agent, "echo", big)
            assert (status, body["error"]) == (413, "too-large")
            async with AgentClient(client_keys) as client:
                with pytest.raises(AgentCallError) as error:
                    await client.call(agent.endpoint, agent.address, "echo", {"text": "y" * 8192})
            assert error.value.status == 413
            await assert_still_serving(agent, client_keys)

    asyncio.run(scenario())


def test_default_max_body_is_one_mebibyte(make_agent: MakeAgent) -> None:
    async def scenario() -> None:
        async with make_agent() as agent:
            status, body = await post_raw(agent, "echo", b" " * ((1 << 20) + 1))
        assert (status, body["error"]) == (413, "too-large")

    asyncio.run(scenario())


def test_unknown_action_is_404_and_wrong_method_is_405(make_agent: MakeAgent) -> None:
    async def scenario() -> None:
        async with make_agent() as agent:
            status, body = await post_raw(agent, "nope", b"{}")
            assert (status, body["error"]) == (404, "unknown-action")
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{agent.endpoint}/rpc/echo") as answer:
                    assert answer.status == 405
                    assert (await answer.json())["error"] == "method-not-allowed"
                async with session.get(f"{agent.endpoint}/elsewhere") as answer:
                    assert answer.status == 404
                    assert (await answer.json())["error"] == "not-found"

    asyncio.run(scenario())


def test_authorizer_denial_is_403(make_agent: MakeAgent, client_keys: KeyPair, other_keys: KeyPair) -> None:
    async def scenario() -> None:
        async with make_agent() as agent:
            async with AgentClient(other_keys) as outsider:
                with pytest.raises(AgentCallError) as denied:
                    await outsider.call(agent.endpoint, agent.address, "admin", {})
            async with AgentClient(client_keys) as insider:
                assert await insider.call(agent.endpoint, agent.address, "admin", {}) == {"admin": True}
        assert (denied.value.status, denied.value.code) == (403, "forbidden")

    asyncio.run(scenario())


def test_handler_agent_error_is_its_status(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> None:
        async with make_agent() as agent, AgentClient(client_keys) as client:
            with pytest.raises(AgentCallError) as error:
                await client.call(agent.endpoint, agent.address, "refuse", {})
        assert (error.value.status, error.value.code, error.value.reason) == (
            422,
            "refused",
            "this request is refused",
        )

    asyncio.run(scenario())


def test_handler_crash_is_500_logged_and_agent_keeps_serving(
    make_agent: MakeAgent, client_keys: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with make_agent() as agent, AgentClient(client_keys) as client:
            with pytest.raises(AgentCallError) as error:
                await client.call(agent.endpoint, agent.address, "crash", {})
            assert (error.value.status, error.value.code) == (500, "internal-error")
            assert "handler bug" not in error.value.reason
            await assert_still_serving(agent, client_keys)

    with caplog.at_level(logging.INFO, logger="offchain.agents.service"):
        asyncio.run(scenario())
    crash_logs = [r for r in caplog.records if r.exc_info and "handler bug" in str(r.exc_info[1])]
    assert crash_logs
    request_lines = [r for r in caplog.records if getattr(r, "action", None) == "crash"]
    assert request_lines[0].status == 500  # type: ignore[attr-defined]
    assert request_lines[0].sender == client_keys.address  # type: ignore[attr-defined]


def test_hostile_requests_do_not_break_the_agent(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    valid = build_envelope(client_keys, client_keys.address, "echo", {"text": "a"}).model_dump()
    hostile = [
        b"",
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,  # would overflow the C stack of the stdlib parser under Ape's recursion limit
        b'{"payload": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}",
        b"null",
        b"[1, 2]",
        b'{"payload": NaN}',
        json.dumps({**valid, "payload": {"x": 1e400}}).encode(),
        json.dumps({**valid, "timestamp": "now"}).encode(),
    ]

    async def scenario() -> list[int]:
        async with make_agent() as agent:
            statuses = [(await post_raw(agent, "echo", body))[0] for body in hostile]
            await assert_still_serving(agent, client_keys)
            return statuses

    assert asyncio.run(scenario()) == [400] * len(hostile)


def test_fifty_concurrent_calls_all_succeed(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> list[EchoReply]:
        async with make_agent() as agent, AgentClient(client_keys) as client:
            calls = [
                client.call(agent.endpoint, agent.address, "echo", {"text": f"m{i}"}, EchoReply)
                for i in range(50)
            ]
            started = time.perf_counter()
            slow = [client.call(agent.endpoint, agent.address, "slow", {"seconds": 0.3}) for _ in range(10)]
            replies = await asyncio.gather(*calls, *slow)
            # Run one after another, the ten 0.3 s handlers alone would take 3 s; finishing sooner (with the
            # fifty echo calls on top) means they ran concurrently. No tighter bound: CI machines are shared.
            assert time.perf_counter() - started < 10 * 0.3
            assert len(agent.replay_cache) == 60
            return [r for r in replies if isinstance(r, EchoReply)]

    replies = asyncio.run(scenario())
    assert sorted(r.text for r in replies) == sorted(f"m{i}" for i in range(50))


def test_graceful_stop_finishes_in_flight_requests(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> None:
        agent = make_agent()
        await agent.start()
        endpoint = agent.endpoint
        async with AgentClient(client_keys) as client:
            in_flight = asyncio.create_task(client.call(endpoint, agent.address, "slow", {"seconds": 0.5}))
            await asyncio.sleep(0.1)
            await agent.stop()
            assert await in_flight == {"slept": 0.5}
            assert not agent.is_running
            with pytest.raises(AgentUnreachableError) as error:
                await client.call(endpoint, agent.address, "echo", {"text": "late"})
            assert error.value.status == 0
        await agent.stop()  # idempotent

    asyncio.run(scenario())


def test_run_forever_stops_on_sigterm(make_agent: MakeAgent, client_keys: KeyPair) -> None:
    async def scenario() -> None:
        agent = make_agent()
        serving = asyncio.create_task(agent.run_forever())
        while not agent.is_running:
            await asyncio.sleep(0.01)
        await assert_still_serving(agent, client_keys)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(serving, timeout=5)
        assert not agent.is_running

    previous = signal.getsignal(signal.SIGTERM)
    asyncio.run(scenario())
    assert signal.getsignal(signal.SIGTERM) == previous


def test_run_forever_stops_on_request(make_agent: MakeAgent) -> None:
    async def scenario() -> None:
        agent = make_agent()
        serving = asyncio.create_task(agent.run_forever())
        while not agent.is_running:
            await asyncio.sleep(0.01)
        agent.request_shutdown()
        await asyncio.wait_for(serving, timeout=5)
        assert not agent.is_running

    asyncio.run(scenario())


def test_route_registration_rules(make_agent: MakeAgent) -> None:
    agent = make_agent()
    with pytest.raises(ValueError, match="already registered"):
        agent.route("echo", EchoReply, lambda sender, request: asyncio.sleep(0, {}))
    with pytest.raises(ValueError, match="invalid action name"):
        agent.route("bad/name", EchoReply)
    with pytest.raises(RuntimeError, match="not started"):
        _ = agent.endpoint


def test_unreachable_agent_raises_agent_unreachable(client_keys: KeyPair, agent_keys: KeyPair) -> None:
    async def scenario() -> None:
        async with AgentClient(client_keys, timeout=2) as client:
            with pytest.raises(AgentUnreachableError) as error:
                await client.call("http://127.0.0.1:9", agent_keys.address, "echo", {"text": "x"})
        assert error.value.code == "unreachable"

    asyncio.run(scenario())

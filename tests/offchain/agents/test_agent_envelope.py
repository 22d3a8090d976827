"""Envelope building and verification, and the replay cache: pure logic, no network."""

import threading

import pytest
from pydantic import BaseModel, ValidationError

from offchain.agents import (
    Envelope,
    EnvelopeError,
    ReplayCache,
    ReplayCacheFullError,
    build_envelope,
    build_response,
    signing_bytes,
    verify_envelope,
    verify_response,
)
from offchain.crypto import KeyPair, canonical_json, recover_message_signer

NOW = 1_700_000_000


class Transfer(BaseModel):
    to: str
    amount: int


def test_signature_covers_the_documented_canonical_json(client_keys: KeyPair, agent_keys: KeyPair) -> None:
    envelope = build_envelope(client_keys, agent_keys.address, "pay", {"amount": 5}, now=NOW)
    expected = canonical_json(
        {
            "action": "pay",
            "nonce": envelope.nonce,
            "payload": {"amount": 5},
            "recipient": agent_keys.address,
            "sender": client_keys.address,
            "timestamp": NOW,
        }
    )
    assert signing_bytes(
        client_keys.address, agent_keys.address, envelope.nonce, NOW, "pay", {"amount": 5}
    ) == (expected)
    assert recover_message_signer(expected, bytes.fromhex(envelope.signature[2:])) == client_keys.address
    assert len(envelope.nonce) == 32


def test_round_trip_through_the_wire_format(client_keys: KeyPair, agent_keys: KeyPair) -> None:
    envelope = build_envelope(
        client_keys, agent_keys.address, "pay", Transfer(to="bob", amount=2**70), now=NOW
    )
    decoded = Envelope.model_validate_json(envelope.to_json())
    assert decoded == envelope
    assert verify_envelope(decoded, agent_keys.address, NOW + 10, action="pay") == client_keys.address
    assert verify_envelope(decoded, agent_keys.address.lower(), NOW) == client_keys.address


def test_verification_failures(client_keys: KeyPair, agent_keys: KeyPair, other_keys: KeyPair) -> None:
    envelope = build_envelope(client_keys, agent_keys.address, "pay", {"amount": 5}, now=NOW)
    cases = {
        "wrong-recipient": (envelope, other_keys.address, NOW, "pay", "bad-signature"),
        "wrong-action": (envelope, agent_keys.address, NOW, "refund", "action-mismatch"),
        "stale": (envelope, agent_keys.address, NOW + 61, "pay", "stale-timestamp"),
        "future": (envelope, agent_keys.address, NOW - 61, "pay", "stale-timestamp"),
        "payload": (
            envelope.model_copy(update={"payload": {"amount": 6}}),
            agent_keys.address,
            NOW,
            "pay",
            "bad-signature",
        ),
        "impersonation": (
            envelope.model_copy(update={"sender": other_keys.address}),
            agent_keys.address,
            NOW,
            "pay",
            "bad-signature",
        ),
    }
    for name, (candidate, recipient, now, action, code) in cases.items():
        with pytest.raises(EnvelopeError) as error:
            verify_envelope(candidate, recipient, now, 60, action=action)
        assert error.value.code == code, name
        assert error.value.status == 401


def test_skew_boundary_is_inclusive(client_keys: KeyPair, agent_keys: KeyPair) -> None:
    envelope = build_envelope(client_keys, agent_keys.address, "pay", {}, now=NOW)
    assert verify_envelope(envelope, agent_keys.address, NOW + 60, 60) == client_keys.address
    assert verify_envelope(envelope, agent_keys.address, NOW - 60, 60) == client_keys.address


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sender", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"),
        ("nonce", "ABCDEF"),
        ("timestamp", "1700000000"),
        ("timestamp", -1),
        ("action", "bad action"),
        ("payload", [1, 2]),
        ("signature", "0x1234"),
    ],
)
def test_envelope_model_is_strict(
    client_keys: KeyPair, agent_keys: KeyPair, field: str, value: object
) -> None:
    document = build_envelope(client_keys, agent_keys.address, "pay", {}, now=NOW).model_dump()
    document[field] = value
    with pytest.raises(ValidationError) as error:
        Envelope.model_validate(document)
    assert error.value.errors()[0]["loc"] == (field,)


def test_non_json_payload_cannot_be_built(client_keys: KeyPair, agent_keys: KeyPair) -> None:
    with pytest.raises(TypeError):
        build_envelope(client_keys, agent_keys.address, "pay", {"raw": b"bytes"})
    with pytest.raises(ValueError, match="NaN"):
        build_envelope(client_keys, agent_keys.address, "pay", {"x": float("nan")})
    deep: dict[str, object] = {}
    for _ in range(10_000):
        deep = {"d": deep}
    with pytest.raises(ValueError, match="nested deeper"):
        build_envelope(client_keys, agent_keys.address, "pay", deep)


def test_response_is_bound_to_request(client_keys: KeyPair, agent_keys: KeyPair, other_keys: KeyPair) -> None:
    request = build_envelope(client_keys, agent_keys.address, "pay", {"amount": 1}, now=NOW)
    response = build_response(agent_keys, request, {"ok": True})
    assert (response.action, response.nonce, response.sender) == (
        "pay:response",
        request.nonce,
        agent_keys.address,
    )
    verify_response(response, request, agent_keys.address, response.timestamp)

    other_request = build_envelope(client_keys, agent_keys.address, "pay", {"amount": 1}, now=NOW)
    forged = build_response(other_keys, request, {"ok": True})
    for candidate, agent, code in [
        (response, other_keys.address, "wrong-responder"),
        (forged, agent_keys.address, "wrong-responder"),
        (build_response(agent_keys, other_request, {"ok": True}), agent_keys.address, "nonce-mismatch"),
    ]:
        with pytest.raises(EnvelopeError) as error:
            verify_response(candidate, request, agent, response.timestamp)
        assert error.value.code == code


def test_replay_cache_refuses_repeats_and_expires() -> None:
    cache = ReplayCache(ttl=120)
    assert cache.check_and_store("0xA", "n1", now=0)
    assert not cache.check_and_store("0xA", "n1", now=120)
    assert cache.check_and_store("0xB", "n1", now=1)
    assert cache.check_and_store("0xA", "n1", now=121)
    assert len(cache) == 2


def test_replay_cache_fails_closed_when_full() -> None:
    cache = ReplayCache(ttl=10, max_entries=2)
    assert cache.check_and_store("0xA", "1", now=0)
    assert cache.check_and_store("0xA", "2", now=0)
    with pytest.raises(ReplayCacheFullError):
        cache.check_and_store("0xA", "3", now=5)
    assert not cache.check_and_store("0xA", "2", now=5)
    assert cache.check_and_store("0xA", "3", now=11)


def test_replay_cache_is_thread_safe() -> None:
    cache = ReplayCache(ttl=60)
    accepted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        results = [cache.check_and_store("0xA", f"nonce-{i}", now=0) for i in range(500)]
        with lock:
            accepted.extend(results)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert accepted.count(True) == 500
    assert len(cache) == 500

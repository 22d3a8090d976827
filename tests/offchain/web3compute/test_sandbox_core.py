"""The sandbox's pure layers: the envelope, the framing, and the runtime state machine (no process)."""

from __future__ import annotations

from typing import Any

import pytest

from offchain.crypto.keys import derive
from offchain.crypto.signing import recover_hash_signer
from offchain.web3compute.sandbox import envelope
from offchain.web3compute.sandbox.errors import (
    InputRejected,
    ProgramNotRegistered,
    ProtocolError,
    SandboxDestroyed,
    SandboxStateError,
)
from offchain.web3compute.sandbox.protocol import MAX_FRAME, decode, encode, frame_length, raise_for
from offchain.web3compute.sandbox.runtime import SandboxRuntime

TASK = b"\x07" * 32
PROGRAM = b"def run(inputs):\n    return {'sum': bytes([sum(inputs['x']) % 256])}\n"
OWNER = derive(b"sandbox-core", 1)
SP = derive(b"sandbox-core", 2)
STRANGER = derive(b"sandbox-core", 3)


def call(runtime: SandboxRuntime, op: str, **fields: Any) -> dict[str, Any]:
    """One request through the real framing both ways, as the worker process would see it."""
    request = decode(encode({"op": op, **fields})[4:])
    return raise_for(decode(encode(runtime.handle(request))[4:]))


def hexbytes(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def configured(program: bytes = PROGRAM) -> SandboxRuntime:
    runtime = SandboxRuntime()
    call(
        runtime,
        "configure",
        task_id=TASK,
        program_hash=envelope.program_hash(PROGRAM),
        requester_key=SP.compressed_public_key,
        input_signers=[OWNER.address],
    )
    call(runtime, "load", program=program)
    return runtime


def test_program_hash_is_sha256_bytes32() -> None:
    import hashlib

    assert envelope.program_hash(PROGRAM) == hashlib.sha256(PROGRAM).digest()
    assert len(envelope.program_hash(b"")) == 32


def test_envelope_round_trip_and_binding() -> None:
    recipient = derive(b"sandbox-core", 9)
    ph = envelope.program_hash(PROGRAM)
    blob = envelope.seal(OWNER, recipient.compressed_public_key, TASK, ph, "data", b"secret rows")
    assert b"secret rows" not in blob
    opened = envelope.open_envelope(recipient, blob, TASK, ph)
    assert (opened.name, opened.data, opened.signer) == ("data", b"secret rows", OWNER.address)
    with pytest.raises(InputRejected, match="does not decrypt"):
        envelope.open_envelope(recipient, blob, b"\x08" * 32, ph)  # another task
    with pytest.raises(InputRejected, match="does not decrypt"):
        envelope.open_envelope(STRANGER, blob, TASK, ph)  # another key
    tampered = bytearray(blob)
    tampered[-20] ^= 1
    with pytest.raises(InputRejected):
        envelope.open_envelope(recipient, bytes(tampered), TASK, ph)
    # Under another program hash the signature recovers to somebody else: the signer check catches it.
    assert envelope.open_envelope(recipient, blob, TASK, b"\x00" * 32).signer != OWNER.address
    with pytest.raises(ValueError, match="printable"):
        envelope.seal(OWNER, recipient.compressed_public_key, TASK, ph, "", b"x")


def test_framing_rejects_garbage() -> None:
    frame = encode({"op": "run", "blob": b"\x01\x02"})
    assert decode(frame[4:]) == {"op": "run", "blob": "0x0102"}
    assert frame_length(frame[:4]) == len(frame) - 4
    with pytest.raises(ProtocolError, match="not JSON"):
        decode(b"\xff\x00")
    with pytest.raises(ProtocolError, match="not a JSON object"):
        decode(b"[1, 2]")
    with pytest.raises(ProtocolError, match="exceeds"):
        frame_length((MAX_FRAME + 1).to_bytes(4, "big"))


def test_runtime_refuses_a_modified_program() -> None:
    with pytest.raises(ProgramNotRegistered, match="not the registered"):
        configured(PROGRAM + b"\nimport os\n")


def test_runtime_lifecycle_errors_are_named() -> None:
    runtime = configured()
    with pytest.raises(SandboxStateError, match=r"no task key|not allowed"):
        call(runtime, "run")
    with pytest.raises(ProtocolError, match="unknown op"):
        call(runtime, "dump_keys")
    with pytest.raises(SandboxStateError, match="not allowed in state 'loaded'"):
        call(runtime, "inject", ciphertext=b"\x01")
    key = call(runtime, "new_task_key")
    with pytest.raises(ProtocolError, match="0x-hex"):
        call(runtime, "inject", ciphertext=42)
    with pytest.raises(InputRejected, match="does not decrypt"):
        call(runtime, "inject", ciphertext=b"garbage" * 20)
    task_pk = hexbytes(key["public_key"])
    ph = envelope.program_hash(PROGRAM)
    foreign = envelope.seal(STRANGER, task_pk, TASK, ph, "x", b"\x01\x02")
    with pytest.raises(InputRejected, match="not authorised"):
        call(runtime, "inject", ciphertext=foreign)
    good = envelope.seal(OWNER, task_pk, TASK, ph, "x", b"\x01\x02")
    call(runtime, "inject", ciphertext=good)
    assert call(runtime, "run")["outputs"] == ["sum"]
    sealed = call(runtime, "seal", name="sum", to="requester")
    opened = envelope.open_envelope(SP, hexbytes(sealed["ciphertext"]), TASK, ph)
    assert opened.data == b"\x03"
    assert opened.signer == key["address"]


def test_task_key_wrap_and_destroy_zeroises() -> None:
    global_node, member = configured(), configured()
    key = call(global_node, "new_task_key")
    outsider = derive(b"sandbox-core", 8)  # e.g. the host's own key
    with pytest.raises(InputRejected, match="not an admitted member"):
        call(global_node, "wrap_task_key", member_key=outsider.compressed_public_key)
    statement = call(global_node, "admit_members", member_keys=[member.member_key])
    digest = envelope.members_digest(TASK, envelope.program_hash(PROGRAM), [member.member_key])
    assert recover_hash_signer(digest, hexbytes(statement["signature"])) == key["address"]
    with pytest.raises(SandboxStateError, match="already admitted"):
        call(global_node, "admit_members", member_keys=[outsider.compressed_public_key])
    with pytest.raises(InputRejected, match="not an admitted member"):
        call(global_node, "wrap_task_key", member_key=outsider.compressed_public_key)
    wrapped = call(global_node, "wrap_task_key", member_key=member.member_key)
    # Another sandbox cannot open what was wrapped for ``member``.
    with pytest.raises(InputRejected, match="does not open"):
        call(configured(), "import_task_key", wrapped=wrapped["wrapped"])
    imported = call(member, "import_task_key", wrapped=wrapped["wrapped"])
    assert imported["public_key"] == key["public_key"]

    secret = member._task
    assert secret is not None
    assert any(secret.raw)
    report = call(member, "destroy")
    assert report["zeroised"] is True
    assert not any(secret.raw)
    assert not any(member._member.raw)
    assert report["public_keys"][-1] == key["public_key"]
    with pytest.raises(SandboxDestroyed):
        call(member, "run")

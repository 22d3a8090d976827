"""The subprocess sandbox: registered programs only, limits that kill runaways, ciphertext-only host API,
destruction, named errors. Each test starts real sandbox processes (about 1 s each)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from collections.abc import Awaitable, Callable

import pytest

from offchain.crypto.keys import derive
from offchain.web3compute.sandbox import envelope, host
from offchain.web3compute.sandbox.errors import (
    InputRejected,
    ProgramFailed,
    ProgramNotRegistered,
    ProtocolError,
    ResourceLimitExceeded,
    SandboxDestroyed,
    SandboxExists,
    SandboxStateError,
)
from offchain.web3compute.sandbox.host import Sandbox, SandboxHost, SandboxSpec
from offchain.web3compute.sandbox.limits import ResourceLimits, network_isolation_available

TASK = b"\x42" * 32
OWNER = derive(b"sandbox-process", 1)
SP = derive(b"sandbox-process", 2)
STRANGER = derive(b"sandbox-process", 3)
SECRET_DATA = b"patient-record: glucose=7.9 mmol/L"

ECHO = b"""
import os, stat
def run(inputs):
    mode = stat.S_IMODE(os.stat(os.getcwd()).st_mode)
    return {
        "reversed": inputs["data"][::-1],
        "env": ",".join(sorted(os.environ)).encode(),
        "cwd_mode": oct(mode).encode(),
    }
"""
SPIN = b"def run(inputs):\n    while True:\n        pass\n"
HOG = b"def run(inputs):\n    blob = bytearray(1 << 30)\n    return {'n': bytes(len(blob) % 7)}\n"
SLEEP = b"import time\ndef run(inputs):\n    time.sleep(60)\n    return {}\n"
BOOM = b"def run(inputs):\n    raise ValueError(inputs['data'].decode())\n"
NET = b"""
import socket
def run(inputs):
    port = int(inputs["port"].decode())
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return {"net": b"connected"}
    except OSError as exc:
        return {"net": b"blocked:" + type(exc).__name__.encode()}
"""


def spec_for(program: bytes, signers: tuple[str, ...] = (OWNER.address,)) -> SandboxSpec:
    return SandboxSpec(TASK, envelope.program_hash(program), SP.compressed_public_key, signers)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


def result_of(blob: bytes, program: bytes) -> envelope.Opened:
    return envelope.open_envelope(SP, blob, TASK, envelope.program_hash(program))


def test_registered_program_runs_and_the_host_sees_only_ciphertext() -> None:
    async def main() -> None:
        global_sb = await Sandbox.create(spec_for(ECHO), ECHO, record=True)
        member = await Sandbox.create(spec_for(ECHO), ECHO, record=True)
        try:
            task_key = await global_sb.new_task_key()
            # Paper step 4: the task key is drawn in the global sandbox and shared only wrapped.
            # A host cannot have the task key wrapped to a key of its own: only admitted members get it.
            with pytest.raises(InputRejected, match="not an admitted member"):
                await global_sb.wrap_task_key(SP.compressed_public_key)
            await global_sb.admit_members([member.member_key])
            assert await member.import_task_key(await global_sb.wrap_task_key(member.member_key)) == task_key
            # Step 5: the data owner seals to the task key; the host passes the envelope on unopened.
            sealed_in = envelope.seal(
                OWNER, task_key.public_key, TASK, envelope.program_hash(ECHO), "data", SECRET_DATA
            )
            receipt = await member.inject(sealed_in)
            assert (receipt.name, receipt.signer) == ("data", OWNER.address)
            assert set(await member.run()) == {"reversed", "env", "cwd_mode"}
            # Step 8: the result leaves signed by the task key and encrypted to the requester (SP).
            result = result_of(await member.seal("reversed", to="requester"), ECHO)
            assert result.data == SECRET_DATA[::-1]
            assert result.signer == task_key.address
            # Private 0700 directory and a minimal environment.
            assert result_of(await member.seal("cwd_mode", to="requester"), ECHO).data == b"0o700"
            env = result_of(await member.seal("env", to="requester"), ECHO).data.decode().split(",")
            # (SOLCX_BINARY_PATH is set by the project's .pth file at interpreter start, not inherited.)
            assert set(env) <= {"PATH", "LANG", "HOME", "TMPDIR", "LC_CTYPE", "SOLCX_BINARY_PATH"} | {
                f"{lib}_NUM_THREADS" for lib in ("OPENBLAS", "OMP", "MKL")
            }
            assert stat.S_IMODE(os.stat(member.workdir).st_mode) == 0o700
            # An intermediate output sealed to the task key opens in the other member sandbox only.
            peer = await member.seal("reversed", to="task")
            assert (await global_sb.inject(peer)).signer == task_key.address

            # Everything the host sent or received, raw or hex, holds no plaintext.
            frames = global_sb.transcript + member.transcript
            assert frames
            for secret in (SECRET_DATA, SECRET_DATA[::-1], OWNER.private_key, SP.private_key):
                for _, frame in frames:
                    assert secret not in frame
                    assert secret.hex().encode() not in frame
        finally:
            for sandbox in (global_sb, member):
                if sandbox.alive:
                    await sandbox.destroy()

    run(main)


def test_unregistered_or_modified_programs_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        registered = spec_for(ECHO)
        with pytest.raises(ProgramNotRegistered, match="not the registered"):
            await Sandbox.create(registered, ECHO.replace(b"[::-1]", b"[::1]"))
        # A host that skips its own check still cannot run it: the sandbox measures the program itself.
        monkeypatch.setattr(host, "program_hash", lambda _program: registered.program_hash)
        before = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
        with pytest.raises(ProgramNotRegistered, match="not the registered"):
            await Sandbox.create(registered, ECHO + b"\n# patched\n")
        leftovers = set(os.listdir(os.environ.get("TMPDIR", "/tmp"))) - before
        assert not [name for name in leftovers if name.startswith("metatrust-sandbox-")]

    run(main)


@pytest.mark.parametrize(
    ("program", "limits", "kind"),
    [
        (SPIN, ResourceLimits(cpu_seconds=3, wall_seconds=60), "cpu"),
        (HOG, ResourceLimits(memory_bytes=256 << 20), "memory"),
        (SLEEP, ResourceLimits(wall_seconds=2), "wall-clock"),
    ],
    ids=["cpu", "memory", "wall-clock"],
)
def test_resource_limits_kill_a_runaway_and_the_host_survives(
    program: bytes, limits: ResourceLimits, kind: str
) -> None:
    async def main() -> None:
        sandbox = await Sandbox.create(spec_for(program), program, limits=limits)
        await sandbox.new_task_key()
        with pytest.raises(ResourceLimitExceeded, match=f"exceeded its {kind} limit") as caught:
            await sandbox.run()
        assert caught.value.kind == kind
        assert not sandbox.alive
        assert sandbox.process.returncode is not None
        assert not sandbox.workdir.exists()
        with pytest.raises(SandboxDestroyed):
            await sandbox.run()

    run(main)


@pytest.mark.skipif(not network_isolation_available(), reason="no unprivileged network namespaces here")
def test_no_network_but_the_channel() -> None:
    async def main() -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        try:
            for isolate, expected in ((True, b"blocked:"), (False, b"connected")):
                sandbox = await Sandbox.create(spec_for(NET), NET, isolate_network=isolate)
                assert sandbox.network_isolated is isolate
                key = await sandbox.new_task_key()
                await sandbox.inject(
                    envelope.seal(
                        OWNER, key.public_key, TASK, envelope.program_hash(NET), "port", str(port).encode()
                    )
                )
                await sandbox.run()
                assert result_of(await sandbox.seal("net", "requester"), NET).data.startswith(expected)
                await sandbox.destroy()
        finally:
            listener.close()

    run(main)


def test_destruction_zeroises_and_the_old_key_is_dead() -> None:
    async def main() -> None:
        servers = SandboxHost("0x" + "11" * 20)
        sandbox = await servers.create(spec_for(ECHO), ECHO)
        with pytest.raises(SandboxExists, match="already has a sandbox"):
            await servers.create(spec_for(ECHO), ECHO)
        key = await sandbox.new_task_key()
        pid, workdir = sandbox.process.pid, sandbox.workdir
        report = await servers.destroy(TASK)
        assert report.zeroised
        assert report.process_gone
        assert report.directory_removed
        assert report.public_keys == (sandbox.member_key, key.public_key)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert not workdir.exists()
        fresh = envelope.seal(OWNER, key.public_key, TASK, envelope.program_hash(ECHO), "data", b"late")
        with pytest.raises(SandboxDestroyed):
            await sandbox.inject(fresh)
        with pytest.raises(SandboxDestroyed):
            await sandbox.destroy()
        # The server can host a new sandbox for the task once the old one is gone, with a new key.
        again = await servers.create(spec_for(ECHO), ECHO)
        assert (await again.new_task_key()).public_key != key.public_key
        await servers.destroy_all()
        assert servers.sandboxes == {}

    run(main)


def test_bad_input_gets_named_errors_and_the_sandbox_keeps_serving() -> None:
    async def main() -> None:
        sandbox = await Sandbox.create(spec_for(BOOM), BOOM, record=True)
        try:
            with pytest.raises(SandboxStateError, match=r"no task key|not allowed"):
                await sandbox.run()
            key = await sandbox.new_task_key()
            ph = envelope.program_hash(BOOM)
            with pytest.raises(InputRejected, match="does not decrypt"):
                await sandbox.inject(b"\x01" * 100)
            with pytest.raises(InputRejected, match="not authorised"):
                await sandbox.inject(envelope.seal(STRANGER, key.public_key, TASK, ph, "data", b"x"))
            with pytest.raises(InputRejected, match="does not decrypt"):
                await sandbox.inject(envelope.seal(OWNER, key.public_key, b"\x01" * 32, ph, "data", b"x"))
            await sandbox.inject(envelope.seal(OWNER, key.public_key, TASK, ph, "data", SECRET_DATA))
            with pytest.raises(ProgramFailed, match="raised ValueError") as failed:
                await sandbox.run()
            assert SECRET_DATA.decode() not in str(failed.value)  # only the type name leaves
            with pytest.raises(SandboxStateError, match="not allowed"):
                await sandbox.seal("anything")
            with pytest.raises(ProtocolError, match="member_key"):
                await sandbox.wrap_task_key(b"\x02" + b"\x00" * 32)
            assert sandbox.alive
            for _, frame in sandbox.transcript:
                assert SECRET_DATA.hex().encode() not in frame
                assert SECRET_DATA not in frame
        finally:
            await sandbox.destroy()

    run(main)


def test_limits_validate() -> None:
    with pytest.raises(ValueError, match="too small"):
        ResourceLimits(memory_bytes=1024)
    with pytest.raises(ValueError, match="wall_seconds"):
        ResourceLimits(wall_seconds=0)
    with pytest.raises(ValueError, match="32 bytes"):
        SandboxSpec(b"\x01", b"\x02" * 32, SP.compressed_public_key)

"""The host's side: start a sandbox process, talk to it in ciphertext only, destroy it.

:class:`Sandbox` is one isolated computing space; :class:`SandboxHost` is a computing server's registry of
them, one per task. Every method is a request over the socketpair (:mod:`.protocol`); none returns
plaintext data or a private key. A sandbox that exceeds a limit, dies or times out is torn down (process
group killed, directory wiped) and raises a named :class:`~.errors.SandboxError`; the host carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offchain.crypto.ecies import parse_public_key
from offchain.web3compute.sandbox.envelope import program_hash
from offchain.web3compute.sandbox.errors import (
    ProgramNotRegistered,
    ProtocolError,
    ResourceLimitExceeded,
    SandboxDestroyed,
    SandboxExists,
)
from offchain.web3compute.sandbox.limits import ResourceLimits, unshare_prefix
from offchain.web3compute.sandbox.protocol import (
    LENGTH_SIZE,
    Message,
    decode,
    encode,
    frame_length,
    get_bytes,
    raise_for,
)

LOG = logging.getLogger(__name__)
WORKER_MODULE = "offchain.web3compute.sandbox.worker"
STARTUP_SECONDS = 60.0
"""Deadline of start-up (interpreter, imports, configure, load), separate from the per-request limit."""
MINIMAL_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class SandboxSpec:
    """What the sandbox is bound to; every field comes from the chain in the full workflow.

    ``program_hash`` is the ``bytes32`` TaskManager stores; ``requester_key`` the SP's RSC encryption key
    (the result is sealed to it); ``input_signers`` the addresses allowed to sign inputs (data owners, SP).
    The task key's own address is always allowed (envelopes from member sandboxes).
    """

    task_id: bytes
    program_hash: bytes
    requester_key: bytes
    input_signers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.task_id) != 32 or len(self.program_hash) != 32:
            raise ValueError("task_id and program_hash are 32 bytes")
        parse_public_key(self.requester_key)


@dataclass(frozen=True)
class TaskKey:
    """The task's sandbox key: what goes on chain (``registerSandboxKey``)."""

    public_key: bytes
    address: str


@dataclass(frozen=True)
class InjectReceipt:
    name: str
    signer: str


@dataclass(frozen=True)
class DestroyReport:
    """Returned by :meth:`Sandbox.destroy`: invalidate ``public_keys`` (the task key last) on chain."""

    public_keys: tuple[bytes, ...]
    zeroised: bool
    """The sandbox overwrote its key buffers and confirmed they read zero."""
    process_gone: bool
    directory_removed: bool
    reason: str = "destroyed"


@dataclass
class _Channel:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    transcript: list[tuple[str, bytes]] | None = field(default=None)


def _wipe_directory(path: Path) -> bool:
    """Overwrite every regular file with zeros (best effort), then delete the tree."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            target = Path(root, name)
            with contextlib.suppress(OSError):
                if target.is_file() and not target.is_symlink():
                    size = target.stat().st_size
                    with target.open("r+b") as handle:
                        handle.write(bytes(size))
                        handle.flush()
                        os.fsync(handle.fileno())
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


class Sandbox:
    """One isolated computing space (subprocess backend). Create it with :meth:`create`."""

    def __init__(
        self,
        spec: SandboxSpec,
        limits: ResourceLimits,
        process: asyncio.subprocess.Process,
        channel: _Channel,
        workdir: Path,
        network_isolated: bool,
    ) -> None:
        self.spec = spec
        self.limits = limits
        self.process = process
        self.workdir = workdir
        self.network_isolated = network_isolated
        self.member_key = b""
        self.task_key: TaskKey | None = None
        self.outputs: tuple[str, ...] = ()
        self._channel = channel
        self._lock = asyncio.Lock()
        self._closed_reason = ""

    # --- lifecycle -----------------------------------------------------------------------------------

    @classmethod
    async def create(
        cls,
        spec: SandboxSpec,
        program: bytes,
        *,
        limits: ResourceLimits | None = None,
        isolate_network: bool = True,
        record: bool = False,
    ) -> Sandbox:
        """Check the program's hash, start the sandbox process, configure it and load the program.

        Raises :class:`ProgramNotRegistered` (before anything starts) when ``program_hash(program)`` is
        not ``spec.program_hash``; the sandbox checks it again itself before running a byte of it.
        ``record`` keeps every frame crossing the channel in :attr:`transcript` (for audits and tests).
        """
        if program_hash(program) != spec.program_hash:
            raise ProgramNotRegistered(
                f"program hash 0x{program_hash(program).hex()} is not the registered "
                f"0x{spec.program_hash.hex()}"
            )
        limits = limits or ResourceLimits()
        workdir = Path(tempfile.mkdtemp(prefix="metatrust-sandbox-"))
        workdir.chmod(0o700)
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        prefix = unshare_prefix() if isolate_network else []
        env = {**MINIMAL_ENV, "HOME": str(workdir), "TMPDIR": str(workdir)}
        try:
            process = await asyncio.create_subprocess_exec(
                *prefix,
                sys.executable,
                "-I",
                "-m",
                WORKER_MODULE,
                str(child.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                cwd=workdir,
                env=env,
                pass_fds=(child.fileno(),),
                preexec_fn=limits.apply,
                start_new_session=True,
            )
        except BaseException:
            parent.close()
            _wipe_directory(workdir)
            raise
        finally:
            child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent, limit=1 << 20)
        channel = _Channel(reader, writer, [] if record else None)
        sandbox = cls(spec, limits, process, channel, workdir, bool(prefix))
        try:
            startup = max(limits.wall_seconds, STARTUP_SECONDS)
            greeting = await sandbox._exchange(None, startup)
            sandbox.member_key = get_bytes(greeting, "member_key", 33)
            await sandbox._call(
                "configure",
                timeout=startup,
                task_id=spec.task_id,
                program_hash=spec.program_hash,
                requester_key=spec.requester_key,
                input_signers=list(spec.input_signers),
            )
            await sandbox._call("load", timeout=startup, program=program)
        except BaseException:
            await sandbox._teardown("failed to start")
            raise
        return sandbox

    @property
    def alive(self) -> bool:
        return not self._closed_reason

    @property
    def transcript(self) -> list[tuple[str, bytes]]:
        """Every frame sent (``"to"``) and received (``"from"``), when created with ``record=True``."""
        return list(self._channel.transcript or [])

    async def destroy(self) -> DestroyReport:
        """Zeroise the keys inside, kill the process, wipe the directory; report the keys to invalidate."""
        if not self.alive:
            raise SandboxDestroyed(f"sandbox already gone ({self._closed_reason})")
        keys: tuple[bytes, ...] = (self.member_key,) + ((self.task_key.public_key,) if self.task_key else ())
        zeroised = False
        try:
            reply = await self._call("destroy", timeout=10.0)
            keys = tuple(bytes.fromhex(str(key)[2:]) for key in reply.get("public_keys", []))
            zeroised = reply.get("zeroised") is True
        except (ResourceLimitExceeded, SandboxDestroyed, ProtocolError) as exc:
            LOG.warning("sandbox did not answer destroy (%s); killing it", exc)
        gone, removed = await self._teardown("destroyed")
        return DestroyReport(keys, zeroised, gone, removed)

    async def _teardown(self, reason: str) -> tuple[bool, bool]:
        if not self._closed_reason:
            self._closed_reason = reason
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(self.process.wait(), 10.0)
        self._channel.writer.close()
        with contextlib.suppress(Exception):
            await self._channel.writer.wait_closed()
        removed = await asyncio.to_thread(_wipe_directory, self.workdir)
        return self.process.returncode is not None, removed

    # --- requests ------------------------------------------------------------------------------------

    async def new_task_key(self) -> TaskKey:
        """Draw the task key pair inside this (the global node's) sandbox."""
        reply = await self._call("new_task_key")
        self.task_key = TaskKey(get_bytes(reply, "public_key", 33), str(reply["address"]))
        return self.task_key

    async def admit_members(self, member_keys: list[bytes]) -> bytes:
        """Fix the member sandbox keys (once); returns the task key's signature over
        :func:`~.envelope.members_digest`, to publish with the sandbox key."""
        return get_bytes(await self._call("admit_members", member_keys=member_keys), "signature", 65)

    async def wrap_task_key(self, member_key: bytes) -> bytes:
        """The task private key sealed to a member sandbox's key (opaque to the host)."""
        return get_bytes(await self._call("wrap_task_key", member_key=member_key), "wrapped")

    async def import_task_key(self, wrapped: bytes) -> TaskKey:
        reply = await self._call("import_task_key", wrapped=wrapped)
        self.task_key = TaskKey(get_bytes(reply, "public_key", 33), str(reply["address"]))
        return self.task_key

    async def inject(self, ciphertext: bytes) -> InjectReceipt:
        """Hand an envelope to the sandbox unopened; it decrypts and checks the signer inside."""
        reply = await self._call("inject", ciphertext=ciphertext)
        return InjectReceipt(str(reply["name"]), str(reply["signer"]))

    async def run(self, timeout: float | None = None) -> tuple[str, ...]:
        """Run the registered program on the injected inputs; returns the output names."""
        reply = await self._call("run", timeout=timeout)
        self.outputs = tuple(str(name) for name in reply.get("outputs", []))
        return self.outputs

    async def seal(self, name: str, to: str = "task") -> bytes:
        """Output ``name`` signed by the task key and sealed to the task key or the requester (SP)."""
        return get_bytes(await self._call("seal", name=name, to=to), "ciphertext")

    async def _call(self, op: str, timeout: float | None = None, **fields: Any) -> Message:
        if not self.alive:
            raise SandboxDestroyed(f"sandbox is gone ({self._closed_reason})")
        try:
            reply = raise_for(await self._exchange({"op": op, **fields}, timeout))
        except ResourceLimitExceeded as exc:
            if self.alive:
                await self._teardown(f"{exc.kind} limit")
            raise
        return reply

    async def _exchange(self, request: Message | None, timeout: float | None = None) -> Message:
        async with self._lock:
            channel = self._channel
            if request is not None:
                frame = encode(request)
                if channel.transcript is not None:
                    channel.transcript.append(("to", frame))
                channel.writer.write(frame)
                try:
                    await channel.writer.drain()
                except (ConnectionError, OSError):
                    raise await self._died() from None
            started = time.monotonic()
            limit = timeout if timeout is not None else self.limits.wall_seconds
            try:
                header = await asyncio.wait_for(channel.reader.readexactly(LENGTH_SIZE), limit)
                body = await asyncio.wait_for(
                    channel.reader.readexactly(frame_length(header)),
                    max(limit - (time.monotonic() - started), 0.1),
                )
            except TimeoutError:
                await self._teardown("wall-clock limit")
                raise ResourceLimitExceeded("wall-clock", f"no answer within {limit:.1f} s") from None
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                raise await self._died() from None
            if channel.transcript is not None:
                channel.transcript.append(("from", header + body))
            return decode(body)

    async def _died(self) -> Exception:
        """The channel closed under us: find out why, tear down, return the error to raise."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 5.0)
        code = self.process.returncode
        await self._teardown(f"process exited with {code}")
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            return ResourceLimitExceeded("cpu", f"killed by signal {-code if code else code}")
        if code in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
            return ResourceLimitExceeded("memory", f"process died with signal {-code if code else code}")
        return SandboxDestroyed(f"sandbox process exited with code {code}")


class SandboxHost:
    """A computing server's sandboxes: at most one per task (paper Fig. 2b step 3)."""

    def __init__(self, server: str, *, limits: ResourceLimits | None = None) -> None:
        self.server = server
        self.limits = limits or ResourceLimits()
        self.sandboxes: dict[bytes, Sandbox] = {}

    async def create(self, spec: SandboxSpec, program: bytes, **kwargs: Any) -> Sandbox:
        existing = self.sandboxes.get(spec.task_id)
        if existing is not None and existing.alive:
            raise SandboxExists(f"{self.server} already has a sandbox for task 0x{spec.task_id.hex()}")
        kwargs.setdefault("limits", self.limits)
        sandbox = await Sandbox.create(spec, program, **kwargs)
        self.sandboxes[spec.task_id] = sandbox
        return sandbox

    async def destroy(self, task_id: bytes) -> DestroyReport:
        sandbox = self.sandboxes.pop(task_id, None)
        if sandbox is None:
            raise SandboxDestroyed(f"{self.server} has no sandbox for task 0x{task_id.hex()}")
        return await sandbox.destroy()

    async def destroy_all(self) -> list[DestroyReport]:
        reports = []
        for task_id in list(self.sandboxes):
            with contextlib.suppress(SandboxDestroyed):
                reports.append(await self.destroy(task_id))
        return reports

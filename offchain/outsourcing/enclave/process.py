"""Start, pause and stop enclave processes (one OS process per enclave) from a flow or a test.

Each enclave gets an encrypted keystore (mode 0600) and a password file (mode 0600) in a private work
folder; its command line names only the two files, so no key appears in ``ps``. Only processes this module
started are ever signalled, by their own pid.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from offchain.crypto.keys import KeyPair, save_keystore

REPO_ROOT = Path(__file__).resolve().parents[3]


class EnclaveStartError(RuntimeError):
    """An enclave process exited or did not report ready in time (its log is named)."""


@dataclass
class EnclaveProcess:
    """A running enclave process."""

    key: KeyPair
    process: asyncio.subprocess.Process
    endpoint: str
    log_path: Path
    paused: bool = False

    @property
    def address(self) -> str:
        return self.key.address

    @property
    def pid(self) -> int:
        return self.process.pid

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): it stays registered but answers nothing, like a hung enclave."""
        if self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGSTOP)
            self.paused = True

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (after SIGCONT when paused), then SIGKILL if it does not exit in time."""
        if self.process.returncode is not None:
            return
        with suppress(ProcessLookupError):
            if self.paused:
                os.kill(self.process.pid, signal.SIGCONT)
                self.paused = False
            self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            with suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


async def _start_one(
    key: KeyPair,
    index: int,
    workdir: Path,
    deployments_file: Path,
    rpc_url: str,
    member_timeout: float,
    poll_interval: float,
) -> tuple[asyncio.subprocess.Process, Path]:
    password = secrets.token_hex(16)
    keystore = save_keystore(
        key, workdir / f"enclave-{index}.json", password, kdf="pbkdf2", iterations=10_000
    )
    password_file = workdir / f"enclave-{index}.password"
    descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    log_path = workdir / f"enclave-{index}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "offchain.outsourcing.enclave",
            "--keystore",
            str(keystore),
            "--password-file",
            str(password_file),
            "--deployments",
            str(deployments_file),
            "--rpc-url",
            rpc_url,
            "--member-timeout",
            str(member_timeout),
            "--poll-interval",
            str(poll_interval),
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH")))),
            },
        )
    return process, log_path


async def _ready(process: asyncio.subprocess.Process, log_path: Path) -> str:
    assert process.stdout is not None
    line = await process.stdout.readline()
    if not line:
        await process.wait()
        tail = log_path.read_text(errors="replace")[-2000:]
        raise EnclaveStartError(
            f"enclave exited with {process.returncode} before ready; log {log_path}:\n{tail}"
        )
    document = json.loads(line)
    return str(document["endpoint"])


@asynccontextmanager
async def enclave_processes(
    keys: Sequence[KeyPair],
    deployments_file: Path,
    rpc_url: str,
    workdir: Path,
    *,
    startup_timeout: float = 120.0,
    member_timeout: float = 4.0,
    poll_interval: float = 0.3,
) -> AsyncIterator[list[EnclaveProcess]]:
    """Start one enclave process per key and wait until each is registered, synced and serving; stop them
    all on exit. Each key's account must hold gas and MSC's minimum stake in MTC."""
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    started: list[tuple[KeyPair, asyncio.subprocess.Process, Path]] = []
    running: list[EnclaveProcess] = []
    try:
        for index, key in enumerate(keys):
            process, log_path = await _start_one(
                key, index, workdir, deployments_file, rpc_url, member_timeout, poll_interval
            )
            started.append((key, process, log_path))
        endpoints = await asyncio.wait_for(
            asyncio.gather(*(_ready(process, log_path) for _, process, log_path in started)), startup_timeout
        )
        running = [
            EnclaveProcess(key, process, endpoint, log_path)
            for (key, process, log_path), endpoint in zip(started, endpoints, strict=True)
        ]
        yield running
    finally:
        handles = running or [EnclaveProcess(k, p, "", log) for k, p, log in started]
        await asyncio.gather(*(handle.stop() for handle in handles), return_exceptions=True)

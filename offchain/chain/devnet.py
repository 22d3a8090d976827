"""A local anvil devnet: start, stop, detect, and its deterministic dev accounts.

``Devnet`` spawns ``anvil --hardfork prague`` and records it in ``state_dir`` (``anvil.pid`` plus
``anvil.log``), so ``metatrust devnet up`` and ``metatrust devnet down`` can run in different
processes::

    with Devnet(port=8546, state_dir=tmp) as net:
        w3 = connect(net.rpc_url)
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from offchain.chain.errors import ChainError

__all__ = [
    "DEFAULT_MNEMONIC",
    "Devnet",
    "DevnetAlreadyRunning",
    "DevnetError",
    "DevnetStatus",
    "dev_accounts",
    "devnet_down",
    "devnet_up",
    "find_anvil",
    "fund_on_devnet",
]

log = logging.getLogger(__name__)

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
ANVIL_ENV = "METATRUST_ANVIL"
_REPO_ROOT = Path(__file__).resolve().parents[2]


class DevnetError(ChainError):
    """The devnet could not be started or stopped."""


class DevnetAlreadyRunning(DevnetError):  # noqa: N818 (public name fixed by the API)
    """A devnet recorded in the state dir is already running."""

    def __init__(self, pid: int, rpc_url: str) -> None:
        self.pid = pid
        self.rpc_url = rpc_url
        super().__init__(f"a devnet is already running (pid {pid}) at {rpc_url}")


def find_anvil() -> Path:
    """The anvil binary: ``$METATRUST_ANVIL``, else ``anvil`` on PATH, else ``<repo>/.tools/bin/anvil``."""
    explicit = os.environ.get(ANVIL_ENV)
    if explicit:
        if not (Path(explicit).is_file() and os.access(explicit, os.X_OK)):
            raise DevnetError(f"${ANVIL_ENV} points to {explicit}, which is not an executable file")
        return Path(explicit)
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    bundled = _REPO_ROOT / ".tools" / "bin" / "anvil"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    raise DevnetError(
        f"anvil not found on PATH nor at {bundled}: run `make setup` (installs the toolchain into .tools/) "
        f"or set ${ANVIL_ENV} to the anvil binary"
    )


def dev_accounts(mnemonic: str = DEFAULT_MNEMONIC, n: int = 10) -> list[LocalAccount]:
    """The first ``n`` accounts anvil derives from ``mnemonic`` (path ``m/44'/60'/0'/0/i``)."""
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(n)]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (bind to port 0, read it back, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR, as anvil itself binds: connections of an earlier node in TIME_WAIT do not make the
        # port busy, a listener does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _pid_alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        # Reap it if it is our own exited child, else a zombie would look alive.
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _rpc_chain_id(url: str, timeout: float = 1.0) -> int | None:
    """``eth_chainId`` with a plain HTTP request (no web3 retries); ``None`` if no answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.loads(response.read())["result"], 16)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Devnet:
    """A local anvil node (hardfork prague) recorded in ``state_dir``.

    ``start()`` spawns anvil and waits until it answers JSON-RPC; ``stop()`` terminates it. The pid
    file lets another process (``devnet_down``) find and stop it, and ``start()`` refuses to start a
    second one for the same ``state_dir`` (:class:`DevnetAlreadyRunning`).
    """

    PID_FILE = "anvil.pid"
    LOG_FILE = "anvil.log"

    def __init__(
        self,
        port: int = 8545,
        state_dir: Path = Path(".devnet"),
        chain_id: int = 31337,
        block_time: float | None = None,
        accounts: int = 10,
        mnemonic: str = DEFAULT_MNEMONIC,
        *,
        host: str = "127.0.0.1",
        startup_timeout: float = 20.0,
        stop_timeout: float = 10.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = port
        self.state_dir = Path(state_dir)
        self.chain_id = chain_id
        self.block_time = block_time
        self.accounts = accounts
        self.mnemonic = mnemonic
        self.host = host
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.extra_args = extra_args
        self._proc: subprocess.Popen[bytes] | None = None
        self._atexit_registered = False

    @property
    def rpc_url(self) -> str:
        """``http://<host>:<port>``."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        """Where the running anvil's pid is recorded."""
        return self.state_dir / self.PID_FILE

    @property
    def log_file(self) -> Path:
        """Where anvil's output goes."""
        return self.state_dir / self.LOG_FILE

    def recorded_pid(self) -> int | None:
        """The pid in the pid file if that process is alive, else ``None`` (a stale file is removed)."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        if _pid_alive(pid):
            return pid
        log.info("removing stale devnet pid file %s (pid %d is gone)", self.pid_file, pid)
        self.pid_file.unlink(missing_ok=True)
        return None

    def recorded_rpc_url(self) -> str | None:
        """The RPC URL written next to the pid (the running devnet may use another port than ours)."""
        try:
            parts = self.pid_file.read_text().split()
        except FileNotFoundError:
            return None
        return parts[1] if len(parts) > 1 else None

    def is_running(self) -> bool:
        """Whether the anvil recorded in ``state_dir`` is alive."""
        return self.recorded_pid() is not None

    def command(self) -> list[str]:
        """The anvil command line."""
        cmd = [
            str(find_anvil()),
            "--hardfork",
            "prague",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--accounts",
            str(self.accounts),
            "--mnemonic",
            self.mnemonic,
            "--silent",
        ]
        if self.block_time is not None:
            cmd += ["--block-time", f"{self.block_time:g}"]
        return cmd + list(self.extra_args)

    def start(self, *, stop_at_exit: bool = False) -> Devnet:
        """Spawn anvil and wait until its JSON-RPC answers (at most ``startup_timeout`` seconds).

        anvil runs in its own session and outlives this Python process (what ``metatrust devnet up``
        needs) unless ``stop_at_exit=True`` (the context manager uses it) or :meth:`stop` is called. Raises
        :class:`DevnetAlreadyRunning` if the pid file names a live process, and :class:`DevnetError`
        if anvil is missing, the port is busy, or anvil exits or does not answer in time.
        """
        pid = self.recorded_pid()
        if pid is not None:
            raise DevnetAlreadyRunning(pid, self.recorded_rpc_url() or self.rpc_url)
        cmd = self.command()  # raises if anvil is missing
        if not _port_free(self.host, self.port):
            raise DevnetError(
                f"port {self.port} on {self.host} is busy: another node (an earlier devnet, or `ape test`'s "
                f"anvil) is listening there; stop it or choose another port"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log.info("starting anvil on %s (chain id %d)", self.rpc_url, self.chain_id)
        with self.log_file.open("ab") as log_fh:
            try:
                self._proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log_fh,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise DevnetError(f"could not run {cmd[0]}: {exc}") from exc
        self.pid_file.write_text(f"{self._proc.pid} {self.rpc_url}\n")
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        if stop_at_exit and not self._atexit_registered:
            atexit.register(self._stop_at_exit)
            self._atexit_registered = True
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise DevnetError(
                    f"anvil exited with code {code} during startup; see {self.log_file}:\n{self._log_tail()}"
                )
            chain_id = _rpc_chain_id(self.rpc_url)
            if chain_id is not None:
                if chain_id != self.chain_id:
                    raise DevnetError(
                        f"{self.rpc_url} answers with chain id {chain_id}, expected {self.chain_id}"
                    )
                log.info("anvil ready at %s (pid %d)", self.rpc_url, self._proc.pid)
                return
            time.sleep(0.05)
        raise DevnetError(
            f"anvil did not answer on {self.rpc_url} within {self.startup_timeout:.0f}s; see {self.log_file}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> bool:
        """Stop the recorded anvil: SIGTERM, wait up to ``stop_timeout``, then SIGKILL.

        Removes the pid file. Returns ``True`` if a process was stopped, ``False`` if none was running.
        """
        pid = self._proc.pid if self._proc is not None and self._proc.poll() is None else self.recorded_pid()
        stopped = False
        if pid is not None:
            log.info("stopping anvil (pid %d)", pid)
            stopped = self._terminate(pid)
        self._proc = None
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def _terminate(self, pid: int) -> bool:
        for sig, timeout in ((signal.SIGTERM, self.stop_timeout), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return True
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._proc is not None and self._proc.pid == pid:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._proc.wait(timeout=0.05)
                    if self._proc.poll() is not None:
                        return True
                elif not _pid_alive(pid):
                    return True
                else:
                    time.sleep(0.05)
            if sig == signal.SIGTERM:
                log.warning("anvil (pid %d) ignored SIGTERM for %.0fs, killing it", pid, timeout)
        raise DevnetError(f"could not stop anvil (pid {pid})")

    def _stop_at_exit(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(Exception):
                self.stop()

    def __enter__(self) -> Devnet:
        return self.start(stop_at_exit=True)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class DevnetStatus:
    """Outcome of :func:`devnet_up` / :func:`devnet_down`, with a message for the CLI."""

    rpc_url: str
    pid: int | None
    changed: bool
    message: str


def devnet_up(
    port: int = 8545,
    state_dir: Path = Path(".devnet"),
    chain_id: int = 31337,
    block_time: float | None = None,
    accounts: int = 10,
    mnemonic: str = DEFAULT_MNEMONIC,
) -> DevnetStatus:
    """Start a detached devnet unless the pid file in ``state_dir`` shows one already running.

    ``changed`` is ``False`` (with a message saying so) when it was already running.
    """
    net = Devnet(port, state_dir, chain_id, block_time, accounts, mnemonic)
    try:
        net.start()
    except DevnetAlreadyRunning as exc:
        return DevnetStatus(
            exc.rpc_url, exc.pid, False, f"devnet already running (pid {exc.pid}) at {exc.rpc_url}"
        )
    pid = net.recorded_pid()
    return DevnetStatus(
        net.rpc_url, pid, True, f"devnet started (pid {pid}) at {net.rpc_url}; log: {net.log_file}"
    )


def devnet_down(state_dir: Path = Path(".devnet"), port: int = 8545) -> DevnetStatus:
    """Stop the devnet recorded in ``state_dir``; ``changed`` is ``False`` if none was running."""
    net = Devnet(port, state_dir)
    pid = net.recorded_pid()
    if pid is None:
        return DevnetStatus(net.rpc_url, None, False, "no devnet running")
    url = net.recorded_rpc_url() or net.rpc_url
    net.stop()
    return DevnetStatus(url, pid, True, f"devnet stopped (pid {pid}, was at {url})")


def fund_on_devnet(w3: Web3, addresses: Sequence[str], wei: int = 10**20) -> None:
    """Give devnet accounts gas money with anvil's ``anvil_setBalance`` (local devnets only): the flows and
    tests use more accounts than the ten anvil funds."""
    for address in addresses:
        if w3.eth.get_balance(Web3.to_checksum_address(address)) < wei // 10:
            w3.provider.make_request("anvil_setBalance", [address, hex(wei)])  # type: ignore[arg-type]

"""Resource limits of a sandbox process and the network-namespace probe.

Limits are set in the child between ``fork`` and ``exec`` (``resource.setrlimit``), so they hold before the
first instruction of the sandbox runs and the sandbox cannot raise them again (soft = hard, except CPU
where the soft limit sends ``SIGXCPU`` one second before the hard ``SIGKILL``).

Network: when an unprivileged user namespace can be created (``unshare --user --map-root-user --net``),
the sandbox runs in a fresh network namespace with only a down loopback: it has no network at all, only
the socketpair it inherited from its host. Where that fails (user namespaces disabled), the limit is
documented and :func:`network_isolation_available` says so; the sandbox then shares the host's network.
"""

from __future__ import annotations

import functools
import resource
import shutil
import subprocess
from dataclasses import dataclass

UNSHARE = ("--user", "--map-root-user", "--net", "--ipc", "--uts", "--")


@dataclass(frozen=True)
class ResourceLimits:
    """Per-sandbox limits; the defaults fit one FedAvg trainer with NumPy."""

    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    """Address space (``RLIMIT_AS``): the interpreter, NumPy and the crypto libraries take ~0.3-0.5 GiB."""
    open_files: int = 64
    file_size_bytes: int = 64 << 20
    wall_seconds: float = 120.0
    """Wall-clock bound of one request (the host kills the sandbox past it)."""

    def __post_init__(self) -> None:
        if self.cpu_seconds < 1 or self.memory_bytes < (64 << 20) or self.open_files < 8:
            raise ValueError("limits too small to start an interpreter")
        if self.wall_seconds <= 0 or self.file_size_bytes < 0:
            raise ValueError("wall_seconds must be > 0 and file_size_bytes >= 0")

    def apply(self) -> None:
        """Set the limits on the calling process (called in the child before ``exec``)."""
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size_bytes, self.file_size_bytes))


@functools.cache
def network_isolation_available() -> bool:
    """Whether ``unshare --user --map-root-user --net`` works for this user on this machine."""
    binary = shutil.which("unshare")
    if binary is None:
        return False
    try:
        result = subprocess.run([binary, *UNSHARE, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def unshare_prefix() -> list[str]:
    """The command prefix that puts the child in its own network namespace (empty when unavailable)."""
    binary = shutil.which("unshare")
    if binary is None or not network_isolation_available():
        return []
    return [binary, *UNSHARE]

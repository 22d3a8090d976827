"""Record the machine and tool versions beside every benchmark figure."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata

_PACKAGES = ("eth-ape", "ape-solidity", "ape-foundry", "web3", "coincurve")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _command_version(*command: str) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    return out.strip().splitlines()[0] if out.strip() else "not found"


def environment_record() -> dict[str, str]:
    """Machine, OS, Python, key package versions, solc and anvil versions, and the time."""
    record = {
        "time_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
        "os": platform.platform(),
        "python": platform.python_version(),
        "anvil": _command_version("anvil", "--version"),
    }
    for package in _PACKAGES:
        record[package] = _version(package)
    return record


def environment_markdown(record: dict[str, str]) -> str:
    """The record as a short Markdown bullet list."""
    return "\n".join(f"- {key}: {value}" for key, value in record.items())

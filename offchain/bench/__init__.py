"""Benchmark and report helpers: gas tables, CSV/Markdown/PNG writers, machine and version records."""

from offchain.bench.environment import environment_record
from offchain.bench.gas import GasLog, GasRow

__all__ = ["GasLog", "GasRow", "environment_record"]

"""Gas accounting: collect gas per (contract, function), summarise, write CSV and Markdown.

The CSV header is fixed (``contract,function,calls,min,median,max``) because other tools read it. A
scenario that spans several transactions (a whole sale, a channel lifecycle) is recorded as one row with a
descriptive function name, e.g. ``scenario_sale_total``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from offchain.bench.report import Table, write_csv

CSV_HEADER = ("contract", "function", "calls", "min", "median", "max")


@dataclass(frozen=True)
class GasRow:
    """Summary of every measurement of one contract function."""

    contract: str
    function: str
    kind: str
    calls: int
    min: int
    median: int
    max: int


class GasLog:
    """Measurements of gas, grouped by contract and function.

    ``kind`` says how a figure was obtained: ``tx`` (gas used by a mined transaction), ``deploy``,
    ``call`` (eth_estimateGas of a view call: what an on-chain caller would pay, 21,000 base included) or
    ``scenario`` (a sum over several transactions).
    """

    def __init__(self) -> None:
        self._samples: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._kinds: dict[tuple[str, str], str] = {}

    def add(self, contract: str, function: str, gas: int, kind: str = "tx") -> None:
        if gas < 0:
            raise ValueError(f"negative gas for {contract}.{function}: {gas}")
        key = (contract, function)
        self._samples[key].append(int(gas))
        self._kinds.setdefault(key, kind)

    def __len__(self) -> int:
        return len(self._samples)

    def functions(self, contract: str) -> set[str]:
        """The function names recorded for one contract."""
        return {function for (name, function) in self._samples if name == contract}

    def rows(self) -> list[GasRow]:
        """One row per (contract, function), sorted by contract then function."""
        rows = []
        for (contract, function), samples in sorted(self._samples.items()):
            rows.append(
                GasRow(
                    contract=contract,
                    function=function,
                    kind=self._kinds[(contract, function)],
                    calls=len(samples),
                    min=min(samples),
                    median=int(statistics.median(samples)),
                    max=max(samples),
                )
            )
        return rows

    def write_csv(self, path: Path) -> None:
        """One row per (contract, function) under the fixed header ``CSV_HEADER``."""
        table = Table("gas", CSV_HEADER)
        for row in self.rows():
            table.add(row.contract, row.function, row.calls, row.min, row.median, row.max)
        write_csv(table, path)

    def to_markdown(self, title: str = "Gas report", notes: Iterable[str] = ()) -> str:
        lines = [f"# {title}", ""]
        lines.extend(f"{note}" for note in notes)
        if notes:
            lines.append("")
        lines.append("| contract | function | kind | calls | min | median | max |")
        lines.append("|---|---|---|---:|---:|---:|---:|")
        for row in self.rows():
            lines.append(
                f"| {row.contract} | {row.function} | {row.kind} | {row.calls} | "
                f"{row.min:,} | {row.median:,} | {row.max:,} |"
            )
        return "\n".join(lines) + "\n"

    def write_markdown(self, path: Path, title: str = "Gas report", notes: Iterable[str] = ()) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_markdown(title, notes))

"""f_data, the feature specification of a data task, and the check a requester and an oracle apply to a
dataset (pure functions, no I/O).

f_data is a JSON document ``{"columns": [...], "min_rows": n}``; a dataset is UTF-8 CSV whose header is
exactly ``columns`` and which holds at least ``min_rows`` rows of numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureSpec:
    """What a dataset must contain."""

    columns: tuple[str, ...]
    min_rows: int

    def to_json(self) -> bytes:
        return json.dumps({"columns": list(self.columns), "min_rows": self.min_rows}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> FeatureSpec:
        """Parse f_data; :class:`ValueError` when malformed."""
        try:
            document = json.loads(data)
            columns = tuple(str(c) for c in document["columns"])
            min_rows = int(document["min_rows"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"malformed feature specification: {exc}") from None
        if not columns or min_rows < 1:
            raise ValueError("a feature specification needs columns and min_rows >= 1")
        return cls(columns, min_rows)


@dataclass(frozen=True)
class Verdict:
    """Whether a dataset qualifies, and why not."""

    qualified: bool
    reason: str


def check_dataset(spec: FeatureSpec, data: bytes) -> Verdict:
    """Does ``data`` hold every feature of ``spec`` with enough numeric rows?"""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Verdict(False, "not UTF-8 text")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return Verdict(False, "empty dataset")
    header = tuple(cell.strip() for cell in rows[0])
    if header != spec.columns:
        missing = [c for c in spec.columns if c not in header]
        return Verdict(False, f"columns {list(header)} do not match f_data (missing {missing})")
    body = [row for row in rows[1:] if row]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            return Verdict(False, f"line {number} has {len(row)} fields, expected {len(header)}")
        try:
            values = [float(cell) for cell in row]
        except ValueError:
            return Verdict(False, f"line {number} holds a non-numeric value")
        if not all(math.isfinite(v) for v in values):
            return Verdict(False, f"line {number} holds a non-finite value")
    if len(body) < spec.min_rows:
        return Verdict(False, f"{len(body)} rows, f_data asks for at least {spec.min_rows}")
    return Verdict(True, f"{len(body)} rows with every feature of f_data")

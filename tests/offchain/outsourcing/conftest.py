"""Fixtures of the Meta-BMEOC tests."""

from __future__ import annotations

import pytest
from bmeoc_helpers import Run, honest_run


@pytest.fixture
def run_k6_d2_t2() -> Run:
    return honest_run(6, 2, 2)

"""Fixtures of the Meta-BMEOC tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bmeoc_helpers import Run, honest_run

# ``test_osc_onchain.py`` shares the ASC deployment helpers of the contract tests (``asc_fixtures``, a plain
# module beside them); a ``tests`` package installed in site-packages rules out ``tests.outsourcing...``.
_ASC_FIXTURES = str(Path(__file__).resolve().parents[2] / "outsourcing")
if _ASC_FIXTURES not in sys.path:
    sys.path.append(_ASC_FIXTURES)


@pytest.fixture
def run_k6_d2_t2() -> Run:
    return honest_run(6, 2, 2)

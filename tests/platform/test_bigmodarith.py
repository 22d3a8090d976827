"""BigModArith: big-endian modular arithmetic through the modexp precompile, against Python integers."""

from __future__ import annotations

import random
from typing import Any

import pytest


@pytest.fixture(scope="module")
def lib(project: Any, deployer: Any) -> Any:
    return deployer.deploy(project.BigModArithMock)


def enc(value: int, width: int) -> bytes:
    return value.to_bytes(width, "big")


@pytest.mark.parametrize("bits", [256, 512, 1024, 2048, 4096])
def test_mulmod_matches_python(lib: Any, bits: int) -> None:
    rng = random.Random(bits)
    width = bits // 8
    for _ in range(4):
        m = rng.getrandbits(bits) | 1
        a, b = rng.randrange(m), rng.randrange(m)
        assert int.from_bytes(lib.mulmod_(enc(a, width), enc(b, width), enc(m, width)), "big") == a * b % m


def test_mulmod_edge_values(lib: Any) -> None:
    width = 128
    m = (1 << 1024) - 1  # every limb all ones: the largest carries
    for a, b in [(m - 1, m - 1), (0, m - 1), (1, m - 1), ((1 << 1023) + 5, (1 << 1023) + 7)]:
        assert int.from_bytes(lib.mulmod_(enc(a, width), enc(b, width), enc(m, width)), "big") == a * b % m
    small = 143  # leading zero limbs
    assert int.from_bytes(lib.mulmod_(enc(76, 32), enc(12, 32), enc(small, 32)), "big") == 76 * 12 % small


def test_modexp_and_comparison(lib: Any, measure_view: Any) -> None:
    rng = random.Random(5)
    m = rng.getrandbits(1024) | 1
    base, exponent = rng.randrange(m), rng.getrandbits(1024)
    out = lib.modexp(enc(base, 128), enc(exponent, 128), enc(m, 128))
    assert int.from_bytes(out, "big") == pow(base, exponent, m)
    assert lib.lessThan(enc(m - 1, 128), enc(m, 128))
    assert not lib.lessThan(enc(m, 128), enc(m, 128))
    assert not lib.lessThan(enc(m + 1, 128), enc(m, 128))
    for function, args in [
        ("mulmod_", (enc(base, 128), enc(m - 2, 128), enc(m, 128))),
        ("modexp", (enc(base, 128), enc(exponent, 128), enc(m, 128))),
        ("lessThan", (enc(base, 128), enc(m, 128))),
    ]:
        assert measure_view(lib, function, *args) > 21_000

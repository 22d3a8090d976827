"""RSMS primitives (spec 002 §2, requirements R1–R5)."""

from __future__ import annotations

import math
import random

import pytest

from offchain.resource_auth import bloom, ecc_enc, schnorr, shamir
from offchain.resource_auth.costs import count, paper_cost
from offchain.resource_auth.errors import BloomSignatureInvalid, DecryptionFailed, InvalidPoint
from offchain.resource_auth.group import (
    BACKENDS,
    GENERATOR_BYTES,
    P_FIELD,
    Point,
    Q,
    generator,
    identity,
    random_scalar,
)
from offchain.resource_auth.hashes import H1, H2, H3, H4, H5, H6, encode, expand_message_xmd, mask_rid

RNG = random.Random(2)


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_group_laws_and_serialisation(name: str) -> None:
    backend = BACKENDS[name]
    g = generator(backend)
    assert (g * Q).is_identity()
    a, b = random_scalar(RNG), random_scalar(RNG)
    assert g * a + g * b == g * ((a + b) % Q)
    assert (g * a) * b == (g * b) * a
    assert g * a - g * a == identity(backend)
    point = g * a
    assert Point.from_bytes(point.to_bytes(), backend) == point
    assert g.to_bytes() == GENERATOR_BYTES


def test_backends_agree_bit_for_bit() -> None:
    a = random_scalar(RNG)
    blst, ark = BACKENDS["blst"], BACKENDS["arkworks"]
    assert (generator(blst) * a).to_bytes() == (generator(ark) * a).to_bytes()
    assert H1(b"x").to_bytes() == Point.from_bytes(H1(b"x").to_bytes(), ark).to_bytes()


def test_invalid_points_are_rejected() -> None:
    with pytest.raises(InvalidPoint):
        Point.from_bytes(bytes(48))
    with pytest.raises(InvalidPoint):
        Point.from_bytes(GENERATOR_BYTES[:47])
    # a point on the curve y^2 = x^3 + 4 but outside the prime-order subgroup
    x = 5
    while True:
        rhs = (x**3 + 4) % P_FIELD
        y = pow(rhs, (P_FIELD + 1) // 4, P_FIELD)
        if y * y % P_FIELD == rhs:
            break
        x += 1
    encoded = bytearray(x.to_bytes(48, "big"))
    encoded[0] |= 0x80 | (0x20 if y > P_FIELD - y else 0)
    for backend in BACKENDS.values():
        with pytest.raises(InvalidPoint):
            Point.from_bytes(bytes(encoded), backend)


def test_expand_message_xmd_matches_rfc9380_vector() -> None:
    # RFC 9380 appendix K.1, expand_message_xmd(SHA-256), DST "QUUX-V01-CS02-with-expander-SHA256-128"
    dst = b"QUUX-V01-CS02-with-expander-SHA256-128"
    assert (
        expand_message_xmd(b"", dst, 0x20).hex()
        == "68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235"
    )
    assert (
        expand_message_xmd(b"abc", dst, 0x20).hex()
        == "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615"
    )


def test_hashes_are_domain_separated_deterministic_and_nonzero() -> None:
    point = generator() * 7
    assert H2(b"a") == H2(b"a") != H4(int.from_bytes(b"a", "big"))
    assert H4(5) != H4(5, 1)  # arity is part of the input
    assert H5(point, point) != H2(point, point)
    assert H6(b"pid", 3) != H6(b"pid", 4)
    assert len(H3(point, b"pid", 32)) == 32
    assert len(H3(point, b"pid", 64)) == 64
    assert H3(point, b"pid", 64)[:32] != H3(point, b"pid", 32)  # the length is in the input
    assert all(0 < H2(i) < Q for i in range(50))
    assert encode(b"ab", b"c") != encode(b"a", b"bc")
    assert H1(mask_rid(point, b"rid-1")) != H1(mask_rid(point, b"rid-2"))
    assert len(mask_rid(point, b"x" * 100)) == 48
    with count() as ops:
        H2(1)
        H3(point, b"", 32)
    assert ops.hf == 2


@pytest.mark.parametrize("epsilon", [4, 8, 10])
def test_bloom_sizing_no_false_negatives_and_fpr(epsilon: int) -> None:
    n = 200
    bf = bloom.BloomFilter.init(n, epsilon)
    assert bf.m == math.ceil(1.44 * epsilon * n)
    assert bf.k == epsilon
    members = [RNG.randbytes(32) for _ in range(n)]
    for item in members:
        bf.insert(item)
    assert all(bf.check(item) for item in members)
    trials = 100_000 if epsilon <= 8 else 40_000
    hits = sum(bf.check(RNG.randbytes(32)) for _ in range(trials))
    rate = 2.0**-epsilon
    tolerance = 5 * math.sqrt(rate * (1 - rate) / trials) + 0.25 * rate  # 1.44 rounds ln2^-2 ≈ 2.08
    assert abs(hits / trials - rate) < tolerance, (hits / trials, rate)


def test_bloom_serialisation_and_signature() -> None:
    bf = bloom.BloomFilter.init(10, 20)
    bf.insert(b"one")
    again = bloom.BloomFilter.from_bytes(bf.to_bytes())
    assert again.to_bytes() == bf.to_bytes()
    assert again.check(b"one")
    msk = random_scalar(RNG)
    pk = generator() * msk
    message = bloom.signed_message(3, 1, bf.to_bytes())
    signed = bloom.SignedBloom(3, 1, bf.to_bytes(), schnorr.sign(msk, pk, message).to_bytes())
    assert signed.open(pk).check(b"one")
    tampered = bytearray(bf.to_bytes())
    tampered[-1] ^= 1
    forged = bloom.SignedBloom(3, 1, bytes(tampered), signed.signature)
    with pytest.raises(BloomSignatureInvalid):
        forged.open(pk)
    with pytest.raises(BloomSignatureInvalid):
        bloom.SignedBloom(4, 1, signed.filter_bytes, signed.signature).open(pk)


def test_shamir_threshold() -> None:
    secret = random_scalar(RNG)
    shares = shamir.split(6, 4, secret, RNG)
    for subset in (shares[:4], shares[2:], [shares[0], shares[2], shares[4], shares[5]]):
        assert shamir.combine(subset) == secret
    # t−1 shares: every secret is consistent with them (a fourth share can be chosen to give any secret)
    assert shamir.combine(shares[:3]) != secret
    target = random_scalar(RNG)
    xs = [x for x, _ in shares[:3]] + [0]
    lambdas = shamir.lagrange_at_zero([x for x, _ in shares[:3]] + [9])
    partial = sum(lam * y for lam, (_, y) in zip(lambdas[:3], shares[:3], strict=True))
    fourth = (target - partial) * pow(lambdas[3], -1, Q) % Q
    assert shamir.combine([*shares[:3], (9, fourth)]) == target
    assert xs[-1] == 0
    with pytest.raises(ValueError, match="distinct"):
        shamir.lagrange_at_zero([1, 1])


def test_ecies_round_trip_tamper_and_wrong_key() -> None:
    sk = random_scalar(RNG)
    pk = generator() * sk
    blob = ecc_enc.encrypt(pk, b"secret a", b"ctx")
    assert ecc_enc.decrypt(sk, blob, b"ctx") == b"secret a"
    assert len(blob) == len(b"secret a") + ecc_enc.OVERHEAD
    with pytest.raises(DecryptionFailed):
        ecc_enc.decrypt(sk + 1, blob, b"ctx")
    with pytest.raises(DecryptionFailed):
        ecc_enc.decrypt(sk, blob, b"other ctx")
    for index in (0, 47, 50, len(blob) - 1):
        flipped = bytearray(blob)
        flipped[index] ^= 0x01
        with pytest.raises(DecryptionFailed):
            ecc_enc.decrypt(sk, bytes(flipped), b"ctx")
    with pytest.raises(DecryptionFailed):
        ecc_enc.decrypt(sk, blob[:20])


def test_schnorr_rejects_other_message_and_key() -> None:
    sk = random_scalar(RNG)
    pk = generator() * sk
    signature = schnorr.sign(sk, pk, b"m")
    assert schnorr.verify(pk, b"m", signature)
    assert not schnorr.verify(pk, b"n", signature)
    assert not schnorr.verify(pk * 2, b"m", signature)


def test_paper_cost_calculator_reproduces_the_paper() -> None:
    assert paper_cost("init_auth_rn") == pytest.approx(22.624)
    assert paper_cost("init_auth_rpm") == pytest.approx(11.321)
    assert paper_cost("init_auth_rpm", precomputed_inverse=True) == pytest.approx(11.314)
    assert paper_cost("reauth_rn") == pytest.approx(22.634)
    assert paper_cost("reauth_rpm") == pytest.approx(11.297)
    assert paper_cost("gsku_party") == pytest.approx(11.312)
    for n in (1, 2, 5, 10):
        assert paper_cost("gma_party", n) == pytest.approx(11.28 + 0.027 * (n + 1))
        assert paper_cost("gska_party", n) == pytest.approx(5.64 * n + 0.005)
        assert paper_cost("gma_gska_party", n) == pytest.approx(11.312 + 5.667 * n)

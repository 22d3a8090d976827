"""BLS over BLS12-381 (min-sig, pyblst): RFC 9380 vectors, signatures, PoP, aggregation, and the documented
demonstrations of why Meta-BMEOC's literal Eq. (13) and its homomorphic message hash are wrong (spec 000
§7 items 19-20)."""

from __future__ import annotations

from typing import Any

import pyblst
import pytest

from offchain.crypto import bls
from offchain.crypto.errors import InvalidPrivateKey, InvalidPublicKey, SignatureError
from offchain.crypto.hashing import expand_message_xmd

QUUX_G1 = b"QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_"
# RFC 9380 Appendix J.9.1 (BLS12381G1_XMD:SHA-256_SSWU_RO_): P.x and P.y
RFC_VECTORS = {
    b"": (
        "052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b759e79a1",
        "08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3eae0c9c6a265",
    ),
    b"abc": (
        "03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903",
        "0b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b88176c229f2885d",
    ),
}


def _keys(count: int, tag: bytes = b"k") -> list[int]:
    return [bls.derive_secret(tag + bytes([i])) for i in range(count)]


def test_hash_to_g1_matches_rfc9380_vectors() -> None:
    for message, (x, y) in RFC_VECTORS.items():
        encoded = bls.hash_to_g1(message, QUUX_G1)
        assert encoded == bytes(16) + bytes.fromhex(x) + bytes(16) + bytes.fromhex(y)


def test_expand_message_xmd_matches_rfc9380_vector() -> None:
    # RFC 9380 K.1, expand_message_xmd(SHA-256), DST "QUUX-V01-CS02-with-expander-SHA256-128", len 0x20
    out = expand_message_xmd(b"abc", b"QUUX-V01-CS02-with-expander-SHA256-128", 0x20)
    assert out.hex() == "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615"
    with pytest.raises(ValueError, match="DST"):
        expand_message_xmd(b"abc", b"", 32)


def test_sign_verify_and_wrong_inputs() -> None:
    sk, other = _keys(2)
    pk = bls.public_key(sk)
    sig = bls.sign(sk, b"install id_sc=1")
    assert len(pk) == bls.G2_LENGTH
    assert len(sig) == bls.G1_LENGTH
    assert bls.verify(pk, b"install id_sc=1", sig)
    assert not bls.verify(pk, b"install id_sc=2", sig)  # wrong message
    assert not bls.verify(bls.public_key(other), b"install id_sc=1", sig)  # wrong key
    assert not bls.verify(pk, b"install id_sc=1", sig, bls.DST_POP)  # wrong domain
    assert not bls.verify(pk, b"install id_sc=1", sig[:-1])  # malformed
    assert not bls.verify(bytes(256), b"install id_sc=1", sig)  # key at infinity
    assert not bls.verify(pk, b"x", b"\x01" * 128)  # padding not zero


def test_invalid_secret_and_points_raise_named_errors() -> None:
    with pytest.raises(InvalidPrivateKey):
        bls.public_key(0)
    with pytest.raises(InvalidPrivateKey):
        bls.sign(bls.R, b"m")
    with pytest.raises(InvalidPublicKey):
        bls.decode_g2(bytes(255))
    with pytest.raises(SignatureError):
        bls.decode_g1(bytes(16) + (1).to_bytes(48, "big") + bytes(16) + (1).to_bytes(48, "big"))  # off curve
    with pytest.raises(SignatureError):
        bls.aggregate_signatures([])


def test_encoding_round_trips() -> None:
    sk = bls.generate_secret()
    pk = bls.public_key(sk)
    assert bls.encode_g2(bls.decode_g2(pk)) == pk
    sig = bls.sign(sk, b"m")
    assert bls.encode_g1(bls.decode_g1(sig)) == sig


def test_proof_of_possession() -> None:
    sk, other = _keys(2, b"pop")
    pk = bls.public_key(sk)
    proof = bls.prove_possession(sk)
    assert bls.verify_pop(pk, proof)
    assert not bls.verify_pop(bls.public_key(other), proof)
    assert not bls.verify_pop(pk, bls.sign(sk, pk))  # a message signature on pk is no PoP (other DST)


def test_same_message_aggregate_of_eight() -> None:
    secrets = _keys(8, b"env")
    keys = [bls.public_key(s) for s in secrets]
    message = b"cnf = H(envId || id_sc || codeHash)"
    aggregate = bls.aggregate_signatures(bls.sign(s, message) for s in secrets)
    assert bls.verify_aggregate(keys, message, aggregate)
    assert bls.verify(bls.aggregate_public_keys(keys), message, aggregate)
    # one member did not sign
    partial = bls.aggregate_signatures(bls.sign(s, message) for s in secrets[:-1])
    assert not bls.verify_aggregate(keys, message, partial)
    # one member signed a different cnf
    mixed = bls.aggregate_signatures(
        [*(bls.sign(s, message) for s in secrets[:-1]), bls.sign(secrets[-1], b"x")]
    )
    assert not bls.verify_aggregate(keys, message, mixed)
    assert not bls.verify_aggregate([], message, aggregate)


def test_rogue_key_attack_needs_no_pop_and_pop_stops_it() -> None:
    """Without PoP, Mallory announces pk_M = g2^a - pk_victim and alone "aggregates" for both (why the
    corrected Eq. (13) needs the paper's proof π of control over x_i)."""
    victim = bls.derive_secret(b"victim")
    a = bls.derive_secret(b"mallory")
    rogue_point = bls.g2_generator().scalar_mul(a) + (-bls.decode_g2(bls.public_key(victim)))
    rogue = bls.encode_g2(rogue_point)
    message = b"install"
    forged = bls.sign(a, message)  # a signature by a alone
    assert bls.verify_aggregate([bls.public_key(victim), rogue], message, forged)  # the attack works ...
    # ... but Mallory cannot prove possession of the rogue key (she does not know its discrete log)
    assert not bls.verify_pop(rogue, bls.sign(a, rogue, bls.DST_POP))


# ----------------------------------------------------------------------------- paper's Eq. (13) (documented)


def _pair(g1_point: Any, g2_point: Any) -> Any:
    return pyblst.miller_loop(g1_point, g2_point)


def _gt_equal(left: Any, right: Any) -> bool:
    return bool(pyblst.final_verify(left, right))


def literal_eq13(public_keys: list[bytes], hashed: list[Any], aggregate: bytes) -> bool:
    """The paper's last line of Eq. (13), transposed to min-sig: e(σ_agg, g2) =? e(Σ H(cnf_i), Σ pk_i)."""
    total_hash = hashed[0]
    for point in hashed[1:]:
        total_hash = total_hash + point
    total_key = bls.decode_g2(bls.aggregate_public_keys(public_keys))
    return _gt_equal(_pair(bls.decode_g1(aggregate), bls.g2_generator()), _pair(total_hash, total_key))


def product_check(public_keys: list[bytes], hashed: list[Any], aggregate: bytes) -> bool:
    """The correct distinct-message check: e(σ_agg, g2) = Π_i e(H(cnf_i), pk_i)."""
    product = _pair(hashed[0], bls.decode_g2(public_keys[0]))
    for point, key in zip(hashed[1:], public_keys[1:], strict=True):
        product = product * _pair(point, bls.decode_g2(key))
    return _gt_equal(_pair(bls.decode_g1(aggregate), bls.g2_generator()), product)


def test_paper_eq13_literal_rejects_honest_distinct_messages() -> None:
    """Π e(pk_i, H(cnf_i)) ≠ e(Π pk_i, Π H(cnf_i)): the cross terms e(pk_i, H(cnf_j)), i ≠ j, stay."""
    secrets = _keys(4, b"eq13")
    keys = [bls.public_key(s) for s in secrets]
    messages = [b"cnf-%d" % i for i in range(4)]
    aggregate = bls.aggregate_signatures(bls.sign(s, m) for s, m in zip(secrets, messages, strict=True))
    hashed = [bls.hash_to_g1_point(m, bls.DST_SIG) for m in messages]
    assert product_check(keys, hashed, aggregate)  # honest enclaves pass the correct check ...
    assert not literal_eq13(keys, hashed, aggregate)  # ... and fail the paper's literal equation


def test_paper_eq13_literal_rejects_honest_same_message() -> None:
    """Even with one cnf for all k enclaves the literal right-hand side is e(k·H, Σ pk): exponent k·Σx_i."""
    secrets = _keys(3, b"same")
    keys = [bls.public_key(s) for s in secrets]
    message = b"cnf"
    aggregate = bls.aggregate_signatures(bls.sign(s, message) for s in secrets)
    hashed = [bls.hash_to_g1_point(message, bls.DST_SIG)] * 3
    assert not literal_eq13(keys, hashed, aggregate)
    assert bls.verify_aggregate(keys, message, aggregate)  # the corrected Eq. (13) (our default)


def test_homomorphic_message_hash_is_forgeable() -> None:
    """The paper's h_h with h_h(cnf_1 + cnf_2) = h_h(cnf_1) ⊕ h_h(cnf_2), instantiated as cnf ↦ cnf·G1.

    From one signature on cnf = 1 (x·G1) anyone signs any cnf: σ(cnf) = cnf·σ(1); and two signatures give
    one on the sum. Verification passes for messages the signer never signed. RFC 9380 hash-to-curve has no
    such structure (checked last)."""
    secret = bls.derive_secret(b"homomorphic")
    key = bls.decode_g2(bls.public_key(secret))

    def h_h(cnf: int) -> Any:
        return bls.g1_generator().scalar_mul(cnf)

    def valid(cnf: int, signature: Any) -> bool:
        return _gt_equal(_pair(signature, bls.g2_generator()), _pair(h_h(cnf), key))

    sig_1 = h_h(1).scalar_mul(secret)  # the only signature the victim ever made
    sig_7 = h_h(7).scalar_mul(secret)
    forged_any = sig_1.scalar_mul(123456789)  # never signed
    forged_sum = sig_1 + sig_7  # never signed: cnf = 8
    assert valid(1, sig_1)
    assert valid(7, sig_7)
    assert valid(123456789, forged_any)
    assert valid(8, forged_sum)
    # With the RFC 9380 hash the same combination is no signature on any related message.
    real_1 = bls.sign(secret, (1).to_bytes(32, "big"))
    real_7 = bls.sign(secret, (7).to_bytes(32, "big"))
    combined = bls.aggregate_signatures([real_1, real_7])
    assert not bls.verify(bls.public_key(secret), (8).to_bytes(32, "big"), combined)

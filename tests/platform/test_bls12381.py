"""BLS12381 (EIP-2537 library) cross-tested against offchain/crypto/bls.py (pyblst): Python signatures,
PoPs and aggregates verify on chain; wrong messages, keys and points fail; hash-to-curve and
expand_message_xmd are byte-identical to RFC 9380."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from offchain.crypto import bls
from offchain.crypto.hashing import expand_message_xmd

QUUX_G1 = b"QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_"


@pytest.fixture(scope="module")
def lib(project: Any, deployer: Any) -> Any:
    return project.BLS12381Mock.deploy(sender=deployer)


def test_expand_message_xmd_matches_python(lib: Any, measure_view: Callable[..., int]) -> None:
    for message, dst in ((b"", QUUX_G1), (b"abc", bls.DST_SIG), (b"x" * 200, b"D")):
        assert bytes(lib.expandMessageXmd(message, dst)) == expand_message_xmd(message, dst, 128)
    measure_view(lib, "expandMessageXmd", b"abc", bls.DST_SIG)


def test_hash_to_g1_matches_rfc9380_and_pyblst(lib: Any, measure_view: Callable[..., int]) -> None:
    for message in (b"", b"abc", b"abcdef0123456789", b"q128_" + b"q" * 128):
        assert bytes(lib.hashToG1(message, QUUX_G1)) == bls.hash_to_g1(message, QUUX_G1)
    measure_view(lib, "hashToG1", b"abc", bls.DST_SIG)


def test_python_signature_verifies_on_chain(lib: Any, deployer: Any) -> None:
    sk = bls.derive_secret(b"chain-1")
    other = bls.derive_secret(b"chain-2")
    pk = bls.public_key(sk)
    sig = bls.sign(sk, b"confirm")
    assert lib.verify.call(pk, b"confirm", sig)
    assert not lib.verify.call(pk, b"confirm!", sig)  # wrong message
    assert not lib.verify.call(bls.public_key(other), b"confirm", sig)  # wrong key
    assert not lib.verify.call(bytes(256), b"confirm", sig)  # key at infinity
    assert not lib.verify.call(pk, b"confirm", sig[:-1])  # wrong length
    off_curve = bytes(16) + (1).to_bytes(48, "big") + bytes(16) + (1).to_bytes(48, "big")
    assert not lib.verify.call(pk, b"confirm", off_curve)  # not on the curve: the precompile fails, false
    receipt = lib.verify(pk, b"confirm", sig, sender=deployer)
    assert receipt.events.filter(lib.Checked)[0].valid
    assert 21_000 + 102_900 < receipt.gas_used < 200_000  # at least the base and the 2-pair pairing


def test_pop_on_chain(lib: Any, deployer: Any) -> None:
    sk = bls.derive_secret(b"pop-chain")
    pk = bls.public_key(sk)
    proof = bls.prove_possession(sk)
    assert lib.verifyPop.call(pk, proof)
    assert not lib.verifyPop.call(bls.public_key(bls.derive_secret(b"other")), proof)
    assert not lib.verifyPop.call(pk, bls.sign(sk, pk))  # DST_SIG, not DST_POP
    assert lib.verifyPop(pk, proof, sender=deployer).events.filter(lib.Checked)[0].valid


def test_aggregation_matches_python_and_verifies(lib: Any, measure_view: Callable[..., int]) -> None:
    secrets = [bls.derive_secret(b"agg" + bytes([i])) for i in range(8)]
    keys = [bls.public_key(s) for s in secrets]
    sigs = [bls.sign(s, b"cnf") for s in secrets]
    aggregate_key = bytes(lib.aggregateKeys(keys))
    aggregate_sig = bytes(lib.aggregateSignatures(sigs))
    assert aggregate_key == bls.aggregate_public_keys(keys)
    assert aggregate_sig == bls.aggregate_signatures(sigs)
    assert lib.verify.call(aggregate_key, b"cnf", aggregate_sig)
    assert not lib.verify.call(aggregate_key, b"cnf", bls.aggregate_signatures(sigs[:-1]))
    measure_view(lib, "aggregateKeys", keys)
    measure_view(lib, "aggregateSignatures", sigs)

"""MExpmVerifier (Algorithm 2 of seed 003): both variants against a Python reference, bit for bit."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import ape
import pytest

# The toy example of spec 003 §3.9 (corrected numbers): L = 143, accepted with σ = 111.
TOY = {
    "L": 143,
    "q0": 43,
    "q1": 126,
    "gammas": [12],
    "gamma_primes": [119],
    "rv3": 76,
    "v4": 69,
    "d1": 11,
    "d2": 109,
}


@dataclass
class Instance:
    L: int
    q0: int
    q1: int
    gammas: list[int]
    gamma_primes: list[int]
    rv3: int
    v4: int
    d1: int
    d2: int


def reference_verify(inst: Instance) -> tuple[bool, int]:
    """Algorithm 2 in Python (spec 003 §3.4)."""
    lhs = inst.rv3 * pow(inst.q0, inst.d1, inst.L) % inst.L
    rhs = inst.v4 * pow(inst.q1, inst.d2, inst.L) % inst.L
    for gamma, gamma_prime in zip(inst.gammas, inst.gamma_primes, strict=True):
        lhs = lhs * gamma % inst.L
        rhs = rhs * gamma_prime % inst.L
    return lhs == rhs, lhs if lhs == rhs else 0


def random_instance(rng: random.Random, bits: int, n: int, valid: bool) -> Instance:
    """Random values below an odd L; when ``valid``, the last γ' is solved so that Eq. (5) holds."""
    while True:
        L = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        values = [rng.randrange(2, L) for _ in range(2 * n + 4)]
        inst = Instance(
            L,
            values[0],
            values[1],
            values[2 : 2 + n],
            values[2 + n : 2 + 2 * n],
            values[-2],
            values[-1],
            rng.getrandbits(bits) % L,
            rng.getrandbits(bits) % L,
        )
        if not valid:
            return inst
        lhs = inst.rv3 * pow(inst.q0, inst.d1, L) % L
        for gamma in inst.gammas:
            lhs = lhs * gamma % L
        rest = inst.v4 * pow(inst.q1, inst.d2, L) % L
        for gamma_prime in inst.gamma_primes[:-1]:
            rest = rest * gamma_prime % L
        try:
            inst.gamma_primes[-1] = lhs * pow(rest, -1, L) % L
        except ValueError:  # rest not invertible mod L: draw again
            continue
        return inst


def width_of(L: int) -> int:
    return max(32, -(-L.bit_length() // 256) * 32)


def faithful_args(inst: Instance, width: int | None = None) -> dict[str, bytes]:
    w = width or width_of(inst.L)

    def enc(value: int) -> bytes:
        return value.to_bytes(w, "big")

    return {
        "modulus": enc(inst.L),
        "q0": enc(inst.q0),
        "q1": enc(inst.q1),
        "gammas": b"".join(enc(v) for v in inst.gammas),
        "gammaPrimes": b"".join(enc(v) for v in inst.gamma_primes),
        "rv3": enc(inst.rv3),
        "v4": enc(inst.v4),
        "delta1": inst.d1.to_bytes(max(1, -(-inst.d1.bit_length() // 8)), "big"),
        "delta2": inst.d2.to_bytes(max(1, -(-inst.d2.bit_length() // 8)), "big"),
    }


def paper_args(inst: Instance) -> dict[str, Any]:
    return {
        "modulus": inst.L,
        "q0": inst.q0,
        "q1": inst.q1,
        "gammas": inst.gammas,
        "gammaPrimes": inst.gamma_primes,
        "rv3": inst.rv3,
        "v4": inst.v4,
        "delta1": inst.d1,
        "delta2": inst.d2,
    }


@pytest.fixture(scope="module")
def verifier(project: Any, deployer: Any) -> Any:
    return deployer.deploy(project.MExpmVerifier)


@pytest.fixture(scope="module")
def meter(project: Any, deployer: Any) -> Any:
    return deployer.deploy(project.GasMeter)


def faithful(verifier: Any, inst: Instance) -> tuple[bool, int]:
    ok, sigma = verifier.verify(faithful_args(inst))
    return ok, int.from_bytes(sigma, "big") if ok else 0


def test_the_papers_toy_example_is_accepted(verifier: Any) -> None:
    toy = Instance(**TOY)  # type: ignore[arg-type]
    assert reference_verify(toy) == (True, 111)
    assert faithful(verifier, toy) == (True, 111)
    assert tuple(verifier.verifyPaperScale(paper_args(toy))) == (True, 111)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_faithful_1024_bit_agrees_with_python(verifier: Any, n: int) -> None:
    rng = random.Random(1_000 + n)
    for valid in (True, False):
        inst = random_instance(rng, 1024, n, valid)
        assert faithful(verifier, inst) == reference_verify(inst)
        assert faithful(verifier, inst)[0] is valid


def test_a_single_tampered_output_is_rejected(verifier: Any) -> None:
    inst = random_instance(random.Random(7), 1024, 4, valid=True)
    assert faithful(verifier, inst)[0]
    inst.gammas[2] = (inst.gammas[2] + 1) % inst.L
    assert faithful(verifier, inst) == (False, 0)


@pytest.mark.parametrize("bits", [32, 64, 128, 192, 256])
def test_paper_scale_agrees_with_python_over_bit_lengths(verifier: Any, bits: int) -> None:
    rng = random.Random(bits)
    for n, valid in ((1, True), (5, True), (3, False)):
        inst = random_instance(rng, bits, n, valid)
        assert tuple(verifier.verifyPaperScale(paper_args(inst))) == reference_verify(inst)
        assert faithful(verifier, inst) == reference_verify(inst)  # the same values through variant A


def test_gas_rows_beside_the_papers_figure(
    verifier: Any, meter: Any, gas_log: Any, measure_view: Any
) -> None:
    rng = random.Random(32)
    paper = random_instance(rng, 32, 1, valid=True)
    data = verifier.verifyPaperScale.as_transaction(paper_args(paper)).data
    used, ok, _ = meter.measure(verifier.address, data)
    assert ok
    gas_log.add("MExpmVerifier", "verify_paper_n1_r32", used, kind="call")
    full = random_instance(rng, 1024, 1, valid=True)
    data = verifier.verify.as_transaction(faithful_args(full)).data
    used_faithful, ok, _ = meter.measure(verifier.address, data)
    assert ok
    gas_log.add("MExpmVerifier", "verify_faithful_n1", used_faithful, kind="call")
    assert used < used_faithful
    measure_view(verifier, "verify", faithful_args(full))
    measure_view(verifier, "verifyPaperScale", paper_args(paper))
    measure_view(verifier, "MAX_BASES")
    measure_view(verifier, "MAX_MODULUS_BYTES")
    measure_view(meter, "measure", verifier.address, data)


# ------------------------------------------------------------------------ malformed input


def base_instance() -> Instance:
    return random_instance(random.Random(99), 256, 2, valid=True)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda a: a.update(modulus=b""), "InvalidModulus"),
        (lambda a: a.update(modulus=a["modulus"][:-1] + bytes([a["modulus"][-1] & 0xFE])), "InvalidModulus"),
        (lambda a: a.update(modulus=a["modulus"][1:]), "InvalidModulus"),  # not a multiple of 32 bytes
        (lambda a: a.update(modulus=(1).to_bytes(32, "big")), "InvalidModulus"),
        (lambda a: a.update(q0=a["q0"][1:]), "BadEncoding"),
        (lambda a: a.update(v4=a["v4"] + b"\0"), "BadEncoding"),
        (lambda a: a.update(delta1=bytes(33)), "ExponentTooLong"),
        (lambda a: a.update(gammas=a["gammas"][:32]), "BadCount"),
        (lambda a: a.update(gammas=b"", gammaPrimes=b""), "BadCount"),
        (lambda a: a.update(gammaPrimes=a["gammaPrimes"] + b"\0"), "BadCount"),
        (lambda a: a.update(q1=a["modulus"]), "ValueNotBelowModulus"),
        (lambda a: a.update(gammas=a["gammas"][:32] + b"\xff" * 32), "ValueNotBelowModulus"),
        (lambda a: a.update(gammaPrimes=b"\xff" * 32 + a["gammaPrimes"][32:]), "ValueNotBelowModulus"),
        (lambda a: a.update(rv3=a["modulus"]), "ValueNotBelowModulus"),
        (lambda a: a.update(v4=b"\xff" * 32), "ValueNotBelowModulus"),
        (lambda a: a.update(delta2=bytes(33)), "ExponentTooLong"),
        (lambda a: a.update(gammaPrimes=a["gammaPrimes"][:-1]), "BadCount"),
        (lambda a: a.update(modulus=b"\x01" * 544), "InvalidModulus"),  # 4352 bits > MAX_MODULUS_BYTES
        (
            lambda a: a.update(gammas=a["gammas"][:32] * 1025, gammaPrimes=a["gammaPrimes"][:32] * 1025),
            "BadCount",
        ),
        (lambda a: a.update(gammas=a["gammas"][:31]), "BadCount"),  # not a whole number of values
    ],
    ids=[
        "empty-modulus",
        "even-modulus",
        "ragged-modulus",
        "modulus-one",
        "short-value",
        "long-value",
        "long-exponent",
        "count-mismatch",
        "no-bases",
        "ragged-vector",
        "value-equals-modulus",
        "gamma-too-big",
        "gamma-prime-too-big",
        "rv3-equals-modulus",
        "v4-too-big",
        "long-exponent-2",
        "ragged-gamma-primes",
        "modulus-too-wide",
        "too-many-bases",
        "ragged-gammas",
    ],
)
def test_faithful_rejects_malformed_input(verifier: Any, mutate: Any, error: str) -> None:
    """Malformed or oversized submissions revert with a named error (spec 003 §7 #21)."""
    args = faithful_args(base_instance())
    mutate(args)
    with ape.reverts(getattr(verifier, error)):
        verifier.verify(args)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda a: a.update(modulus=2**200), "InvalidModulus"),
        (lambda a: a.update(modulus=1), "InvalidModulus"),
        (lambda a: a.update(gammaPrimes=a["gammaPrimes"][:1]), "BadCount"),
        (lambda a: a.update(gammas=[], gammaPrimes=[]), "BadCount"),
        (lambda a: a.update(gammas=[1] * 1025, gammaPrimes=[1] * 1025), "BadCount"),
        (lambda a: a.update(q0=a["modulus"]), "ValueNotBelowModulus"),
        (lambda a: a.update(q1=a["modulus"] + 1), "ValueNotBelowModulus"),
        (lambda a: a.update(rv3=a["modulus"]), "ValueNotBelowModulus"),
        (lambda a: a.update(v4=2**256 - 1), "ValueNotBelowModulus"),
        (lambda a: a.update(gammas=[1, a["modulus"]]), "ValueNotBelowModulus"),
        (lambda a: a.update(gammaPrimes=[a["modulus"], 1]), "ValueNotBelowModulus"),
    ],
    ids=[
        "even-modulus",
        "modulus-one",
        "count-mismatch",
        "no-bases",
        "too-many-bases",
        "q0",
        "q1",
        "rv3",
        "v4",
        "gamma",
        "gamma-prime",
    ],
)
def test_paper_scale_rejects_malformed_input(verifier: Any, mutate: Any, error: str) -> None:
    args = paper_args(base_instance())
    mutate(args)
    with ape.reverts(getattr(verifier, error)):
        verifier.verifyPaperScale(args)


# ------------------------------------------------------------------------ the real protocol, end to end


@pytest.mark.parametrize("n", [1, 2, 5])
def test_protocol_outputs_verify_on_chain_and_recover(verifier: Any, n: int) -> None:
    """Setup, KeyGen and the server's Compute from offchain.modexp; Algorithm 2 on chain; Recovery."""
    from offchain.modexp import core

    rng = random.Random(2_000 + n)
    N = core.random_prime(512, rng)
    bases = [rng.randrange(2, N) for _ in range(n)]
    exponents = [rng.getrandbits(512) for _ in range(n)]
    params, rk, _ = core.setup(bases, N, rng=rng)
    tk, vk, aux, secret = core.keygen(exponents, params, rk, rng=rng)
    outputs = core.compute(core.server_task(tk, vk, secret, params.L))  # shuffled, as the server sees it
    sigma, pi = core.unshuffle(outputs, secret.permutation)
    inst = Instance(
        params.L,
        sigma.q0,
        pi.q1,
        list(sigma.gammas),
        list(pi.gamma_primes),
        aux.rv3,
        aux.v4,
        aux.delta1,
        aux.delta2,
    )
    ok, sigma_out = faithful(verifier, inst)
    assert (ok, sigma_out) == core.verify_encoded(sigma, pi, aux, params.L)
    assert ok
    assert core.recovery(sigma_out, rk, secret, params.L) == core.local_product(bases, exponents, N)
    inst.gammas[0] = inst.gammas[0] * 2 % params.L  # a forged output is refused on chain too
    assert faithful(verifier, inst) == (False, 0)


def revert_data(signature: str, types: list[str], values: list[int]) -> str:
    """The text ape shows for an undecoded custom error of a view call: selector, then the raw arguments."""
    from eth_abi import encode
    from eth_utils import keccak

    return f"custom error 0x{keccak(text=signature)[:4].hex()}: " + encode(types, values).decode("latin-1")


def test_revert_names_the_offending_field_and_index(verifier: Any) -> None:
    args = faithful_args(base_instance())
    width = len(args["modulus"])
    args["gammaPrimes"] = args["gammaPrimes"][:width] + args["modulus"]
    with pytest.raises(Exception) as info:  # noqa: PT011 (the message is checked below)
        verifier.verify(args)
    assert str(info.value) == revert_data("ValueNotBelowModulus(uint8,uint256)", ["uint8", "uint256"], [5, 1])
    args = faithful_args(base_instance())
    args["q1"] = args["q1"][:-1]
    with pytest.raises(Exception) as info:  # noqa: PT011
        verifier.verify(args)
    assert str(info.value) == revert_data("BadEncoding(uint8)", ["uint8"], [1])

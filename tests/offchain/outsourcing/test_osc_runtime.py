"""The off-chain contract runtime (spec 000 §3.8): code hash, determinism, state root, JSON, errors."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace

import pytest
from osc_helpers import (
    ASC,
    CHAIN_ID,
    CSNS,
    ENV_ID,
    account_request,
    compute,
    config,
    new_task,
    schedule_request,
)

from offchain.crypto.hashing import keccak256
from offchain.outsourcing.asc import anchor_digest, claim_digest, settlement_digest
from offchain.outsourcing.incentives import SettlementParams
from offchain.outsourcing.osc import (
    CONTRACTS,
    AccountOutput,
    DefaultPayout,
    OscConfig,
    OscRequest,
    OscRequestError,
    OscResult,
    OscRevert,
    OscRuntime,
    ScheduleOutput,
    Settle,
    SettleOutput,
    TaskStatus,
    load_artifacts,
    request_from_json,
)

SEED_A = b"\x0a" * 32
SEED_B = b"\x0b" * 32


def _requests(seed_b: bytes = SEED_B) -> list[OscRequest]:
    """Two tasks: A is disputed (one cheater) and settled, B paid by default; requests built up front."""
    rng = random.Random(11)
    a = new_task(rng, t=1, m=4, deposit=1_003)
    b = new_task(rng, d=2, t=1, deposit=5_000)
    scratch = OscRuntime(config())  # only to learn the groups the requests will produce
    first = scratch.execute(schedule_request(a, SEED_A))
    group_a = first.output_as(ScheduleOutput).group
    results = compute(a, group_a, cheaters=[2])
    cheater = group_a[1]
    return [
        schedule_request(a, SEED_A),
        schedule_request(b, seed_b, escrowed_deposit=5_000),
        account_request(a, group_a, results),
        Settle(a.task_id, (cheater,), incentive_pool=10**18, stakes=(500,)),
        DefaultPayout(b.task_id),
    ]


def _run(requests: list[OscRequest]) -> tuple[OscRuntime, list[OscResult]]:
    runtime = OscRuntime(config())
    return runtime, [runtime.execute(r) for r in requests]


def test_code_hash_is_keccak_of_the_four_runtime_codes_and_stable_across_processes() -> None:
    one, two = OscRuntime(config()), OscRuntime(config(env_id=99, min_deposit=7))
    assert one.code_hash == two.code_hash == keccak256(b"".join(one.runtime_code))
    assert one.addresses == two.addresses  # fixed deployer: the same addresses in every enclave
    artifacts = load_artifacts()
    for name, code in zip(CONTRACTS, one.runtime_code, strict=True):
        # the deployed code is the artifact's runtime code plus solc's metadata tail
        assert code.startswith(artifacts[name].runtime)
        assert len(code) - len(artifacts[name].runtime) < 64
    script = (
        "from offchain.outsourcing.osc import OscConfig, OscRuntime;"
        f"print(OscRuntime(OscConfig({CHAIN_ID}, '{ASC}', 5)).code_hash.hex())"
    )
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == one.code_hash.hex()


def test_same_requests_give_identical_results_and_roots() -> None:
    requests = _requests()
    one, results_one = _run(requests)
    # the second enclave receives the requests over the wire
    two, results_two = _run([request_from_json(json.dumps(r.to_json())) for r in requests])
    assert [r.to_json() for r in results_one] == [r.to_json() for r in results_two]
    assert one.state_root == two.state_root
    assert one.seq == two.seq == len(requests)
    assert [r.seq for r in results_one] == list(range(1, len(requests) + 1))
    assert len({r.state_root for r in results_one}) == len(requests)  # every step moves the root
    assert results_one[-1].state_root == one.state_root
    # the task ran its whole life: schedule, account (one cheater), settle; the other paid by default
    account = results_one[2].output
    assert account.valid
    assert len(account.mlist) == 1
    assert one.task_status(results_one[0].output_as(ScheduleOutput).task_id) is TaskStatus.SETTLED
    assert one.task_status(results_one[1].output_as(ScheduleOutput).task_id) is TaskStatus.PAID_BY_DEFAULT


def test_one_tampered_input_gives_another_root() -> None:
    honest, results = _run(_requests())
    tampered, tampered_results = _run(_requests(seed_b=b"\x0c" * 32))  # another seed for task B only
    assert results[0] == tampered_results[0]
    assert results[1].state_root != tampered_results[1].state_root
    assert honest.state_root != tampered.state_root
    # a different configuration is a different state, too
    other = OscRuntime(config(params=SettlementParams(penalty_wad=3 * 10**18)))
    assert other.state_root != OscRuntime(config()).state_root


def test_json_round_trip_of_requests_and_results() -> None:
    requests = _requests()
    _, results = _run(requests)
    for request in requests:
        text = json.dumps(request.to_json())
        again = request_from_json(text)
        assert again == request
        assert again.to_json() == request.to_json()
    for result in results:
        assert OscResult.from_json(json.dumps(result.to_json())) == result
    assert OscConfig.from_json(config().to_json()) == config()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda body: body.pop("seed"), "missing field 'seed'"),
        (lambda body: body.update(seed="0x1234"), "seed must be 32 bytes"),
        (lambda body: body.update(seed="zz"), "seed must be 0x-hex"),
        (lambda body: body.update(kind="launch"), "unknown request kind"),
        (lambda body: body.update(escrowed_deposit=True), "escrowed_deposit must be an integer"),
        (lambda body: body["candidates"].append(dict(body["candidates"][0])), "appears twice"),
        (lambda body: body["candidates"][0].update(address="0x12"), "must be an address"),
        (lambda body: body["tx_t"].update(signature="0x00"), "malformed TX_t"),
        (lambda body: body["tx_t"].update(m=2), "malformed TX_t"),
    ],
)
def test_malformed_requests_are_named(mutate: object, message: str) -> None:
    request = _requests()[0]
    body = json.loads(json.dumps(request.to_json()))
    mutate(body)  # type: ignore[operator]
    with pytest.raises(OscRequestError, match=message):
        request_from_json(body)


def test_bad_values_are_rejected_before_the_evm() -> None:
    task = bytes(32)
    with pytest.raises(OscRequestError, match="one bonded stake per MList entry"):
        Settle(task, (CSNS[0].address,), 0)
    with pytest.raises(OscRequestError, match="incentive_pool"):
        Settle(task, (), -1)
    with pytest.raises(OscRequestError, match="task_id must be 32 bytes"):
        DefaultPayout(b"\x01")
    with pytest.raises(OscRequestError, match="not JSON"):
        request_from_json("{")
    with pytest.raises(OscRequestError, match="asc must be an address"):
        OscConfig(CHAIN_ID, "0xnope", 1)
    with pytest.raises(OscRequestError, match="min_deposit"):
        OscConfig(CHAIN_ID, ASC, 1, min_deposit=0)
    with pytest.raises(OscRequestError, match=r"params\.basic_stake"):
        OscConfig(CHAIN_ID, ASC, 1, SettlementParams(basic_stake=2**256))


def test_a_revert_is_named_and_changes_nothing() -> None:
    requests = _requests()
    runtime = OscRuntime(config())
    runtime.execute(requests[0])
    root, seq = runtime.state_root, runtime.seq
    with pytest.raises(OscRevert, match=r"TaskReplayed\(0x") as info:
        runtime.execute(requests[0])
    assert info.value.name == "TaskReplayed"
    assert info.value.contract == "OCTVSC"
    with pytest.raises(OscRevert) as info:
        runtime.execute(DefaultPayout(b"\x99" * 32))
    assert info.value.name == "WrongTaskStatus"
    assert info.value.args_[1] == TaskStatus.NONE
    assert (runtime.state_root, runtime.seq) == (root, seq)
    # and the runtime still works
    assert runtime.execute(requests[1]).seq == seq + 1


def test_execute_json_is_execute_on_the_wire_form() -> None:
    request = _requests()[0]
    one, two = OscRuntime(config()), OscRuntime(config())
    assert one.execute_json(request.to_json()) == two.execute(request).to_json()


def test_schedule_output_index_and_vouchers() -> None:
    requests = _requests()
    runtime, results = _run(requests)
    schedule = results[0].output_as(ScheduleOutput)
    group = schedule.group
    assert [schedule.index_of(a) for a in group] == list(range(1, len(group) + 1))
    assert runtime.group(schedule.task_id) == group
    cheater = results[2].output_as(AccountOutput).mlist[0]
    assert runtime.is_blacklisted(cheater)
    assert runtime.reputation(cheater) == 0
    assert runtime.voucher(cheater) == 0
    honest = [a for a in group if a != cheater]
    assert all(runtime.voucher(a) > 0 and runtime.reputation(a) == 1 for a in honest)
    assert replace(requests[4]) == requests[4]


def test_asc_digests_of_the_steps() -> None:
    requests = _requests()
    runtime, results = _run(requests)
    env = ENV_ID.to_bytes(32, "big")
    schedule = results[0].output
    assert isinstance(schedule, ScheduleOutput)
    assert runtime.anchor_digest(schedule) == anchor_digest(
        CHAIN_ID, ASC, env, schedule.task_id, schedule.group_commitment
    )
    settle = results[3].output
    assert isinstance(settle, SettleOutput)
    assert runtime.settlement_digest(results[3]) == settlement_digest(
        CHAIN_ID, ASC, env, settle.task_id, list(settle.mlist), settle.bonus, results[3].state_root
    )
    with pytest.raises(OscRequestError, match="Settle step"):
        runtime.settlement_digest(results[0])
    csn = schedule.group[0]
    cumulative, digest = runtime.claim(csn)
    assert cumulative == runtime.voucher(csn)
    assert digest == claim_digest(CHAIN_ID, ASC, env, csn, cumulative)

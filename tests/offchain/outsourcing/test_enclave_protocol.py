"""The enclave environment's pieces without a chain: the Leader's collect / compare / aggregate / challenge
logic against scripted members (real BLS keys and signatures), the sealing of TX_acc and Group_C, and the
keys one keystore yields."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from bmeoc_helpers import honest_run
from pydantic import BaseModel
from web3 import Web3

from offchain.crypto import bls
from offchain.crypto.errors import DecryptionError
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import derive
from offchain.outsourcing.accountability import build_accountability_transaction
from offchain.outsourcing.chain_clients import EnvironmentInfo, EnvStatus
from offchain.outsourcing.enclave.contracts import Step, request_hash
from offchain.outsourcing.enclave.keys import EnclaveKeys
from offchain.outsourcing.enclave.leader import Leader, StepRefused
from offchain.outsourcing.enclave.sealing import (
    GroupC,
    open_accountability,
    open_group,
    seal_accountability,
    seal_group,
)
from offchain.outsourcing.enclave.seed import (
    aggregate_seed,
    check_seed,
    seed_message,
    seed_of,
    sign_seed_share,
)
from offchain.outsourcing.enclave.wire import (
    EXECUTE,
    REEXECUTE,
    ExecuteRequest,
    ExecuteResponse,
    SeedRequest,
    SeedResponse,
    to_hex,
)
from offchain.outsourcing.msc_messages import environment_message, execution_message

CHAIN_ID = 31337
MSC = "0x" + "11" * 20
ENV_ID, ID_SC, SEQ = 3, 1, 1
ROOT = keccak256(b"state root after step 1")
DIGEST = keccak256(b"an ASC digest")


def _keys(count: int) -> list[EnclaveKeys]:
    return [EnclaveKeys(derive(b"metatrust-tests-enclave-protocol", i)) for i in range(count)]


def _environment(members: list[EnclaveKeys]) -> EnvironmentInfo:
    return EnvironmentInfo(
        ENV_ID,
        EnvStatus.LIVE,
        Web3.to_checksum_address(members[0].address),
        len(members),
        bytes(32),
        0,
        (),
        tuple(Web3.to_checksum_address(m.address) for m in members),
        bls.aggregate_public_keys(m.bls_public for m in members),
    )


@dataclass
class FakeMsc:
    env: EnvironmentInfo
    address: str = MSC
    confirmed: list[tuple[Any, ...]] = field(default_factory=list)

    def environment(self, env_id: int) -> EnvironmentInfo:
        return self.env

    def confirm_execution(self, *args: Any) -> dict[str, bytes]:
        self.confirmed.append(args)
        return {"transactionHash": keccak256(repr(args).encode())}


class ScriptedLeader(Leader):
    """A Leader whose members answer from a script: ``None`` is silence, ``"diverge"`` another root."""

    def __init__(self, members: list[EnclaveKeys], script: dict[str, str | None]) -> None:
        self.msc = FakeMsc(_environment(members))
        chain = SimpleNamespace(address=members[0].address, chain_id=CHAIN_ID, msc=self.msc)
        super().__init__(chain, None, self._endpoint)  # type: ignore[arg-type]
        self.members = {m.address: m for m in members}
        self.script = script
        self.calls: list[tuple[str, str]] = []
        self.challenged: list[str] = []

    async def _endpoint(self, member: str) -> str:
        return "http://unused"

    async def _call(self, member: str, action: str, request: BaseModel, model: type[Any]) -> Any:
        self.calls.append((member, action))
        behaviour = self.script.get(member, "ok")
        if behaviour is None:
            return None
        if isinstance(request, SeedRequest):  # "diverge": a share on another task's message
            task = (
                keccak256(b"another task") if behaviour == "diverge" else bytes.fromhex(request.task_id[2:])
            )
            share = sign_seed_share(
                self.members[member].bls_secret, seed_message(CHAIN_ID, MSC, ENV_ID, task)
            )
            return SeedResponse(signature=to_hex(share))
        assert isinstance(request, ExecuteRequest)
        root = keccak256(b"another root") if behaviour == "diverge" else ROOT
        expected = request.expected_root
        agrees = expected is None or expected == to_hex(root)
        keys = self.members[member]
        return ExecuteResponse(
            seq=request.seq,
            state_root=to_hex(root),
            output={},
            agrees=agrees,
            execution_signature=to_hex(
                keys.sign(execution_message(CHAIN_ID, MSC, ENV_ID, ID_SC, request.seq, root))
            )
            if agrees
            else None,
            asc_digest=to_hex(DIGEST),
            asc_signature=to_hex(keys.sign(environment_message(CHAIN_ID, MSC, ENV_ID, DIGEST)))
            if agrees
            else None,
        )

    async def _challenge_until_resolved(self, env_id: int, member: str, about: bytes) -> bool:
        """As MSC after the response window: the silent member leaves, the aggregate key shrinks."""
        self.challenged.append(member)
        remaining = [
            m for m in self.members.values() if m.address != member and m.address in self.msc.env.members
        ]
        self.msc.env = _environment(remaining)
        return True


def _run(leader: ScriptedLeader, leader_keys: EnclaveKeys) -> Any:
    own = Step(SEQ, ROOT, {}, {}, DIGEST)
    signatures = (
        leader_keys.sign(execution_message(CHAIN_ID, MSC, ENV_ID, ID_SC, SEQ, ROOT)),
        leader_keys.sign(environment_message(CHAIN_ID, MSC, ENV_ID, DIGEST)),
    )

    async def go() -> Any:
        collected = await leader.step(ENV_ID, ID_SC, {"kind": "default-payout"}, {}, own, signatures)
        env, _ = await leader.confirm(ENV_ID, ID_SC, collected)
        return collected, env, leader.environment_signature(env, collected.asc, DIGEST)

    return asyncio.run(go())


def test_all_members_agree_one_aggregate_under_the_environment_key() -> None:
    members = _keys(5)
    leader = ScriptedLeader(members, {})
    collected, env, asc_signature = _run(leader, members[0])
    # the Execution Enclave first, then the Monitoring Enclaves re-execute
    assert leader.calls[0] == (members[1].address, EXECUTE)
    assert {c for c in leader.calls[1:]} == {(m.address, REEXECUTE) for m in members[2:]}
    assert set(collected.execution) == {m.address for m in members}
    (_, seq, root, key, sigma) = leader.msc.confirmed[0]
    assert (seq, root, key) == (SEQ, ROOT, env.aggregate_key)
    assert bls.verify(key, execution_message(CHAIN_ID, MSC, ENV_ID, ID_SC, SEQ, ROOT), sigma)
    assert asc_signature[:256] == env.aggregate_key
    assert bls.verify(
        env.aggregate_key, environment_message(CHAIN_ID, MSC, ENV_ID, DIGEST), asc_signature[256:]
    )


def test_a_divergent_state_root_is_never_signed_with() -> None:
    members = _keys(5)
    leader = ScriptedLeader(members, {members[3].address: "diverge"})
    with pytest.raises(StepRefused, match="state roots differ"):
        _run(leader, members[0])
    assert leader.msc.confirmed == []
    # a divergent Execution Enclave: every Monitoring Enclave disagrees with it, the step is refused too
    leader = ScriptedLeader(members, {members[1].address: "diverge"})
    with pytest.raises(StepRefused):
        _run(leader, members[0])
    assert leader.msc.confirmed == []


def test_a_silent_member_is_challenged_removed_and_the_rest_aggregate() -> None:
    members = _keys(5)
    silent = members[4].address
    leader = ScriptedLeader(members, {silent: None})
    collected, env, asc_signature = _run(leader, members[0])
    assert leader.challenged == [silent]
    assert collected.removed == [silent]
    assert silent not in env.members
    assert len(env.members) == 4
    (_, _, _, key, sigma) = leader.msc.confirmed[0]
    assert key == bls.aggregate_public_keys(m.bls_public for m in members[:4])
    assert bls.verify(key, execution_message(CHAIN_ID, MSC, ENV_ID, ID_SC, SEQ, ROOT), sigma)
    assert bls.verify(key, environment_message(CHAIN_ID, MSC, ENV_ID, DIGEST), asc_signature[256:])


def test_tx_acc_opens_only_for_its_enclave_and_task() -> None:
    run = honest_run(3, 2, 1)
    tx_acc = build_accountability_transaction(run.mtd, run.task, run.results, run.group)
    members = _keys(3)
    task_id = keccak256(b"task")
    sealed = seal_accountability(
        tx_acc, run.polynomial, task_id, {m.address: m.encryption.compressed_public_key for m in members}
    )
    for member in members:
        opened, polynomial = open_accountability(
            member.encryption, member.address, task_id, sealed[member.address]
        )
        assert opened == tx_acc
        assert opened.signature == tx_acc.signature
        assert polynomial.digest() == run.polynomial.digest()
    with pytest.raises(DecryptionError):  # another enclave's copy
        open_accountability(members[0].encryption, members[0].address, task_id, sealed[members[1].address])
    with pytest.raises(DecryptionError):  # bound to the task
        open_accountability(
            members[0].encryption, members[0].address, keccak256(b"x"), sealed[members[0].address]
        )
    # Group_C for the MTD
    mtd = EnclaveKeys(run.mtd)
    group = GroupC(tuple(run.group), keccak256(b"salt"))
    blob = seal_group(group, task_id, mtd.address, mtd.encryption.compressed_public_key)
    assert open_group(mtd.encryption, task_id, mtd.address, blob) == group
    with pytest.raises(DecryptionError):
        open_group(members[0].encryption, task_id, mtd.address, blob)


def test_one_keystore_three_distinct_keys_and_stable_request_hashes() -> None:
    a, again, b = EnclaveKeys(derive(b"k", 0)), EnclaveKeys(derive(b"k", 0)), EnclaveKeys(derive(b"k", 1))
    assert a.bls_public == again.bls_public
    assert a.bls_public != b.bls_public
    assert a.encryption.private_key != a.identity.private_key
    assert bls.verify_pop(a.bls_public, bls.prove_possession(a.bls_secret))
    assert request_hash({"b": 1, "a": [2]}) == request_hash({"a": [2], "b": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})


# ---------------------------------------------------------------------------------- RSSC's seed, input block


def test_seed_is_the_hash_of_the_unique_aggregate_and_members_refuse_another() -> None:
    members = _keys(4)
    env = _environment(members)
    task = keccak256(b"a task id")
    message = seed_message(CHAIN_ID, MSC, ENV_ID, task)
    sigma = aggregate_seed(sign_seed_share(m.bls_secret, message) for m in members)
    seed = seed_of(sigma)
    assert check_seed(env.aggregate_key, message, sigma, seed) is None
    # unique: the same shares in another order, or computed again, give the same σ and seed
    again = aggregate_seed(sign_seed_share(m.bls_secret, message) for m in reversed(members))
    assert again == sigma
    # the Leader's own pick of seed, with a valid σ: refused
    problem = check_seed(env.aggregate_key, message, sigma, keccak256(b"the Leader's pick"))
    assert problem is not None
    assert "keccak256" in problem
    # σ without one member (a Leader dropping a share to re-roll), or of another task: refused
    partial = aggregate_seed(sign_seed_share(m.bls_secret, message) for m in members[:3])
    assert check_seed(env.aggregate_key, message, partial, seed_of(partial)) is not None
    other = seed_message(CHAIN_ID, MSC, ENV_ID, keccak256(b"another task"))
    other_sigma = aggregate_seed(sign_seed_share(m.bls_secret, other) for m in members)
    assert check_seed(env.aggregate_key, message, other_sigma, seed_of(other_sigma)) is not None
    # shares are domain-separated: an environment-message signature is not a seed share, nor vice versa
    plain = aggregate_seed(m.sign(message) for m in members)  # the message DST of MSC's and ASC's messages
    assert check_seed(env.aggregate_key, message, plain, seed_of(plain)) is not None
    assert not bls.verify(env.aggregate_key, message, sigma)
    assert check_seed(env.aggregate_key, message, b"\x00" * 128, seed) is not None


def test_input_block_must_be_recent() -> None:
    from offchain.outsourcing.enclave.inputs import MAX_BLOCK_AGE, block_age_problem

    assert block_age_problem(100, 100) is None
    assert block_age_problem(100 - MAX_BLOCK_AGE, 100 + 0) is None
    assert "no input block" in str(block_age_problem(None, 100))
    assert "ahead" in str(block_age_problem(101, 100))
    assert "older" in str(block_age_problem(99 - MAX_BLOCK_AGE, 100))


def _seed(leader: ScriptedLeader, leader_keys: EnclaveKeys, task: bytes) -> tuple[bytes, bytes, list[str]]:
    share = sign_seed_share(leader_keys.bls_secret, seed_message(CHAIN_ID, MSC, ENV_ID, task))
    return asyncio.run(leader.seed(ENV_ID, task, share))


def test_the_leader_gathers_the_seed_and_cannot_use_a_bad_share() -> None:
    members = _keys(5)
    task = keccak256(b"a task id")
    seed, sigma, removed = _seed(ScriptedLeader(members, {}), members[0], task)
    assert removed == []
    assert seed == seed_of(sigma)
    env = _environment(members)
    assert check_seed(env.aggregate_key, seed_message(CHAIN_ID, MSC, ENV_ID, task), sigma, seed) is None
    # a member's share on another message: the aggregate does not verify, the Leader refuses to go on
    with pytest.raises(StepRefused, match="does not verify"):
        _seed(ScriptedLeader(members, {members[2].address: "diverge"}), members[0], task)
    # a silent member is challenged and removed; the seed is then that of the remaining members' key
    leader = ScriptedLeader(members, {members[4].address: None})
    seed4, sigma4, removed = _seed(leader, members[0], task)
    assert removed == [members[4].address]
    assert seed4 != seed
    message = seed_message(CHAIN_ID, MSC, ENV_ID, task)
    assert check_seed(leader.msc.env.aggregate_key, message, sigma4, seed4) is None

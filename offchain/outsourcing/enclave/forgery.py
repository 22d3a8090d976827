"""A Leader that lies to its members (the flow's probes of ``make demo`` and the tests).

Each probe is a step the Leader's own key sends to the Execution Enclave with one input forged: a
ScheduleTask whose seed is the Leader's pick instead of keccak256 of the environment's aggregate seed
signature, a ScheduleTask whose candidate list leaves out a CSN that RSC and ASC count eligible at the
named block, a Settle whose stake for a CSN is not ASC's bonded stake at that block, one whose incentive pool
is not ASC's, and a true Settle at a block the chain has not reached. Every member must
refuse (4xx with a reason) before it executes anything; the probes use a sequence number far ahead, so a
step that were wrongly accepted would not change any state either (it would come back 409 wrong-sequence).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.outsourcing.enclave.chain import EnclaveChain
from offchain.outsourcing.enclave.inputs import candidates_at, pool_at, stakes_at
from offchain.outsourcing.enclave.keys import EnclaveKeys
from offchain.outsourcing.enclave.seed import aggregate_seed, seed_message, seed_of, sign_seed_share
from offchain.outsourcing.enclave.wire import EXECUTE, ExecuteRequest, ExecuteResponse, to_hex
from offchain.outsourcing.osc import ScheduleTask, Settle
from offchain.outsourcing.task import TaskTransaction

FAR_AHEAD = 10**6


async def forged_leader_steps(
    chain: EnclaveChain,
    leader: KeyPair,
    member_keys: Sequence[KeyPair],
    endpoints: dict[str, str],
    env_id: int,
    id_sc: int,
    tx_t: TaskTransaction,
    deposit: int,
    csn: str,
) -> dict[str, str]:
    """Send the forged steps; returns label → ``"<status> <code>"`` of each refusal (``"accepted"``
    if a member executed one)."""
    env = await asyncio.to_thread(chain.msc.environment, env_id)
    keys = {k.address: EnclaveKeys(k) for k in member_keys}
    message = seed_message(chain.chain_id, chain.msc.address, env_id, tx_t.task_id)
    sigma = aggregate_seed(sign_seed_share(keys[m].bls_secret, message) for m in env.members)
    block = await asyncio.to_thread(chain.head)
    candidates = await asyncio.to_thread(candidates_at, chain, block)
    eligible = [c for c in candidates if c.eligible]
    stake = (await asyncio.to_thread(stakes_at, chain, [csn], block))[0]
    pool = await asyncio.to_thread(pool_at, chain, block)
    steps = {
        "seed picked by the Leader": ScheduleTask(
            tx_t, candidates, keccak256(b"the Leader's favourite seed"), deposit
        ).to_json(),
        "forged candidate list": ScheduleTask(
            tx_t, tuple(c for c in candidates if c != eligible[0]), seed_of(sigma), deposit
        ).to_json(),
        "wrong stake": Settle(tx_t.task_id, (csn,), pool, (stake + 1,)).to_json(),
        "wrong incentive pool": Settle(tx_t.task_id, (csn,), pool + 1, (stake,)).to_json(),
        "input block ahead of the chain": Settle(tx_t.task_id, (csn,), pool, (stake,)).to_json(),
    }
    executor = env.members[1]
    outcomes: dict[str, str] = {}
    async with AgentClient(leader, timeout=30.0) as rpc:
        for label, request in steps.items():
            step = ExecuteRequest(
                env_id=env_id,
                id_sc=id_sc,
                seq=FAR_AHEAD,
                request=request,
                input_block=block + FAR_AHEAD if label.startswith("input block") else block,
                seed_signature=to_hex(sigma),
            )
            try:
                await rpc.call(endpoints[executor], executor, EXECUTE, step, ExecuteResponse)
            except AgentCallError as exc:
                outcomes[label] = f"{exc.status} {exc.code}"
                continue
            outcomes[label] = "accepted"
    return outcomes

"""Channel parties: the update protocol's checks, durable state across a real crash (SIGKILL), torn
writes, group commit, and the HTTP service with its 4xx refusals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.agents.service import Agent
from offchain.crypto.keys import derive
from offchain.web3compute.agent import ACTION, LATEST_ACTION, push_updates, resync, serve_channels
from offchain.web3compute.channel import ChannelError, ChannelInfo, ChannelParty
from offchain.web3compute.state import sign_state
from offchain.web3compute.store import SLOT_SIZE, ChannelStore

MANAGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
X, Y, Z = derive(b"chan", 1), derive(b"chan", 2), derive(b"chan", 3)
INFO = ChannelInfo.of(31337, MANAGER, b"\x07" * 32, X.address, Y.address, {X.address: 100, Y.address: 50})


def pair(tmp_path: Path, window: int = 1) -> tuple[ChannelParty, ChannelParty]:
    return (
        ChannelParty.create(tmp_path / "x", INFO, X, window=window),
        ChannelParty.create(tmp_path / "y", INFO, Y, window=window),
    )


def update(sender: ChannelParty, receiver: ChannelParty, payload: bytes, pay: int = 0) -> None:
    proposal = sender.propose(payload, pay=pay)
    sender.accept(proposal.state, receiver.countersign(proposal.state, proposal.signature, payload))


def test_updates_are_cosigned_and_both_sides_agree(tmp_path: Path) -> None:
    x, y = pair(tmp_path)
    for j in range(5):
        update(x, y, b"m%d" % j, pay=3)
        update(y, x, b"r%d" % j)
    assert x.latest == y.latest
    assert x.latest.nonce == 10
    assert x.latest.msg_count == 10
    assert x.my_balance == 100 - 15
    assert y.my_balance == 50 + 15
    signed = x.latest_signed
    assert signed is not None
    assert signed.sig_a == sign_state((INFO.party_a == X.address and X) or Y, INFO.domain, signed.state)


def test_the_receiver_refuses_bad_proposals_and_persists_nothing(tmp_path: Path) -> None:
    x, y = pair(tmp_path)
    update(x, y, b"first")
    before = y.latest

    def refused(code: str, state: object, signature: bytes, payload: bytes | None) -> None:
        with pytest.raises(ChannelError) as info:
            y.countersign(state, signature, payload)  # type: ignore[arg-type]
        assert info.value.code == code
        assert y.latest == before

    good = x.propose(b"second")
    x.abandon()
    refused("bad-transcript", good.state, good.signature, b"another payload")
    refused("bad-transcript", good.state, good.signature, None)
    refused("bad-signature", good.state, sign_state(Z, INFO.domain, good.state), b"second")
    refused("bad-signature", good.state, good.signature[:64] + b"\x05", b"second")
    stale = x.latest
    refused("stale-nonce", stale, sign_state(X, INFO.domain, stale), b"first")  # a replay
    x_is_a = INFO.party_a == X.address
    # The proposer tries to take the receiver's money.
    theft = x.latest.advance(balance_a=x.latest.balance_a + (10 if x_is_a else -10))
    refused("bad-balance", theft, sign_state(X, INFO.domain, theft), None)
    other = ChannelInfo.of(31337, MANAGER, b"\x08" * 32, X.address, Y.address, {})
    wrong = other.initial_state().advance()
    refused("wrong-channel", wrong, sign_state(X, INFO.domain, wrong), None)
    # After all that the honest proposal still goes through.
    retry = x.propose(b"second")
    x.accept(retry.state, y.countersign(retry.state, retry.signature, b"second"))
    assert y.latest.nonce == 2


def test_a_window_batches_durability_without_acknowledging_early(tmp_path: Path) -> None:
    x, y = pair(tmp_path, window=4)
    proposals = [x.propose(b"p%d" % j) for j in range(4)]
    with pytest.raises(ChannelError, match="await countersignature"):
        x.propose(b"one too many")
    signatures = y.countersign_many([(p.state, p.signature, b"p%d" % j) for j, p in enumerate(proposals)])
    x.accept_many([(p.state, s) for p, s in zip(proposals, signatures, strict=True)])
    assert x.latest.nonce == y.latest.nonce == 4


def test_a_torn_write_falls_back_to_the_previous_state(tmp_path: Path) -> None:
    x, y = pair(tmp_path)
    update(x, y, b"one")
    update(x, y, b"two")
    y.close()
    path = tmp_path / "y" / INFO.channel_id.hex() / ChannelStore.STATE
    raw = bytearray(path.read_bytes())
    newest_slot = 0  # sequence 2 went to slot 0 (seq % 2)
    raw[newest_slot * SLOT_SIZE + 100] ^= 0xFF  # a torn write corrupts the slot being written
    path.write_bytes(bytes(raw))
    reopened = ChannelParty.open(tmp_path / "y", INFO.channel_id, Y)
    assert reopened.latest.nonce == 1
    reopened.close()


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from offchain.crypto.keys import derive
    from offchain.web3compute.channel import ChannelInfo, ChannelParty

    root = Path(sys.argv[1])
    x, y = derive(b"chan", 1), derive(b"chan", 2)
    deposits = {{x.address: 100, y.address: 50}}
    info = ChannelInfo.of(31337, "{manager}", b"\\x07" * 32, x.address, y.address, deposits)
    px, py = ChannelParty.create(root / "x", info, x), ChannelParty.create(root / "y", info, y)
    while True:
        proposal = px.propose(b"payload")
        signed = px.accept(proposal.state, py.countersign(proposal.state, proposal.signature, b"payload"))
        print(signed.state.nonce, flush=True)
    """
).format(manager=MANAGER)


def test_a_killed_process_restarts_with_every_acknowledged_state(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert child.stdout is not None
    acknowledged = 0
    for line in child.stdout:
        acknowledged = int(line)
        if acknowledged >= 25:
            break
    os.kill(child.pid, signal.SIGKILL)  # a crash: no cleanup, no flush, no close
    child.wait()
    x = ChannelParty.open(tmp_path / "x", INFO.channel_id, X)
    y = ChannelParty.open(tmp_path / "y", INFO.channel_id, Y)
    # Everything acknowledged survived; the receiver is never behind the sender.
    assert x.latest.nonce >= acknowledged
    assert y.latest.nonce >= x.latest.nonce
    assert y.latest.nonce <= x.latest.nonce + 1
    if y.latest.nonce == x.latest.nonce:
        assert x.latest_signed == y.latest_signed
    # And the channel goes on from there after the restart.
    if y.latest.nonce == x.latest.nonce:
        update(x, y, b"after the restart")
        assert x.latest.nonce == y.latest.nonce
    x.close()
    y.close()


def test_updates_over_http_and_the_refusals(tmp_path: Path) -> None:
    x, y = pair(tmp_path)

    async def scenario() -> None:
        agent = Agent(Y, "y-channels")
        serve_channels(agent, {INFO.channel_id: y})
        async with agent, AgentClient(X) as client, AgentClient(Z) as stranger:
            for j in range(3):
                await push_updates(client, agent.endpoint, x, [b"over http %d" % j], pay=1)
            assert y.latest == x.latest
            assert y.latest.nonce == 3
            # A stranger may not push to this channel.
            proposal = x.propose(b"stranger")
            request = {
                "channel_id": "0x" + INFO.channel_id.hex(),
                "proposals": [
                    {
                        "state": proposal.state.to_json(),
                        "signature": "0x" + proposal.signature.hex(),
                        "payload": "0x" + b"stranger".hex(),
                    }
                ],
            }
            with pytest.raises(AgentCallError) as refused:
                await stranger.call(agent.endpoint, Y.address, ACTION, request)
            assert refused.value.status == 403
            # A replayed (stale) proposal gets 409, a tampered payload 400, an unknown channel 404.
            x.abandon()
            old = x.latest
            replay = dict(request)
            replay["proposals"] = [
                {
                    **request["proposals"][0],
                    "state": old.to_json(),
                    "signature": "0x" + sign_state(X, INFO.domain, old).hex(),
                }
            ]
            with pytest.raises(AgentCallError) as stale:
                await client.call(agent.endpoint, Y.address, ACTION, replay)
            assert stale.value.status == 409
            tampered = {**request, "proposals": [{**request["proposals"][0], "payload": "0x00"}]}
            with pytest.raises(AgentCallError) as bad:
                await client.call(agent.endpoint, Y.address, ACTION, tampered)
            assert bad.value.status == 400
            assert "transcript" in bad.value.reason
            with pytest.raises(AgentCallError) as unknown:
                await client.call(
                    agent.endpoint, Y.address, ACTION, {**request, "channel_id": "0x" + "11" * 32}
                )
            assert unknown.value.status == 404
            # The service keeps working.
            await push_updates(client, agent.endpoint, x, [b"still fine"])
            assert y.latest.nonce == 4

    asyncio.run(scenario())


def test_a_sender_restarted_one_state_behind_resyncs_from_the_counterparty(tmp_path: Path) -> None:
    x, y = pair(tmp_path)
    update(x, y, b"one")
    proposal = x.propose(b"two")
    y.countersign(proposal.state, proposal.signature, b"two")  # durable at y ...
    x.close()  # ... and x crashes before taking the countersignature
    x = ChannelParty.open(tmp_path / "x", INFO.channel_id, X)
    assert (x.latest.nonce, y.latest.nonce) == (1, 2)

    async def scenario() -> None:
        agent = Agent(Y, "y-channels")
        serve_channels(agent, {INFO.channel_id: y})
        async with agent, AgentClient(X) as client, AgentClient(Z) as stranger:
            assert await resync(client, agent.endpoint, x)
            assert x.latest_signed == y.latest_signed
            assert not await resync(client, agent.endpoint, x)  # nothing newer the second time
            await push_updates(client, agent.endpoint, x, [b"three"])
            assert x.latest.nonce == y.latest.nonce == 3
            with pytest.raises(AgentCallError) as refused:
                await stranger.call(
                    agent.endpoint, Y.address, LATEST_ACTION, {"channel_id": "0x" + INFO.channel_id.hex()}
                )
            assert refused.value.status == 403

    asyncio.run(scenario())
    # A forged "newer" state is refused: one signature is not the counterparty's.
    forged_state = x.latest.advance()
    signed = x.latest_signed
    assert signed is not None
    forged = type(signed)(
        forged_state, sign_state(X, INFO.domain, forged_state), sign_state(Z, INFO.domain, forged_state)
    )
    with pytest.raises(ChannelError, match="both parties"):
        x.adopt(forged)
    x.close()
    y.close()

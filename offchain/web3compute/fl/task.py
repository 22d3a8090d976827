"""Paper steps 4-10 of the 11-step workflow with a FedAvg task: :func:`run_fl_task`.

Actors: one SP (model owner, result recipient), one data owner (the Web3 user; the storage role is played
by its own process), ``nodes`` local computing servers each holding one data shard, and a global
computing server that aggregates. Every computing server runs one sandbox for the task; the task key is
drawn in the global sandbox and reaches the members only wrapped to their sandbox keys. Every transmission
is an envelope sealed to the task key (or to the SP) carried by the :class:`~.network.Courier` (onion
circuits when given a directory) to the receiving server's Exit, which hands it to its sandbox unopened.

The chain-facing parts are hooks so that the 11-step workflow can plug in TaskManager and the channels:
``on_task_key`` (register the co-signed sandbox key, step 4), ``on_transmission`` (co-sign a channel
state committing to the ciphertext hash, step 7) and ``on_destroyed`` (invalidate the key, step 10).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair, derive
from offchain.web3compute.fl import program as fedavg
from offchain.web3compute.fl.data import Split, majority_baseline, split_digits
from offchain.web3compute.fl.network import Courier
from offchain.web3compute.onion.endpoint import SandboxEndpoint
from offchain.web3compute.onion.proxy import CircuitError, ExitInfo
from offchain.web3compute.sandbox import envelope
from offchain.web3compute.sandbox.errors import SandboxError
from offchain.web3compute.sandbox.host import DestroyReport, Sandbox, SandboxHost, SandboxSpec, TaskKey
from offchain.web3compute.sandbox.limits import ResourceLimits

LOG = logging.getLogger(__name__)
INJECT, IMPORT_KEY = b"I", b"K"
OK = b"ok"


def fedavg_program() -> bytes:
    """The registered program's bytes (``offchain/web3compute/fl/program.py``)."""
    return Path(fedavg.__file__).read_bytes()


def fedavg_program_hash() -> bytes:
    """The ``bytes32`` to register as the service's / task's ``programHash`` on chain."""
    return envelope.program_hash(fedavg_program())


class FLTaskError(Exception):
    """The task could not complete: a delivery was refused, a result did not verify, a sandbox failed."""


@dataclass(frozen=True)
class FLConfig:
    nodes: int = 3
    """Local computing servers holding data (the global node comes on top)."""
    rounds: int = 5
    train: fedavg.TrainConfig = field(default_factory=fedavg.TrainConfig)
    test_fraction: float = 0.2
    seed: int = 0
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    host_prefix: str = "127.0.3."
    """Loopback addresses of the actors: SP .2, data owner .3, global node .10, local nodes .11 …"""

    def __post_init__(self) -> None:
        if self.nodes < 1 or self.rounds < 1:
            raise ValueError("at least one node and one round")


@dataclass(frozen=True)
class Transmission:
    """One message of the task, as the channel layer commits to it (``keccak256`` of the ciphertext)."""

    round: int
    kind: str
    """``key``, ``config``, ``model``, ``data``, ``update`` or ``result``."""
    sender: str
    receiver: str
    size: int
    ciphertext_hash: bytes
    ciphertext: bytes = field(default=b"", repr=False, compare=False)
    """The envelope itself, so that a channel layer can hand its counterparty the bytes it commits to."""


@dataclass(frozen=True)
class RoundStats:
    round: int
    accuracy: float
    """Of the round's global model on the SP's held-out split."""
    seconds: float
    """Wall-clock of the round: model out, local training, updates in, aggregation, result to the SP."""


@dataclass(frozen=True)
class FLResult:
    task_id: bytes
    program_hash: bytes
    task_key: TaskKey
    member_keys: tuple[bytes, ...]
    """The member sandbox keys the task key was wrapped to (admitted once, signed by the task key)."""
    members_signature: bytes
    rounds: tuple[RoundStats, ...]
    baseline_accuracy: float
    result: bytes
    """The final global model as the SP decrypted and verified it (``program.decode_model``)."""
    result_hash: bytes
    """``keccak256(result)``: goes into the final channel state and the task record."""
    transmissions: tuple[Transmission, ...]
    destroy_reports: tuple[DestroyReport, ...]
    setup_seconds: float
    teardown_seconds: float
    onion: bool
    wire_bytes: int

    @property
    def final_accuracy(self) -> float:
        return self.rounds[-1].accuracy


@dataclass
class FLHooks:
    on_task_key: Callable[[TaskKey, Sequence[bytes], bytes], Awaitable[None]] | None = None
    """Called before any data is sealed to the key with the task key, the member sandboxes' keys it was
    wrapped to, and the task key's signature over them (``sandbox.envelope.members_digest``)."""
    on_transmission: Callable[[Transmission], Awaitable[None]] | None = None
    on_destroyed: Callable[[Sequence[DestroyReport]], Awaitable[None]] | None = None
    on_received: Callable[[str, bytes], None] | None = None
    """Called by a computing server's Exit with (server name, envelope) for every envelope it hands to its
    sandbox: what the receiving host saw, to check the channel commitments it countersigns against."""


@dataclass
class _Server:
    name: str
    host: str
    key: KeyPair
    sandbox: Sandbox | None = None
    endpoint: SandboxEndpoint | None = None
    sandboxes: SandboxHost = field(default_factory=lambda: SandboxHost("server"))
    """This server's sandboxes: at most one per task."""
    on_received: Callable[[str, bytes], None] | None = None

    @property
    def exit(self) -> ExitInfo:
        assert self.endpoint is not None
        return ExitInfo(self.endpoint.address, self.endpoint.public_key)

    async def handle(self, message: bytes) -> bytes:
        """The Exit's handler: pass the envelope to the sandbox unopened; answer ``ok`` or the error code."""
        if self.sandbox is None:
            return b"err:no-sandbox"
        if self.on_received is not None:
            self.on_received(self.name, message[1:])
        try:
            if message[:1] == INJECT:
                await self.sandbox.inject(message[1:])
            elif message[:1] == IMPORT_KEY:
                await self.sandbox.import_task_key(message[1:])
            else:
                return b"err:unknown-kind"
        except SandboxError as exc:
            return b"err:" + exc.code.encode()
        return OK


class _Requester:
    """The SP's Exit: collects the sealed results (it alone can open them)."""

    def __init__(self) -> None:
        self.inbox: list[bytes] = []

    async def handle(self, message: bytes) -> bytes:
        self.inbox.append(message)
        return OK


async def run_fl_task(
    config: FLConfig | None = None,
    *,
    sp: KeyPair | None = None,
    data_owner: KeyPair | None = None,
    servers: Sequence[KeyPair] | None = None,
    courier: Courier | None = None,
    task_id: bytes | None = None,
    hooks: FLHooks | None = None,
    split: Split | None = None,
) -> FLResult:
    """Run a FedAvg task in sandboxes: steps 4-10 of the paper's workflow. See the module docstring.

    ``servers`` are the computing servers' transport keys (their RSC encryption keys), global node first,
    ``config.nodes + 1`` of them (derived test keys when omitted). ``courier`` carries every message
    (``Courier(routers=fetch_routers(registry))`` for onion routing; direct delivery when omitted).
    Raises :class:`FLTaskError` (sandboxes destroyed first) when any step fails.
    """
    config = config or FLConfig()
    sp = sp or derive(b"fl-sp", 0)
    data_owner = data_owner or derive(b"fl-owner", 0)
    courier = courier or Courier()
    hooks = hooks or FLHooks()
    keys = (
        list(servers) if servers is not None else [derive(b"fl-server", i) for i in range(config.nodes + 1)]
    )
    if len(keys) != config.nodes + 1:
        raise ValueError(f"{config.nodes} local nodes need {config.nodes + 1} server keys (global first)")
    split = split or split_digits(config.nodes, config.test_fraction, config.seed)
    if len(split.shards) != config.nodes:
        raise ValueError("the split must have one shard per local node")
    task_id = task_id or keccak256(
        b"fl-task" + config.seed.to_bytes(8, "big") + time.time_ns().to_bytes(8, "big")
    )
    program = fedavg_program()
    prog_hash = envelope.program_hash(program)
    spec = SandboxSpec(task_id, prog_hash, sp.compressed_public_key, (sp.address, data_owner.address))

    prefix = config.host_prefix
    global_node = _Server(
        "global",
        f"{prefix}10",
        keys[0],
        sandboxes=SandboxHost(keys[0].address),
        on_received=hooks.on_received,
    )
    locals_ = [
        _Server(
            f"local{i}",
            f"{prefix}{11 + i}",
            keys[i + 1],
            sandboxes=SandboxHost(keys[i + 1].address),
            on_received=hooks.on_received,
        )
        for i in range(config.nodes)
    ]
    everyone = [global_node, *locals_]
    requester = _Requester()
    sp_endpoint = SandboxEndpoint(sp, requester.handle, host=f"{prefix}2", fmt=courier.fmt, name="SP")
    transmissions: list[Transmission] = []
    reports: list[DestroyReport] = []

    async def deliver(
        rnd: int, kind: str, sender: str, host: str, target: ExitInfo, receiver: str, tag: bytes, blob: bytes
    ) -> None:
        answer = await courier.send(host, target, tag + blob)
        if answer != OK:
            raise FLTaskError(
                f"{receiver} refused the {kind} from {sender}: {answer.decode(errors='replace')}"
            )
        record = Transmission(rnd, kind, sender, receiver, len(blob), keccak256(blob), blob)
        transmissions.append(record)
        if hooks.on_transmission is not None:
            await hooks.on_transmission(record)

    started = time.perf_counter()
    try:
        await sp_endpoint.start()
        for server in everyone:
            server.endpoint = await SandboxEndpoint(
                server.key, server.handle, host=server.host, fmt=courier.fmt, name=server.name, timeout=60
            ).start()
        # Step 4: one sandbox per server; the task key is drawn in the global one and shared wrapped.
        sandboxes = await asyncio.gather(
            *(server.sandboxes.create(spec, program, limits=config.limits) for server in everyone),
            return_exceptions=True,
        )
        for server, sandbox in zip(everyone, sandboxes, strict=True):
            if isinstance(sandbox, BaseException):
                raise FLTaskError(f"{server.name}: sandbox creation failed: {sandbox}") from sandbox
            server.sandbox = sandbox
        assert global_node.sandbox is not None
        task_key = await global_node.sandbox.new_task_key()
        member_keys = [s.sandbox.member_key for s in locals_ if s.sandbox is not None]
        members_signature = await global_node.sandbox.admit_members(member_keys)
        for server in locals_:
            assert server.sandbox is not None
            wrapped = await global_node.sandbox.wrap_task_key(server.sandbox.member_key)
            await deliver(0, "key", "global", global_node.host, server.exit, server.name, IMPORT_KEY, wrapped)
            if server.sandbox.task_key != task_key:
                raise FLTaskError(f"{server.name} holds another task key")
        if hooks.on_task_key is not None:
            await hooks.on_task_key(task_key, member_keys, members_signature)

        # Step 5: the SP injects the configuration and the initial model, the data owner each shard.
        initial = fedavg.zero_model(split.features, split.classes)
        for index, server in enumerate(locals_):
            for kind, name, signer, data in (
                ("config", "config", sp, fedavg.encode_config(config.train)),
                ("model", "model", sp, fedavg.encode_model(initial)),
                ("data", "data", data_owner, fedavg.encode_dataset(index, *split.shards[index])),
            ):
                blob = envelope.seal(signer, task_key.public_key, task_id, prog_hash, name, data)
                origin = "SP" if signer is sp else "owner"
                host = f"{prefix}2" if signer is sp else f"{prefix}3"
                await deliver(0, kind, origin, host, server.exit, server.name, INJECT, blob)
        setup_seconds = time.perf_counter() - started

        # Step 7: rounds of local training and FedAvg; step 8: each global model sealed to the SP.
        stats: list[RoundStats] = []
        result = b""
        for rnd in range(config.rounds):
            round_start = time.perf_counter()
            await asyncio.gather(*(_train(server) for server in locals_))
            for server in locals_:
                assert server.sandbox is not None
                (name,) = server.sandbox.outputs
                update = await server.sandbox.seal(name, to="task")
                await deliver(
                    rnd, "update", server.name, server.host, global_node.exit, "global", INJECT, update
                )
            await global_node.sandbox.run()
            if rnd + 1 < config.rounds:
                model_blob = await global_node.sandbox.seal("model", to="task")
                for server in locals_:
                    await deliver(
                        rnd, "model", "global", global_node.host, server.exit, server.name, INJECT, model_blob
                    )
            sealed = await global_node.sandbox.seal("model", to="requester")
            await deliver(
                rnd,
                "result",
                "global",
                global_node.host,
                ExitInfo(sp_endpoint.address, sp_endpoint.public_key),
                "SP",
                b"",
                sealed,
            )
            # Step 9: the SP decrypts and checks the signature against the registered task key.
            opened = envelope.open_envelope(sp, requester.inbox[-1], task_id, prog_hash)
            if opened.signer != task_key.address or opened.name != "model":
                raise FLTaskError(f"result signed by {opened.signer}, not the task key {task_key.address}")
            result = opened.data
            model = fedavg.decode_model(result)
            stats.append(
                RoundStats(
                    rnd,
                    fedavg.accuracy(model, split.test_features, split.test_labels),
                    time.perf_counter() - round_start,
                )
            )
            LOG.info("FL round %d: accuracy %.3f", rnd, stats[-1].accuracy)
    except (SandboxError, CircuitError, OSError, ValueError) as exc:
        raise FLTaskError(f"FL task failed: {type(exc).__name__}: {exc}") from exc
    finally:
        # Step 10: destroy every sandbox (also on failure) and report the keys to invalidate.
        teardown = time.perf_counter()
        for server in everyone:
            reports.extend(await server.sandboxes.destroy_all())
            if server.endpoint is not None:
                await server.endpoint.stop()
        await sp_endpoint.stop()
        teardown_seconds = time.perf_counter() - teardown
    if hooks.on_destroyed is not None:
        await hooks.on_destroyed(reports)
    return FLResult(
        task_id=task_id,
        program_hash=prog_hash,
        task_key=task_key,
        member_keys=tuple(member_keys),
        members_signature=members_signature,
        rounds=tuple(stats),
        baseline_accuracy=majority_baseline(split),
        result=result,
        result_hash=keccak256(result),
        transmissions=tuple(transmissions),
        destroy_reports=tuple(reports),
        setup_seconds=setup_seconds,
        teardown_seconds=teardown_seconds,
        onion=courier.onion,
        wire_bytes=courier.sent_bytes,
    )


async def _train(server: _Server) -> None:
    assert server.sandbox is not None
    outputs = await server.sandbox.run()
    if len(outputs) != 1 or not outputs[0].startswith("update-"):
        raise FLTaskError(f"{server.name} produced {outputs}, not one update")

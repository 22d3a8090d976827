"""What runs inside the sandbox: keys, the program hash check, input opening, the program, output sealing.

Pure state machine (``handle(message) -> reply``), no I/O: :mod:`.worker` feeds it from its channel, and
the tests can drive it in-process. Lifecycle::

    created --configure--> configured --load--> loaded --(new|import)_task_key--> keyed
    keyed --inject*--> keyed --run--> ran --seal*/inject*/run--> ... --destroy--> destroyed

Secrets (the member key generated at start, the task key) live in ``bytearray`` buffers that ``destroy``
overwrites with zeros. Python makes short-lived immutable copies when a key is used (``bytes`` for
libsecp256k1), which only the end of the process removes; the host kills the process right after.
"""

from __future__ import annotations

import secrets
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from offchain.crypto import ecies
from offchain.crypto.errors import CryptoError
from offchain.crypto.keys import SECP256K1_N, KeyPair
from offchain.crypto.signing import sign_hash
from offchain.web3compute.sandbox import envelope
from offchain.web3compute.sandbox.errors import (
    InputRejected,
    ProgramFailed,
    ProgramNotRegistered,
    ProtocolError,
    ResourceLimitExceeded,
    SandboxDestroyed,
    SandboxError,
    SandboxStateError,
)
from offchain.web3compute.sandbox.protocol import (
    OPS,
    RECIPIENTS,
    Message,
    error_reply,
    get_bytes,
    get_str,
    ok,
)

WRAP_AAD = b"metatrust-sandbox-task-key-v1"
PROGRAM_ENTRY = "run"
PROGRAM_MODULE = "sandbox_program"


class Secret:
    """A private key kept in a mutable buffer so that it can be overwritten."""

    def __init__(self, raw: bytearray) -> None:
        if len(raw) != 32 or not 0 < int.from_bytes(raw, "big") < SECP256K1_N:
            raise ValueError("not a secp256k1 private key")
        self.raw = raw

    @classmethod
    def generate(cls) -> Secret:
        while True:
            raw = bytearray(secrets.token_bytes(32))
            if 0 < int.from_bytes(raw, "big") < SECP256K1_N:
                return cls(raw)

    def keypair(self) -> KeyPair:
        if not any(self.raw):
            raise SandboxDestroyed("key was zeroised")
        return KeyPair(bytes(self.raw))

    def wipe(self) -> bool:
        for index in range(len(self.raw)):
            self.raw[index] = 0
        return not any(self.raw)


class SandboxRuntime:
    """The sandbox's side of the protocol (see :mod:`.protocol` for the messages)."""

    def __init__(self) -> None:
        self.state = "created"
        self._member = Secret.generate()
        self.member_key = self._member.keypair().compressed_public_key
        self._task: Secret | None = None
        self.task_key = b""
        self.task_id = b""
        self.program_hash = b""
        self.requester_key = b""
        self.input_signers: frozenset[str] = frozenset()
        self._program: bytes | None = None
        self._members: frozenset[bytes] | None = None
        self._inputs: dict[str, bytes] = {}
        self._outputs: dict[str, bytes] = {}

    # --- dispatch ----------------------------------------------------------------------------------

    def handle(self, message: Message) -> Message:
        """One reply per request; never raises (errors become ``{"ok": false, ...}``)."""
        try:
            op = message.get("op")
            if self.state == "destroyed":
                raise SandboxDestroyed("the sandbox was destroyed")
            if op not in OPS:
                raise ProtocolError(f"unknown op {op!r}")
            handler: Callable[[Message], Message] = getattr(self, f"_op_{op}")
            return handler(message)
        except SandboxError as exc:
            return error_reply(exc)
        except MemoryError:
            self._inputs.clear()
            self._outputs.clear()
            return error_reply(ResourceLimitExceeded("memory"))

    def _require(self, *states: str) -> None:
        if self.state not in states:
            raise SandboxStateError(f"not allowed in state {self.state!r} (needs {' or '.join(states)})")

    def _task_keypair(self) -> KeyPair:
        if self._task is None:
            raise SandboxStateError("the sandbox has no task key yet")
        return self._task.keypair()

    # --- ops -----------------------------------------------------------------------------------------

    def _op_configure(self, message: Message) -> Message:
        self._require("created")
        task_id = get_bytes(message, "task_id", 32)
        prog_hash = get_bytes(message, "program_hash", 32)
        try:
            requester = ecies.parse_public_key(get_bytes(message, "requester_key"))
        except CryptoError as exc:
            raise ProtocolError(f"requester_key: {exc}") from None
        signers = message.get("input_signers")
        if not isinstance(signers, list) or not all(isinstance(s, str) and is_address(s) for s in signers):
            raise ProtocolError("input_signers must be a list of addresses")
        self.task_id, self.program_hash, self.requester_key = task_id, prog_hash, requester
        self.input_signers = frozenset(to_checksum_address(s) for s in signers)
        self.state = "configured"
        return ok(member_key=self.member_key)

    def _op_load(self, message: Message) -> Message:
        self._require("configured")
        program = get_bytes(message, "program")
        measured = envelope.program_hash(program)
        if measured != self.program_hash:
            raise ProgramNotRegistered(
                f"program hash 0x{measured.hex()} is not the registered 0x{self.program_hash.hex()}"
            )
        try:
            compile(program.decode("utf-8"), "<registered program>", "exec")
        except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
            raise ProgramFailed(f"program does not compile: {type(exc).__name__}") from None
        self._program = program
        self.state = "loaded"
        return ok(program_hash=measured)

    def _set_task_key(self, secret: Secret) -> Message:
        self._task = secret
        keypair = secret.keypair()
        self.task_key = keypair.compressed_public_key
        self.state = "keyed"
        return ok(public_key=self.task_key, address=keypair.address)

    def _op_new_task_key(self, message: Message) -> Message:
        """The global node's sandbox draws the task key pair (spec §3.2.6)."""
        self._require("loaded")
        return self._set_task_key(Secret.generate())

    def _op_admit_members(self, message: Message) -> Message:
        """Fix, once, the member sandbox keys the task key may be wrapped to; sign the list with the task
        key so that the chain / the SP can audit who received it (:func:`.envelope.members_digest`)."""
        self._require("keyed")
        if self._members is not None:
            raise SandboxStateError("members were already admitted")
        raw = message.get("member_keys")
        if not isinstance(raw, list) or not raw:
            raise ProtocolError("member_keys must be a non-empty list")
        try:
            keys = [ecies.parse_public_key(get_bytes({"k": item}, "k")) for item in raw]
        except CryptoError as exc:
            raise ProtocolError(f"member_keys: {exc}") from None
        self._members = frozenset(keys)
        statement = sign_hash(
            self._task_keypair(), envelope.members_digest(self.task_id, self.program_hash, keys)
        )
        return ok(signature=statement)

    def _op_wrap_task_key(self, message: Message) -> Message:
        """Seal the task private key to an admitted member sandbox's key (it never leaves otherwise)."""
        self._require("keyed", "ran")
        try:
            member = ecies.parse_public_key(get_bytes(message, "member_key"))
        except CryptoError as exc:
            raise ProtocolError(f"member_key: {exc}") from None
        if self._members is None or member not in self._members:
            raise InputRejected("member_key is not an admitted member sandbox key")
        assert self._task is not None
        try:
            wrapped = ecies.encrypt(member, bytes(self._task.raw), WRAP_AAD + self.task_id)
        except CryptoError as exc:
            raise ProtocolError(f"member_key: {exc}") from None
        return ok(wrapped=wrapped)

    def _op_import_task_key(self, message: Message) -> Message:
        self._require("loaded")
        try:
            raw = ecies.decrypt(
                self._member.keypair(), get_bytes(message, "wrapped"), WRAP_AAD + self.task_id
            )
            secret = Secret(bytearray(raw))
        except (CryptoError, ValueError):
            raise InputRejected("wrapped task key does not open with this sandbox's key") from None
        return self._set_task_key(secret)

    def _op_inject(self, message: Message) -> Message:
        self._require("keyed", "ran")
        keypair = self._task_keypair()
        opened = envelope.open_envelope(
            keypair, get_bytes(message, "ciphertext"), self.task_id, self.program_hash
        )
        if opened.signer not in self.input_signers and opened.signer != keypair.address:
            raise InputRejected(f"signer {opened.signer} is not authorised for this task")
        self._inputs[opened.name] = opened.data
        return ok(name=opened.name, signer=opened.signer)

    def _op_run(self, message: Message) -> Message:
        self._require("keyed", "ran")
        assert self._program is not None
        # A real module object, so that dataclasses and pickling find the program's namespace.
        module = types.ModuleType(PROGRAM_MODULE)
        sys.modules[PROGRAM_MODULE] = module
        namespace: dict[str, Any] = module.__dict__
        try:
            exec(compile(self._program.decode("utf-8"), "<registered program>", "exec"), namespace)
            entry = namespace.get(PROGRAM_ENTRY)
            if not callable(entry):
                raise ProgramFailed(f"the program defines no {PROGRAM_ENTRY}(inputs) function")
            outputs = entry(dict(self._inputs))
        except (SandboxError, MemoryError):
            raise
        except Exception as exc:  # the program's own failure: report its type only, never its text
            raise ProgramFailed(f"the program raised {type(exc).__name__}") from None
        if not isinstance(outputs, Mapping) or not all(
            isinstance(k, str) and isinstance(v, bytes | bytearray) for k, v in outputs.items()
        ):
            raise ProgramFailed("the program must return a mapping of names to bytes")
        self._outputs = {name: bytes(value) for name, value in outputs.items()}
        self.state = "ran"
        return ok(outputs=sorted(self._outputs))

    def _op_seal(self, message: Message) -> Message:
        self._require("ran")
        name, to = get_str(message, "name"), get_str(message, "to")
        if to not in RECIPIENTS:
            raise ProtocolError(f"'to' must be one of {RECIPIENTS}")
        if name not in self._outputs:
            raise SandboxStateError(f"the program produced no output {name!r}")
        keypair = self._task_keypair()
        recipient = self.task_key if to == "task" else self.requester_key
        blob = envelope.seal(keypair, recipient, self.task_id, self.program_hash, name, self._outputs[name])
        return ok(ciphertext=blob)

    def _op_destroy(self, message: Message) -> Message:
        keys = [self.member_key] + ([self.task_key] if self.task_key else [])
        zeroised = self._member.wipe()
        if self._task is not None:
            zeroised = self._task.wipe() and zeroised
        self._inputs.clear()
        self._outputs.clear()
        self._program = None
        self.state = "destroyed"
        return ok(public_keys=keys, zeroised=zeroised)

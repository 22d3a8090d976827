"""Named errors of the sandbox; each crosses the process boundary as a code, never as plaintext data."""

from __future__ import annotations


class SandboxError(Exception):
    """Base class of every sandbox error."""

    code = "sandbox_error"


class ProgramNotRegistered(SandboxError):  # noqa: N818 (named after the condition, like the contract error)
    """The program's hash is not the registered one: it may not run."""

    code = "program_not_registered"


class InputRejected(SandboxError):  # noqa: N818
    """An injected envelope does not decrypt, is not bound to this task, or has an unauthorised signer."""

    code = "input_rejected"


class SandboxStateError(SandboxError):
    """A request came in the wrong lifecycle state (e.g. run before load, seal before run)."""

    code = "bad_state"


class ProgramFailed(SandboxError):  # noqa: N818
    """The registered program raised; only the exception's type name leaves the sandbox."""

    code = "program_failed"


class ResourceLimitExceeded(SandboxError):  # noqa: N818
    """The sandbox hit a resource limit (``kind``: cpu, memory, wall-clock) and was destroyed."""

    code = "resource_limit"

    def __init__(self, kind: str, detail: str = "") -> None:
        self.kind = kind
        super().__init__(f"sandbox exceeded its {kind} limit" + (f": {detail}" if detail else ""))


class SandboxDestroyed(SandboxError):  # noqa: N818
    """The sandbox was destroyed (or died); every later call fails with this error."""

    code = "destroyed"


class ProtocolError(SandboxError):
    """A malformed message on the host ↔ sandbox channel."""

    code = "protocol"


class SandboxExists(SandboxError):  # noqa: N818
    """This computing server already has a sandbox for this task (one per server per task)."""

    code = "exists"


ERRORS: dict[str, type[SandboxError]] = {
    cls.code: cls
    for cls in (
        SandboxError,
        ProgramNotRegistered,
        InputRejected,
        SandboxStateError,
        ProgramFailed,
        SandboxDestroyed,
        ProtocolError,
        ResourceLimitExceeded,
    )
}

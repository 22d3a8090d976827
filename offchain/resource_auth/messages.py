"""The messages of RSMS as frozen dataclasses with validated byte encodings (spec 002 §3; Table III).

Encodings (big-endian): points compressed (48 bytes), scalars 32 bytes, a pseudonym as ``len (1) ‖ bytes``
(48 for PID_1 = H1(…), 32 for PID_{k≥2} = H6(…)), variable byte strings as ``len (2) ‖ bytes``, a group
session id 16 bytes, an epoch 4 bytes. ``from_bytes`` rejects any other length or a bad point with
:class:`MalformedMessage`; ``len(msg.to_bytes())`` is the "bytes actually sent" of the bench.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from offchain.resource_auth.errors import InvalidPoint, MalformedMessage
from offchain.resource_auth.group import POINT_BYTES, SCALAR_BYTES, Point

SESSION_BYTES: Final = 16
KIND_INIT: Final = 1
KIND_REAUTH: Final = 2


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def fixed(self, data: bytes, length: int) -> _Writer:
        if len(data) != length:
            raise MalformedMessage(f"field must be {length} bytes, got {len(data)}")
        self.out += data
        return self

    def point(self, point: Point) -> _Writer:
        self.out += point.to_bytes()
        return self

    def pid(self, pid: bytes) -> _Writer:
        if not 1 <= len(pid) <= 255:
            raise MalformedMessage("a pseudonym is 1..255 bytes")
        self.out += bytes([len(pid)]) + pid
        return self

    def blob(self, data: bytes) -> _Writer:
        if len(data) > 0xFFFF:
            raise MalformedMessage("field longer than 65535 bytes")
        self.out += len(data).to_bytes(2, "big") + data
        return self

    def uint(self, value: int, width: int) -> _Writer:
        self.out += value.to_bytes(width, "big")
        return self


class _Reader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data = bytes(data)
        self.at = 0
        self.name = name

    def take(self, length: int) -> bytes:
        if self.at + length > len(self.data):
            raise MalformedMessage(f"{self.name}: truncated")
        chunk = self.data[self.at : self.at + length]
        self.at += length
        return chunk

    def point(self) -> Point:
        try:
            return Point.from_bytes(self.take(POINT_BYTES))
        except InvalidPoint as exc:
            raise MalformedMessage(f"{self.name}: {exc}") from exc

    def pid(self) -> bytes:
        length = self.take(1)[0]
        if length == 0:
            raise MalformedMessage(f"{self.name}: empty pseudonym")
        return self.take(length)

    def blob(self) -> bytes:
        return self.take(int.from_bytes(self.take(2), "big"))

    def uint(self, width: int) -> int:
        return int.from_bytes(self.take(width), "big")

    def done(self) -> None:
        if self.at != len(self.data):
            raise MalformedMessage(f"{self.name}: {len(self.data) - self.at} trailing bytes")


# ------------------------------------------------------------------ pool authentication (§3.2, §3.3)


@dataclass(frozen=True)
class InitialAuthRequest:
    """RN → RPM^X: ``{c = (c1, c2), PID_k}``.

    c1 = u·(PK_RPM + H2(PID_RPM)·PK_pub), c2 = H3(U, PID_k) ⊕ a_k."""

    c1: Point
    c2: bytes
    pid: bytes

    def to_bytes(self) -> bytes:
        return bytes(_Writer().point(self.c1).fixed(self.c2, SCALAR_BYTES).pid(self.pid).out)

    @classmethod
    def from_bytes(cls, data: bytes) -> InitialAuthRequest:
        reader = _Reader(data, "initial authentication request")
        message = cls(reader.point(), reader.take(SCALAR_BYTES), reader.pid())
        reader.done()
        return message


REAUTH_PLAIN_BYTES: Final = 2 * SCALAR_BYTES
"""Paper variant: c2 masks H4(a_k) ‖ a_{k+1}."""
REAUTH_HIDDEN_PLAIN_BYTES: Final = 2 * SCALAR_BYTES + 1 + POINT_BYTES
"""Hidden-PID variant: c2 masks H4(a_k) ‖ a_{k+1} ‖ len(PID_k) ‖ PID_k zero-padded to 48 bytes."""


@dataclass(frozen=True)
class ReauthRequest:
    """RN → RPM^Y: ``{c = (c1, c2), PID_k, PID_{k+1}}``; c2 = H3(W, PID_k) ⊕ (H4(a_k) ‖ a_{k+1}).

    Hidden-PID variant (the paper's figure header ``{c, PID_{k+1}}``; spec §8 item 38): ``pid`` is empty,
    PID_k travels inside c2 and the mask is H3(W, PID_{k+1}), so an eavesdropper cannot link the two
    pseudonyms. Wire: ``c1 ‖ len ‖ PID_k (len 0 when hidden) ‖ len ‖ PID_{k+1} ‖ c2``."""

    c1: Point
    c2: bytes
    pid: bytes
    pid_next: bytes

    @property
    def hidden(self) -> bool:
        return not self.pid

    def to_bytes(self) -> bytes:
        writer = _Writer().point(self.c1)
        writer.out += bytes([len(self.pid)]) + self.pid
        writer.pid(self.pid_next)
        return bytes(
            writer.fixed(self.c2, REAUTH_HIDDEN_PLAIN_BYTES if self.hidden else REAUTH_PLAIN_BYTES).out
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ReauthRequest:
        reader = _Reader(data, "re-authentication request")
        c1 = reader.point()
        pid = reader.take(reader.take(1)[0])
        pid_next = reader.pid()
        message = cls(
            c1, reader.take(REAUTH_HIDDEN_PLAIN_BYTES if not pid else REAUTH_PLAIN_BYTES), pid, pid_next
        )
        reader.done()
        return message


@dataclass(frozen=True)
class AuthResponse:
    """RPM → RN: ``{A = a'·P}``."""

    a_point: Point

    def to_bytes(self) -> bytes:
        return self.a_point.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> AuthResponse:
        reader = _Reader(data, "authentication response")
        message = cls(reader.point())
        reader.done()
        return message


@dataclass(frozen=True)
class AuthReport:
    """RPM → MSRP. Initial: ``Enc_PK_pub(a' ‖ PID_k)``; re-auth: ``Enc_PK_pub(a'_{k+1}), PID_{k+1}``.

    ``pid`` is the pseudonym being consumed (inside the ciphertext too for the initial kind). The RPM signs
    ``kind ‖ pool ‖ pid ‖ ciphertext`` with its implicit-certificate key (our addition: the MSRP knows who
    reports)."""

    kind: int
    pool_id: int
    pid: bytes
    ciphertext: bytes
    signature: bytes

    def signed_part(self) -> bytes:
        return bytes(
            _Writer().uint(self.kind, 1).uint(self.pool_id, 4).pid(self.pid).blob(self.ciphertext).out
        )

    def to_bytes(self) -> bytes:
        return self.signed_part() + self.signature

    @classmethod
    def from_bytes(cls, data: bytes) -> AuthReport:
        reader = _Reader(data, "authentication report")
        kind = reader.uint(1)
        if kind not in (KIND_INIT, KIND_REAUTH):
            raise MalformedMessage(f"authentication report: unknown kind {kind}")
        message = cls(kind, reader.uint(4), reader.pid(), reader.blob(), reader.take(80))
        reader.done()
        return message


@dataclass(frozen=True)
class AuthAck:
    """MSRP → RPM: the record ``(H4(a), PID)`` is on the ledger (strict mode waits for it); MSRP-signed."""

    pool_id: int
    pid: bytes
    record_index: int
    signature: bytes

    def signed_part(self) -> bytes:
        return bytes(_Writer().uint(self.pool_id, 4).pid(self.pid).uint(self.record_index, 8).out)

    def to_bytes(self) -> bytes:
        return self.signed_part() + self.signature

    @classmethod
    def from_bytes(cls, data: bytes) -> AuthAck:
        reader = _Reader(data, "authentication acknowledgement")
        message = cls(reader.uint(4), reader.pid(), reader.uint(8), reader.take(80))
        reader.done()
        return message


@dataclass(frozen=True)
class DirectoryEntry:
    """MSRP → anyone: a pool's ``(PK_RPM, PID_RPM)``, signed by the MSRP (spec §8 item 10)."""

    pool_id: int
    pk_rpm: Point
    pid_rpm: bytes
    signature: bytes

    def signed_part(self) -> bytes:
        return b"RSMS-directory" + bytes(
            _Writer().uint(self.pool_id, 4).point(self.pk_rpm).pid(self.pid_rpm).out
        )

    def to_bytes(self) -> bytes:
        writer = _Writer().uint(self.pool_id, 4).point(self.pk_rpm).pid(self.pid_rpm)
        return bytes(writer.out) + self.signature

    @classmethod
    def from_bytes(cls, data: bytes) -> DirectoryEntry:
        reader = _Reader(data, "directory entry")
        message = cls(reader.uint(4), reader.point(), reader.pid(), reader.take(80))
        reader.done()
        return message


# ------------------------------------------------------------------ group authentication (§3.5)


@dataclass(frozen=True)
class GroupSetup:
    """MSRP → Party_i: ``{Enc_PK_i(f(x_i)), List_PID}`` plus Q and H4(s_serv) (§8 items 21, 22) and the MSRP's
    signature over ``(session, epoch, List_PID, Q, H4(s_serv))``."""

    session: bytes
    epoch: int
    pids: tuple[bytes, ...]
    q_point: Point
    key_check: bytes
    recipient: bytes
    enc_share: bytes
    signature: bytes

    kind: ClassVar[str] = "group-setup"

    def signed_part(self) -> bytes:
        writer = _Writer().fixed(self.session, SESSION_BYTES).uint(self.epoch, 4).uint(len(self.pids), 2)
        for pid in self.pids:
            writer.pid(pid)
        return bytes(writer.point(self.q_point).fixed(self.key_check, SCALAR_BYTES).out)

    def to_bytes(self) -> bytes:
        tail = _Writer().pid(self.recipient).blob(self.enc_share).fixed(self.signature, 80)
        return self.signed_part() + bytes(tail.out)

    @classmethod
    def from_bytes(cls, data: bytes) -> GroupSetup:
        reader = _Reader(data, "group set-up")
        session, epoch = reader.take(SESSION_BYTES), reader.uint(4)
        pids = tuple(reader.pid() for _ in range(reader.uint(2)))
        message = cls(
            session,
            epoch,
            pids,
            reader.point(),
            reader.take(SCALAR_BYTES),
            reader.pid(),
            reader.blob(),
            reader.take(80),
        )
        reader.done()
        return message


@dataclass(frozen=True)
class PartyPoint:
    """Party_i → Party_j: GMA step 3 (``f(x_i)·P``, kind ``share``) or step 4 (``C_i``, ``lagrange``)."""

    session: bytes
    epoch: int
    sender: int
    kind: str
    point: Point

    KINDS: ClassVar[dict[str, int]] = {"share": 3, "lagrange": 4}

    def to_bytes(self) -> bytes:
        writer = _Writer().fixed(self.session, SESSION_BYTES).uint(self.epoch, 4).uint(self.sender, 2)
        return bytes(writer.uint(self.KINDS[self.kind], 1).point(self.point).out)

    @classmethod
    def from_bytes(cls, data: bytes) -> PartyPoint:
        reader = _Reader(data, "group point")
        session, epoch, sender, code = (
            reader.take(SESSION_BYTES),
            reader.uint(4),
            reader.uint(2),
            reader.uint(1),
        )
        kinds = {v: k for k, v in cls.KINDS.items()}
        if code not in kinds:
            raise MalformedMessage(f"group point: unknown step {code}")
        message = cls(session, epoch, sender, kinds[code], reader.point())
        reader.done()
        return message


@dataclass(frozen=True)
class MaskedShare:
    """Party_i → Party_j (GSKA): ``mask(f(x_i)·f(x_j)·P) ⊕ f(x_i)``, 32 bytes."""

    session: bytes
    epoch: int
    sender: int
    receiver: int
    masked: bytes

    def to_bytes(self) -> bytes:
        writer = _Writer().fixed(self.session, SESSION_BYTES).uint(self.epoch, 4).uint(self.sender, 2)
        return bytes(writer.uint(self.receiver, 2).fixed(self.masked, SCALAR_BYTES).out)

    @classmethod
    def from_bytes(cls, data: bytes) -> MaskedShare:
        reader = _Reader(data, "masked share")
        message = cls(
            reader.take(SESSION_BYTES),
            reader.uint(4),
            reader.uint(2),
            reader.uint(2),
            reader.take(SCALAR_BYTES),
        )
        reader.done()
        return message


@dataclass(frozen=True)
class KeyUpdate:
    """MSRP → Party_i (i ∉ M), GSKU: ``Q_new = s_new·P`` and ``Enc_PK_i(s^new)`` with
    ``s^new = s_new + msk·H5(Q_new, PK_pub)`` (§8 item 28: Q must be the fresh one and must be sent)."""

    session: bytes
    epoch: int
    q_point: Point
    recipient: bytes
    enc_key: bytes

    def to_bytes(self) -> bytes:
        writer = _Writer().fixed(self.session, SESSION_BYTES).uint(self.epoch, 4).point(self.q_point)
        return bytes(writer.pid(self.recipient).blob(self.enc_key).out)

    @classmethod
    def from_bytes(cls, data: bytes) -> KeyUpdate:
        reader = _Reader(data, "key update")
        message = cls(reader.take(SESSION_BYTES), reader.uint(4), reader.point(), reader.pid(), reader.blob())
        reader.done()
        return message

"""Crash-safe storage of a channel party's latest fully co-signed state (spec 004 R10).

One directory per channel: ``meta.json`` (the channel's constants, written once: temp file, fsync,
rename, fsync of the directory) and ``state.bin``, a 1 KiB file of two fixed 512-byte slots written in
turn (ping-pong)::

    slot = b"MTCS" || seq (8 bytes) || length (4) || record (418) || keccak256(everything before) (32)
    record = channelId || taskId || nonce || balanceA || balanceB || msgCount || transcriptHash ||
             resultHash || isFinal (9 x 32 bytes) || sigA (65) || sigB (65)

Each :meth:`ChannelStore.save` overwrites the older slot in place with ``pwrite`` and returns only after
``fdatasync``: the file never changes size, so the sync flushes data only, and a crash in the middle of a
write tears at most the slot being written, whose checksum then fails, while the other slot still holds
the previous state. :meth:`ChannelStore.latest` returns the valid slot with the highest sequence number.
So every state :meth:`save` returned for survives a crash, and no crash ever loses the state before it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.crypto.hashing import keccak256
from offchain.web3compute.state import ChannelState

MAGIC = b"MTCS"
SLOT_SIZE = 512
RECORD_SIZE = 9 * 32 + 2 * 65
_HEADER = len(MAGIC) + 8 + 4


class StoreError(Exception):
    """The store cannot be opened or holds no valid state."""


@dataclass(frozen=True)
class SignedState:
    """A state with both parties' signatures (partyA's first)."""

    state: ChannelState
    sig_a: bytes
    sig_b: bytes

    def encode(self) -> bytes:
        s = self.state
        words = b"".join(
            (
                s.channel_id,
                s.task_id,
                s.nonce.to_bytes(32, "big"),
                s.balance_a.to_bytes(32, "big"),
                s.balance_b.to_bytes(32, "big"),
                s.msg_count.to_bytes(32, "big"),
                s.transcript_hash,
                s.result_hash,
                int(s.is_final).to_bytes(32, "big"),
            )
        )
        return words + self.sig_a + self.sig_b

    @classmethod
    def decode(cls, raw: bytes) -> SignedState:
        if len(raw) != RECORD_SIZE:
            raise StoreError(f"a record is {RECORD_SIZE} bytes, got {len(raw)}")
        w = [raw[i * 32 : (i + 1) * 32] for i in range(9)]
        state = ChannelState(
            channel_id=w[0],
            task_id=w[1],
            nonce=int.from_bytes(w[2], "big"),
            balance_a=int.from_bytes(w[3], "big"),
            balance_b=int.from_bytes(w[4], "big"),
            msg_count=int.from_bytes(w[5], "big"),
            transcript_hash=w[6],
            result_hash=w[7],
            is_final=bool(int.from_bytes(w[8], "big")),
        )
        return cls(state, raw[288:353], raw[353:418])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` durably: temp file, fsync, rename, fsync of the directory."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class ChannelStore:
    """The durable latest co-signed state of one channel, for one party. Close it (or use ``with``)."""

    META = "meta.json"
    STATE = "state.bin"

    def __init__(self, directory: Path, meta: dict[str, Any]) -> None:
        self.directory = directory
        self.meta = meta
        self._fd = os.open(directory / self.STATE, os.O_RDWR)
        self._latest, self._seq = self._read()

    @classmethod
    def create(
        cls, directory: Path, meta: dict[str, Any], initial: SignedState | None = None
    ) -> ChannelStore:
        """Create the store (fails if it exists): metadata, two empty slots, optionally a first state."""
        directory.mkdir(parents=True, exist_ok=False)
        write_atomically(directory / cls.STATE, bytes(2 * SLOT_SIZE))
        write_atomically(directory / cls.META, json.dumps(meta, sort_keys=True, indent=1).encode())
        _fsync_dir(directory.parent)
        store = cls(directory, meta)
        if initial is not None:
            store.save(initial)
        return store

    @classmethod
    def open(cls, directory: Path) -> ChannelStore:
        """Open an existing store (after a restart)."""
        try:
            meta = json.loads((directory / cls.META).read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"no channel store at {directory}: {exc}") from exc
        return cls(directory, meta)

    def _read(self) -> tuple[SignedState | None, int]:
        best: tuple[SignedState | None, int] = (None, 0)
        for index in range(2):
            slot = os.pread(self._fd, SLOT_SIZE, index * SLOT_SIZE)
            if len(slot) < SLOT_SIZE or slot[:4] != MAGIC:
                continue
            seq = int.from_bytes(slot[4:12], "big")
            length = int.from_bytes(slot[12:16], "big")
            if length != RECORD_SIZE:
                continue
            body_end = _HEADER + length
            if keccak256(slot[:body_end]) != slot[body_end : body_end + 32]:
                continue  # torn or corrupted: the other slot holds the previous state
            if seq > best[1]:
                best = (SignedState.decode(slot[_HEADER:body_end]), seq)
        return best

    def save(self, signed: SignedState) -> None:
        """Make ``signed`` the latest state, durably (returns after fdatasync)."""
        seq = self._seq + 1
        record = signed.encode()
        body = MAGIC + seq.to_bytes(8, "big") + len(record).to_bytes(4, "big") + record
        slot = body + keccak256(body)
        os.pwrite(self._fd, slot.ljust(SLOT_SIZE, b"\0"), (seq % 2) * SLOT_SIZE)
        os.fdatasync(self._fd)
        self._latest, self._seq = signed, seq

    @property
    def latest(self) -> SignedState | None:
        """The latest saved state (None before the first save)."""
        return self._latest

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ChannelStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

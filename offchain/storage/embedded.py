"""The embedded backend: content-addressed blocks in a local directory, no daemon needed.

Blocks are files laid out as Kubo's flatfs blockstore (``blocks/<next-to-last 2>/<base32 multihash>.data``),
so a Kubo repository could adopt them; pins are empty files under ``pins/``. Every block is re-hashed when
read, so a corrupted or substituted file is detected, never returned.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from offchain.storage.base import flatfs_relative_path
from offchain.storage.cid import Cid, parse_cid
from offchain.storage.errors import CorruptedBlock, StorageError, UnknownCid
from offchain.storage.unixfs import ImportOptions, decode_pbnode, import_bytes, read_file


class LocalStore:
    """A :class:`~offchain.storage.base.ContentStore` over a directory (created if missing)."""

    def __init__(self, root: Path | str, options: ImportOptions | None = None) -> None:
        self.root = Path(root)
        self.options = options or ImportOptions()
        self.blocks_dir = self.root / "blocks"
        self.pins_dir = self.root / "pins"
        try:
            self.blocks_dir.mkdir(parents=True, exist_ok=True)
            self.pins_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot use {self.root} as a block store: {exc}") from exc

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r}, {self.options!r})"

    # ---------------------------------------------------------------- blocks

    def _block_path(self, cid: Cid) -> Path:
        return self.blocks_dir / flatfs_relative_path(cid)

    def put_block(self, cid: Cid, block: bytes) -> None:
        """Store one block under its CID (checked); an intact copy already present is kept, a damaged one
        replaced (storing the content again repairs the store)."""
        if not cid.verify(block):
            raise CorruptedBlock(f"refusing to store a block that does not hash to {cid}")
        path = self._block_path(cid)
        if path.is_file() and cid.verify(path.read_bytes()):
            return
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(block)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get_block(self, cid: Cid) -> bytes:
        """Read one block and check it hashes to ``cid``."""
        try:
            block = self._block_path(cid).read_bytes()
        except FileNotFoundError:
            raise UnknownCid(f"no block {cid} in {self.root}") from None
        if not cid.verify(block):
            raise CorruptedBlock(f"block {cid} in {self.root} does not hash to its CID (corrupted on disk)")
        return block

    def has_block(self, cid: Cid) -> bool:
        """Whether the block file of ``cid`` exists (not re-hashed)."""
        return self._block_path(cid).is_file()

    # ---------------------------------------------------------------- ContentStore

    def put(self, data: bytes, pin: bool = True) -> str:
        """Import ``data`` as ``ipfs add`` would (this store's options), store every block, pin the root."""
        dag = import_bytes(bytes(data), self.options)
        for cid, block in dag.blocks:
            self.put_block(cid, block)
        if pin:  # every block was just written and checked: no need to walk the DAG again
            self._pin_path(dag.root).touch()
        return dag.root.encode()

    def get(self, cid: str) -> bytes:
        """Reassemble the file named by ``cid``; every block is re-hashed on the way."""
        return read_file(parse_cid(cid), self.get_block)

    def has(self, cid: str) -> bool:
        """Whether the root block of ``cid`` is here."""
        return self.has_block(parse_cid(cid))

    def _pin_path(self, cid: Cid) -> Path:
        return self.pins_dir / cid.to_v1().encode()

    def pin(self, cid: str) -> None:
        """Pin ``cid``: every block below it must be present (checked), else :class:`UnknownCid`."""
        parsed = parse_cid(cid)
        self.get(parsed.encode())
        self._pin_path(parsed).touch()

    def unpin(self, cid: str) -> None:
        """Remove the pin of ``cid`` if there is one."""
        self._pin_path(parse_cid(cid)).unlink(missing_ok=True)

    def pins(self) -> list[str]:
        """The pinned roots (as CIDv1)."""
        return sorted(path.name for path in self.pins_dir.iterdir() if not path.name.startswith("."))

    def gc(self) -> int:
        """Delete every block no pin reaches; return how many were removed."""
        keep: set[str] = set()
        stack = [parse_cid(name) for name in self.pins()]
        while stack:
            cid = stack.pop()
            relative = flatfs_relative_path(cid)
            if relative in keep:
                continue
            keep.add(relative)
            if cid.codec == 0x70:
                stack.extend(link.cid for link in decode_pbnode(self.get_block(cid)).links)
        removed = 0
        for path in self.blocks_dir.glob("*/*.data"):
            if f"{path.parent.name}/{path.name}" not in keep:
                path.unlink()
                removed += 1
        return removed

"""UnixFS files as dag-pb DAGs, exactly as Kubo's ``ipfs add`` builds them; and reading them back.

Pure functions, no I/O. The layout follows boxo's importer (``ipld/unixfs/importer/balanced`` and
``helpers/dagbuilder.go``), which Kubo's ``ipfs add`` runs:

* the fixed-size chunker cuts the bytes into ``chunk_size`` pieces (default ``size-262144``), the last
  one shorter; an empty file is one empty leaf;
* a leaf is either a dag-pb node carrying ``UnixFS{Type: File, Data: chunk, filesize}`` (CIDv0 default)
  or, with raw leaves (the default for ``--cid-version 1``), the chunk itself as a ``raw`` block;
* the balanced layout fills a node with at most ``max_links`` (174) children, and whenever the tree is
  full it becomes the first child of a new root one level higher; a one-chunk file is its leaf;
* an internal node is ``PBNode{Links, Data: UnixFS{Type: File, filesize, blocksizes}}``; each link has
  the child's binary CID, an empty name and ``Tsize`` (the child's block size plus its own ``Tsize``s);
  ``blocksizes`` lists each child's file-byte count.

dag-pb writes the links (field 2) before the data (field 1), every link with Hash, Name and Tsize; the
UnixFS message is proto2 with fields in number order and ``blocksizes`` unpacked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from offchain.storage.cid import DAG_PB, RAW, Cid, cid_from_bytes, decode_varint, encode_varint
from offchain.storage.errors import CorruptedBlock, MalformedCid, UnsupportedContent

DEFAULT_CHUNK_SIZE = 256 * 1024
"""Kubo's default chunker, ``size-262144``."""
DEFAULT_MAX_LINKS = 174
"""boxo's ``helpers.DefaultLinksPerBlock``: children per node of the balanced layout."""
MAX_CHUNK_SIZE = 1024 * 1024
"""Kubo refuses chunkers above 1 MiB (blocks must stay transferable over bitswap)."""

UNIXFS_RAW = 0
UNIXFS_DIRECTORY = 1
UNIXFS_FILE = 2
_UNIXFS_TYPE_NAMES = {0: "raw", 1: "directory", 2: "file", 3: "metadata", 4: "symlink", 5: "HAMT shard"}

_WIRE_VARINT = 0
_WIRE_BYTES = 2


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How bytes become a DAG; the defaults are Kubo's ``ipfs add`` defaults (CIDv0, 256 KiB, 174 links).

    ``raw_leaves=None`` follows Kubo: raw leaves on for CIDv1, off for CIDv0.
    """

    cid_version: int = 0
    raw_leaves: bool | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_links: int = DEFAULT_MAX_LINKS

    def __post_init__(self) -> None:
        if self.cid_version not in (0, 1):
            raise ValueError("cid_version is 0 or 1")
        if not 1 <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be in [1, {MAX_CHUNK_SIZE}]")
        if self.max_links < 2:
            raise ValueError("max_links must be at least 2")

    @classmethod
    def v1(cls, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ImportOptions:
        """``ipfs add --cid-version 1`` (raw leaves, CIDv1 base32)."""
        return cls(cid_version=1, chunk_size=chunk_size)

    @property
    def leaves_are_raw(self) -> bool:
        """Whether leaves are ``raw`` blocks rather than UnixFS dag-pb nodes."""
        return self.cid_version == 1 if self.raw_leaves is None else self.raw_leaves

    def kubo_query(self) -> dict[str, str]:
        """The same choices as ``/api/v0/add`` query parameters."""
        return {
            "cid-version": str(self.cid_version),
            "raw-leaves": "true" if self.leaves_are_raw else "false",
            "chunker": f"size-{self.chunk_size}",
        }


# ------------------------------------------------------------------------------------ protobuf


def _key(field_number: int, wire_type: int) -> bytes:
    return encode_varint(field_number << 3 | wire_type)


def _bytes_field(field_number: int, value: bytes) -> bytes:
    return _key(field_number, _WIRE_BYTES) + encode_varint(len(value)) + value


def _varint_field(field_number: int, value: int) -> bytes:
    return _key(field_number, _WIRE_VARINT) + encode_varint(value)


def encode_unixfs(
    type_: int, data: bytes | None = None, filesize: int | None = None, blocksizes: tuple[int, ...] = ()
) -> bytes:
    """Serialise a UnixFS ``Data`` message (proto2, field order, unpacked ``blocksizes``)."""
    out = bytearray(_varint_field(1, type_))
    if data:
        out += _bytes_field(2, data)
    if filesize is not None:
        out += _varint_field(3, filesize)
    for size in blocksizes:
        out += _varint_field(4, size)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class PBLink:
    """A dag-pb link: the child's CID, its name (empty in files) and its cumulative size."""

    cid: Cid
    name: str = ""
    tsize: int = 0


def encode_pbnode(links: list[PBLink], data: bytes | None) -> bytes:
    """Serialise a dag-pb ``PBNode``: links first (field 2), then data (field 1), as go-codec-dagpb."""
    out = bytearray()
    for link in links:
        body = (
            _bytes_field(1, link.cid.to_bytes())
            + _bytes_field(2, link.name.encode("utf-8"))
            + _varint_field(3, link.tsize)
        )
        out += _bytes_field(2, body)
    if data is not None:
        out += _bytes_field(1, data)
    return bytes(out)


def _fields(message: bytes) -> Iterator[tuple[int, int | bytes]]:
    offset = 0
    view = memoryview(message)
    while offset < len(message):
        key, offset = decode_varint(view, offset)
        number, wire = key >> 3, key & 7
        if wire == _WIRE_VARINT:
            value, offset = decode_varint(view, offset)
            yield number, value
        elif wire == _WIRE_BYTES:
            length, offset = decode_varint(view, offset)
            if offset + length > len(message):
                raise ValueError("length-delimited field runs past the end")
            yield number, bytes(view[offset : offset + length])
            offset += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")


@dataclass(frozen=True, slots=True)
class PBNode:
    """A decoded dag-pb node."""

    links: tuple[PBLink, ...]
    data: bytes | None


def decode_pbnode(block: bytes) -> PBNode:
    """Parse a dag-pb block; raises ``ValueError`` on malformed protobuf."""
    links: list[PBLink] = []
    data: bytes | None = None
    for number, value in _fields(block):
        if number == 2 and isinstance(value, bytes):
            cid: Cid | None = None
            name = ""
            tsize = 0
            for link_number, link_value in _fields(value):
                if link_number == 1 and isinstance(link_value, bytes):
                    cid = cid_from_bytes(link_value)
                elif link_number == 2 and isinstance(link_value, bytes):
                    name = link_value.decode("utf-8")
                elif link_number == 3 and isinstance(link_value, int):
                    tsize = link_value
            if cid is None:
                raise ValueError("a dag-pb link has no Hash")
            links.append(PBLink(cid, name, tsize))
        elif number == 1 and isinstance(value, bytes):
            data = value
        else:
            raise ValueError(f"unexpected dag-pb field {number}")
    return PBNode(tuple(links), data)


@dataclass(frozen=True, slots=True)
class UnixFSData:
    """A decoded UnixFS ``Data`` message (the fields files use)."""

    type: int
    data: bytes = b""
    filesize: int | None = None
    blocksizes: tuple[int, ...] = ()


def decode_unixfs(message: bytes) -> UnixFSData:
    """Parse a UnixFS ``Data`` message; raises ``ValueError`` when malformed."""
    type_: int | None = None
    data = b""
    filesize: int | None = None
    blocksizes: list[int] = []
    for number, value in _fields(message):
        if number == 1 and isinstance(value, int):
            type_ = value
        elif number == 2 and isinstance(value, bytes):
            data = value
        elif number == 3 and isinstance(value, int):
            filesize = value
        elif number == 4 and isinstance(value, int):
            blocksizes.append(value)
        elif number == 4 and isinstance(value, bytes):  # packed encoding, accepted on read
            offset = 0
            while offset < len(value):
                size, offset = decode_varint(value, offset)
                blocksizes.append(size)
    if type_ is None:
        raise ValueError("UnixFS message has no Type")
    return UnixFSData(type_, data, filesize, tuple(blocksizes))


# ------------------------------------------------------------------------------------ import


@dataclass(frozen=True, slots=True)
class _Child:
    cid: Cid
    tsize: int
    filesize: int


@dataclass(slots=True)
class ImportedDag:
    """The result of an import: the root CID and every block (in creation order, root last)."""

    root: Cid
    blocks: list[tuple[Cid, bytes]] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Bytes of all blocks together."""
        return sum(len(block) for _, block in self.blocks)


class _Builder:
    def __init__(self, data: bytes, options: ImportOptions) -> None:
        self._data = memoryview(data)
        self._position = 0
        self._options = options
        self.blocks: list[tuple[Cid, bytes]] = []

    def done(self) -> bool:
        return self._position >= len(self._data)

    def _emit(self, block: bytes, codec: int, version: int) -> Cid:
        cid = Cid.for_block(block, codec, version)
        self.blocks.append((cid, block))
        return cid

    def leaf(self) -> _Child:
        end = self._position + self._options.chunk_size
        chunk = bytes(self._data[self._position : end])
        self._position += len(chunk)
        if self._options.leaves_are_raw:
            return _Child(self._emit(chunk, RAW, 1), len(chunk), len(chunk))
        block = encode_pbnode([], encode_unixfs(UNIXFS_FILE, chunk, len(chunk)))
        return _Child(self._emit(block, DAG_PB, self._options.cid_version), len(block), len(chunk))

    def parent(self, children: list[_Child]) -> _Child:
        filesize = sum(child.filesize for child in children)
        data = encode_unixfs(UNIXFS_FILE, None, filesize, tuple(child.filesize for child in children))
        block = encode_pbnode([PBLink(child.cid, "", child.tsize) for child in children], data)
        cid = self._emit(block, DAG_PB, self._options.cid_version)
        return _Child(cid, len(block) + sum(child.tsize for child in children), filesize)

    def fill(self, children: list[_Child], depth: int) -> _Child:
        while len(children) < self._options.max_links and not self.done():
            children.append(self.leaf() if depth == 1 else self.fill([], depth - 1))
        return self.parent(children)


def import_bytes(data: bytes, options: ImportOptions | None = None) -> ImportedDag:
    """Chunk ``data`` and build its balanced UnixFS DAG as ``ipfs add`` does; return root CID and blocks."""
    builder = _Builder(data, options or ImportOptions())
    root = builder.leaf()  # the empty file too is one (empty) leaf
    depth = 1
    while not builder.done():
        root = builder.fill([root], depth)
        depth += 1
    return ImportedDag(root.cid, builder.blocks)


def compute_cid(data: bytes, options: ImportOptions | None = None) -> Cid:
    """The CID ``ipfs add`` (with the same options) prints for ``data``, without storing anything."""
    return import_bytes(data, options).root


# ------------------------------------------------------------------------------------ read


def read_file(root: Cid, get_block: Callable[[Cid], bytes]) -> bytes:
    """Reassemble a UnixFS file from its root; ``get_block`` returns a block already checked against its CID.

    Raises :class:`CorruptedBlock` for a block that is no valid dag-pb/UnixFS node or whose sizes do not
    add up, and :class:`UnsupportedContent` for directories and other non-file nodes.
    """
    out = bytearray()
    _read_into(root, get_block, out, depth=0)
    return bytes(out)


_MAX_DEPTH = 64


def _read_into(cid: Cid, get_block: Callable[[Cid], bytes], out: bytearray, depth: int) -> int:
    if depth > _MAX_DEPTH:
        raise CorruptedBlock(f"DAG below {cid} is deeper than {_MAX_DEPTH} levels")
    block = get_block(cid)
    if cid.codec == RAW:
        out += block
        return len(block)
    if cid.codec != DAG_PB:
        raise UnsupportedContent(f"{cid} has codec 0x{cid.codec:x}, not dag-pb or raw")
    try:
        node = decode_pbnode(block)
        unixfs = decode_unixfs(node.data or b"")
    except (ValueError, MalformedCid, UnicodeDecodeError) as exc:
        raise CorruptedBlock(f"block {cid} is not a UnixFS dag-pb node: {exc}") from None
    if unixfs.type not in (UNIXFS_FILE, UNIXFS_RAW):
        kind = _UNIXFS_TYPE_NAMES.get(unixfs.type, str(unixfs.type))
        raise UnsupportedContent(f"{cid} is a UnixFS {kind}, not a file")
    start = len(out)
    out += unixfs.data
    if node.links and len(unixfs.blocksizes) != len(node.links):
        raise CorruptedBlock(f"{cid} has {len(node.links)} links but {len(unixfs.blocksizes)} blocksizes")
    for link, expected in zip(node.links, unixfs.blocksizes, strict=False):
        got = _read_into(link.cid, get_block, out, depth + 1)
        if got != expected:
            raise CorruptedBlock(f"child {link.cid} of {cid} holds {got} bytes, its parent says {expected}")
    total = len(out) - start
    if unixfs.filesize is not None and unixfs.filesize != total:
        raise CorruptedBlock(f"{cid} says {unixfs.filesize} bytes but its DAG holds {total}")
    return total

"""The UnixFS importer and reader: structure of the balanced DAG, round trips, damaged DAGs."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.storage.cid import DAG_PB, RAW, Cid
from offchain.storage.errors import CorruptedBlock, UnknownCid, UnsupportedContent
from offchain.storage.unixfs import (
    UNIXFS_DIRECTORY,
    UNIXFS_FILE,
    ImportOptions,
    PBLink,
    decode_pbnode,
    decode_unixfs,
    encode_pbnode,
    encode_unixfs,
    import_bytes,
    read_file,
)


def _reader(blocks: list[tuple[Cid, bytes]]):  # type: ignore[no-untyped-def]
    table = {cid.multihash: block for cid, block in blocks}

    def get(cid: Cid) -> bytes:
        if cid.multihash not in table:
            raise UnknownCid(str(cid))
        block = table[cid.multihash]
        if not cid.verify(block):
            raise CorruptedBlock(str(cid))
        return block

    return get


def _depth(root: Cid, get) -> int:  # type: ignore[no-untyped-def]
    if root.codec == RAW:
        return 0
    node = decode_pbnode(get(root))
    return 0 if not node.links else 1 + _depth(node.links[0].cid, get)


def test_empty_file_is_one_leaf_with_filesize_zero() -> None:
    dag = import_bytes(b"")
    assert len(dag.blocks) == 1
    assert dag.blocks[0][1] == bytes.fromhex("0a0408021800")  # PBNode{Data: UnixFS{File, filesize 0}}


@pytest.mark.parametrize(
    ("chunks", "max_links", "depth"), [(1, 4, 0), (2, 4, 1), (4, 4, 1), (5, 4, 2), (16, 4, 2), (17, 4, 3)]
)
def test_balanced_layout_grows_a_level_when_full(chunks: int, max_links: int, depth: int) -> None:
    options = ImportOptions(chunk_size=10, max_links=max_links)
    data = bytes(range(256)) * (chunks * 10 // 256 + 1)
    data = data[: chunks * 10]
    dag = import_bytes(data, options)
    get = _reader(dag.blocks)
    assert _depth(dag.root, get) == depth
    assert read_file(dag.root, get) == data
    root = decode_pbnode(get(dag.root))
    if root.links:
        assert len(root.links) <= max_links
        unixfs = decode_unixfs(root.data or b"")
        assert unixfs.filesize == len(data)
        assert sum(unixfs.blocksizes) == len(data)
        assert all(link.name == "" for link in root.links)


def test_tsize_is_block_size_plus_children() -> None:
    dag = import_bytes(bytes(100), ImportOptions(chunk_size=10, max_links=3))
    blocks = {cid.multihash: block for cid, block in dag.blocks}

    def tsize(cid: Cid) -> int:
        block = blocks[cid.multihash]
        if cid.codec == RAW:
            return len(block)
        return len(block) + sum(tsize(link.cid) for link in decode_pbnode(block).links)

    for cid, block in dag.blocks:
        for link in decode_pbnode(block).links if cid.codec == DAG_PB else ():
            assert link.tsize == tsize(link.cid)


def test_v1_uses_raw_leaves_and_v1_parents() -> None:
    dag = import_bytes(bytes(range(200)), ImportOptions.v1(chunk_size=64))
    leaves = [cid for cid, _ in dag.blocks if cid.codec == RAW]
    assert len(leaves) == 4
    assert all(cid.version == 1 for cid in leaves)
    assert dag.root.version == 1
    assert dag.root.codec == DAG_PB
    single = import_bytes(b"hello", ImportOptions.v1())
    assert single.root.codec == RAW
    assert single.blocks == [(single.root, b"hello")]


@settings(max_examples=40, deadline=None)
@given(
    data=st.binary(max_size=3000),
    version=st.sampled_from([0, 1]),
    chunk_size=st.integers(min_value=1, max_value=300),
    max_links=st.integers(min_value=2, max_value=6),
)
def test_import_then_read_round_trips(data: bytes, version: int, chunk_size: int, max_links: int) -> None:
    dag = import_bytes(data, ImportOptions(cid_version=version, chunk_size=chunk_size, max_links=max_links))
    assert read_file(dag.root, _reader(dag.blocks)) == data


def test_protobuf_round_trips() -> None:
    message = encode_unixfs(UNIXFS_FILE, b"abc", 3, (1, 2))
    assert decode_unixfs(message).blocksizes == (1, 2)
    child = Cid.for_block(b"x", RAW, 1)
    node = decode_pbnode(encode_pbnode([PBLink(child, "n", 7)], message))
    assert node.links == (PBLink(child, "n", 7),)
    assert node.data == message


def test_reader_rejects_damaged_and_foreign_dags() -> None:
    data = bytes(range(256)) * 4
    dag = import_bytes(data, ImportOptions(chunk_size=100))
    blocks = dict(dag.blocks)
    # a parent that lies about a child's size
    root_node = decode_pbnode(blocks[dag.root])
    lying = encode_unixfs(UNIXFS_FILE, None, len(data), (99,) + (100,) * 9 + (24,))
    lying_block = encode_pbnode(list(root_node.links), lying)
    lying_cid = Cid.for_block(lying_block, DAG_PB, 0)
    with pytest.raises(CorruptedBlock, match="parent says"):
        read_file(lying_cid, _reader([*dag.blocks, (lying_cid, lying_block)]))
    # garbage that hashes correctly but is no dag-pb
    garbage_cid = Cid.for_block(b"\xff\xff\xff", DAG_PB, 0)
    with pytest.raises(CorruptedBlock, match="not a UnixFS"):
        read_file(garbage_cid, _reader([(garbage_cid, b"\xff\xff\xff")]))
    # a directory
    directory = encode_pbnode([], encode_unixfs(UNIXFS_DIRECTORY))
    directory_cid = Cid.for_block(directory, DAG_PB, 0)
    with pytest.raises(UnsupportedContent, match="directory"):
        read_file(directory_cid, _reader([(directory_cid, directory)]))
    # a missing child
    with pytest.raises(UnknownCid):
        read_file(dag.root, _reader([(dag.root, blocks[dag.root])]))


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        ImportOptions(chunk_size=0)
    with pytest.raises(ValueError, match="chunk_size"):
        ImportOptions(chunk_size=2 * 1024 * 1024)
    with pytest.raises(ValueError, match="cid_version"):
        ImportOptions(cid_version=2)
    assert ImportOptions.v1(1024).kubo_query() == {
        "cid-version": "1",
        "raw-leaves": "true",
        "chunker": "size-1024",
    }

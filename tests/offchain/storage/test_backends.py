"""Both backends behind the one interface: the embedded store and the Kubo RPC client.

The RPC client runs against :mod:`offchain.storage.rpc_server` (our Kubo-compatible endpoint over the
embedded store) on loopback; a real daemon is used too when ``METATRUST_KUBO_API`` names one.
"""

import os
import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from offchain.storage import (
    BackendUnreachable,
    ContentStore,
    CorruptedBlock,
    ImportOptions,
    KuboRpcStore,
    LocalStore,
    MalformedCid,
    UnknownCid,
    compute_cid,
    parse_cid,
)
from offchain.storage.base import flatfs_relative_path
from offchain.storage.rpc_server import RpcServerThread
from offchain.storage.unixfs import import_bytes

ABSENT = compute_cid(b"never stored anywhere").encode()


@pytest.fixture
def rpc(tmp_path: Path) -> Iterator[RpcServerThread]:
    with RpcServerThread(LocalStore(tmp_path / "served")) as server:
        yield server


@pytest.fixture(params=["embedded", "kubo-rpc", "kubo-rpc-v1"])
def store(request: pytest.FixtureRequest, tmp_path: Path, rpc: RpcServerThread) -> ContentStore:
    if request.param == "embedded":
        return LocalStore(tmp_path / "local")
    options = ImportOptions.v1() if request.param.endswith("v1") else ImportOptions()
    return KuboRpcStore(rpc.url, options, timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("size", [0, 1, 1000, 262144, 262145, 700_000])
def test_put_get_round_trip_with_kubos_cid(store: ContentStore, size: int) -> None:
    data = random.Random(size).randbytes(size)
    cid = store.put(data)
    options = store.options  # type: ignore[attr-defined]
    assert cid == compute_cid(data, options).encode()
    assert store.get(cid) == data
    assert store.has(cid)


def test_interface_is_implemented_by_both(tmp_path: Path, rpc: RpcServerThread) -> None:
    assert isinstance(LocalStore(tmp_path / "x"), ContentStore)
    assert isinstance(KuboRpcStore(rpc.url), ContentStore)


def test_unknown_and_malformed_cids_are_named_errors(store: ContentStore) -> None:
    assert not store.has(ABSENT)
    with pytest.raises(UnknownCid):
        store.get(ABSENT)
    for bad in ("not-a-cid", "Qm123", ""):
        with pytest.raises(MalformedCid):
            store.get(bad)
        with pytest.raises(MalformedCid):
            store.has(bad)


def test_pin_and_unpin(store: ContentStore) -> None:
    cid = store.put(b"pinned payload")
    store.unpin(cid)
    store.unpin(cid)  # not pinned any more: no error
    store.pin(cid)
    with pytest.raises(UnknownCid):
        store.pin(ABSENT)


def test_v0_and_v1_of_one_dag_read_the_same(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    cid = store.put(b"x" * 300_000)
    assert store.get(parse_cid(cid).to_v1().encode()) == b"x" * 300_000


def test_embedded_store_detects_corruption_on_read(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s", ImportOptions(chunk_size=1000))
    data = random.Random(1).randbytes(5000)
    cid = store.put(data)
    leaf_cid = next(c for c, _ in import_bytes(data, store.options).blocks if c != parse_cid(cid))
    path = store.blocks_dir / flatfs_relative_path(leaf_cid)
    damaged = bytearray(path.read_bytes())
    damaged[-1] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(CorruptedBlock, match="does not hash"):
        store.get(cid)
    assert store.put(data) == cid  # storing the content again repairs the damaged block
    assert store.get(cid) == data
    path.unlink()
    with pytest.raises(UnknownCid):
        store.get(cid)


def test_embedded_gc_keeps_pinned_dags_only(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s", ImportOptions(chunk_size=100))
    kept = store.put(bytes(range(256)) * 3)
    dropped = store.put(random.Random(2).randbytes(1000))
    store.unpin(dropped)
    assert store.gc() > 0
    assert store.get(kept) == bytes(range(256)) * 3
    assert not store.has(dropped)
    assert store.pins() == [parse_cid(kept).to_v1().encode()]


def test_rpc_backend_unreachable_is_a_named_error() -> None:
    store = KuboRpcStore(f"http://127.0.0.1:{_free_port()}", timeout=2)
    with pytest.raises(BackendUnreachable, match="unreachable"):
        store.put(b"x")
    with pytest.raises(BackendUnreachable):
        store.get(ABSENT)
    with pytest.raises(ValueError, match="http"):
        KuboRpcStore("ftp://example")


class _LyingHandler(BaseHTTPRequestHandler):
    """An endpoint answering with the wrong CID on add and the wrong bytes on cat, or 404 elsewhere."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/api/v0/add"):
            body = b'{"Name":"blob","Hash":"' + ABSENT.encode() + b'","Size":"1"}\n'
        elif self.path.startswith("/api/v0/cat"):
            body = b"not the stored bytes"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_rpc_client_checks_what_the_daemon_says() -> None:
    server = HTTPServer(("127.0.0.1", 0), _LyingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(CorruptedBlock, match="local importer computes"):
            KuboRpcStore(url).put(b"payload")
        with pytest.raises(CorruptedBlock, match="do not re-import"):
            KuboRpcStore(url).get(compute_cid(b"payload").encode())
        assert KuboRpcStore(url, verify=False).get(ABSENT) == b"not the stored bytes"
        with pytest.raises(BackendUnreachable, match="no Kubo RPC endpoint"):
            KuboRpcStore(url).pin(ABSENT)
    finally:
        server.shutdown()


def test_rpc_server_reports_corruption_of_its_store(tmp_path: Path) -> None:
    local = LocalStore(tmp_path / "served")
    with RpcServerThread(local) as server:
        client = KuboRpcStore(server.url)
        cid = client.put(b"some bytes to spoil")
        path = local.blocks_dir / flatfs_relative_path(parse_cid(cid))
        path.write_bytes(path.read_bytes()[:-1] + b"!")
        with pytest.raises(Exception, match="does not hash"):
            client.get(cid)


@pytest.mark.skipif(
    not os.environ.get("METATRUST_KUBO_API"), reason="set METATRUST_KUBO_API to a Kubo RPC URL"
)
def test_against_a_real_kubo_daemon() -> None:
    for options in (ImportOptions(), ImportOptions.v1(), ImportOptions.v1(chunk_size=1024)):
        store = KuboRpcStore(os.environ["METATRUST_KUBO_API"], options)
        data = random.Random(9).randbytes(3 * 1024 * 1024 + 1)
        cid = store.put(data)  # raises unless the daemon's CID equals ours
        assert store.get(cid) == data
        assert store.has(cid)
        store.unpin(cid)

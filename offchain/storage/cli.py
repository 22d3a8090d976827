"""``metatrust storage``: compute CIDs, put and get (optionally encrypted) blobs, serve a Kubo-style RPC."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from offchain.bench.report import figures_table
from offchain.storage.base import ContentStore
from offchain.storage.embedded import LocalStore
from offchain.storage.encrypted import EncryptedStore, SealedRef
from offchain.storage.kubo import KuboRpcStore
from offchain.storage.unixfs import DEFAULT_CHUNK_SIZE, ImportOptions, compute_cid

app = typer.Typer(no_args_is_help=True, help="Content-addressed, encrypted storage (IPFS-compatible CIDs).")
console = Console(stderr=True)

DEFAULT_STORE = Path(os.environ.get("METATRUST_STORAGE_DIR", str(Path.home() / ".metatrust" / "storage")))
StoreOption = Annotated[
    Path, typer.Option("--store", help="embedded store folder", envvar="METATRUST_STORAGE_DIR")
]
ApiOption = Annotated[
    str | None, typer.Option("--api", help="Kubo RPC URL (e.g. http://127.0.0.1:5001) instead of --store")
]
VersionOption = Annotated[int, typer.Option("--cid-version", help="0 (Kubo's default) or 1 (raw leaves)")]
ChunkOption = Annotated[int, typer.Option("--chunk-size", help="fixed-size chunker, bytes")]


def _options(cid_version: int, chunk_size: int) -> ImportOptions:
    try:
        return ImportOptions(cid_version=cid_version, chunk_size=chunk_size)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _backend(store: Path, api: str | None, options: ImportOptions) -> ContentStore:
    return KuboRpcStore(api, options) if api else LocalStore(store, options)


@app.command("cid")
def cid_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="file to hash")],
    cid_version: VersionOption = 0,
    chunk_size: ChunkOption = DEFAULT_CHUNK_SIZE,
) -> None:
    """Print the CID `ipfs add` would give FILE, without storing it."""
    print(compute_cid(file.read_bytes(), _options(cid_version, chunk_size)).encode())


@app.command("put")
def put_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="file to store")],
    store: StoreOption = DEFAULT_STORE,
    api: ApiOption = None,
    cid_version: VersionOption = 0,
    chunk_size: ChunkOption = DEFAULT_CHUNK_SIZE,
    encrypt_to: Annotated[
        str | None, typer.Option(help="recipient secp256k1 public key (hex): store ciphertext only")
    ] = None,
) -> None:
    """Store FILE; print its CID, or with --encrypt-to the sealed reference (JSON) of its ciphertext."""
    backend = _backend(store, api, _options(cid_version, chunk_size))
    data = file.read_bytes()
    started = time.perf_counter()
    if encrypt_to is None:
        print(backend.put(data))
    else:
        try:
            public_key = bytes.fromhex(encrypt_to.removeprefix("0x"))
        except ValueError as exc:
            raise typer.BadParameter("--encrypt-to is a hex public key") from exc
        ref, _ = EncryptedStore(backend).put(data, public_key)
        print(ref.to_json())
    console.print(f"{len(data):,} bytes stored in {1000 * (time.perf_counter() - started):.1f} ms")


@app.command("get")
def get_command(
    target: Annotated[str, typer.Argument(help="a CID, or a file holding a sealed reference (JSON)")],
    out: Annotated[Path | None, typer.Option(help="output file (default: stdout)")] = None,
    store: StoreOption = DEFAULT_STORE,
    api: ApiOption = None,
    key_env: Annotated[
        str, typer.Option(help="environment variable with the recipient's private key (hex), for sealed refs")
    ] = "METATRUST_STORAGE_KEY",
) -> None:
    """Fetch a CID (verified), or fetch and decrypt a sealed reference."""
    backend = _backend(store, api, ImportOptions())
    if Path(target).is_file():
        ref = SealedRef.from_json(Path(target).read_text())
        secret = os.environ.get(key_env)
        if not secret:
            raise typer.BadParameter(f"set {key_env} to the recipient's private key (hex)")
        data = EncryptedStore(backend).get(ref, bytes.fromhex(secret.removeprefix("0x")))
    else:
        data = backend.get(target)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.write_bytes(data)
        console.print(f"{len(data):,} bytes written to {out}")


@app.command("serve")
def serve_command(
    store: StoreOption = DEFAULT_STORE,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (Kubo's RPC default is 5001)")] = 5001,
) -> None:
    """Serve the embedded store over Kubo's RPC API subset (add, cat, block/stat, pin) until Ctrl-C."""
    from aiohttp import web

    from offchain.storage.rpc_server import build_app

    console.print(f"Kubo-compatible RPC for {store} at http://{host}:{port}/api/v0")
    web.run_app(build_app(LocalStore(store)), host=host, port=port, print=None)


def bench_storage(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports/storage"),
    runs: Annotated[int, typer.Option(min=1, help="repetitions per size")] = 5,
    quick: Annotated[bool, typer.Option(help="two runs, files up to 60 MB (smoke run)")] = False,
) -> None:
    """Table 4.2 of seed 001 (upload/download of 17 dataset and model sizes) on the embedded store."""

    from offchain.storage.bench import BenchSize, run

    figures = run(out, BenchSize.quick() if quick else BenchSize(runs=runs), console)
    Console().print(figures_table("storage benchmark", figures))
    Console().print(f"reports in {out}/")

"""A Kubo-RPC-compatible HTTP endpoint over the embedded store: ``metatrust storage serve``.

It answers the subset of ``/api/v0`` a content store and a browser upload form need (``add``, ``cat``,
``block/get``, ``block/stat``, ``pin/add``, ``pin/rm``, ``version``) with Kubo's request and answer shapes
(multipart upload, newline-delimited JSON, ``{"Message", "Code", "Type"}`` errors with HTTP 500), so a
client or frontend written for a Kubo daemon works unchanged without one. It is no IPFS node: no peers,
no DHT, no bitswap.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiohttp import BodyPartReader, web

from offchain.storage.cid import parse_cid
from offchain.storage.embedded import LocalStore
from offchain.storage.errors import MalformedCid, StorageError, UnknownCid
from offchain.storage.unixfs import ImportOptions, import_bytes

VERSION = "0.22.0-metatrust-embedded"
MAX_UPLOAD = 512 * 1024 * 1024


def _kubo_error(message: str, status: int = 500) -> web.Response:
    body = json.dumps({"Message": message, "Code": 0, "Type": "error"})
    return web.Response(status=status, text=body, content_type="application/json")


def _add_options(query: Any, default: ImportOptions) -> ImportOptions:
    version = int(query.get("cid-version", default.cid_version))
    raw_leaves_text = query.get("raw-leaves")
    raw_leaves = None if raw_leaves_text is None else raw_leaves_text.lower() == "true"
    chunker = query.get("chunker", f"size-{default.chunk_size}")
    if not chunker.startswith("size-"):
        raise ValueError(f"chunker {chunker!r} is not supported here (only size-N)")
    return ImportOptions(version, raw_leaves, int(chunker[len("size-") :]), default.max_links)


def build_app(store: LocalStore) -> web.Application:
    """The aiohttp application serving ``store``."""
    routes = web.RouteTableDef()

    def _cid(request: web.Request) -> str:
        arg = request.query.get("arg")
        if not arg:
            raise MalformedCid("argument 'ipfs-path' is required")
        return parse_cid(arg.removeprefix("/ipfs/")).encode()

    @routes.post("/api/v0/version")
    async def version(request: web.Request) -> web.Response:
        return web.json_response({"Version": VERSION, "Commit": "", "Repo": "", "System": "", "Golang": ""})

    @routes.post("/api/v0/add")
    async def add(request: web.Request) -> web.Response:
        try:
            options = _add_options(request.query, store.options)
        except ValueError as exc:
            return _kubo_error(str(exc))
        reader = await request.multipart()
        lines = []
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            data = bytes(await part.read(decode=False))
            dag = import_bytes(data, options)
            for cid, block in dag.blocks:
                store.put_block(cid, block)
            if request.query.get("pin", "true").lower() == "true":
                store.pin(dag.root.encode())
            name = getattr(part, "filename", None) or dag.root.encode()
            lines.append({"Name": name, "Hash": dag.root.encode(), "Size": str(dag.size)})
        if not lines:
            return _kubo_error("no file in the multipart body")
        return web.Response(text="".join(json.dumps(line) + "\n" for line in lines))

    @routes.post("/api/v0/cat")
    async def cat(request: web.Request) -> web.Response:
        return web.Response(body=store.get(_cid(request)), content_type="application/octet-stream")

    @routes.post("/api/v0/block/get")
    async def block_get(request: web.Request) -> web.Response:
        return web.Response(body=store.get_block(parse_cid(_cid(request))))

    @routes.post("/api/v0/block/stat")
    async def block_stat(request: web.Request) -> web.Response:
        cid = parse_cid(_cid(request))
        block = store.get_block(cid)
        return web.json_response({"Key": cid.encode(), "Size": len(block)})

    @routes.post("/api/v0/pin/add")
    async def pin_add(request: web.Request) -> web.Response:
        cid = _cid(request)
        store.pin(cid)
        return web.json_response({"Pins": [cid]})

    @routes.post("/api/v0/pin/rm")
    async def pin_rm(request: web.Request) -> web.Response:
        cid = _cid(request)
        if parse_cid(cid).to_v1().encode() not in store.pins():
            return _kubo_error(f"{cid}: not pinned or pinned indirectly")
        store.unpin(cid)
        return web.json_response({"Pins": [cid]})

    @web.middleware
    async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except UnknownCid as exc:
            return _kubo_error(f"block was not found locally (offline): {exc}")
        except MalformedCid as exc:
            return _kubo_error(f"invalid path: {exc}")
        except StorageError as exc:
            return _kubo_error(str(exc))

    app = web.Application(middlewares=[errors], client_max_size=MAX_UPLOAD)
    app.add_routes(routes)
    return app


class RpcServerThread:
    """Serve :func:`build_app` on ``host:port`` in a background thread (``port=0``: any free port)."""

    def __init__(self, store: LocalStore, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = store
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="kubo-rpc")

    @property
    def url(self) -> str:
        """Base URL of the endpoint (as Kubo's ``Addresses.API``)."""
        return f"http://{self.host}:{self.port}"

    async def _start(self) -> None:
        self._runner = web.AppRunner(build_app(self.store), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            sockets = getattr(site._server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])

    def start(self) -> RpcServerThread:
        """Start serving; returns when the socket listens."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> RpcServerThread:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

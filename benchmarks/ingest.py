"""Ingest benchmark: our SEG-Y reader and store against segyio on the same file.

    python benchmarks/ingest.py                 # makes data/bench/ibm-2g.sgy (2 GiB) once
    python benchmarks/ingest.py --size-gb 0.25  # a smaller file
    python benchmarks/ingest.py --input my.sgy  # any post-stack file

Each measurement runs in its own subprocess, which reports its wall time and peak
resident memory; the file is read once first, so every run sees a warm page cache.
Targets (issue 3, 2 GB IBM-float file, 2 cores): reader >= 0.9x the speed of
segyio.tools.cube; ingest <= 2.5x its time with peak RSS <= a quarter of the file.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SECTIONS = 20


def make_file(path: Path, size_gb: float, ns: int = 500) -> None:
    """An IBM-float post-stack file written by segyio, trace by trace (bounded memory)."""
    import segyio

    traces = int(size_gb * 2**30 / (240 + 4 * ns))
    nxl = int(np.sqrt(traces))
    nil = traces // nxl
    spec = segyio.spec()
    spec.format, spec.sorting, spec.samples = 1, 2, np.arange(ns) * 4.0
    spec.ilines, spec.xlines = np.arange(1, nil + 1), np.arange(1, nxl + 1)
    rng = np.random.default_rng(0)
    tmp = path.with_suffix(".partial")
    with segyio.create(tmp, spec) as f:
        k = 0
        for il in spec.ilines:
            block = rng.standard_normal((nxl, ns)).astype(np.float32)
            for j, xl in enumerate(spec.xlines):
                f.header[k] = {189: int(il), 193: int(xl), 181: int(xl) * 25, 185: int(il) * 25}
                f.trace[k] = block[j]
                k += 1
    tmp.rename(path)


def child(task: str, path: str, store: str) -> dict:
    """One measurement, run in a fresh process; imports are not timed."""
    import segyio
    import segyio.tools

    from facies.io import open_segy
    from facies.io.store import ingest_segy, open_survey

    start = time.perf_counter()
    if task == "segyio_cube":
        segyio.tools.cube(path)
    elif task == "open_segy":
        open_segy(path)
    elif task == "ingest":
        ingest_segy(path, store, overwrite=True)
    elif task == "segyio_sections":
        with segyio.open(path) as f:
            rng = np.random.default_rng(1)
            for _ in range(SECTIONS // 2):
                _ = f.iline[int(rng.choice(f.ilines))]
                _ = f.xline[int(rng.choice(f.xlines))]
    elif task == "store_sections":
        survey = open_survey(store)
        rng = np.random.default_rng(1)
        for _ in range(SECTIONS // 2):
            _ = survey.amplitude.sel(inline=int(rng.choice(survey.inline))).values
            _ = survey.amplitude.sel(crossline=int(rng.choice(survey.crossline))).values
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mb": rss_mb}


def measure(task: str, path: Path, store: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", task, "--input", str(path), "--store", str(store)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path)
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, str(args.input), str(args.store))))
        return
    path = args.input or Path("data/bench") / f"ibm-{args.size_gb:g}g.sgy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} with segyio ...", flush=True)
        make_file(path, args.size_gb)
    store = args.store or path.with_suffix(".zarr")
    size_mb = path.stat().st_size / 2**20
    with path.open("rb") as fh:  # warm the page cache
        while fh.read(64 * 2**20):
            pass
    r = {task: measure(task, path, store) for task in
         ("segyio_cube", "open_segy", "ingest", "segyio_sections", "store_sections")}  # fmt: skip
    cube = r["segyio_cube"]["seconds"]
    print(f"file: {path} ({size_mb:.0f} MiB), warm page cache, one process per row")
    print(f"{'task':<34}{'seconds':>9}{'peak RSS MiB':>14}  ratio")
    rows = [
        ("segyio.tools.cube (anchor)", "segyio_cube", ""),
        ("facies open_segy", "open_segy", f"speed {cube / r['open_segy']['seconds']:.2f}x "
         "of segyio (target >= 0.9)"),
        ("facies ingest to store", "ingest", f"time {r['ingest']['seconds'] / cube:.2f}x of "
         f"segyio (target <= 2.5); RSS {r['ingest']['rss_mb'] / size_mb:.2f} of file "
         "(target <= 0.25)"),
        (f"segyio iline/xline x{SECTIONS}", "segyio_sections", ""),
        (f"store sections x{SECTIONS}", "store_sections", f"time "
         f"{r['store_sections']['seconds'] / r['segyio_sections']['seconds']:.2f}x of segyio"),
    ]  # fmt: skip
    for label, task, ratio in rows:
        print(f"{label:<34}{r[task]['seconds']:>9.2f}{r[task]['rss_mb']:>14.0f}  {ratio}")


if __name__ == "__main__":
    main()

"""Ingest benchmark: reader, store and section reads against segyio on the same survey.

    python benchmarks/ingest.py                 # 1 GiB files under data/bench/ (made once)
    python benchmarks/ingest.py --size-gb 0.05 --rounds 1   # a quick run

Writes three SEG-Y files with segyio holding the same survey (IBM float, 500 samples):
inline-sorted, crossline-sorted and shuffled. Every measurement runs in its own process
(wall time, CPU time, peak RSS); the compared commands alternate, ``--rounds`` times,
and the median is reported. Page cache warm. Targets (issue 16):

- ingest of the inline-sorted file <= 2.5x segyio.tools.cube's time;
- ingest peak RSS <= 0.3x the file, for every trace order;
- from the store: an inline <= 3x segyio's inline read, a crossline <= 1.5x segyio's
  crossline read (both on the inline-sorted SEG-Y), a time slice reading <= 0.1 of the
  store (bytes read by the process, /proc/self/io).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ORDERS = ("inline", "crossline", "shuffled")
READS = 20
POOL = 8191


def make_file(path: Path, size_gb: float, order: str, ns: int = 500) -> None:
    """A post-stack IBM-float file written by segyio, trace by trace, in ``order``; every
    order holds the same survey (trace values from a pool, by cell)."""
    import segyio

    traces = int(size_gb * 2**30 / (240 + 4 * ns))
    nxl = int(np.sqrt(traces))
    nil = traces // nxl
    il, xl = (a.ravel() for a in np.meshgrid(np.arange(nil), np.arange(nxl), indexing="ij"))
    if order == "crossline":
        k = np.lexsort((il, xl))
        il, xl = il[k], xl[k]
    elif order == "shuffled":
        k = np.random.default_rng(0).permutation(len(il))
        il, xl = il[k], xl[k]
    pool = np.random.default_rng(0).standard_normal((POOL, ns)).astype(np.float32)
    spec = segyio.spec()
    spec.format, spec.samples, spec.tracecount = 1, np.arange(ns) * 4.0, len(il)
    tmp = path.with_suffix(".partial")
    with segyio.create(tmp, spec) as f:
        for k in range(len(il)):
            i, x = int(il[k]) + 1, int(xl[k]) + 1
            f.header[k] = {189: i, 193: x, 181: x * 25, 185: i * 25}
            f.trace[k] = pool[(i * nxl + x) % POOL]
    tmp.rename(path)


def _read_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def child(task: str, path: str, store: str) -> dict:
    """One measurement in a fresh process; imports and opening are not timed."""
    import segyio
    import segyio.tools

    from facies.io import open_segy
    from facies.io.store import ingest_segy, open_crossline_sections, open_survey

    rng = np.random.default_rng(1)
    extra: dict = {}
    warm = None
    if task in ("segyio_inline", "segyio_crossline"):
        f = segyio.open(path)
        lines, keys = (f.iline, f.ilines) if task == "segyio_inline" else (f.xline, f.xlines)
        picks = [int(k) for k in rng.choice(keys, READS)]
        fn = lambda: [lines[k] for k in picks]  # noqa: E731
        warm = lambda: lines[int(keys[0])]  # noqa: E731
    elif task in ("store_inline", "store_crossline", "store_slice"):
        survey = open_survey(store)
        if task == "store_inline":
            amp = survey.amplitude
            picks = [int(k) for k in rng.choice(survey.inline.values, READS)]
            fn = lambda: [amp.sel(inline=k).values for k in picks]  # noqa: E731
            warm = lambda: amp.isel(inline=0).values  # noqa: E731
        elif task == "store_crossline":
            copy = open_crossline_sections(store)
            amp = (copy if copy is not None else survey).amplitude
            picks = [int(k) for k in rng.choice(survey.crossline.values, READS)]
            fn = lambda: [amp.sel(crossline=k).values for k in picks]  # noqa: E731
            warm = lambda: amp.isel(crossline=0).values  # noqa: E731
        else:
            amp = survey.amplitude
            fn = lambda: [amp.isel(sample=amp.shape[2] // 2).values]  # noqa: E731
            warm = lambda: amp.isel(inline=0, crossline=0).values  # noqa: E731
            extra["store_bytes"] = sum(p.stat().st_size for p in Path(store).rglob("*"))
            extra["cube_bytes"] = int(np.prod(amp.shape)) * 4
    elif task == "segyio_cube":
        fn = lambda: segyio.tools.cube(path)  # noqa: E731
    elif task == "open_segy":
        fn = lambda: open_segy(path)  # noqa: E731
    elif task == "ingest":
        shutil.rmtree(store, ignore_errors=True)  # a first ingest: no store to delete
        fn = lambda: ingest_segy(path, store)  # noqa: E731
    else:
        raise SystemExit(f"unknown task {task}")
    if warm is not None:  # the first read of a process sets up zarr (its event loop,
        warm()  # codecs) or segyio: a user reads many sections from one opened store
    read0, cpu0, wall0 = _read_bytes(), time.process_time(), time.perf_counter()
    fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    per = READS if task.endswith(("inline", "crossline")) else 1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall": wall / per, "cpu": cpu / per, "rss_mb": rss,
            "read_bytes": _read_bytes() - read0, **extra}  # fmt: skip


def measure(task: str, path: Path, store: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", task, "--input", str(path), "--store", str(store)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{task} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def alternate(pairs: list[tuple[str, Path, Path]], rounds: int) -> list[dict]:
    """Each (task, file, store) ``rounds`` times, interleaved; the median of each figure."""
    runs: list[list[dict]] = [[] for _ in pairs]
    for _ in range(rounds):
        for k, (task, path, store) in enumerate(pairs):
            runs[k].append(measure(task, path, store))
    return [{key: statistics.median(r[key] for r in rs) for key in rs[0]} for rs in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--folder", type=Path, default=Path("data/bench"))
    parser.add_argument("--input")
    parser.add_argument("--store")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.input, args.store)))
        return
    args.folder.mkdir(parents=True, exist_ok=True)
    files = {o: args.folder / f"{o}-{args.size_gb:g}g.sgy" for o in ORDERS}
    for order, path in files.items():
        if not path.exists():
            print(f"writing {path} with segyio ...", flush=True)
            make_file(path, args.size_gb, order)
    stores = {o: p.with_suffix(".zarr") for o, p in files.items()}
    for path in files.values():  # warm the page cache
        with path.open("rb") as fh:
            while fh.read(64 * 2**20):
                pass
    size_mb = files["inline"].stat().st_size / 2**20
    print(f"files: {args.size_gb:g} GiB ({size_mb:.0f} MiB) each, {args.rounds} alternating "
          "rounds, medians; wall and CPU seconds, peak RSS; page cache warm")  # fmt: skip
    il = files["inline"]
    first = [("segyio_cube", il, stores["inline"]), ("open_segy", il, stores["inline"])]
    ingest = alternate([*first, *[("ingest", files[o], stores[o]) for o in ORDERS]], args.rounds)
    cube, opened, ingests = ingest[0], ingest[1], dict(zip(ORDERS, ingest[2:], strict=True))
    tasks = ("segyio_inline", "store_inline", "segyio_crossline", "store_crossline", "store_slice")
    reads = alternate([(t, il, stores["inline"]) for t in tasks], args.rounds)
    si, st, sx, stx, slc = reads

    def row(label: str, r: dict, ratio: str = "") -> None:
        print(f"{label:<34}{r['wall']:>9.4f}{r['cpu']:>9.4f}{r['rss_mb']:>9.0f}  {ratio}")

    print(f"{'task':<34}{'wall s':>9}{'cpu s':>9}{'RSS MiB':>9}  ratio")
    row("segyio.tools.cube (anchor)", cube)
    row("facies open_segy", opened, f"time {opened['wall'] / cube['wall']:.2f}x wall, "
        f"{opened['cpu'] / cube['cpu']:.2f}x CPU of segyio.tools.cube")  # fmt: skip
    for order, r in ingests.items():
        ratio = f"RSS {r['rss_mb'] / size_mb:.2f} of the file (target <= 0.3)"
        if order == "inline":
            ratio = (f"time {r['wall'] / cube['wall']:.2f}x wall, {r['cpu'] / cube['cpu']:.2f}x "
                     f"CPU of segyio.tools.cube (target <= 2.5); {ratio}")  # fmt: skip
        row(f"facies ingest, {order if order == 'shuffled' else order + '-sorted'}", r, ratio)
    row("segyio inline (per read)", si)
    row("store inline (per read)", st, f"{st['wall'] / si['wall']:.2f}x wall, "
        f"{st['cpu'] / si['cpu']:.2f}x CPU of segyio (target <= 3)")  # fmt: skip
    row("segyio crossline (per read)", sx)
    row("store crossline (per read)", stx, f"{stx['wall'] / sx['wall']:.2f}x wall, "
        f"{stx['cpu'] / sx['cpu']:.2f}x CPU of segyio (target <= 1.5)")  # fmt: skip
    row("store time slice", slc, f"read {slc['read_bytes'] / 2**20:.1f} MiB = "
        f"{slc['read_bytes'] / slc['store_bytes']:.3f} of the store, "
        f"{slc['read_bytes'] / slc['cube_bytes']:.3f} of the cube (target <= 0.1)")  # fmt: skip


if __name__ == "__main__":
    main()

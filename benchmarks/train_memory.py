"""Peak memory of training's in-memory survey, for two survey sizes (issue 16, item 1).

For each size a synthetic survey is written and ingested once (under ``--workdir``); then a
fresh process opens the store and sets up the training data module (normalisation
statistics, the 6-byte-a-sample volume, patch tables) and reports its peak RSS. The anchor,
measured in the same process before the survey is touched, is the RSS of the imports
(torch, Lightning); the figure is the peak against the target ``1.2 GB + 6 B x samples``,
and the bytes a sample above the anchor. Sizes alternate over ``--rounds``; wall and CPU
time are printed beside.

    python benchmarks/train_memory.py [--sizes 256x256x1000 256x512x1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIDTHS = (14, 12, 6, 9, 8, 9, 11, 8, 7, 6)

PROBE = textwrap.dedent(
    """
    import json, resource, sys, time
    import lightning, torch  # the anchor: what training imports anyway
    from facies.data.datamodule import SurveyDataModule
    from facies.io.store import open_survey

    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    anchor = rss()
    wall, cpu = time.perf_counter(), time.process_time()
    survey = open_survey(sys.argv[1])
    dm = SurveyDataModule(survey, patch=(64, 64), stride=(32, 32), size_multiple=8)
    dm.setup("fit")
    samples = int(survey.sizes["inline"] * survey.sizes["crossline"] * survey.sizes["sample"])
    print(json.dumps({"anchor": anchor, "peak": rss(), "samples": samples,
                      "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
    """
)


def facies(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-m", "facies", *args], cwd=cwd, env=env,
                         capture_output=True, text=True)  # fmt: skip
    if run.returncode != 0:
        raise SystemExit(run.stderr[-3000:])


def store_for(size: str, workdir: Path) -> Path:
    nil, nxl, ns = (int(v) for v in size.split("x"))
    folder = workdir / f"survey-{size}"
    store = workdir / f"survey-{size}.zarr"
    if not store.exists():
        print(f"making {size} in {workdir} (once)", flush=True)
        facies("synth", f"output={folder.name}", f"n_inlines={nil}", f"n_crosslines={nxl}",
               f"n_samples={ns}", "figure=false", cwd=workdir)  # fmt: skip
        facies(
            "ingest", f"input={folder.name}/seismic.sgy", f"labels={folder.name}/labels.sgy",
            f"classes={folder.name}/classes.json", f"output={store.name}", cwd=workdir,
        )  # fmt: skip
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["256x256x1000", "256x512x1000"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("data/bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    stores = {size: store_for(size, args.workdir) for size in args.sizes}
    best: dict[str, dict] = {}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(args.rounds):
        for size, store in stores.items():  # sizes alternate
            run = subprocess.run([sys.executable, "-c", PROBE, str(store)], env=env,
                                 capture_output=True, text=True, check=True)  # fmt: skip
            result = json.loads(run.stdout.strip().splitlines()[-1])
            if size not in best or result["peak"] < best[size]["peak"]:
                best[size] = result
    header = ("survey", "samples", "GB", "anchor GB", "peak GB", "target GB", "peak/target",
              "B/sample", "wall s", "CPU s")  # fmt: skip
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, WIDTHS, strict=True)))
    for size, r in best.items():
        target = 1.2e9 + 6 * r["samples"]
        per_sample = (r["peak"] - r["anchor"]) / r["samples"]
        print(f"{size:>14} {r['samples']:>12,} {4 * r['samples'] / 1e9:>6.2f} "
              f"{r['anchor'] / 1e9:>9.2f} {r['peak'] / 1e9:>8.2f} {target / 1e9:>9.2f} "
              f"{r['peak'] / target:>11.2f} {per_sample:>8.2f} {r['wall']:>7.1f} "
              f"{r['cpu']:>6.1f}")  # fmt: skip
    if len(best) >= 2:  # what one more sample costs: the slope between the smallest and largest
        small, large = sorted(best.values(), key=lambda r: r["samples"])[:: len(best) - 1]
        slope = (large["peak"] - small["peak"]) / (large["samples"] - small["samples"])
        print(f"marginal: {slope:.2f} bytes a sample between the sizes (target 6)")


if __name__ == "__main__":
    main()

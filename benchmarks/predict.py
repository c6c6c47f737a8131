"""Prediction benchmark: traces/s and peak memory, and how memory scales with the survey.

    python benchmarks/predict.py                   # CPU: ~2 GB and ~0.5 GB synthetic surveys
    python benchmarks/predict.py --size 651 951 462 --device cuda --checkpoint best.ckpt
                                                   # the GPU figure of issue 5 (F3 size)

Each run is `facies predict` (SEG-Y in, SEG-Y out) in its own process, which reports its
wall time and peak RSS. The CPU runs use a small untrained U-Net (speed and memory do
not depend on the weights). Targets (issue 5): the large survey's peak RSS at most 1.5 GB
and at most 1.2x the peak RSS of a survey four times smaller; on a GPU, an F3-sized survey
in at most 30 s in all.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path("data/bench")


def make_survey(shape: tuple[int, int, int]) -> Path:
    from facies.sources.synthetic import make_synthetic_survey

    folder = BENCH / f"synth-{shape[0]}x{shape[1]}x{shape[2]}"
    if not (folder / "seismic.sgy").exists():
        print(f"writing {folder} ...", flush=True)
        make_synthetic_survey(
            folder, n_inlines=shape[0], n_crosslines=shape[1], n_samples=shape[2], figure=False
        )
    return folder / "seismic.sgy"


def small_checkpoint(path: Path) -> Path:
    from facies.training.checkpoint import write_untrained

    hp = {
        "model": {"name": "unet", "depth": 3, "base_channels": 8},
        "class_names": ["parallel", "chaotic", "transparent", "high", "clinoform", "thin"],
        "norm_stats": {"low": -3.0, "high": 3.0, "scale": 3.0},
        "patch": [128, 128],
        "sample_interval": 4.0,
    }
    return write_untrained(path, hp)


def child(args: list[str]) -> None:
    """Run one `facies predict` in this process; report seconds and peak RSS."""
    from facies.cli import main

    start = time.perf_counter()
    code = main(["predict", *args])
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"code": code, "seconds": seconds, "rss_mb": rss}))


def measure(segy: Path, checkpoint: Path, extra: list[str]) -> dict:
    out = BENCH / f"{segy.parent.name}-facies.sgy"
    args = [f"checkpoint={checkpoint}", f"input={segy}", f"output={out}", "overwrite=true",
            "overlap=0.25", "figure=false", *extra]  # fmt: skip
    run = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode or not lines:
        raise SystemExit(f"predict failed:\n{run.stderr[-3000:]}")
    result = json.loads(lines[-1])
    from facies.io import scan_segy

    result["traces"] = len(scan_segy(segy).grid.traces)
    result["file_mb"] = segy.stat().st_size / 2**20
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=3, default=[1024, 1024, 500])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-small", action="store_true", help="skip the 4x smaller survey")
    args = parser.parse_args()
    BENCH.mkdir(parents=True, exist_ok=True)
    checkpoint = args.checkpoint or small_checkpoint(BENCH / "small-unet.ckpt")
    big = tuple(args.size)
    sizes = [big] if args.no_small else [(big[0] // 2, big[1] // 2, big[2]), big]
    extra = [f"device={args.device}"]
    surveys = {shape: make_survey(shape) for shape in sizes}
    print(f"device {args.device}, checkpoint {checkpoint}, overlap 0.25, inline windows")
    print(f"{'survey':<18}{'file MiB':>10}{'seconds':>10}{'traces/s':>11}{'peak RSS MiB':>14}")
    results = {}
    for shape, segy in surveys.items():
        r = results[shape] = measure(segy, checkpoint, extra)
        name = "x".join(map(str, shape))
        print(f"{name:<18}{r['file_mb']:>10.0f}{r['seconds']:>10.1f}"
              f"{r['traces'] / r['seconds']:>11.0f}{r['rss_mb']:>14.0f}", flush=True)  # fmt: skip
    if len(sizes) == 2:
        small, large = results[sizes[0]], results[sizes[1]]
        ratio = large["rss_mb"] / small["rss_mb"]
        peak = large["rss_mb"] / 1024
        print(f"peak RSS ratio large/small: {ratio:.2f} (target <= 1.2); "
              f"large peak {peak:.2f} GiB (target <= 1.5)")  # fmt: skip


if __name__ == "__main__":
    main()

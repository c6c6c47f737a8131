"""What facies reaches on the survey shapes real interpretation comes in, with the commands.

Three workflows on versions of the built-in synthetic survey (``facies synth``), each
trained with the default settings and scored on its held-out labelled sections:

- ``small``: a small 3-D survey (36 inlines) labelled everywhere;
- ``sparse``: a survey whose SEG-Y holds only 4 labelled inlines and 4 labelled crosslines;
- ``line``: one 2-D line (line/trace numbers at bytes 9/21);
- ``small-lstm``: the LSTM trace baseline on the small survey, same split.

For each it prints the test PA, mIoU and FWIU, the wall and CPU time of the training job,
and the anchor measured on the same test set: the pixel accuracy of always answering the
majority class (PA / majority PA is the ratio). Every command is printed as it runs.

    python benchmarks/quality.py [--workdir DIR] [--only small,sparse,line,small-lstm]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WORKFLOWS = {
    "small": (
        ["output=small", "n_inlines=36", "n_crosslines=256", "n_samples=256", "figure=false"],
        ["data=segy", "data.seismic=small/seismic.sgy", "data.labels=small/labels.sgy",
         "data.classes=small/classes.json"],
    ),
    "sparse": (
        ["output=sparse", "n_inlines=200", "n_crosslines=200", "n_samples=256",
         "labelled_inlines=4", "labelled_crosslines=4", "figure=false"],
        ["data=segy", "data.seismic=sparse/seismic.sgy", "data.labels=sparse/labels.sgy",
         "data.classes=sparse/classes.json"],
    ),
    "line": (
        ["output=line", "n_inlines=16", "n_crosslines=800", "n_samples=256", "lines=1",
         "figure=false"],
        ["data=segy", "data.seismic=line/seismic.sgy", "data.labels=line/labels.sgy",
         "data.classes=line/classes.json", "segy.iline=9", "segy.xline=21"],
    ),
    "small-lstm": (
        None,
        ["data=segy", "data.seismic=small/seismic.sgy", "data.labels=small/labels.sgy",
         "data.classes=small/classes.json", "model=lstm"],
    ),
}  # fmt: skip


def facies(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``python -m facies`` from this source tree; (result, wall s, CPU s)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    print("$ facies " + shlex.join(args), flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "facies", *args], cwd=cwd, env=env,
                         capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if run.returncode != 0:
        raise SystemExit(f"failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return run, wall, cpu


def majority_pa(confusion: list[list[int]]) -> float:
    """Pixel accuracy of always answering the most frequent true class."""
    support = [sum(row) for row in confusion]
    return max(support) / max(1, sum(support))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("quality-work"))
    parser.add_argument("--only", default=",".join(WORKFLOWS), help="comma-separated workflows")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.only.split(","):
        synth, train = WORKFLOWS[name]
        if synth is not None and not (args.workdir / synth[0].split("=")[1]).exists():
            facies(["synth", *synth], args.workdir)
        run, wall, cpu = facies(["train", *train], args.workdir)
        folder = Path(run.stdout.rsplit("run folder: ", 1)[1].split()[0])
        metrics = json.loads((folder / "metrics.json").read_text())
        test, anchor = metrics["test"], majority_pa(metrics["confusion_matrix"])
        rows.append((name, test["pa"], test["miou"], test["fwiu"], anchor, wall, cpu))
        print(f"{name}: PA {test['pa']:.3f} (majority class {anchor:.3f}, ratio "
              f"{test['pa'] / anchor:.2f}), mIoU {test['miou']:.3f}, FWIU {test['fwiu']:.3f}; "
              f"train {wall:.0f} s wall, {cpu:.0f} s CPU", flush=True)  # fmt: skip
    print("\n| workflow | PA | mIoU | FWIU | majority-class PA | ratio | wall s | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, pa, miou, fwiu, anchor, wall, cpu in rows:
        print(f"| {name} | {pa:.3f} | {miou:.3f} | {fwiu:.3f} | {anchor:.3f} | "
              f"{pa / anchor:.2f} | {wall:.0f} | {cpu:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()

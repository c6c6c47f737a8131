"""Feature-hierarchy report time for the default U-Net (target: at most 2 minutes on CPU).

    python benchmarks/inspection.py                              # untrained default U-Net
    python benchmarks/inspection.py --checkpoint outputs/train/<run>/checkpoints/best.ckpt

Runs what `facies inspect` runs (trained network and untrained control, every stage:
activations, theoretical and effective receptive fields, spectra, linear probes, report
and figures) on the default synthetic survey (128 x 128 x 128, made in memory), and
prints its time against the 120 s target and against an anchor measured in the same
run: one forward pass of the same network over every inline section of the survey, so
the ratio says how many survey-sized inferences one report costs on this machine.
Training does not change the cost, so an untrained checkpoint is used unless one is given.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from omegaconf import OmegaConf
from timing import timed

from facies.inspection import inspect_checkpoint, write_report
from facies.runtime import compose
from facies.sources.synthetic import synthetic_dataset
from facies.training.checkpoint import write_untrained
from facies.training.inputs import datamodule_for
from facies.training.module import FaciesModule

TARGET_SECONDS = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a U-Net checkpoint (default: untrained default)")
    parser.add_argument("--survey", type=int, default=128, help="inlines = crosslines = samples")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    n = args.survey
    survey = synthetic_dataset(n_inlines=n, n_crosslines=n, n_samples=n)
    cfg = compose("train", ["data=synthetic", "model=unet"])  # as `facies train` composes it
    data = OmegaConf.to_container(cfg.data, resolve=True)
    model = OmegaConf.to_container(cfg.model, resolve=True)

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if checkpoint is None:
            names = list(survey.attrs["class_names"])
            hp = {"model": model, "class_names": names, "patch": data["patch"]}
            checkpoint = write_untrained(Path(tmp) / "untrained.ckpt", hp)

        def datamodule(hparams: dict):
            stats = hparams.get("norm_stats")
            return datamodule_for(
                survey,
                data,
                dict(hparams["model"]),
                0,
                norm_stats=dict(stats) if stats else None,
                patch=tuple(hparams["patch"]),
            )

        dm = datamodule({"model": model, "patch": data["patch"]})
        dm.setup("test")
        net = FaciesModule(model=model, class_names=dm.class_names).net.eval().to(args.device)
        sections = dm.section_size

        @torch.no_grad()
        def forward_survey() -> None:
            for il in range(0, n, 8):
                batch = torch.zeros(min(8, n - il), 1, *sections, device=args.device)
                batch[:, 0, :n, :n] = dm.volume.amplitude[il : il + 8].transpose(1, 2)
                net(batch)

        def report() -> None:
            nonlocal inspection
            inspection = inspect_checkpoint(checkpoint, datamodule, device=args.device)
            write_report(inspection, Path(tmp) / "report")

        inspection = None
        anchor = timed(forward_survey, args.device)
        seconds = timed(report, args.device)

    print(f"survey {n}^3, model {model}, device {args.device}")
    print(f"anchor: one forward pass over all {n} inline sections: {anchor:.2f} s")
    print(
        f"inspection report (trained + control, {len(inspection.trained.stages)} stages): "
        f"{seconds:.1f} s"
    )
    print(
        f"ratio to target ({TARGET_SECONDS:.0f} s): {seconds / TARGET_SECONDS:.2f} "
        f"({'within' if seconds <= TARGET_SECONDS else 'OVER'} target)"
    )
    print(f"ratio to anchor: {seconds / anchor:.1f} survey forward passes")


if __name__ == "__main__":
    main()

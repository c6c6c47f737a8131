"""Training throughput: the real data path against ready-made tensors, same model and steps.

    python benchmarks/train.py                       # CPU: default U-Net, 64x64 patches
    python benchmarks/train.py --device cuda --base-channels 64 --patch 256 --batch 64 \
        --survey 512 --precision bf16               # the GPU figure of issue 4 (with MFU)

Both loops run the same forward/backward/optimizer steps; the first cuts its batches
from the survey held in memory (on the device) with augmentation, the second reuses
batches made beforehand. Target: ratio >= 0.95 (the data path costs at most 5%).
On CUDA it also counts the model's FLOPs per step (torch.utils.flop_counter) and
reports model FLOPs utilisation against --peak-tflops (H200 bf16: about 790).
"""

from __future__ import annotations

import argparse
import itertools
import statistics

import torch
from timing import timed

from facies.data.datamodule import SurveyDataModule
from facies.sources.synthetic import synthetic_dataset
from facies.training.module import FaciesModule


def steps(module, optimizer, batches, n, device, autocast) -> float:
    """Seconds for ``n`` training steps over ``batches`` (after 3 warm-up steps)."""
    iterator = itertools.cycle(batches) if isinstance(batches, list) else None

    def next_batch():
        nonlocal iterator
        if iterator is None:
            iterator = iter(batches)
        try:
            return next(iterator)
        except StopIteration:
            iterator = iter(batches)
            return next(iterator)

    def one():
        batch = next_batch()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = module.loss(module(batch["image"]), batch["mask"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return timed(one, device, n, warmup=3) * n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--survey", type=int, default=128, help="inlines = crosslines = samples")
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--base-channels", type=int, default=16)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--precision", choices=["32", "bf16"], default="32")
    parser.add_argument("--peak-tflops", type=float, default=790.0)
    args = parser.parse_args()
    device = torch.device(args.device)
    autocast = args.precision == "bf16"
    n = args.survey
    survey = synthetic_dataset(n_inlines=n, n_crosslines=n, n_samples=n)
    dm = SurveyDataModule(
        survey,
        patch=(args.patch, args.patch),
        stride=(args.patch // 2, args.patch // 2),
        batch_size=args.batch,
        size_multiple=2**args.depth,
        augmentation={"enabled": True, "amplitude_scale": 0.2, "noise": 0.05},
        splits={"fractions": {"train": 1.0}},
    )
    dm.setup()
    dm.move_to(device)
    model = {"name": "unet", "depth": args.depth, "base_channels": args.base_channels}
    module = FaciesModule(model=model, class_names=dm.class_names).to(device).train()
    if device.type == "cuda":
        module.net.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
    ready = [b for _, b in zip(range(4), dm.train_dataloader(), strict=False)]
    # Alternate the two loops and take medians, so drift in machine load hits both alike.
    t_ready_runs, t_data_runs = [], []
    for _ in range(args.rounds):
        t_ready_runs.append(steps(module, optimizer, ready, args.steps, device, autocast))
        t_data_runs.append(
            steps(module, optimizer, dm.train_dataloader(), args.steps, device, autocast)
        )
    t_ready, t_data = statistics.median(t_ready_runs), statistics.median(t_data_runs)
    patches = args.steps * args.batch
    print(
        f"device {device}, U-Net base {args.base_channels} depth {args.depth}, "
        f"{args.patch}x{args.patch} patches, batch {args.batch}, precision {args.precision}"
    )
    print(f"ready-made tensors (anchor): {patches / t_ready:8.1f} patches/s")
    print(f"real data path:              {patches / t_data:8.1f} patches/s")
    print(f"ratio data path / ready-made: {t_ready / t_data:.3f} (target >= 0.95; median "
          f"of {args.rounds} alternating rounds of {args.steps} steps)")  # fmt: skip
    if device.type == "cuda":
        from torch.utils.flop_counter import FlopCounterMode

        batch = ready[0]
        bf16 = torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast)
        with FlopCounterMode(display=False) as counter, bf16:
            module.loss(module(batch["image"]), batch["mask"]).backward()
        flops_per_patch = counter.get_total_flops() / args.batch
        achieved = flops_per_patch * patches / t_ready / 1e12
        print(
            f"model FLOPs: {flops_per_patch / 1e9:.1f} GFLOP per patch (fwd+bwd); "
            f"{achieved:.1f} TFLOP/s = MFU {achieved / args.peak_tflops:.1%} of "
            f"{args.peak_tflops:g} TFLOP/s (target >= 25%: ratio "
            f"{achieved / args.peak_tflops / 0.25:.2f})"
        )
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()

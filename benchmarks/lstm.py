"""LSTM baseline throughput: training and inference traces/s, against the U-Net's.

    python benchmarks/lstm.py                          # CPU, default models
    python benchmarks/lstm.py --device cuda --batch 4096 --survey 256   # cuDNN LSTM

Both models see the same synthetic survey; the U-Net (default config) is the anchor:
the ratio says how many LSTM traces are processed per U-Net trace in the same time.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from timing import timed

from facies.data.datamodule import SurveyDataModule
from facies.data.traces import cut_traces
from facies.sources.synthetic import synthetic_dataset
from facies.training.module import FaciesModule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--survey", type=int, default=128)
    parser.add_argument("--batch", type=int, default=256, help="traces per LSTM batch")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    n = args.survey
    survey = synthetic_dataset(n_inlines=n, n_crosslines=n, n_samples=n)
    dm = SurveyDataModule(survey, splits={"fractions": {"train": 1.0}}, size_multiple=8)
    dm.setup()
    dm.move_to(device)
    names = dm.class_names
    lstm = FaciesModule(model={"name": "lstm"}, class_names=names).to(device)
    unet = FaciesModule(model={"name": "unet", "depth": 3}, class_names=names).to(device)
    region = dm.splits["train"]
    rng = np.random.default_rng(0)
    il = rng.integers(region.start, region.stop, args.batch)
    xl = rng.integers(0, n, args.batch)
    batch = cut_traces(dm.volume, il, xl, region, 0)
    optimizer = torch.optim.AdamW(lstm.parameters(), lr=1e-3)

    def lstm_step():
        loss = lstm.loss(lstm(batch["trace"]), batch["mask"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    sections = dm.volume.amplitude[:8].permute(0, 2, 1)[:, None].contiguous()  # 8 inlines

    @torch.no_grad()
    def lstm_infer():
        lstm.eval()(batch["trace"])

    @torch.no_grad()
    def unet_infer():
        unet.eval()(sections)

    train_s = timed(lstm_step, device, args.repeats, warmup=1)
    infer_s = timed(lstm_infer, device, args.repeats, warmup=1)
    unet_s = timed(unet_infer, device, args.repeats, warmup=1)
    unet_traces = sections.shape[0] * sections.shape[-1]
    unet_rate = unet_traces / unet_s
    print(f"device {device}, survey {n}^3 ({n} samples per trace), LSTM batch {args.batch}")
    print(f"U-Net inference (anchor):  {unet_rate:10.0f} traces/s")
    print(f"LSTM training:             {args.batch / train_s:10.0f} traces/s")
    print(f"LSTM inference:            {args.batch / infer_s:10.0f} traces/s "
          f"(ratio to the U-Net: {args.batch / infer_s / unet_rate:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()

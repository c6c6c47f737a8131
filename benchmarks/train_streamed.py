"""Streamed training (data.in_memory=false) against the survey in memory (issue 16, item 2).

Two figures, each run in fresh processes:

- throughput: on a survey that fits in memory (``--small``), an epoch of ``--steps``
  training steps (default U-Net, 64 x 64 patches, batch 16, augmentation; after an
  untimed warm-up epoch) with the survey in memory (the anchor) and streamed from the
  store, the two alternating over ``--rounds``; patches/s of the steps (wall and CPU
  time), the set-up beside, and the ratio streamed / in memory (target >= 0.8), of the
  medians. A further epoch without the model gives the data path's own rate.
- memory: on a survey of 4 GB or more (``--large``: float32 amplitude), the peak RSS of
  a streamed set-up, an epoch of training steps and a pass over the validation sections
  (data only); target <= 2.5 GB. The anchor is the RSS of the imports (torch, Lightning).

The stores are written directly in the store's layout (amplitude, labels, live, in the
store's chunks: 32 x 32 traces x all samples) by tiling a small synthetic survey, under
``--workdir``; ``--delete`` removes them afterwards.

    python benchmarks/train_streamed.py [--small 256x256x1000] [--large 1024x1024x1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the working tree's facies, not an installed copy
CHUNK = 32

PROBE = textwrap.dedent(
    """
    import json, resource, sys, time
    import lightning, torch  # the anchor: what training imports anyway
    import numpy as np
    import xarray as xr
    from facies.data.datamodule import SurveyDataModule
    from facies.data.streamed_datamodule import StreamedSurveyDataModule
    from facies.training.module import FaciesModule

    def rss():  # this process's peak (VmHWM: getrusage's keeps the parent's across exec)
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def clock():
        return time.perf_counter(), time.process_time()

    def since(t):
        now = clock()
        return now[0] - t[0], now[1] - t[1]

    store, mode, steps, validate = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
    anchor = rss()
    survey = xr.open_dataset(store, engine="zarr", consolidated=False, chunks=None, cache=False)
    survey.encoding["source"] = store  # as open_survey leaves it: the crossline copy is found
    module_class = SurveyDataModule if mode == "memory" else StreamedSurveyDataModule
    t = clock()
    dm = module_class(survey, patch=(64, 64), stride=(32, 32), batch_size=16, size_multiple=8,
                      patches_per_epoch=16 * steps, seed=0,
                      augmentation={"enabled": True, "amplitude_scale": 0.2, "noise": 0.05})
    dm.setup("fit")
    dm.move_to(torch.device("cpu"))  # as training does (streamed: regions read when needed)
    setup = since(t)
    torch.manual_seed(0)
    module = FaciesModule(model={"name": "unet", "depth": 3, "base_channels": 16},
                          class_names=dm.class_names).train()
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
    batches = dm.train_dataloader()

    def epoch():
        patches = 0
        for batch in batches:
            loss = module.loss(module(batch["image"]), batch["mask"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            patches += len(batch["image"])
        return patches

    epoch()  # warm-up: torch's first steps are slow in either mode
    t = clock()
    patches = epoch()  # the next epoch of training steps: a fresh draw, read afresh
    train = since(t)
    t = clock()
    for batch in batches:  # the next epoch, data only
        pass
    data = since(t)
    sections = 0
    if validate:  # the validation sections, data only
        for batch in dm.val_dataloader():
            sections += len(batch["image"])
    print(json.dumps({"anchor": anchor, "peak": rss(), "patches": patches, "setup": setup,
                      "train": train, "data": data, "sections": sections,
                      "samples": int(np.prod([survey.sizes[d] for d in
                                              ("inline", "crossline", "sample")]))}))
    """
)


def write_store(path: Path, shape: tuple[int, int, int], layout: str) -> Path:
    """A store of ``shape`` tiled from a small synthetic survey, chunked as ingest chunks
    it: ``sections`` (store format 3, written through ingest's own writer, the crossline
    copy included) or ``legacy`` (32 x 32 traces). Written a block of inlines at a time:
    memory stays small."""
    import numpy as np

    from facies.sources.synthetic import synthetic_dataset

    if path.exists():
        return path
    nil, nxl, ns = shape
    print(f"writing {path} ({nil}x{nxl}x{ns}, {layout} layout; once)", flush=True)
    tile = synthetic_dataset(n_inlines=128, n_crosslines=128, n_samples=ns, seed=1)
    reps = -(-nxl // 128)

    def block(start: int, stop: int) -> dict:
        rows = np.arange(start, stop) % 128
        out = {}
        for name in ("amplitude", "labels", "live"):
            values = tile[name].values[rows]
            out[name] = np.tile(values, (1, reps, 1)[: values.ndim])[:, :nxl]
        return out

    if layout == "sections":
        return _write_sections(path, shape, tile, block)
    return _write_legacy(path, shape, tile, block)


def _write_sections(path: Path, shape, tile, block) -> Path:
    import numpy as np
    import xarray as xr

    from facies.io.labels import LABEL_DTYPE
    from facies.io.store_writer import SurveyStoreWriter

    nil, nxl, _ = shape
    coords = {"inline": np.arange(nil) + 1, "crossline": np.arange(nxl) + 1}
    coords["sample"] = tile["sample"].values
    extra = {k: ("sample", tile[k].values) for k in tile.coords if tile[k].dims == ("sample",)}
    meta = xr.Dataset(coords={**coords, **{k: v for k, v in extra.items() if k != "sample"}},
                      attrs=dict(tile.attrs))  # fmt: skip
    live = np.zeros((nil, nxl), dtype=bool)
    meta["live"] = (("inline", "crossline"), live.copy())  # its values: finish()
    with SurveyStoreWriter(path, meta, has_labels=True) as writer:
        for start in range(0, nil, CHUNK):
            stop = min(start + CHUNK, nil)
            values = block(start, stop)
            live[start:stop] = values["live"]
            labels = values["labels"].astype(LABEL_DTYPE)
            writer.write(start, values["amplitude"], values["live"], labels)
        writer.finish(live, {}, list(tile.attrs.get("class_names") or []) or None)
    return path


def _write_legacy(path: Path, shape, tile, block) -> Path:
    import xarray as xr

    nil, nxl, _ = shape
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    plain = {"compressors": None}
    cube, plane = (CHUNK, CHUNK, shape[2]), (CHUNK, CHUNK)
    encoding = {
        "amplitude": {"chunks": cube, **plain},
        "labels": {"chunks": cube, **plain},
        "live": {"chunks": plane, **plain},
    }
    for start in range(0, nil, CHUNK):
        stop = min(start + CHUNK, nil)
        values = block(start, stop)
        data = {name: (tile[name].dims, values[name]) for name in values}
        coords = {
            "inline": list(range(start + 1, stop + 1)),
            "crossline": list(range(1, nxl + 1)),
            "sample": tile["sample"].values,
        }
        frame = xr.Dataset(data, coords=coords, attrs=tile.attrs)
        options = {"mode": "w", "encoding": encoding} if start == 0 else {"append_dim": "inline"}
        frame.to_zarr(tmp, consolidated=False, **options)
    tmp.rename(path)
    return path


def probe(store: Path, mode: str, steps: int, validate: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", PROBE, str(store), mode, str(steps), str(int(validate))]
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(run.stderr[-3000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def shape_of(text: str) -> tuple[int, int, int]:
    nil, nxl, ns = (int(v) for v in text.split("x"))
    return nil, nxl, ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", default="256x256x1000", help="survey for the throughput")
    parser.add_argument("--large", default="1024x1024x1000", help="survey for the memory")
    parser.add_argument("--steps", type=int, default=128, help="training steps an epoch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--layout", choices=["sections", "legacy"], default="sections",
                        help="the stores' chunks: store format 3, or 32 x 32 traces")  # fmt: skip
    parser.add_argument("--workdir", type=Path, default=Path("data/bench"))
    parser.add_argument("--skip-large", action="store_true", help="throughput only")
    parser.add_argument("--delete", action="store_true", help="remove the stores afterwards")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    name = f"streamed-{args.layout}-{{}}.zarr"
    small = write_store(args.workdir / name.format(args.small), shape_of(args.small), args.layout)
    runs: dict[str, list[dict]] = {"memory": [], "streamed": []}
    for _ in range(args.rounds):
        for mode in runs:  # alternating
            runs[mode].append(probe(small, mode, args.steps, False))
    print(f"throughput: {args.small} survey ({args.layout} chunks), {args.steps} steps of "
          f"16 patches (64x64), default U-Net, CPU; {args.rounds} alternating "
          "rounds")  # fmt: skip
    print(f"{'mode':>9} {'setup s':>8} {'setup CPU':>9} {'train s':>8} {'train CPU':>9} "
          f"{'patches/s':>9} {'data-only/s':>11} {'peak GB':>8}")  # fmt: skip
    best = {}
    for mode, results in runs.items():  # the median round by the steps' wall time
        r = best[mode] = sorted(results, key=lambda r: r["train"][0])[len(results) // 2]
        print(f"{mode:>9} {r['setup'][0]:>8.1f} {r['setup'][1]:>9.1f} {r['train'][0]:>8.1f} "
              f"{r['train'][1]:>9.1f} {r['patches'] / r['train'][0]:>9.1f} "
              f"{r['patches'] / r['data'][0]:>11.0f} {r['peak'] / 1e9:>8.2f}")  # fmt: skip
    ratio = best["memory"]["train"][0] / best["streamed"]["train"][0]
    cpu = best["memory"]["train"][1] / best["streamed"]["train"][1]
    print(f"ratio streamed / in memory, patches/s of the steps: {ratio:.2f} wall, {cpu:.2f} "
          f"CPU (target >= 0.8; medians of {args.rounds} rounds)")  # fmt: skip
    whole = [(best[m]["setup"][0] + best[m]["train"][0]) for m in ("memory", "streamed")]
    print(f"ratio with the set-up counted (wall): {whole[0] / whole[1]:.2f}")
    if not args.skip_large:
        large = write_store(
            args.workdir / name.format(args.large), shape_of(args.large), args.layout
        )
        started = time.perf_counter()
        r = probe(large, "streamed", args.steps, True)
        gb = 4 * r["samples"] / 1e9
        print(f"memory: {args.large} survey ({gb:.2f} GB float32 amplitude), streamed: set-up "
              f"{r['setup'][0]:.0f} s (CPU {r['setup'][1]:.0f} s), {args.steps} steps "
              f"{r['train'][0]:.0f} s (CPU {r['train'][1]:.0f} s, "
              f"{r['patches'] / r['train'][0]:.1f} patches/s), {r['sections']} validation "
              f"sections; anchor {r['anchor'] / 1e9:.2f} GB, peak RSS {r['peak'] / 1e9:.2f} GB "
              f"(target <= 2.5 GB; in memory it would need about "
              f"{(1.2e9 + 6 * r['samples']) / 1e9:.1f} GB); "
              f"{time.perf_counter() - started:.0f} s in all")  # fmt: skip
    if args.delete:
        for path in args.workdir.glob("streamed-*.zarr"):
            shutil.rmtree(path)


if __name__ == "__main__":
    main()

"""``facies predict checkpoint=... input=new.sgy [output=facies.sgy]``: a facies volume."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from facies.errors import ConfigError, OutputError

if TYPE_CHECKING:
    from facies.io.fingerprint import FingerprintCache

log = logging.getLogger(__name__)


def run(cfg: DictConfig, fingerprints: FingerprintCache | None = None) -> dict:
    """Predict a survey into a store, then (when complete) write the facies SEG-Y.

    ``fingerprints``: the run's cache (from the facies command, shared with
    provenance.json), so the input's trace headers are read once per run.
    """
    if not cfg.get("checkpoint") or not cfg.get("input"):
        raise ConfigError("facies predict needs checkpoint=<best.ckpt> and input=<survey.sgy>.")
    import torch

    from facies.inference import checks
    from facies.inference import prediction_store as ps
    from facies.inference.figures import prediction_figure
    from facies.inference.predict import PredictOptions, predict_survey
    from facies.inference.reader import SurveyReader
    from facies.io.segy.options import segy_options
    from facies.io.segy.writer import write_segy_streamed
    from facies.runtime import run_dir
    from facies.training.checkpoint import load_network

    out = run_dir()
    output = Path(cfg.output) if cfg.output else out / "facies.sgy"
    if output.exists() and not cfg.overwrite:  # say so now, not after the prediction
        raise OutputError(f"{output} exists; remove it or pass overwrite=true.")
    _warn_leftovers(output)
    net, hp = load_network(cfg.checkpoint)
    segy = segy_options(cfg.segy)
    reader = SurveyReader(cfg.input, **segy)
    checks.check_compatible(hp, reader, allow_mismatch=cfg.allow_mismatch)
    stats = checks.normalisation(hp, reader, cfg.normalization)
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.device != "cpu" else "cpu")
    net.to(device)
    window = tuple(cfg.window) if cfg.window else tuple(hp["patch"])
    options = PredictOptions(
        window=window,
        overlap=cfg.overlap,
        directions=tuple(cfg.directions),
        batch_size=cfg.batch_size,
        probabilities=cfg.probabilities,
        block_inlines=cfg.block_inlines,
    )
    store = Path(cfg.store) if cfg.store else out / "prediction.zarr"
    inline_range = checks.inline_range(cfg.inlines, reader)
    names = list(hp["class_names"])
    # the input's header checksum is the one provenance.json took (the run's fingerprint
    # cache), so the trace headers are read once; the checkpoint is checksummed whole here,
    # as its first and last MiB (all provenance reads) do not prove two models equal
    fingerprint = ps.run_fingerprint(
        cfg.checkpoint,
        cfg.input,
        {
            "window": list(window),
            "overlap": float(cfg.overlap),
            "directions": list(options.directions),
            "probabilities": bool(cfg.probabilities),
            "normalization": stats.as_dict(),
            "class_names": names,
            "segy": segy,
        },
        fingerprints=fingerprints,
    )
    predict_survey(
        net, reader, stats, names, store, options, inline_range, device, cfg.resume, fingerprint
    )
    result = {"store": str(store)}
    if inline_range is not None and not cfg.write_segy:
        print(f"predicted inline indices {inline_range[0]}:{inline_range[1]} into {store}")
        return result
    ps.check_complete(store, reader.shape[0])
    if reader.scan is None:
        log.warning("the store's source SEG-Y is gone; the facies are in %s only", store)
    else:
        write_segy_streamed(
            reader.scan, ps.BoxReader(store), output, integer=True, overwrite=cfg.overwrite
        )
        result["segy"] = str(output)
    if cfg.figure:
        figure = prediction_figure(reader, store, names, stats, out / "prediction.png")
        result["figure"] = str(figure)
    print("\n".join(f"{key}: {value}" for key, value in result.items()))
    return result


def _warn_leftovers(output: Path) -> None:
    """Temporary files of an earlier run killed while writing ``output`` (never removed
    here: another process may be writing one right now)."""
    leftovers = sorted(output.parent.glob(f".{output.name}.*.tmp"))
    if leftovers:
        log.warning(
            "%d temporary file(s) left by an interrupted run beside %s (%s); remove them "
            "when no other facies predict writes there.",
            len(leftovers),
            output,
            ", ".join(p.name for p in leftovers[:3]) + (" ..." if len(leftovers) > 3 else ""),
        )

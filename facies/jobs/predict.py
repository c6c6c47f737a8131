"""``facies predict checkpoint=... input=new.sgy [output=facies.sgy]``: a facies volume."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from facies.errors import ConfigError, OutputError
from facies.io import outputs

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

    from facies import __version__
    from facies.inference import checks
    from facies.inference import prediction_store as ps
    from facies.inference.dataset import open_reader
    from facies.inference.figures import prediction_figure
    from facies.inference.predict import PredictOptions, predict_survey
    from facies.inference.segy_out import output_template, write_outputs
    from facies.io.segy.options import segy_options
    from facies.runtime import interruptible, run_dir
    from facies.training.checkpoint import load_network

    out = run_dir()
    output = Path(cfg.output) if cfg.output else out / "facies.sgy"
    store = Path(cfg.store) if cfg.store else out / "prediction.zarr"
    want_segy = cfg.inlines is None or bool(cfg.write_segy)
    inputs = [cfg.checkpoint, cfg.input]
    # every output checked before any work: never an input, overwrite only facies' own
    _check_store(store, inputs)
    if want_segy:
        _check_output(output, store, inputs, cfg.overwrite)
        _warn_leftovers(output)
    segy = segy_options(cfg.segy)
    reader = open_reader(cfg.input, **segy)
    no_segy = _no_segy_headers(cfg, reader, want_segy, store)  # an MDIO or segysak dataset
    want_segy = want_segy and no_segy is None
    template = None
    if want_segy:  # the SEG-Y the output is written like, or the headers a store kept of it
        template = output_template(cfg.input, reader.scan, segy, fingerprints, reader.survey)
        inputs.append(template.path)
        _check_output(output, store, inputs, cfg.overwrite)  # not the store's source either
    net, hp = load_network(cfg.checkpoint)
    _check_space(reader, template, output, store, cfg, len(hp["class_names"]))
    checks.check_compatible(hp, reader, allow_mismatch=cfg.allow_mismatch)
    checks.check_window(cfg.window, hp, reader)
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
        mode=cfg.get("mode", "sections"),
        memory_bytes=int(cfg.memory_mb * 2**20) if cfg.get("memory_mb") else None,
        precision=cfg.get("precision", "float32"),
    )
    inline_range = checks.inline_range(cfg.inlines, reader)
    names = list(hp["class_names"])
    # the input's header checksum is the one provenance.json took (the run's fingerprint
    # cache), so the trace headers are read once; the checkpoint is checksummed whole here,
    # as its first and last MiB (all provenance reads) do not prove two models equal
    fingerprint = ps.run_fingerprint(
        cfg.checkpoint,
        cfg.input,
        {
            "mode": options.mode,
            "window": list(window),
            "overlap": float(cfg.overlap),
            "directions": list(options.directions),
            "probabilities": bool(cfg.probabilities),
            "precision": options.precision,
            "normalization": stats.as_dict(),
            "class_names": names,
            "segy": segy,
        },
        fingerprints=fingerprints,
    )
    resume = f"finished blocks are kept in {store}; go on with resume=true store={store}"
    with interruptible(resume), _writing_store(store):  # a signal: no SEG-Y yet
        predict_survey(
            net, reader, stats, names, store, options, inline_range, device, cfg.resume, fingerprint
        )
    result = {"store": str(store)}
    if inline_range is not None and not cfg.write_segy:
        print(f"predicted inline indices {inline_range[0]}:{inline_range[1]} into {store}")
        return result
    ps.check_complete(store, reader.shape[0])
    if no_segy is not None:  # the store and the figure only
        if cfg.figure:
            figure = prediction_figure(reader, store, names, stats, out / "prediction.png")
            result["figure"] = str(figure)
        print("\n".join([*(f"{key}: {value}" for key, value in result.items()), no_segy]))
        return result
    checkpoint = {"path": Path(cfg.checkpoint).name, "checksum": fingerprint["checkpoint"]}
    result |= write_outputs(
        template,
        store,
        output,
        names,
        checkpoint=checkpoint,
        source=template.source,
        version=__version__,
        overwrite=cfg.overwrite,
        inputs=inputs,
        confidence=bool(cfg.confidence),
        probabilities=bool(cfg.probabilities),
    )
    if cfg.figure:
        figure = prediction_figure(reader, store, names, stats, out / "prediction.png")
        result["figure"] = str(figure)
    print("\n".join(f"{key}: {value}" for key, value in result.items()))
    return result


def _no_segy_headers(cfg: DictConfig, reader, want_segy: bool, store: Path) -> str | None:
    """For a dataset (MDIO v1, segysak), or a store made from one, which holds no SEG-Y
    headers to write a facies SEG-Y like: what the run writes instead (refused before any
    work where SEG-Y was asked for by name); None for SEG-Y and stores made from it."""
    from facies.io.datasets import made_from_dataset

    view = getattr(reader, "view", None)
    made_from = made_from_dataset(reader.survey.attrs)
    if view is None and made_from is None:
        return None
    what = f"a dataset ({view.convention})" if view else f"a survey store made from {made_from}"
    how = (
        "to get SEG-Y, predict the SEG-Y file the dataset was made from (input=<survey.sgy>), "
        "or write the store's facies on its grid with facies.io.write_segy_like(<survey.sgy>, "
        f"xarray.open_zarr('{store}')['facies'], 'facies.sgy')"
    )
    if want_segy and (cfg.output or cfg.write_segy):
        key = f"output={cfg.output}" if cfg.output else "write_segy=true"
        raise ConfigError(
            f"input={cfg.input} is {what}, which holds no SEG-Y headers to write {key} "
            f"from; leave {key} out to predict into the store only, or {how}."
        )
    return (
        f"no SEG-Y written: input={cfg.input} is {what}, which holds no SEG-Y headers; the "
        f"facies are in {store} (zarr: facies, confidence); {how}."
    )


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


def _check_store(store: Path, inputs: list) -> None:
    """``store=``: never an input or a folder holding one; an existing one must be a
    prediction store (its fingerprint is checked against this run's later)."""
    outputs.check_not_input(store, inputs, key="store")
    if store.exists() or store.is_symlink():
        if not store.is_dir():
            raise OutputError(
                f"store={store} is a file, not a prediction store; choose another store= "
                "(a new name ending in .zarr)."
            )
        if not outputs.is_facies_prediction_store(store):
            raise OutputError(
                f"store={store} exists and is not a prediction store made by facies predict; "
                "choose another store= (a new name ending in .zarr)."
            )
    outputs.ensure_writable(store.parent, key="store", path=store)


def _check_output(output: Path, store: Path, inputs: list, overwrite: bool) -> None:
    """``output=``: the facies SEG-Y, under the output rule; apart from the store."""
    a, b = outputs.resolved(output), outputs.resolved(store)
    if a == b or b in a.parents or a in b.parents:
        raise OutputError(
            f"output={output} and store={store} overlap; give the facies SEG-Y and the "
            "prediction store paths of their own."
        )
    outputs.prepare_output(
        output,
        kind=outputs.FILE,
        overwrite=overwrite,
        inputs=inputs,
        replaceable="facies SEG-Y file",
    )


def _check_space(
    reader, template, output: Path, store: Path, cfg: DictConfig, classes: int
) -> None:
    """Refuse to start when the disk cannot hold the prediction store (unless it exists:
    a resumed or shared one) and the facies SEG-Y."""
    nil, nxl, ns = reader.shape
    needs: dict[int, list] = {}
    store_bytes = nil * nxl * ns * (6 + (4 * classes if cfg.probabilities else 0))
    items = [] if store.exists() else [(store, store_bytes, "store")]
    if template is not None:  # the facies SEG-Y is written
        from facies.io.segy.formats import INT16
        from facies.io.segy.writer import output_size

        items.append((output, output_size(template, INT16), "output"))
    for path, need, key in items:
        folder = path.parent
        try:
            device = folder.stat().st_dev
        except OSError:
            continue
        needs.setdefault(device, []).append((path, need, key))
    for entries in needs.values():
        total = sum(need for _, need, _ in entries)
        path, _, key = entries[0]
        outputs.check_space(path.parent, total, key=key, path=path)


@contextmanager
def _writing_store(store: Path) -> Iterator[None]:
    """A full disk (or a folder made read-only) while predicting: one line, and the
    finished blocks kept (a prediction store is written block by block, resumable)."""
    try:
        yield
    except OSError as err:
        if outputs.output_error(err, store, "store") is None:
            raise
        free = outputs.human_size(outputs.free_space(store.parent) or 0)
        error = outputs.DiskFullError if err.errno in outputs.DISK_FULL else OutputError
        raise error(
            f"store={store}: writing failed ({err.strerror or err}; {free} free now); the "
            "blocks finished so far are kept: free some space (or make the folder "
            f"writable) and run again with resume=true store={store}, or choose another store=."
        ) from None

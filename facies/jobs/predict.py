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
    from facies.inference.figures import prediction_figure
    from facies.inference.predict import PredictOptions, predict_survey
    from facies.inference.reader import SurveyReader
    from facies.inference.segy_out import write_outputs
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
    reader = SurveyReader(cfg.input, **segy)
    if want_segy:
        _check_template(cfg, reader, segy, fingerprints)
        inputs.append(reader.template)
        _check_output(output, store, inputs, cfg.overwrite)  # not the store's source either
    net, hp = load_network(cfg.checkpoint)
    _check_space(reader, output if want_segy else None, store, cfg, len(hp["class_names"]))
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
    checkpoint = {"path": Path(cfg.checkpoint).name, "checksum": fingerprint["checkpoint"]}
    result |= write_outputs(
        reader.scan,
        store,
        output,
        names,
        checkpoint=checkpoint,
        source=reader.scan.layout.path,
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


def _check_template(cfg: DictConfig, reader, segy: dict, fingerprints) -> None:
    """A store given as input: the SEG-Y file it was ingested from (whose headers the
    facies SEG-Y takes) must still be there, hold the same survey, and be read with the
    SEG-Y options it was ingested with."""
    from facies.io.fingerprint import fingerprint
    from facies.io.store import STORE_RECORD, segy_record_options

    if reader.scan is not None and reader.template == reader.path:
        return  # a SEG-Y input is its own template
    source = reader.survey.attrs.get("source") or "<unknown>"
    only_store = "inlines=[<first>,<last>] write_segy=false"
    if reader.scan is None:
        raise ConfigError(
            f"input={cfg.input} was ingested from {source}, which is gone (moved or "
            "deleted), and the facies SEG-Y takes its headers from it: give "
            f"input=<that SEG-Y file, where it is now>, or predict into the store only "
            f"with {only_store}."
        )
    record = reader.survey.attrs.get(STORE_RECORD)
    if isinstance(record, dict):
        options = segy_record_options(segy)
        if record.get("segy") and record["segy"] != options:
            differ = {k: v for k, v in record["segy"].items() if options.get(k) != v}
            hint = " ".join(f"segy.{k}={v}" for k, v in differ.items())
            raise ConfigError(
                f"input={cfg.input} was ingested with other SEG-Y options than these; "
                f"pass the same ones ({hint}) so the facies SEG-Y is laid out like {source}."
            )
        found = fingerprint(reader.template, fingerprints)
        found.pop("path", None)
        wanted = {k: v for k, v in (record.get("seismic") or {}).items() if k in found}
        same = wanted == {k: found[k] for k in wanted}
    else:  # a store made before records: its size is all it says
        size = reader.survey.attrs.get("source_size")
        same = size is None or size == reader.template.stat().st_size
    if not same:
        raise ConfigError(
            f"input={cfg.input} was ingested from {source}, which has changed since (other "
            "size or headers): ingest it again, or give input=<the SEG-Y file> to predict "
            f"from it directly, or predict into the store only with {only_store}."
        )


def _check_space(reader, output: Path | None, store: Path, cfg: DictConfig, classes: int) -> None:
    """Refuse to start when the disk cannot hold the prediction store (unless it exists:
    a resumed or shared one) and the facies SEG-Y."""
    nil, nxl, ns = reader.shape
    needs: dict[int, list] = {}
    store_bytes = nil * nxl * ns * (6 + (4 * classes if cfg.probabilities else 0))
    items = [] if store.exists() else [(store, store_bytes, "store")]
    if output is not None and reader.scan is not None:
        from facies.io.segy.formats import INT16
        from facies.io.segy.writer import output_size

        items.append((output, output_size(reader.scan, INT16), "output"))
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

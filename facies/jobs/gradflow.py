"""``facies gradflow``: how far back along a trace a gradient reaches, RNN against LSTM.

Traces come from the built-in synthetic survey (``input=null``), a ``.npy`` array of
traces (samples last), a survey store made by ``facies ingest``, or a SEG-Y file
(header bytes from the ``segy.`` options: ``segy.iline=9``). Writes ``gradflow.json`` and
``gradflow.png`` into the run folder and prints the decay at a few distances.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from facies.errors import ConfigError

log = logging.getLogger(__name__)

#: Candidate traces read per trace wanted from a file, so dead ones can be skipped.
OVERSAMPLE = 4
#: Distances (fractions of the trace length) reported in the summary.
REPORTED = (0.1, 0.25, 0.5, 0.75)


def run(cfg: DictConfig) -> dict:
    """Measure, write the JSON and the figure, print a summary; returns the JSON's dict."""
    from facies.studies.gradflow import decay, gradient_flow, plot_gradient_flow, unit_rms_traces

    count, length, seed = int(cfg.traces), int(cfg.length), int(cfg.seed)
    if count < 1 or length < 2:
        raise ConfigError(f"traces={count} length={length}: use traces>=1 and length>=2.")
    amplitude = load_candidates(cfg.get("input"), count, length, seed, cfg)
    traces = unit_rms_traces(amplitude, count, length, seed)
    result = gradient_flow(traces, hidden_size=int(cfg.hidden_size), seed=seed, init=cfg.init)
    distances = sorted({max(1, int(f * (length - 1))) for f in REPORTED})
    result["decay"] = [decay(result, d) for d in distances]
    result["input"] = str(cfg.input) if cfg.get("input") else "synthetic"
    out = output_dir(cfg.get("output"))
    (out / "gradflow.json").write_text(json.dumps(_plain(result), indent=2))
    plot_gradient_flow(result, out / "gradflow.png")
    print(summary(result, out))
    return result


def output_dir(output: str | None) -> Path:
    """``output``, or this run's Hydra folder; created if missing."""
    if output:
        out = Path(output).expanduser()
    else:
        from facies.runtime import run_dir

        out = run_dir()
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_candidates(source: str | None, count: int, length: int, seed: int, cfg) -> np.ndarray:
    """Traces (n, samples) to draw from: every trace of a small array, a sample of a file's."""
    if not source:
        from facies.sources.synthetic import synthetic_arrays

        side = max(8, math.ceil(math.sqrt(count)))
        amplitude, _, _ = synthetic_arrays(
            n_inlines=side, n_crosslines=side, n_samples=length, seed=seed
        )
        return amplitude.reshape(-1, length)
    path = Path(source).expanduser()
    if not path.exists():
        raise ConfigError(f"input={source} does not exist; give a SEG-Y file, a store or .npy.")
    want = count * OVERSAMPLE
    rng = np.random.default_rng(seed)
    if path.suffix == ".npy":
        array = np.load(path, mmap_mode="r")
        flat = array.reshape(-1, array.shape[-1]) if array.ndim > 1 else array[None]
        pick = np.sort(rng.choice(len(flat), size=min(want, len(flat)), replace=False))
        return np.asarray(flat[pick])
    if path.is_dir():
        return _store_traces(path, want, rng)
    from facies.io.segy.options import segy_options

    return _segy_traces(path, want, rng, segy_options(cfg.get("segy")))


def _store_traces(path: Path, want: int, rng: np.random.Generator) -> np.ndarray:
    """Live traces of a survey store, read one by one (the store is not loaded whole)."""
    from facies.io.store import open_survey
    from facies.names import AMPLITUDE, CROSSLINE, INLINE, LIVE

    survey = open_survey(path)
    il, xl = np.nonzero(np.asarray(survey[LIVE].values))
    pick = np.sort(rng.choice(len(il), size=min(want, len(il)), replace=False))
    amplitude = survey[AMPLITUDE]
    return np.stack(
        [amplitude.isel({INLINE: il[k], CROSSLINE: xl[k]}).values for k in pick]
    ).astype(np.float32)


def _segy_traces(path: Path, want: int, rng: np.random.Generator, options: dict) -> np.ndarray:
    """A random sample of a SEG-Y file's traces, decoded from their records only."""
    from facies.io.segy.reader import decode_traces
    from facies.io.segy.scan import scan_segy

    scan = scan_segy(path, **options)
    numbers = scan.grid.traces
    pick = np.sort(rng.choice(numbers, size=min(want, len(numbers)), replace=False))
    out = np.empty((len(pick), scan.layout.samples_per_trace), dtype=np.float32)
    decode_traces(scan, pick, out)
    return out


def summary(result: dict, out: Path) -> str:
    """A few lines: the decay of each model at the reported distances, and the files."""
    lines = [
        f"gradient flow over {result['traces']} traces of {len(result['distance'])} samples "
        f"(hidden size {result['hidden_size']}, LSTM init {result['init']}, seed "
        f"{result['seed']}), input {result['input']}",
        f"{'distance':>10}  {'RNN grad(t)/grad(0)':>20}  {'LSTM grad(t)/grad(0)':>21}",
    ]
    for row in result["decay"]:
        lines.append(f"{row['distance']:>10}  {row['rnn']:>20.3e}  {row['lstm']:>21.3e}")
    lines.append(f"written: {out / 'gradflow.json'}, {out / 'gradflow.png'}")
    return "\n".join(lines)


def _plain(value):
    """JSON cannot hold -inf (a gradient that underflowed to 0): write null instead."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

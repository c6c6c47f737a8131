"""The jobs of the ``facies`` command: one small module each, wiring only.

The registry maps a job's name to its module and a one-line description. Modules
are imported only when their job runs, so ``facies --help`` and the data jobs
never import torch or Lightning.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """A job: its module (with ``run(cfg)``) and what it does, in one line."""

    module: str
    summary: str
    #: ``run(cfg, fingerprints=...)`` takes the run's FingerprintCache, shared with
    #: provenance.json, so an input's trace headers are read once per run.
    fingerprints: bool = False


JOBS: dict[str, Job] = {
    "synth": Job("facies.jobs.synth", "write the built-in synthetic survey (SEG-Y + labels)"),
    "ingest": Job("facies.jobs.ingest", "SEG-Y (and labels) -> chunked survey store, with QC"),
    "train": Job("facies.jobs.train", "train a model (U-Net by default) and test it"),
    "predict": Job(
        "facies.jobs.predict", "facies volume for a new survey, written as SEG-Y", fingerprints=True
    ),
    "inspect": Job("facies.jobs.inspect", "feature-hierarchy report of a U-Net checkpoint"),
    "compare": Job("facies.jobs.compare", "U-Net vs LSTM: table and figure on the same test split"),
    "gradflow": Job("facies.jobs.gradflow", "gradient norm vs distance along a trace: RNN vs LSTM"),
    "evaluate": Job("facies.jobs.evaluate", "test metrics and figures for a checkpoint"),
    "info": Job("facies.jobs.info", "summarise a SEG-Y file: geometry, samples, format, header"),
}

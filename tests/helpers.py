"""Helpers shared by the tests (imported as ``tests.helpers``; no test module imports another).

The fixtures that use them live in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SEGYIO_DATA = Path(
    os.environ.get("FACIES_SEGYIO_TEST_DATA", REPO.parent / "shared" / "data" / "segyio-test-data")
)
#: Checkpoints made by facies 0.1 (commit a428a0a), before the package layout changed.
LEGACY_CHECKPOINTS = REPO / "tests" / "fixtures" / "checkpoints-0.1"

#: The synthetic survey of a tiny `facies train` in tests: seconds on one CPU core.
TINY_DATA = [
    "data.synthetic.n_inlines=40",
    "data.synthetic.n_crosslines=24",
    "data.synthetic.n_samples=32",
    "data.patch=[16,16]",
    "data.stride=[16,16]",
]
#: A tiny U-Net for it.
TINY_MODEL = ["model.depth=2", "model.base_channels=4"]
#: Both, with a loss logged at every step.
TINY_TRAIN = [*TINY_DATA, *TINY_MODEL, "trainer.log_every_n_steps=1"]
#: Runs compared to the last bit: on the CPU in float32 (trainer=auto would be bf16 with
#: cuDNN autotuning on a GPU machine).
CPU = ["trainer=cpu"]
#: Class names of the tiny untrained checkpoints of :func:`make_checkpoint`.
CLASSES = ["parallel", "chaotic", "transparent"]


def encoded_cube(inlines: np.ndarray, crosslines: np.ndarray, ns: int) -> np.ndarray:
    """Values il*100 + xl + sample/64: exact in every float format, orientation obvious."""
    il = np.asarray(inlines, dtype=np.float64)[:, None, None]
    xl = np.asarray(crosslines, dtype=np.float64)[None, :, None]
    s = np.arange(ns, dtype=np.float64)[None, None, :]
    return (il * 100 + xl + s / 64).astype(np.float32)


def source_env(env: dict | None = None) -> dict:
    """The environment with this source tree first on ``PYTHONPATH``: subprocesses run the
    working tree's facies (and its configs), never a stale installed copy."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def facies(*args: str, cwd: Path, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """``facies <args>`` in a subprocess, from the working tree (``python -m facies``)."""
    env = source_env(kw.pop("env", None))
    return subprocess.run(
        [sys.executable, "-m", "facies", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kw,
    )


def run_folder(stdout: str) -> Path:
    """The run folder a job printed (``run folder: <path>``)."""
    return Path(stdout.rsplit("run folder: ", 1)[1].split()[0])


def make_checkpoint(path: Path, **overrides) -> Path:
    """A tiny untrained U-Net checkpoint: enough to test prediction's plumbing."""
    from facies.training.checkpoint import write_untrained

    hp = {
        "model": {"name": "unet", "depth": 2, "base_channels": 4},
        "class_names": CLASSES,
        "norm_stats": {"low": -2000.0, "high": 2000.0, "scale": 2000.0},
        "patch": [8, 8],
        "sample_interval": 4.0,
        **overrides,
    }
    return write_untrained(path, hp)

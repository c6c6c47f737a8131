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


#: The facies command of the working tree, for tests that start it with Popen (run it with
#: ``env=source_env(...)``).
FACIES_COMMAND = [sys.executable, "-m", "facies"]


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


def snapshot(folder: Path) -> dict[str, bytes]:
    """{relative path: bytes} of every file under ``folder``: compare before and after a
    run to prove it left a user's files as they were."""
    folder = Path(folder)
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def as_legacy_store(store: Path) -> Path:
    """Make a survey store look like one written before stores recorded what they are made
    of and which chunks they hold (no ``facies_store`` or ``facies_manifest`` attribute)."""
    import json

    meta_path = Path(store) / "zarr.json"
    meta = json.loads(meta_path.read_text())
    for key in ("facies_store", "facies_manifest"):
        meta["attributes"].pop(key, None)
    meta_path.write_text(json.dumps(meta))
    return Path(store)


def copy_header_bytes(path: Path, ns: int, sample_bytes: int, pairs: dict[int, int]) -> Path:
    """Copy 4-byte trace header fields of every trace of an unextended SEG-Y file in place:
    ``pairs`` maps a source byte to a target byte (1-based), so one file can be read with
    two sets of header bytes."""
    raw = bytearray(Path(path).read_bytes())
    size = 240 + ns * sample_bytes
    for start in range(3600, len(raw), size):
        for src, dst in pairs.items():
            raw[start + dst - 1 : start + dst + 3] = raw[start + src - 1 : start + src + 3]
    Path(path).write_bytes(bytes(raw))
    return Path(path)


def one_line_error(stderr: str, job: str) -> str:
    """The one line a refused ``facies <job>`` printed on stderr; fails the test unless it
    printed exactly one, with no traceback and no pointer to HYDRA_FULL_ERROR."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr[-3000:]
    assert lines[0].startswith(f"facies {job}: error: "), stderr[-3000:]
    assert "Traceback" not in stderr and "HYDRA_FULL_ERROR" not in stderr, stderr[-3000:]
    return lines[0]


def wait_for_path(pattern: str, cwd: Path, proc: subprocess.Popen, timeout: float = 120) -> Path:
    """The first path matching ``pattern`` under ``cwd`` once ``proc`` (still running) has
    made it; fails the test if ``proc`` ends first or ``timeout`` seconds pass."""
    import time

    import pytest

    deadline = time.monotonic() + timeout
    while True:
        found = sorted(cwd.glob(pattern))
        if found:
            return found[0]
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"it ended (rc {proc.returncode}) before {pattern}:\n{err[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            pytest.fail(f"no {pattern} under {cwd} after {timeout} s")
        time.sleep(0.05)


def survey_module(n_inlines: int, n_crosslines: int = 16, n_samples: int = 64, **kw):
    """A :class:`~facies.data.datamodule.SurveyDataModule` on a small synthetic survey of
    ``n_inlines`` inlines, set up (default: 64 x 64 patches, the U-Net's size multiple 8)."""
    from facies.data.datamodule import SurveyDataModule
    from facies.sources.synthetic import synthetic_dataset

    survey = synthetic_dataset(n_inlines=n_inlines, n_crosslines=n_crosslines, n_samples=n_samples)
    options = {"patch": (64, 64), "stride": (32, 32), "size_multiple": 8, **kw}
    dm = SurveyDataModule(survey, **options)
    dm.setup()
    return dm


def batch_keys(batches) -> set[tuple[int, int, int, int, int]]:
    """(kind, section, lateral, sample, width) of every patch of ``batches``."""
    keys = set()
    for batch in batches:
        width = batch["image"].shape[-1]
        columns = [batch[k].tolist() for k in ("kind", "section", "lateral", "sample")]
        rows = zip(*columns, strict=True)
        keys |= {(*row, width) for row in rows}
    return keys


#: A sparse synthetic survey for `facies train`: labels (and traces) only on 3 inlines
#: and 3 crosslines of a 64 x 48 grid (the sections layout, chosen automatically).
TINY_SPARSE = [
    "data.synthetic.n_inlines=64",
    "data.synthetic.n_crosslines=48",
    "data.synthetic.n_samples=32",
    "data.synthetic.labelled_inlines=3",
    "data.synthetic.labelled_crosslines=3",
    "data.patch=[16,16]",
    "data.stride=[16,16]",
]


def sparse_store(folder: Path, shape=(64, 48, 32), inlines=3, crosslines=3, **kw) -> Path:
    """A store of a synthetic survey whose SEG-Y holds only ``inlines`` labelled inlines
    and ``crosslines`` labelled crosslines (or ``lines=N`` 2-D lines, read at bytes 9/21)."""
    from facies.io.store import ingest_segy
    from facies.sources.synthetic import make_synthetic_survey

    nil, nxl, ns = shape
    made = make_synthetic_survey(
        folder, n_inlines=nil, n_crosslines=nxl, n_samples=ns, figure=False,
        labelled_inlines=inlines, labelled_crosslines=crosslines, **kw,
    )  # fmt: skip
    options = {"iline": 9, "xline": 21} if kw.get("lines") else {}
    return ingest_segy(
        made.paths["seismic"], folder / "survey.zarr", labels=made.paths["labels"],
        class_names=made.paths["classes"], **options,
    )  # fmt: skip


def as_mdio(survey, domain: str = "time", labels: str | None = None):
    """A copy of a facies survey (``xarray.Dataset``) laid out as MDIO v1 writes a
    post-stack cube: dims (inline, crossline, time|depth), ``amplitude``, ``trace_mask``,
    a structured ``headers`` variable, ``segy_file_header`` and cdp_x/cdp_y coordinates
    (``labels``: also the survey's labels under that name)."""
    import xarray as xr

    cells = (survey.sizes["inline"], survey.sizes["crossline"])
    header = np.zeros(cells, dtype=[("inline", "<i4"), ("crossline", "<i4"), ("cdp_x", "<i4")])
    lateral = ("inline", "crossline")
    data = {
        "amplitude": ((*lateral, domain), survey["amplitude"].values.copy()),
        "trace_mask": (lateral, survey["live"].values.copy()),
        "headers": (lateral, header),
        "segy_file_header": ((), "", {"textHeader": "C01 made by a test"}),
    }
    if labels:
        data[labels] = ((*lateral, domain), survey["labels"].values.copy())
    units = {"time": "ms"} if domain == "time" else {"length": "m"}
    coords = {
        "inline": survey["inline"].values.astype(np.int32),
        "crossline": survey["crossline"].values.astype(np.int32),
        domain: (domain, survey["sample"].values.astype(np.int32), {"unitsV1": units}),
        "cdp_x": (lateral, survey["cdp_x"].values),
        "cdp_y": (lateral, survey["cdp_y"].values),
    }
    attrs = {"apiVersion": "1.1.0", "name": "PostStack3DTime", "attributes": {"surveyType": "3D"}}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def as_segysak(survey, order=("iline", "xline", "samples"), labels: str | None = None):
    """A facies survey laid out as segysak 0.5 reads SEG-Y: dims iline, xline, samples (in
    ``order``), ``data``, and cdp_x/cdp_y as unscaled integers with the coordinate scalar
    in ``attrs["seisnc"]`` (``labels``: also the survey's labels under that name)."""
    import json

    import xarray as xr

    names = {"iline": "inline", "xline": "crossline", "samples": "sample"}
    dims = tuple(names[d] for d in order)
    data = {"data": (order, survey["amplitude"].transpose(*dims).values.copy())}
    if labels:
        data[labels] = (order, survey["labels"].transpose(*dims).values.copy())
    for name in ("cdp_x", "cdp_y"):
        data[name] = (("iline", "xline"), np.round(survey[name].values * 100).astype(np.int32))
    coords = {
        "iline": survey["inline"].values,
        "xline": survey["crossline"].values,
        "samples": survey["sample"].values.astype(np.float32),
    }
    seisnc = json.dumps({"coord_scalar": -100.0, "coord_scaled": False})
    return xr.Dataset(data, coords=coords, attrs={"seisnc": seisnc})

"""The F3 Netherlands facies benchmark (Alaudah et al., 2019) in its published layout.

The benchmark's data folder holds (inline, crossline, sample) arrays, seismic float32
and labels class ids 0..5::

    <root>/train/train_seismic.npy       train_labels.npy     401 x 701 x 255
    <root>/test_once/test1_seismic.npy   test1_labels.npy     200 x 701 x 255
    <root>/test_once/test2_seismic.npy   test2_labels.npy     601 x 200 x 255

Test 1 is the block of inlines before the training volume, over its crosslines; Test 2
the block of crosslines after it, over the inlines of both (inlines 100..299 | 300..700,
crosslines 300..1000 | 1001..1200 in F3's numbering, which the surveys carry).

Files are opened with ``np.load(mmap_mode="r")``: the seismic stays a read-only memory
map until the data module normalises it; labels are checked and copied as int16.
:func:`write_fake_f3` writes tiny files in the same layout for tests and trials.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from facies.errors import ConfigError, OptionError, OutputError
from facies.io.labels import LABEL_DTYPE
from facies.names import AMPLITUDE, CROSSLINE, DIMS, INLINE, LABELS, LIVE, SAMPLE, TWT

log = logging.getLogger(__name__)

CLASS_NAMES = ["upper_ns", "middle_ns", "lower_ns", "rijnland_chalk", "scruff", "zechstein"]
PARTS = ("train", "test1", "test2")
TEST_SETS = ("test1", "test2")
#: Seismic and label files of each part, relative to the data folder.
FILES = {
    "train": ("train/train_seismic.npy", "train/train_labels.npy"),
    "test1": ("test_once/test1_seismic.npy", "test_once/test1_labels.npy"),
    "test2": ("test_once/test2_seismic.npy", "test_once/test2_labels.npy"),
}
#: F3 numbering: Test 1's first inline and the first crossline of train and Test 1.
FIRST_INLINE, FIRST_CROSSLINE = 100, 300
SAMPLE_INTERVAL = 4.0  # ms
SOURCE = "the data of github.com/yalaudah/facies_classification_benchmark (Zenodo)"


@dataclass(frozen=True)
class F3Data:
    """The parts asked for: the training survey (or None) and the test surveys by name."""

    train: xr.Dataset | None
    tests: dict[str, xr.Dataset]


def load_f3(root: str | os.PathLike | None, parts: tuple[str, ...] = PARTS) -> F3Data:
    """Read the benchmark's volumes as surveys (see the module doc for the layout).

    The whole layout is checked (cheap: array headers only); labels are checked, and
    the surveys made, for ``parts`` only.

    Raises:
        ConfigError: a file is missing or unreadable, shapes do not fit, labels are not
            class ids 0..5, or the parts' sample counts differ; the message names the
            file and the fix.
    """
    arrays = open_layout(root)
    shapes = {part: arrays[part][0].shape for part in PARTS}
    n1 = shapes["test1"][0]
    origins = {
        "train": (FIRST_INLINE + n1, FIRST_CROSSLINE),
        "test1": (FIRST_INLINE, FIRST_CROSSLINE),
        "test2": (FIRST_INLINE, FIRST_CROSSLINE + shapes["train"][1]),
    }
    surveys = {}
    for part in parts:
        if part not in PARTS:
            raise ConfigError(f"F3 has no part {part!r}; the parts are {', '.join(PARTS)}.")
        seismic, labels = arrays[part]
        paths = [Path(root) / name for name in FILES[part]]
        surveys[part] = _survey(seismic, _class_ids(labels, paths[1]), origins[part], paths)
    log.info("F3 benchmark in %s: %s", root, {part: shapes[part] for part in PARTS})
    return F3Data(
        surveys.get("train"), {name: surveys[name] for name in TEST_SETS if name in surveys}
    )


def open_layout(root: str | os.PathLike | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Memory-map every file of the layout and check the shapes: (seismic, labels) by part."""
    if root is None or str(root) in ("", "???"):
        raise OptionError(
            "data=f3 needs the benchmark's data folder: {key}=<folder holding train/ and "
            f"test_once/>; download {SOURCE} and unzip it.",
            option="root",
        )
    root = Path(root)
    arrays = {}
    for part in PARTS:
        seismic, labels = (_open(root / name) for name in FILES[part])
        seismic_path, labels_path = (root / name for name in FILES[part])
        for path, array in ((seismic_path, seismic), (labels_path, labels)):
            if array.ndim != 3:
                raise ConfigError(
                    f"{path} holds an array of shape {array.shape}; the benchmark's volumes "
                    "are 3-D (inline, crossline, sample). Use the files from "
                    f"{SOURCE} as they are."
                )
        if labels.shape != seismic.shape:
            raise ConfigError(
                f"{labels_path} has shape {labels.shape} but {seismic_path} has "
                f"{seismic.shape}; the labels must match the seismic sample for sample. "
                "Check that both files are from the same part of the benchmark."
            )
        if not np.issubdtype(seismic.dtype, np.floating):
            raise ConfigError(
                f"{seismic_path} holds {seismic.dtype}, not floating-point amplitudes; is it a "
                "labels file? Use the benchmark's *_seismic.npy files."
            )
        arrays[part] = (seismic, labels)
    ns = arrays["train"][0].shape[2]
    for part in TEST_SETS:
        seismic = arrays[part][0]
        if seismic.shape[2] != ns:
            raise ConfigError(
                f"{root / FILES[part][0]} has {seismic.shape[2]} samples per trace but "
                f"{root / FILES['train'][0]} has {ns}; train and test volumes must share the "
                "sample axis (the last of (inline, crossline, sample)). Was one saved "
                "transposed? Use the files from the same release of the benchmark."
            )
    return arrays


def _open(path: Path) -> np.ndarray:
    if not path.is_file():
        raise OptionError(
            f"F3 file {path} does not exist. Download {SOURCE}, unzip it, and pass "
            f"{{key}}=<the folder holding train/ and test_once/> (now {path.parents[1]}).",
            option="root",
        )
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ConfigError(
            f"F3 file {path} is not a readable .npy array ({err}); download it again."
        ) from None


def _class_ids(labels: np.ndarray, path: Path) -> np.ndarray:
    """Labels as int16 class ids, refused unless whole numbers 0..5."""
    lo, hi = (float(v) for v in (labels.min(), labels.max()))
    n = len(CLASS_NAMES)
    if lo < 0 or hi > n - 1:
        raise ConfigError(
            f"{path}: labels run from {lo:g} to {hi:g}, but the benchmark's classes are "
            f"0..{n - 1} ({', '.join(CLASS_NAMES)}); is this the labels file of the F3 "
            "facies benchmark? Use the *_labels.npy files as released."
        )
    ids = np.asarray(labels).astype(LABEL_DTYPE)
    if not np.issubdtype(labels.dtype, np.integer) and not np.array_equal(ids, labels):
        raise ConfigError(
            f"{path}: labels of type {labels.dtype} hold values that are not whole class "
            "ids; use the *_labels.npy files as released."
        )
    return ids


def _survey(
    seismic: np.ndarray, labels: np.ndarray, origin: tuple[int, int], paths: list[Path]
) -> xr.Dataset:
    nil, nxl, ns = seismic.shape
    twt = np.arange(ns) * SAMPLE_INTERVAL
    coords = {
        INLINE: np.arange(origin[0], origin[0] + nil),
        CROSSLINE: np.arange(origin[1], origin[1] + nxl),
        SAMPLE: (SAMPLE, twt, {"units": "ms", "domain": TWT}),
        TWT: (SAMPLE, twt, {"units": "ms", "domain": TWT}),
    }
    data = {
        AMPLITUDE: (DIMS, np.asarray(seismic, dtype=np.float32)),
        LABELS: (DIMS, labels),
        LIVE: ((INLINE, CROSSLINE), np.ones((nil, nxl), dtype=bool)),
    }
    attrs = {
        "class_names": list(CLASS_NAMES),
        "sample_interval": SAMPLE_INTERVAL,
        "source": str(paths[0]),
        "labels_source": str(paths[1]),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def write_fake_f3(
    root: str | os.PathLike,
    *,
    train_inlines: int = 24,
    test1_inlines: int = 8,
    crosslines: int = 24,
    test2_crosslines: int = 8,
    samples: int = 32,
    seed: int = 0,
    values: str = "synthetic",
    overwrite: bool = False,
) -> dict[str, tuple[Path, Path]]:
    """Tiny files in the benchmark's exact layout, cut from one cube as F3's are.

    The cube is ``(test1_inlines + train_inlines) x (crosslines + test2_crosslines) x
    samples``; Test 1 is its first inlines over the first ``crosslines``, train the rest
    of those, Test 2 the last crosslines over all inlines.

    Args:
        values: ``synthetic``: the built-in six-facies synthetic survey
            (:func:`facies.sources.synthetic.synthetic_arrays`), learnable; ``position``:
            amplitude ``il * 10000 + xl * 100 + s`` (indices in the whole cube) and labels
            ``s % 6``, to check orientation. ``samples`` >= 30 for ``synthetic``.
        overwrite: replace files already there.

    Returns:
        (seismic, labels) paths by part.
    """
    nil, nxl = test1_inlines + train_inlines, crosslines + test2_crosslines
    if values == "synthetic":
        from facies.sources.synthetic import synthetic_arrays

        amplitude, labels, _ = synthetic_arrays(
            n_inlines=nil, n_crosslines=nxl, n_samples=samples, n_facies=len(CLASS_NAMES),
            seed=seed,
        )  # fmt: skip
    elif values == "position":
        i, x, s = np.meshgrid(np.arange(nil), np.arange(nxl), np.arange(samples), indexing="ij")
        amplitude = (i * 10_000 + x * 100 + s).astype(np.float32)
        labels = s % len(CLASS_NAMES)
    else:
        raise ConfigError(f"values={values!r}; use 'synthetic' or 'position'.")
    cuts = {
        "train": (slice(test1_inlines, nil), slice(0, crosslines)),
        "test1": (slice(0, test1_inlines), slice(0, crosslines)),
        "test2": (slice(0, nil), slice(crosslines, nxl)),
    }
    root = Path(root)
    paths = {part: tuple(root / name for name in FILES[part]) for part in PARTS}
    existing = [str(p) for pair in paths.values() for p in pair if p.exists()]
    if existing and not overwrite:
        raise OutputError(f"{existing[0]} exists; pass overwrite=True or choose another folder.")
    for part, cut in cuts.items():
        seismic_path, labels_path = paths[part]
        seismic_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(seismic_path, np.ascontiguousarray(amplitude[cut], dtype=np.float32))
        np.save(labels_path, np.ascontiguousarray(labels[cut], dtype=np.uint8))
    return paths

"""Predict an ``xarray`` survey: in memory (:func:`predict_dataset`), or an MDIO v1 or
segysak store read in place (:func:`open_reader`, what ``facies predict`` uses).

:class:`DatasetReader` gives prediction what :class:`facies.inference.reader.SurveyReader`
gives it (blocks of amplitudes, the live mask, the geometry) from a dataset in any of
the names :mod:`facies.io.conventions` maps, dims in any order; nothing is renamed or
copied up front.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from facies.inference.reader import SurveyReader
from facies.io.conventions import SurveyView, survey_view
from facies.io.datasets import (
    check_zero_traces,
    is_survey_dataset,
    open_survey_dataset,
    settle_block,
)
from facies.io.segy.scan import ZERO_TRACES_DEAD
from facies.names import CDP_X, CDP_Y, DIMS, LIVE

#: Dim of the class probabilities; its coordinate holds the class names.
CLASS_DIM = "class"


class DatasetReader(SurveyReader):
    """A :class:`SurveyReader` of a :class:`facies.io.conventions.SurveyView`.

    What is live: the dataset's mask (MDIO's ``trace_mask``; every cell for segysak),
    less traces without a finite sample and, unless ``zero_traces="live"``, all-zero
    traces, found as blocks are read (:attr:`live` is updated in place, as for SEG-Y).
    There is no SEG-Y template (``scan`` and ``template`` are None).
    """

    def __init__(self, view: SurveyView, zero_traces: str = ZERO_TRACES_DEAD, path=None) -> None:
        check_zero_traces(zero_traces)
        self.view = view
        self.path = Path(path) if path is not None else None
        self.scan = None
        self.template = None
        self._blocks = None
        self._zero_dead = zero_traces == ZERO_TRACES_DEAD
        nil = view.shape[0]
        mask = view.trace_mask(0, nil)
        self._header_live = mask
        self._live = mask.copy()
        self.survey = view.coordinates.assign({LIVE: (DIMS[:2], self._live)})

    def read(self, start: int, stop: int) -> np.ndarray:
        """Amplitudes of inline indices ``start:stop`` as float32 (inlines, crosslines,
        samples); cells that are not live read as zeros."""
        block = np.array(self.view.read(self.view.amplitude, start, stop), dtype=np.float32)
        live, _, _ = settle_block(block, self._header_live[start:stop], self._zero_dead)
        self._live[start:stop] = live
        return block


def open_reader(path: str | os.PathLike, **segy_options: Any) -> SurveyReader:
    """What ``facies predict`` reads ``input=`` with: a :class:`DatasetReader` for an
    MDIO v1 or segysak store (zarr or netCDF), else a :class:`SurveyReader` (SEG-Y or a
    facies survey store). Of the SEG-Y options, a dataset takes ``zero_traces`` and
    ``sample_interval`` (where its sample dim has no values)."""
    if is_survey_dataset(path):
        view = open_survey_dataset(path, segy_options.get("sample_interval"))
        return DatasetReader(view, segy_options.get("zero_traces", ZERO_TRACES_DEAD), path)
    return SurveyReader(path, **segy_options)


def predict_dataset(
    data: xr.Dataset | xr.DataArray,
    checkpoint: str | os.PathLike,
    *,
    confidence: bool = True,
    probabilities: bool = False,
    mode: str = "sections",
    directions: Sequence[str] = ("inline",),
    normalization: str = "checkpoint",
    allow_mismatch: bool = False,
    window: Sequence[int] | None = None,
    overlap: float = 0.5,
    batch_size: int = 16,
    memory_mb: int | None = None,
    precision: str = "float32",
    zero_traces: str = ZERO_TRACES_DEAD,
    sample_interval: float | None = None,
    device: str = "auto",
    store: str | os.PathLike | None = None,
) -> xr.Dataset:
    """Predict the facies of a survey held as an ``xarray`` object, as ``facies predict``
    does for a file, and return them as a Dataset on the input's dims and coordinates.

    Args:
        data: amplitudes as a Dataset or DataArray in facies' names (``inline``,
            ``crossline``, ``sample``; ``amplitude``, ``live``), segysak's (``iline``,
            ``xline``, ``samples``; ``data``) or MDIO v1's (``inline``, ``crossline``,
            ``time``/``depth``; ``amplitude``, ``trace_mask``), dims in any order. The
            sample dim's coordinate gives the sample interval (else ``sample_interval``).
        checkpoint: a facies checkpoint (``best.ckpt``), loaded with weights_only=True.
        confidence: return the winning class's probability as ``confidence``.
        probabilities: return every class's probability as ``probabilities``.
        mode, directions, normalization, allow_mismatch, window, overlap, batch_size,
            memory_mb, precision, device: as the ``facies predict`` options of those names
            (defaults: whole inline sections, the checkpoint's normalisation).
        zero_traces: ``dead`` (all-zero traces get no facies) or ``live``.
        sample_interval: the sample step where ``data``'s sample dim has no values.
        store: keep the prediction store there (a new path); by default it is written
            to a temporary folder and deleted once read back.

    Returns:
        A Dataset with ``facies`` (int16 class ids, CF ``flag_values``/``flag_meanings``;
        -1 where no trace is live or a sample is not finite), and on request
        ``confidence`` (float32) and ``probabilities`` (float32, dim ``class`` whose
        coordinate holds the class names first), on ``data``'s dims in its order, with
        its coordinates.

    Raises:
        FaciesError: a layout that cannot be mapped, a checkpoint that does not fit the
            survey (sample interval; ``allow_mismatch=True`` predicts anyway), bad options.

    Example::

        import xarray as xr, facies
        survey = xr.open_dataset("survey.sgy", dim_byte_fields={"iline": 189, "xline": 193})
        result = facies.predict_dataset(survey, "outputs/train/<run>/checkpoints/best.ckpt")
        result["facies"].sel(iline=120).plot()
    """
    from facies.inference.predict import PredictOptions

    options = PredictOptions(
        window=tuple(window) if window else (0, 0),  # (0, 0): the checkpoint's patch
        overlap=overlap,
        directions=tuple(directions),
        batch_size=batch_size,
        probabilities=probabilities,
        mode=mode,
        memory_bytes=int(memory_mb * 2**20) if memory_mb else None,
        precision=precision,
    )
    view = survey_view(data, sample_interval)
    reader = DatasetReader(view, zero_traces)
    with tempfile.TemporaryDirectory(prefix="facies-predict-") as folder:
        target = Path(store) if store is not None else Path(folder) / "prediction.zarr"
        names = _predict(reader, checkpoint, target, options, normalization, allow_mismatch, device)
        return _result(view, target, names, confidence, probabilities)


def _predict(
    reader: DatasetReader,
    checkpoint: str | os.PathLike,
    store: Path,
    options,
    normalization: str,
    allow_mismatch: bool,
    device: str,
) -> list[str]:
    """Run the prediction of ``facies predict`` into ``store`` (with its checks); the
    class names."""
    import dataclasses

    import torch

    from facies.errors import OutputError
    from facies.inference import checks
    from facies.inference.predict import predict_survey
    from facies.training.checkpoint import load_network

    if store.exists():
        raise OutputError(f"store={store} exists; give a new path, or leave store unset.")
    net, hp = load_network(checkpoint)
    checks.check_compatible(hp, reader, allow_mismatch=allow_mismatch)
    given = options.window if any(options.window) else None
    checks.check_window(given, hp, reader)
    if given is None:
        options = dataclasses.replace(options, window=tuple(hp["patch"]))
    stats = checks.normalisation(hp, reader, normalization)
    where = _device(device, torch)
    net.to(where)
    names = list(hp["class_names"])
    predict_survey(net, reader, stats, names, store, options, None, where)
    return names


def _device(choice: str, torch) -> Any:
    from facies.errors import ConfigError

    if choice not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, not {choice!r}.")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda', but torch sees no GPU; use device='cpu' or 'auto'.")
    use_gpu = choice != "cpu" and torch.cuda.is_available()
    return torch.device("cuda" if use_gpu else "cpu")


def _result(
    view: SurveyView, store: Path, names: list[str], confidence: bool, probabilities: bool
) -> xr.Dataset:
    """The prediction store's arrays, in memory, on the input's dims and coordinates."""
    from facies.inference import prediction_store as ps
    from facies.io.store import class_flags

    source = view.source
    dims = tuple(source[view.amplitude].dims)  # the input's order
    order = [DIMS.index(next(k for k, v in view.dims.items() if v == d)) for d in dims]
    # the survey's coordinates (not those of headers), and segysak's cdp_x/cdp_y variables
    coords = {
        name: var
        for name, var in source.variables.items()
        if set(var.dims) <= set(dims) and (name in source.coords or name in (CDP_X, CDP_Y))
    }
    with ps.open_prediction(store) as prediction:

        def on_input(name: str, leading: int = 0) -> np.ndarray:
            values = np.asarray(prediction[name].values)
            return values.transpose(*range(leading), *(leading + k for k in order))

        facies = xr.DataArray(on_input(ps.FACIES), dims=dims, coords=coords, name=ps.FACIES)
        facies.attrs = {
            "long_name": "facies class id",
            **class_flags(names, len(names)),
            "no_data": ps.NO_TRACE,
        }
        out = {ps.FACIES: facies}
        if confidence:
            out[ps.CONFIDENCE] = xr.DataArray(
                on_input(ps.CONFIDENCE), dims=dims, coords=coords,
                attrs={"long_name": "probability of the predicted facies"},
            )  # fmt: skip
        if probabilities and ps.PROBABILITY in prediction:
            out["probabilities"] = xr.DataArray(
                on_input(ps.PROBABILITY, 1), dims=(CLASS_DIM, *dims),
                coords={**coords, CLASS_DIM: names},
                attrs={"long_name": "class probability"},
            )  # fmt: skip
    attrs = {"class_names": " ".join(names), "source_convention": view.convention}
    return xr.Dataset(out, attrs=attrs)

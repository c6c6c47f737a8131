"""Surveys from the tools interpreters already use, in facies' names.

facies names its dims ``inline``, ``crossline``, ``sample`` and its variables
``amplitude``, ``labels``, ``live``, ``cdp_x``, ``cdp_y`` (:mod:`facies.names`). Two other
conventions are common in Python:

| facies | segysak (0.5) | MDIO v1 |
|---|---|---|
| dim ``inline`` | ``iline`` | ``inline`` |
| dim ``crossline`` | ``xline`` | ``crossline`` |
| dim ``sample`` | ``samples`` (or ``twt``/``depth``) | ``time`` or ``depth`` |
| ``amplitude`` | ``data`` | ``amplitude`` |
| ``live`` | traces not all zero (or NaN) | ``trace_mask`` (less all-zero traces) |
| ``cdp_x``, ``cdp_y`` | ``cdp_x``, ``cdp_y`` (scaled by ``coord_scalar``) | ``cdp_x``, ``cdp_y`` |
| ``labels`` | a variable you name | a variable you name |

Dims may come in any order (segysak keeps the file's); they are matched by name, never by
position, so a square grid stored (xline, iline, samples) is not read transposed. Other
variables (MDIO's ``headers``, ``segy_file_header``) are not read.

:func:`facies_names` renames a dataset or array of either into facies' names (the sample
coordinate kept as ``twt`` or ``depth``), or refuses one it cannot map with one line
naming the layout it expects. :func:`survey_view` reads such a dataset a block of inlines
at a time, in facies' axis order, without renaming or loading it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from facies.errors import FaciesError
from facies.names import (
    AMPLITUDE,
    CDP_X,
    CDP_Y,
    CROSSLINE,
    DEPTH,
    DIMS,
    INLINE,
    LABELS,
    LIVE,
    SAMPLE,
    TWT,
)

log = logging.getLogger(__name__)

#: Other names of facies' dims, by the tools that use them.
DIM_ALIASES = {
    INLINE: ("inline", "iline", "il"),
    CROSSLINE: ("crossline", "xline", "xl"),
    SAMPLE: ("sample", "samples", "time", "twt", "depth", "z"),
}
#: Other names of facies' variables.
VARIABLE_ALIASES = {AMPLITUDE: ("amplitude", "data", "seismic"), LIVE: ("live", "trace_mask")}
EXPECTED = (
    "dims (inline, crossline, sample) as facies, segysak (iline, xline, samples) or MDIO v1 "
    "(inline, crossline, time|depth) name them"
)
#: Names of the conventions (what a store made from a dataset records).
FACIES, SEGYSAK, MDIO = "facies", "segysak", "mdio v1"
#: Sample axis names that mean depth (the others are two-way time).
DEPTH_NAMES = ("depth", "z")


def dim_names(dims: tuple[str, ...] | list[str]) -> dict[str, str]:
    """{facies dim: the dataset's dim} for three dims of any convention and order.

    Raises:
        FaciesError: not three dims, or no single dim of some kind among them.
    """
    dims = tuple(dims)
    if len(dims) != 3:
        raise FaciesError(f"dims {dims}: a survey has three; give {EXPECTED}.")
    found = {}
    for target, aliases in DIM_ALIASES.items():
        matches = [d for d in dims if str(d).lower() in aliases]
        if len(matches) != 1:
            raise FaciesError(
                f"dims {dims}: no single {target} dim among them; give {EXPECTED}, "
                "or rename them (ds.rename(...))."
            )
        found[target] = matches[0]
    return found


def facies_names(obj: Any) -> Any:
    """``obj`` (an ``xarray.Dataset`` or ``DataArray``) with facies' dim and variable names,
    transposed to (inline, crossline, sample). The sample axis's values (times or depths)
    become the ``twt`` or ``depth`` coordinate."""
    import xarray as xr

    dims = tuple(obj.dims)
    names = dim_names(dims)
    renames = {theirs: ours for ours, theirs in names.items() if theirs != ours}
    sample_dim = names[SAMPLE]
    values = obj[sample_dim].values if sample_dim in obj.coords else None
    obj = obj.rename(renames) if renames else obj
    if isinstance(obj, xr.Dataset):
        for target, aliases in VARIABLE_ALIASES.items():
            if target not in obj:
                found = next((a for a in aliases if a in obj), None)
                if found is not None:
                    obj = obj.rename({found: target})
        if AMPLITUDE not in obj:
            raise FaciesError(_no_amplitude(list(obj.data_vars)))
        if LIVE in obj:
            obj[LIVE] = obj[LIVE].astype(bool)
    if values is not None and np.issubdtype(np.asarray(values).dtype, np.number):
        domain = DEPTH if str(sample_dim).lower() in DEPTH_NAMES else TWT
        obj = obj.drop_vars(SAMPLE, errors="ignore").assign_coords({domain: (SAMPLE, values)})
    return obj.transpose(INLINE, CROSSLINE, SAMPLE)


def _no_amplitude(found: list) -> str:
    return (
        f"the dataset holds {found}, none of them amplitudes; name it amplitude (facies, "
        f"MDIO) or data (segysak), with {EXPECTED}."
    )


def convention_of(ds: Any) -> str:
    """Which convention a dataset follows: ``mdio v1``, ``segysak`` or ``facies``."""
    names = set(map(str, ds.dims)) | set(map(str, getattr(ds, "data_vars", {})))
    if "trace_mask" in names or "defaultVariableName" in ds.attrs or "apiVersion" in ds.attrs:
        return MDIO
    if {"iline", "xline", "data"} & names or "seisnc" in ds.attrs:
        return SEGYSAK
    return FACIES


@dataclass
class SurveyView:
    """A survey dataset of any convention, read a block of inlines at a time.

    Nothing is renamed, transposed or loaded up front: :meth:`read` slices the dataset's
    own variable along its inline dim and puts the block in facies' order (inline,
    crossline, sample). :attr:`coordinates` is the survey's geometry in facies' names
    (what a survey store holds beside its cubes); ``attrs["sample_interval"]`` is the
    sample axis's step.
    """

    source: Any  # the xarray.Dataset as given
    dims: dict[str, str]  # facies dim -> the dataset's dim
    amplitude: str  # the dataset's name of the amplitudes
    mask: str | None  # its name of the live mask (MDIO's trace_mask), if any
    convention: str
    coordinates: Any  # xarray.Dataset: inline, crossline, sample, twt|depth, cdp_x, cdp_y

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(self.source.sizes[self.dims[d]]) for d in DIMS)

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Inline indices ``start:stop`` of the dataset's variable ``name`` as an array
        (inline, crossline, sample); a variable without samples (a mask) as (inline,
        crossline)."""
        var = self.source[name]
        order = [self.dims[d] for d in DIMS if self.dims[d] in var.dims]
        if set(var.dims) - set(order) or len(order) < 2:
            raise FaciesError(
                f"variable {name!r} has dims {tuple(var.dims)}, not those of the survey "
                f"({', '.join(self.dims[d] for d in DIMS)})."
            )
        block = var.isel({self.dims[INLINE]: slice(start, stop)}).transpose(*order)
        return np.asarray(block.values)

    def trace_mask(self, start: int, stop: int) -> np.ndarray:
        """Cells of inline indices ``start:stop`` that hold a trace by the dataset's mask
        (every cell where it has none)."""
        nxl = self.shape[1]
        if self.mask is None:
            return np.ones((stop - start, nxl), dtype=bool)
        return self.read(self.mask, start, stop).astype(bool)

    def variable_names(self) -> list[str]:
        """The dataset's variables on the survey's three dims (candidates for labels)."""
        dims = set(self.dims.values())
        return [str(n) for n, v in self.source.data_vars.items() if set(v.dims) == dims]


def survey_view(obj: Any, sample_interval: float | None = None) -> SurveyView:
    """A :class:`SurveyView` of an ``xarray.Dataset`` (or ``DataArray`` of amplitudes) in
    facies', segysak's or MDIO v1's names, dims in any order.

    Args:
        obj: the dataset (lazy or in memory).
        sample_interval: the sample axis's step where the dataset's sample dim has no
            coordinate values (ms or m); refused where they differ.

    Raises:
        FaciesError: a layout it cannot map (one line naming the expected one), a sample
            axis that is not evenly spaced, or no amplitudes.
    """
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        obj = obj.to_dataset(name=str(obj.name) if obj.name is not None else AMPLITUDE)
        if len(obj.data_vars) == 1 and AMPLITUDE not in obj:
            obj = obj.rename({next(iter(obj.data_vars)): AMPLITUDE})
    # the survey's dims: those of the amplitude variable (a dataset may hold others)
    amplitude = _amplitude_name(obj)
    dims = dim_names(tuple(obj[amplitude].dims))
    mask = next(
        (n for n in VARIABLE_ALIASES[LIVE] if n in obj and set(obj[n].dims) <= set(dims.values())),
        None,
    )
    coords = _coordinates(obj, dims, sample_interval)
    return SurveyView(obj, dims, amplitude, mask, convention_of(obj), coords)


def _amplitude_name(ds: Any) -> str:
    for name in VARIABLE_ALIASES[AMPLITUDE]:
        if name in ds.data_vars and ds[name].ndim == 3:
            return name
    three = [str(n) for n, v in ds.data_vars.items() if v.ndim == 3]
    if len(three) == 1 and not set(map(str, ds.data_vars)) & {LABELS}:
        return three[0]
    if not three:  # say what is wrong with the dims first
        dim_names(tuple(ds.dims))
    raise FaciesError(_no_amplitude([str(n) for n in ds.data_vars]))


def _coordinates(ds: Any, dims: dict[str, str], sample_interval: float | None) -> Any:
    """The survey's geometry in facies' names (a small in-memory Dataset)."""
    import xarray as xr

    nil, nxl, ns = (int(ds.sizes[dims[d]]) for d in DIMS)
    lines = {}
    for name, n in ((INLINE, nil), (CROSSLINE, nxl)):
        theirs = dims[name]
        values = np.asarray(ds[theirs].values) if theirs in ds.coords else np.arange(n)
        if not np.issubdtype(values.dtype, np.number):
            raise FaciesError(
                f"the {theirs} coordinate holds {values.dtype} values; {name} numbers must be "
                "numbers."
            )
        lines[name] = values
    samples, attrs, interval = _sample_axis(ds, dims[SAMPLE], ns, sample_interval)
    domain = attrs["domain"]
    coords = {
        INLINE: (INLINE, lines[INLINE]),
        CROSSLINE: (CROSSLINE, lines[CROSSLINE]),
        SAMPLE: (SAMPLE, samples, attrs),
        domain: (SAMPLE, samples, attrs),
    }
    lateral = (dims[INLINE], dims[CROSSLINE])
    for name in (CDP_X, CDP_Y):
        if name in ds.variables and set(ds[name].dims) == set(lateral):
            values = np.asarray(ds[name].transpose(*lateral).values, dtype=np.float64)
            coords[name] = ((INLINE, CROSSLINE), values * _coordinate_scale(ds))
    attrs = {"sample_interval": interval, "source_convention": convention_of(ds)}
    text = _textual_header(ds)
    if text:
        attrs["textual_header"] = text
    return xr.Dataset(coords=coords, attrs=attrs)


def _sample_axis(
    ds: Any, dim: str, ns: int, given: float | None
) -> tuple[np.ndarray, dict[str, str], float]:
    """The sample axis's values, attributes (units, domain) and step."""
    domain = DEPTH if str(dim).lower() in DEPTH_NAMES else TWT
    values = np.asarray(ds[dim].values) if dim in ds.coords else None
    if values is None or not np.issubdtype(values.dtype, np.number):
        if not given:
            raise FaciesError(
                f"the sample dim {dim!r} has no time or depth values; give the sample "
                "interval (segy.sample_interval=<ms or m>), or add them (ds.assign_coords)."
            )
        values = np.arange(ns) * float(given)
    values = values.astype(np.float64)
    steps = np.diff(values)
    interval = float(steps[0]) if len(steps) else float(given or 0.0)
    if len(steps) and (interval <= 0 or not np.allclose(steps, interval, rtol=1e-6, atol=1e-9)):
        raise FaciesError(
            f"the sample axis {dim!r} is not evenly spaced and increasing ({values[:3]} ...); "
            "resample the survey to a regular sample interval."
        )
    if given and len(steps) and abs(float(given) - interval) > 1e-6:
        raise FaciesError(
            f"segy.sample_interval={given:g} differs from the dataset's {dim} axis (every "
            f"{interval:g}); leave segy.sample_interval unset for datasets that hold it."
        )
    units = _units(ds[dim].attrs if dim in ds.coords else {}, domain)
    return values, {"units": units, "domain": domain}, interval


def _units(attrs: dict, domain: str) -> str:
    """Units of the sample axis: CF ``units``, MDIO's ``unitsV1`` ({"time": "ms"}), or
    facies' defaults (ms for time, m for depth)."""
    units = attrs.get("units")
    v1 = attrs.get("unitsV1")
    if not units and isinstance(v1, dict) and v1:
        units = next(iter(v1.values()))
    return str(units) if units else ("m" if domain == DEPTH else "ms")


def _coordinate_scale(ds: Any) -> float:
    """segysak 0.5 keeps CDP X/Y as read, with the SEG-Y coordinate scalar beside them
    (``attrs["seisnc"]``: ``coord_scalar``, ``coord_scaled``): the factor that gives
    metres (1 where they are scaled already, or for other conventions)."""
    meta = ds.attrs.get("seisnc")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            meta = None
    if not isinstance(meta, dict) or meta.get("coord_scaled", True):
        return 1.0
    scalar = float(meta.get("coord_scalar") or 0.0)
    if scalar == 0:
        return 1.0
    return 1.0 / abs(scalar) if scalar < 0 else scalar


def _textual_header(ds: Any) -> str | None:
    """The SEG-Y textual header a dataset carries: MDIO's ``segy_file_header`` attribute
    ``textHeader``, segysak's ``text`` attribute."""
    if "segy_file_header" in ds.variables:
        text = ds["segy_file_header"].attrs.get("textHeader")
        if isinstance(text, str):
            return text
    for holder in (ds, *(ds[n] for n in ds.data_vars)):
        text = holder.attrs.get("text")
        if isinstance(text, str):
            return text
    return None

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
| ``live`` | (every trace) | ``trace_mask`` |
| ``cdp_x``, ``cdp_y`` | ``cdp_x``, ``cdp_y`` | ``cdp_x``, ``cdp_y`` |

:func:`facies_names` renames a dataset or array of either into facies' names (the sample
coordinate kept as ``twt`` or ``depth``), or refuses one it cannot map with one line
naming the layout it expects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from facies.errors import FaciesError
from facies.names import AMPLITUDE, CROSSLINE, DEPTH, INLINE, LIVE, SAMPLE, TWT

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


def _dim_renames(dims: tuple[str, ...]) -> dict[str, str]:
    renames = {}
    for target, aliases in DIM_ALIASES.items():
        found = [d for d in dims if str(d).lower() in aliases]
        if len(found) != 1:
            raise FaciesError(
                f"dims {tuple(dims)}: no single {target} dim among them; give {EXPECTED}, "
                "or rename them (ds.rename(...))."
            )
        if found[0] != target:
            renames[found[0]] = target
    return renames


def facies_names(obj: Any) -> Any:
    """``obj`` (an ``xarray.Dataset`` or ``DataArray``) with facies' dim and variable names,
    transposed to (inline, crossline, sample). The sample axis's values (times or depths)
    become the ``twt`` or ``depth`` coordinate."""
    import xarray as xr

    dims = tuple(obj.dims)
    if len(dims) != 3:
        raise FaciesError(f"dims {dims}: a survey has three; give {EXPECTED}.")
    renames = _dim_renames(dims)
    sample_dim = next(d for d in dims if renames.get(d, d) == SAMPLE)
    values = obj[sample_dim].values if sample_dim in obj.coords else None
    obj = obj.rename(renames) if renames else obj
    if isinstance(obj, xr.Dataset):
        for target, aliases in VARIABLE_ALIASES.items():
            if target not in obj:
                found = next((a for a in aliases if a in obj), None)
                if found is not None:
                    obj = obj.rename({found: target})
        if AMPLITUDE not in obj:
            raise FaciesError(
                f"the dataset holds {list(obj.data_vars)}, none of them amplitudes; name it "
                "amplitude (facies, MDIO) or data (segysak)."
            )
        if LIVE in obj:
            obj[LIVE] = obj[LIVE].astype(bool)
    if values is not None and np.issubdtype(np.asarray(values).dtype, np.number):
        domain = DEPTH if str(sample_dim).lower() in ("depth", "z") else TWT
        obj = obj.drop_vars(SAMPLE, errors="ignore").assign_coords({domain: (SAMPLE, values)})
    return obj.transpose(INLINE, CROSSLINE, SAMPLE)

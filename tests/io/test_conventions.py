"""segysak and MDIO surveys map onto facies' names; what cannot map is refused."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from facies.errors import FaciesError
from facies.io import open_segy, write_segy_like
from facies.io.conventions import facies_names
from facies.names import AMPLITUDE, LIVE, TWT


def test_segysak_and_mdio_names_map_to_facies():
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    coords = {"iline": [1, 2], "xline": [5, 6, 7], "samples": [0, 4, 8, 12]}
    segysak = xr.Dataset({"data": (("iline", "xline", "samples"), data)}, coords=coords)
    ds = facies_names(segysak.transpose("samples", "xline", "iline"))
    assert ds[AMPLITUDE].dims == ("inline", "crossline", "sample")
    np.testing.assert_array_equal(ds[AMPLITUDE].values, data)
    np.testing.assert_array_equal(ds[TWT].values, [0, 4, 8, 12])
    mdio = xr.Dataset({"amplitude": (("inline", "crossline", "time"), data),
                       "trace_mask": (("inline", "crossline"), np.ones((2, 3), np.uint8))},
                      coords={"time": [0, 4, 8, 12]})  # fmt: skip
    ds = facies_names(mdio)
    assert ds[LIVE].dtype == bool and ds[AMPLITUDE].dims == ("inline", "crossline", "sample")


def test_dims_it_cannot_map_are_refused():
    with pytest.raises(FaciesError, match=r"no single crossline dim"):
        facies_names(xr.DataArray(np.zeros((2, 3, 4)), dims=("inline", "cdp", "sample")))
    with pytest.raises(FaciesError, match=r"a survey has three"):
        facies_names(xr.DataArray(np.zeros((2, 3)), dims=("inline", "crossline")))


def test_write_segy_like_takes_segysak_order_and_refuses_unknown_dims(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 5), crosslines=range(1, 5), ns=8)  # a square grid
    survey = open_segy(path)
    values = survey[AMPLITUDE].values
    swapped = xr.DataArray(values.transpose(1, 0, 2), dims=("xline", "iline", "samples"))
    out = write_segy_like(path, swapped, tmp_path / "out.sgy")
    np.testing.assert_array_equal(open_segy(out)[AMPLITUDE].values, values)
    unknown = xr.DataArray(values, dims=("a", "b", "c"))
    with pytest.raises(FaciesError, match=r"no single inline dim"):
        write_segy_like(path, unknown, tmp_path / "bad.sgy")
    assert not (tmp_path / "bad.sgy").exists()

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


def _square_survey():
    from facies.sources.synthetic import synthetic_dataset

    return synthetic_dataset(n_inlines=8, n_crosslines=8, n_samples=32)


@pytest.mark.parametrize(
    "order", [("iline", "xline", "samples"), ("xline", "iline", "samples"),
              ("samples", "xline", "iline")],
)  # fmt: skip
def test_a_square_segysak_grid_is_read_in_facies_order_whatever_its_dim_order(order):
    from facies.io.conventions import SEGYSAK, survey_view
    from tests.helpers import as_segysak

    survey = _square_survey()
    view = survey_view(as_segysak(survey, order=order))
    assert view.convention == SEGYSAK and view.shape == (8, 8, 32) and view.mask is None
    block = view.read(view.amplitude, 2, 5)
    np.testing.assert_array_equal(block, survey[AMPLITUDE].values[2:5])  # not transposed
    coords = view.coordinates
    np.testing.assert_allclose(coords["cdp_x"].values, survey["cdp_x"].values)  # scaled
    assert coords.attrs["sample_interval"] == 4.0 and coords[TWT].attrs["units"] == "ms"


def test_mdio_names_depth_and_trace_mask():
    from facies.io.conventions import MDIO, survey_view
    from facies.names import DEPTH
    from tests.helpers import as_mdio

    survey = _square_survey()
    view = survey_view(as_mdio(survey, domain="depth"))
    assert view.convention == MDIO and view.mask == "trace_mask"
    assert DEPTH in view.coordinates and view.coordinates[DEPTH].attrs["units"] == "m"
    assert view.trace_mask(0, 8).all()


def test_an_uneven_sample_axis_or_no_amplitudes_are_refused():
    from facies.io.conventions import survey_view

    data = np.zeros((2, 3, 4), np.float32)
    uneven = xr.Dataset({"data": (("iline", "xline", "samples"), data)},
                        coords={"samples": [0, 4, 8, 16]})  # fmt: skip
    with pytest.raises(FaciesError, match=r"not evenly spaced"):
        survey_view(uneven)
    with pytest.raises(FaciesError, match=r"no time or depth values; give the sample interval"):
        survey_view(xr.Dataset({"data": (("iline", "xline", "samples"), data)}))
    assert survey_view(xr.DataArray(data, dims=("iline", "xline", "samples")), 4.0).shape == (
        2, 3, 4,
    )  # fmt: skip
    pair = xr.Dataset({"a": (("iline", "xline", "samples"), data),
                       "b": (("iline", "xline", "samples"), data)})  # fmt: skip
    with pytest.raises(FaciesError, match=r"none of them amplitudes"):
        survey_view(pair, 4.0)

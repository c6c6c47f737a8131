"""open_segy on generated fixtures: every format, byte order, trace order and geometry."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from facies.errors import GeometryError, SegyFormatError
from facies.io import open_segy
from facies.io.segy.formats import SAMPLE_FORMATS
from facies.names import AMPLITUDE, CDP_X, CDP_Y, CROSSLINE, INLINE, LIVE, SAMPLE, TWT
from tests.helpers import encoded_cube

READABLE = [code for code, fmt in SAMPLE_FORMATS.items() if fmt.supported]


def int_cube(nil: int, nxl: int, ns: int) -> np.ndarray:
    """Small non-negative integers that fit every integer format, orientation visible."""
    i, x, s = np.meshgrid(np.arange(nil), np.arange(nxl), np.arange(ns), indexing="ij")
    return (i * 24 + x * 6 + s % 6).astype(np.float32)


@pytest.mark.parametrize("endian", ["big", "little"])
@pytest.mark.parametrize("code", READABLE)
def test_every_format_and_byte_order_decodes_exactly(make_segy, code, endian):
    is_float = code in (1, 5, 6)
    cube = encoded_cube(range(10, 15), range(20, 24), 8) if is_float else int_cube(5, 4, 8)
    path = make_segy(cube=cube, format_code=code, endian=endian)
    survey = open_segy(path)
    assert survey.attrs["endian"] == endian
    assert survey.attrs["sample_format"] == code
    np.testing.assert_array_equal(survey[AMPLITUDE].values, cube)


@pytest.mark.parametrize("sorting", ["inline", "crossline", "shuffled"])
def test_trace_order_does_not_change_the_survey(make_segy, sorting):
    survey = open_segy(make_segy(sorting=sorting))
    expected = encoded_cube(range(10, 15), range(20, 24), 8)
    np.testing.assert_array_equal(survey[AMPLITUDE].values, expected)
    assert survey.attrs["sorting"] == {"shuffled": "unsorted"}.get(sorting, sorting)
    assert survey[AMPLITUDE].dims == (INLINE, CROSSLINE, SAMPLE)


def test_geometry_coordinates_and_sample_axis(make_segy):
    path = make_segy(inlines=range(100, 110, 2), sample_interval_us=2000, delay_ms=40)
    survey = open_segy(path)
    np.testing.assert_array_equal(survey[INLINE], np.arange(100, 110, 2))
    np.testing.assert_array_equal(survey[CROSSLINE], np.arange(20, 24))
    np.testing.assert_allclose(survey[SAMPLE], 40 + 2 * np.arange(8))
    np.testing.assert_allclose(survey[TWT], survey[SAMPLE])
    assert survey.attrs["sample_interval"] == 2.0
    # cdp coordinates written with scalar -100 come back in metres
    assert survey[CDP_X].sel(inline=104, crossline=22).item() == pytest.approx(500_000 + 22 * 25)
    assert survey[CDP_Y].sel(inline=104, crossline=22).item() == pytest.approx(6_000_000 + 1300)
    assert "written by facies" in survey.attrs["textual_header"]


def test_missing_traces_and_irregular_outline_are_dead_cells(make_segy):
    live = np.ones((5, 4), dtype=bool)
    live[0, :2] = False  # a corner cut off the outline
    live[3, 1] = False  # a hole
    live[:, 3] = [True, False, False, True, True]
    survey = open_segy(make_segy(live=live))
    np.testing.assert_array_equal(survey[LIVE].values, live)
    amplitude = survey[AMPLITUDE].values
    assert (amplitude[~live] == 0).all()
    expected = encoded_cube(range(10, 15), range(20, 24), 8)
    np.testing.assert_array_equal(amplitude[live], expected[live])
    assert np.isnan(survey[CDP_X].values[~live]).all()


def test_a_missing_inline_stays_in_the_grid(make_segy):
    survey = open_segy(make_segy(inlines=[1, 2, 4, 5], crosslines=range(3)))
    np.testing.assert_array_equal(survey[INLINE], [1, 2, 3, 4, 5])
    assert not survey[LIVE].sel(inline=3).any()
    assert survey.attrs["live_fraction"] == pytest.approx(0.8)


def test_configurable_header_bytes(make_segy):
    path = make_segy(iline_byte=9, xline_byte=17)
    survey = open_segy(path, iline=9, xline=17)
    np.testing.assert_array_equal(survey[INLINE], np.arange(10, 15))
    with pytest.raises(GeometryError, match=r"a 2-D line\? All 20 traces share inline 0.*iline=9"):
        open_segy(path)  # bytes 189/193 are all zero in this file: facies suggests 9/21


def test_explicit_endianness_overrides_detection(make_segy):
    path = make_segy(endian="little")
    assert open_segy(path, endian="little").attrs["endian"] == "little"
    with pytest.raises(SegyFormatError, match="unknown sample format code 1280"):
        open_segy(path, endian="big")


def test_sparse_grid_warns_then_refuses(make_segy, caplog):
    live = np.zeros((5, 4), dtype=bool)
    live[0, :] = live[:, 0] = True  # 8 of 20 cells
    with caplog.at_level(logging.WARNING):
        open_segy(make_segy(live=live))
    assert "40.0% of the 5 x 4 grid" in caplog.text
    live[:] = False
    live[0, 0] = live[0, 1] = live[1, 0] = live[4, 3] = True  # 4 of 5 x 4 cells
    path = make_segy("sparse.sgy", live=live)
    with pytest.raises(GeometryError, match=r"only 20\.0%.*min_live_fraction=0"):
        open_segy(path, min_live_fraction=0.25)
    assert open_segy(path, min_live_fraction=0)[LIVE].sum() == 4


def test_zero_sample_interval_needs_an_explicit_one(make_segy):
    path = make_segy(sample_interval_us=0)
    with pytest.raises(SegyFormatError, match="sample_interval=4"):
        open_segy(path)
    survey = open_segy(path, sample_interval=2.5)
    np.testing.assert_allclose(survey[SAMPLE], 2.5 * np.arange(8))


def test_depth_domain_names_the_sample_coordinate(make_segy):
    survey = open_segy(make_segy(), domain="depth")
    assert "depth" in survey.coords and survey[SAMPLE].attrs["units"] == "m"

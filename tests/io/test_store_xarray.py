"""A survey store is pleasant in plain xarray (issue 17): it opens without warnings,
``ds.chunks`` works, ``to_netcdf`` works, class ids carry CF flags, and the store keeps the
SEG-Y headers a writer needs when the source file has moved."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
import segyio
import xarray as xr

from facies.io.store import (
    JSON_ATTRS,
    MANIFEST,
    STORE_RECORD,
    TRACE_HEADER,
    decode_attrs,
    ingest_segy,
    open_survey,
)
from facies.names import CROSSLINE, INLINE, LABELS
from tests.helpers import SEGYIO_DATA

F3 = SEGYIO_DATA / "f3.sgy"
NAMES = ["parallel layers", "chaotic", "transparent"]


@pytest.fixture
def store(make_segy, tmp_path) -> Path:
    """A store with labels, class names with a space, and a missing trace."""
    live = np.ones((5, 4), dtype=bool)
    live[0, 0] = False
    path = make_segy(live=live)
    labels = np.random.default_rng(0).integers(0, 3, (5, 4, 8)).astype(np.int16)
    np.save(tmp_path / "labels.npy", labels)
    return ingest_segy(path, tmp_path / "s.zarr", labels=tmp_path / "labels.npy", class_names=NAMES)


def _open_quietly(path: Path) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        return xr.open_zarr(path)


def test_xarray_opens_the_store_without_a_warning(store):
    ds = _open_quietly(store)
    assert "amplitude" in ds and LABELS in ds
    assert not [p.name for p in store.iterdir() if p.is_file() and p.name != "zarr.json"]


def test_chunks_agree_along_every_dimension(store):
    chunks = _open_quietly(store).chunks  # raises where two variables disagree
    assert set(chunks) >= {INLINE, CROSSLINE, "sample"}


def test_labels_carry_cf_flags(store):
    labels = _open_quietly(store)[LABELS]
    assert list(labels.attrs["flag_values"]) == [0, 1, 2]
    assert labels.attrs["flag_meanings"] == "parallel_layers chaotic transparent"


def test_attributes_netcdf_takes_and_facies_reads_back(store, tmp_path):
    ds = _open_quietly(store)
    for value in ds.attrs.values():
        assert value is not None and not isinstance(value, dict)
    # netCDF-3 (scipy) holds no unsigned bytes: the trace headers go to netCDF-4 files
    ds.drop_vars(TRACE_HEADER).to_netcdf(tmp_path / "s.nc", engine="scipy")
    back = xr.open_dataset(tmp_path / "s.nc", engine="scipy")
    assert decode_attrs(back.attrs)["class_names"] == NAMES
    for engine, modules in (("h5netcdf", ("h5netcdf", "h5py")), ("netcdf4", ("netCDF4",))):
        if all(importlib.util.find_spec(m) is not None for m in modules):
            ds.to_netcdf(tmp_path / f"s-{engine}.nc", engine=engine)
    survey = open_survey(store)  # facies' own reader decodes its JSON attributes
    assert survey.attrs["class_names"] == NAMES and JSON_ATTRS not in survey.attrs
    assert isinstance(survey.attrs[STORE_RECORD], dict)
    assert isinstance(survey.attrs[MANIFEST], dict) and survey.attrs["ignore_label"] is None
    assert survey.attrs["qc"]["live_traces"] == 19


def test_the_qc_summary_lives_in_the_store(store):
    qc = open_survey(store).attrs["qc"]
    assert qc["shape"]["inline"] == 5 and set(qc["class_counts"]) == set(NAMES)


def test_trace_and_file_headers_equal_segyio(tmp_path, segyio_data):
    path = F3  # big-endian: segyio hands little-endian headers over byte-swapped
    ds = open_survey(ingest_segy(path, tmp_path / "f3.zarr"))
    headers = ds[TRACE_HEADER].values
    inlines, crosslines = list(ds[INLINE].values), list(ds[CROSSLINE].values)
    with segyio.open(path, ignore_geometry=True) as f:
        assert bytes.fromhex(ds.attrs["segy_binary_header"]) == bytes(f.bin.buf)
        assert bytes.fromhex(ds.attrs["segy_textual_header"]) == path.read_bytes()[:3200]
        for k in range(f.tracecount):
            field = f.header[k]
            i = inlines.index(field[segyio.TraceField.INLINE_3D])
            x = crosslines.index(field[segyio.TraceField.CROSSLINE_3D])
            assert bytes(headers[i, x]) == bytes(field.buf), k


def test_trace_headers_are_zero_where_no_trace_lies(store):
    headers = _open_quietly(store)[TRACE_HEADER]
    assert headers.dtype == np.uint8 and headers.dims == (INLINE, CROSSLINE, "trace_header_byte")
    assert not headers.values[0, 0].any() and headers.values[1, 1].any()

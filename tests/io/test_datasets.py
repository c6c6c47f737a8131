"""MDIO v1 and segysak datasets become survey stores: names mapped, geometry and live
mask kept, labels from a variable, streamed a block at a time, and recorded."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from facies.errors import FaciesError, OptionError
from facies.io import datasets
from facies.io.datasets import dataset_record, ingest_dataset, is_survey_dataset
from facies.io.store import open_survey, read_record, record_differences
from facies.names import AMPLITUDE, LABELS, LIVE
from facies.sources.synthetic import synthetic_dataset
from tests.helpers import as_mdio, as_segysak


@pytest.fixture(scope="module")
def survey():
    return synthetic_dataset(n_inlines=12, n_crosslines=12, n_samples=32)


def test_an_mdio_store_becomes_a_survey_store(survey, tmp_path, monkeypatch):
    mdio = as_mdio(survey, labels="facies_labels")
    mask = np.ones((12, 12), bool)
    mask[3, 4] = False  # no trace there (MDIO fills with zeros)
    amplitude = mdio["amplitude"].values.copy()
    amplitude[3, 4] = 0.0
    amplitude[5, 6] = 0.0  # an all-zero trace: dead by default
    mdio["amplitude"].values[...] = amplitude
    mdio["trace_mask"].values[...] = mask
    source = tmp_path / "survey.mdio"
    mdio.to_zarr(source, mode="w")
    monkeypatch.setattr(datasets, "BLOCK_BYTES", 2 * 12 * 32 * 4 * 5)  # blocks of 5 inlines
    assert is_survey_dataset(source)
    store = ingest_dataset(source, tmp_path / "s.zarr", labels="facies_labels", ignore_label=-1)
    assert not is_survey_dataset(store)  # facies' own now
    got = open_survey(store)
    live = mask.copy()
    live[5, 6] = False
    np.testing.assert_array_equal(got[LIVE].values, live)
    np.testing.assert_array_equal(got[AMPLITUDE].values, amplitude)
    labels = survey[LABELS].values.copy()
    labels[~live] = -1
    np.testing.assert_array_equal(got[LABELS].values, labels)
    np.testing.assert_array_equal(got["inline"].values, survey["inline"].values)
    np.testing.assert_allclose(got["cdp_y"].values, survey["cdp_y"].values)
    assert got.attrs["sample_interval"] == 4.0 and got["twt"].attrs["units"] == "ms"
    qc = got.attrs["qc"]
    assert (qc["missing_traces"], qc["all_zero_traces"], qc["live_traces"]) == (1, 1, 142)
    assert got.attrs["source_convention"] == "mdio v1"
    record = dataset_record(source, labels="facies_labels", ignore_label=-1)
    assert record_differences(read_record(store), record) == []
    assert record_differences(read_record(store), dataset_record(source, ignore_label=-1))


def test_a_square_segysak_netcdf_in_xline_order_is_not_transposed(survey, tmp_path):
    source = tmp_path / "survey.nc"
    as_segysak(survey, order=("xline", "iline", "samples")).to_netcdf(source, engine="scipy")
    assert is_survey_dataset(source)
    got = open_survey(ingest_dataset(source, tmp_path / "s.zarr"))
    np.testing.assert_array_equal(got[AMPLITUDE].values, survey[AMPLITUDE].values)
    np.testing.assert_allclose(got["cdp_x"].values, survey["cdp_x"].values)
    assert got[LIVE].values.all() and LABELS not in got


def test_a_labels_variable_gives_class_names_from_its_flags(survey, tmp_path):
    ds = as_segysak(survey, labels="facies")
    ds["facies"].attrs.update(flag_values=list(range(6)), flag_meanings="a b c d e f")
    ds.to_zarr(tmp_path / "sak.zarr", mode="w")
    got = open_survey(ingest_dataset(tmp_path / "sak.zarr", tmp_path / "s.zarr", labels="facies"))
    assert got.attrs["class_names"] == list("abcdef")
    np.testing.assert_array_equal(got[LABELS].values, survey[LABELS].values)


def test_what_cannot_be_mapped_is_refused_and_nothing_is_written(survey, tmp_path):
    bad = tmp_path / "bad.zarr"
    xr.Dataset({"v": (("a", "b", "c"), np.zeros((2, 3, 4), np.float32))}).to_zarr(bad)
    with pytest.raises(FaciesError, match=r"no single inline dim.*segysak \(iline, xline"):
        ingest_dataset(bad, tmp_path / "out.zarr")
    source = tmp_path / "sak.zarr"
    as_segysak(survey).to_zarr(source)
    with pytest.raises(OptionError, match=r"no such file, and the dataset has no variable"):
        ingest_dataset(source, tmp_path / "out.zarr", labels="facies")
    assert not (tmp_path / "out.zarr").exists()
    assert not list(tmp_path.glob(".out.zarr.*"))

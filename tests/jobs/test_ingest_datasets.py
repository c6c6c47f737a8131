"""`facies ingest input=<MDIO v1 or segysak store>`: a survey store, or one line naming
the layout it expects."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from facies.io.store import open_survey
from facies.sources.synthetic import synthetic_dataset
from tests.helpers import as_mdio, as_segysak, facies, one_line_error


@pytest.mark.slow
def test_ingest_takes_mdio_and_segysak(tmp_path):
    survey = synthetic_dataset(n_inlines=8, n_crosslines=8, n_samples=32)
    as_mdio(survey, labels="facies_labels").to_zarr(tmp_path / "survey.mdio")
    run = facies("ingest", "input=survey.mdio", "labels=facies_labels", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "classes" in run.stdout  # the QC summary, with the class counts
    store = open_survey(tmp_path / "data" / "survey.zarr")
    np.testing.assert_array_equal(store["labels"].values, survey["labels"].values)
    # a square grid stored (xline, iline, samples) is not read transposed
    as_segysak(survey, order=("xline", "iline", "samples")).to_zarr(tmp_path / "sak.zarr")
    run = facies("ingest", "input=sak.zarr", "output=data/sak.zarr", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    got = open_survey(tmp_path / "data" / "sak.zarr")["amplitude"].values
    np.testing.assert_array_equal(got, survey["amplitude"].values)


def test_a_store_it_cannot_map_is_refused_in_one_line(tmp_path):
    data = np.zeros((2, 3, 4), np.float32)
    xr.Dataset({"data": (("iline", "cdp", "samples"), data)}).to_zarr(tmp_path / "bad.zarr")
    run = facies("ingest", "input=bad.zarr", cwd=tmp_path)
    assert run.returncode == 2
    line = one_line_error(run.stderr, "ingest")
    assert "no single crossline dim" in line and "MDIO v1 (inline, crossline, time|depth)" in line
    assert not (tmp_path / "data" / "bad.zarr").exists()

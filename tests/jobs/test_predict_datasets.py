"""`facies predict input=<MDIO v1 or segysak store>`: read in place into the prediction
store (the same facies as facies.predict_dataset); no SEG-Y, said in one line."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import facies as facies_package
from facies.sources.synthetic import synthetic_dataset
from tests.helpers import as_mdio, as_segysak, facies, make_checkpoint, one_line_error


@pytest.fixture
def inputs(tmp_path):
    survey = synthetic_dataset(n_inlines=8, n_crosslines=8, n_samples=32)
    as_mdio(survey).to_zarr(tmp_path / "survey.mdio")
    as_segysak(survey, order=("xline", "iline", "samples")).to_netcdf(
        tmp_path / "survey.nc", engine="scipy"
    )
    stats = {"low": -2.5, "high": 2.5, "scale": 2.5}
    return survey, make_checkpoint(tmp_path / "tiny.ckpt", norm_stats=stats)


def test_asking_for_segy_of_a_dataset_is_refused_before_any_work(inputs, tmp_path):
    run = facies("predict", "checkpoint=tiny.ckpt", "input=survey.mdio", "output=f.sgy",
                 "store=p.zarr", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 2
    line = one_line_error(run.stderr, "predict")
    assert "holds no SEG-Y headers to write output=f.sgy" in line and "write_segy_like" in line
    assert not (tmp_path / "p.zarr").exists() and not (tmp_path / "f.sgy").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["survey.mdio", "survey.nc"])
def test_predict_reads_a_dataset_in_place_as_predict_dataset_does(inputs, tmp_path, name):
    survey, checkpoint = inputs
    run = facies("predict", f"checkpoint={checkpoint}", f"input={name}", "store=p.zarr",
                 "figure=false", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "no SEG-Y written" in run.stdout and "p.zarr" in run.stdout
    assert not list(tmp_path.rglob("*.sgy"))
    got = xr.open_zarr(tmp_path / "p.zarr")["facies"].values
    expected = facies_package.predict_dataset(survey, checkpoint)["facies"].values
    np.testing.assert_array_equal(got, expected)

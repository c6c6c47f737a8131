"""The zarr and xarray API facies relies on, at the versions pyproject.toml allows.

The store is written with zarr 3's API (``Group.create_array`` with ``dimension_names``,
zarr format 3) and read with xarray (``open_dataset(engine="zarr", cache=False)``); zarr
2.18 lacks the first (it failed with an AttributeError before the range was fixed).
"""

from __future__ import annotations

import tomllib
from importlib.metadata import version

import numpy as np
import xarray as xr
import zarr
from packaging.version import Version

from tests.helpers import REPO


def _lowest(name: str) -> Version:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if d.split(">")[0].split("=")[0].strip() == name)
    return Version(spec.split(">=")[1].split(",")[0].split()[0])


def test_the_installed_versions_are_in_the_declared_range():
    assert Version(version("zarr")) >= _lowest("zarr") >= Version("3")
    assert Version(version("xarray")) >= _lowest("xarray")


def test_the_zarr_and_xarray_calls_facies_makes(tmp_path):
    group = zarr.open_group(tmp_path / "s.zarr", mode="a", zarr_format=3)
    array = group.create_array(
        "amplitude", shape=(2, 3, 4), chunks=(1, 3, 4), dtype=np.float32, fill_value=0.0,
        dimension_names=["inline", "crossline", "sample"],
    )  # fmt: skip
    array[0] = 1.0
    group.attrs["facies_store"] = {"format": 2}
    ds = xr.open_dataset(tmp_path / "s.zarr", engine="zarr", consolidated=False, chunks=None,
                         cache=False)  # fmt: skip
    assert ds["amplitude"].dims == ("inline", "crossline", "sample")
    assert float(ds["amplitude"][0].sum()) == 12.0 and float(ds["amplitude"][1].sum()) == 0.0
    assert ds.attrs["facies_store"] == {"format": 2}

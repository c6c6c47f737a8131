"""`facies train data.store=<MDIO v1 store>`: stored once under data/ (labels from a
variable), reused while what it was made from is unchanged."""

from __future__ import annotations

import pytest

from facies.sources.synthetic import synthetic_dataset
from tests.helpers import TINY_DATA, TINY_MODEL, as_mdio, facies


@pytest.mark.slow
def test_train_on_an_mdio_store_with_a_labels_variable(tmp_path):
    survey = synthetic_dataset(n_inlines=40, n_crosslines=24, n_samples=32)
    as_mdio(survey, labels="facies_labels").to_zarr(tmp_path / "survey.mdio")
    args = ["train", "data.store=survey.mdio", "data.labels=facies_labels", *TINY_DATA[3:],
            *TINY_MODEL, "trainer=cpu", "trainer.max_epochs=1",
            "data.patches_per_epoch=16"]  # fmt: skip
    first = facies(*args, cwd=tmp_path, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "storing the mdio v1 dataset" in first.stdout + first.stderr
    stores = list((tmp_path / "data").glob("survey-*.zarr"))
    assert len(stores) == 1
    again = facies(*args, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "reusing the survey store" in again.stdout + again.stderr
    no_labels = facies(*args[:2], *args[3:], cwd=tmp_path, timeout=600)  # the labels left out
    assert no_labels.returncode == 2 and "has no labels" in no_labels.stderr

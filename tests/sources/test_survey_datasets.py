"""A dataset (MDIO v1, segysak) named as data.store: stored under data/ once, reused while
what it was made from is unchanged, made anew when that changes."""

from __future__ import annotations

import numpy as np
from omegaconf import OmegaConf

from facies.io.store import open_survey
from facies.sources.survey import prepare_store
from facies.sources.synthetic import synthetic_dataset
from tests.helpers import as_mdio


def _data(**kw):
    base = {"source": "segy", "store": "survey.mdio", "seismic": None, "labels": None,
            "classes": None, "ignore_label": None}  # fmt: skip
    return OmegaConf.create({**base, **kw})


def test_a_dataset_store_is_stored_once_and_made_anew_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    survey = synthetic_dataset(n_inlines=8, n_crosslines=8, n_samples=32)
    mdio = as_mdio(survey, labels="facies_labels")
    mdio.to_zarr("survey.mdio")
    first = prepare_store(_data(labels="facies_labels"))
    assert first.parent.name == "data" and first.name.startswith("survey-")
    np.testing.assert_array_equal(open_survey(first)["labels"].values, survey["labels"].values)
    made = first.stat().st_mtime_ns
    assert prepare_store(_data(labels="facies_labels")) == first  # reused, not remade
    assert first.stat().st_mtime_ns == made
    unlabelled = prepare_store(_data())  # other labels: a store of its own
    assert unlabelled != first and "labels" not in open_survey(unlabelled)
    mdio["amplitude"][0, 0] = 1.0  # the dataset changes (its chunk files)
    mdio.to_zarr("survey.mdio", mode="w")
    assert prepare_store(_data(labels="facies_labels")) not in (first, unlabelled)


def test_the_synthetic_configs_own_labels_are_not_taken_for_a_dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    survey = synthetic_dataset(n_inlines=8, n_crosslines=8, n_samples=32)
    as_mdio(survey, labels="labels").to_zarr("survey.mdio")  # facies' own name: used
    data = _data(source="synthetic", seismic="data/synthetic/seismic.sgy",
                 labels="data/synthetic/labels.sgy", classes="data/synthetic/classes.json",
                 synthetic={"n_inlines": 8})  # fmt: skip
    store = open_survey(prepare_store(data))
    np.testing.assert_array_equal(store["labels"].values, survey["labels"].values)

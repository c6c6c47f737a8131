"""Training on SEG-Y: each survey trains on its own store, even under the same file name."""

from __future__ import annotations

from facies.io.store import open_survey
from facies.sources.synthetic import make_synthetic_survey
from tests.helpers import TINY_DATA, TINY_MODEL, facies


def test_two_surveys_of_the_same_name_in_one_folder_train_on_their_own_stores(tmp_path):
    folder = tmp_path / "mine"
    shapes = []
    for n_inlines, seed in ((40, 5), (48, 6)):  # the second replaces the first, same names
        survey = make_synthetic_survey(
            folder, overwrite=True, n_inlines=n_inlines, n_crosslines=24, n_samples=32,
            seed=seed, figure=False,
        )  # fmt: skip
        run = facies(
            "train", "data=segy", f"data.seismic={survey.paths['seismic']}",
            f"data.labels={survey.paths['labels']}", f"data.classes={survey.paths['classes']}",
            *TINY_DATA[3:], *TINY_MODEL, "trainer=cpu", "trainer.max_epochs=1", cwd=tmp_path,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        assert "storing" in run.stdout + run.stderr  # a store of its own, not the first one's
        shapes.append(n_inlines)
    stores = sorted((tmp_path / "data").glob("seismic-*.zarr"))
    assert len(stores) == 2
    assert sorted(open_survey(s).sizes["inline"] for s in stores) == sorted(shapes)

"""The F3 benchmark protocol on tiny fake files in the published layout: reading, Test 1,
Test 2 and both (one summed confusion matrix), the CLI end to end, bad layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facies.errors import ConfigError
from facies.sources.f3 import CLASS_NAMES, FILES, load_f3, write_fake_f3
from facies.training.metrics import scores
from tests.helpers import facies, run_folder

FAKE = dict(train_inlines=28, test1_inlines=7, crosslines=24, test2_crosslines=8, samples=32)
TINY = ["data.patch=[16,16]", "data.stride=[16,16]", "model.depth=2", "model.base_channels=4",
        "data.batch_size=8"]  # fmt: skip


def test_the_layout_is_read_the_right_way_round(tmp_path):
    write_fake_f3(tmp_path, train_inlines=6, test1_inlines=3, crosslines=5, test2_crosslines=2,
                  samples=4, values="position")  # fmt: skip
    f3 = load_f3(tmp_path)
    train, test1, test2 = f3.train, f3.tests["test1"], f3.tests["test2"]
    assert train.sizes == {"inline": 6, "crossline": 5, "sample": 4}
    assert test1.sizes == {"inline": 3, "crossline": 5, "sample": 4}
    assert test2.sizes == {"inline": 9, "crossline": 2, "sample": 4}
    # amplitude = il * 10000 + xl * 100 + sample, indices in the cube F3 was cut from
    amp = {name: s["amplitude"].values for name, s in (("train", train), ("test1", test1),
                                                       ("test2", test2))}  # fmt: skip
    assert amp["train"][2, 4, 3] == (3 + 2) * 10_000 + 4 * 100 + 3
    assert amp["test1"][1, 2, 0] == 1 * 10_000 + 2 * 100
    assert amp["test2"][8, 1, 2] == 8 * 10_000 + (5 + 1) * 100 + 2
    assert (train["labels"].values[:, :, 3] == 3).all()  # labels = sample % 6
    # F3's numbering: Test 1 inlines before train's; Test 2 crosslines after them
    assert train["inline"].values[0] == 103 and test1["inline"].values.tolist() == [100, 101, 102]
    assert test2["crossline"].values.tolist() == [305, 306]
    assert train.attrs["class_names"] == CLASS_NAMES and train["live"].values.all()
    assert train["labels"].dtype == np.int16


def _files(root: Path) -> dict[str, Path]:
    return {Path(name).name: root / name for pair in FILES.values() for name in pair}


@pytest.mark.parametrize(
    "damage,match",
    [
        (lambda f: f["test2_labels.npy"].unlink(), r"test2_labels.npy does not exist.*pass root="),
        (lambda f: np.save(f["train_labels.npy"], np.zeros((4, 5, 32), np.uint8)),
         r"train_labels.npy has shape \(4, 5, 32\) but .*train_seismic.npy has"),
        (lambda f: np.save(f["test1_seismic.npy"], np.zeros((7, 24), np.float32)),
         r"test1_seismic.npy holds an array of shape \(7, 24\).*3-D"),
        (lambda f: np.save(f["test1_labels.npy"], np.full((7, 24, 32), 6, np.uint8)),
         r"test1_labels.npy: labels run from 6 to 6.*0..5"),
        (lambda f: np.save(f["train_labels.npy"], np.full((28, 24, 32), -1, np.int16)),
         r"train_labels.npy: labels run from -1"),
        (lambda f: np.save(f["test2_labels.npy"], np.full((35, 8, 32), 0.5, np.float32)),
         r"test2_labels.npy: labels of type float32 hold values that are not whole"),
        (lambda f: (np.save(f["test2_seismic.npy"], np.zeros((35, 8, 30), np.float32)),
                    np.save(f["test2_labels.npy"], np.zeros((35, 8, 30), np.uint8))),
         r"test2_seismic.npy has 30 samples per trace but .*train_seismic.npy has 32"),
        (lambda f: f["train_seismic.npy"].write_bytes(b"not numpy"),
         r"train_seismic.npy is not a readable .npy array"),
    ],
)  # fmt: skip
def test_a_bad_layout_names_the_file_and_the_fix(tmp_path, damage, match):
    write_fake_f3(tmp_path, **FAKE)
    damage(_files(tmp_path))
    with pytest.raises(ConfigError, match=match):
        load_f3(tmp_path)


def test_no_root_says_where_to_get_the_data(tmp_path):
    with pytest.raises(ConfigError, match="facies_classification_benchmark"):
        load_f3(None)
    with pytest.raises(ConfigError, match=r"train_seismic.npy does not exist"):
        load_f3(tmp_path / "nowhere")


def test_test1_test2_and_both_from_the_summed_matrix(tmp_path, one_thread):
    """In process: an untrained U-Net scored on Test 1, Test 2 and both, on inline and
    crossline sections (the benchmark's protocol)."""
    import lightning as L

    from facies.sources.survey import load_survey
    from facies.training.evaluation import report
    from facies.training.inputs import datamodule_for
    from facies.training.module import FaciesModule

    write_fake_f3(tmp_path / "f3", **FAKE)
    data = {"source": "f3", "root": str(tmp_path / "f3"), "patch": [16, 16], "stride": [16, 16],
            "batch_size": 8, "trace_batch_size": 64,
            "splits": {"fractions": {"train": 0.9, "val": 0.1, "test": 0}},
            "test_directions": ["inline", "crossline"]}  # fmt: skip
    model = {"name": "unet", "depth": 2, "base_channels": 4}
    dm = datamodule_for(load_survey(data), data, model, seed=0)
    dm.setup("test")
    assert dm.test_names == ["test1", "test2"] and "test" not in dm.splits
    L.seed_everything(0)
    module = FaciesModule(model, dm.class_names, norm_stats=dm.norm_stats.as_dict())
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    metrics = report(trainer, module, dm, tmp_path)
    matrices = {name: np.asarray(m) for name, m in metrics["confusion_matrices"].items()}
    # every sample of each test volume scored once per direction
    assert dm.test_directions == ("inline", "crossline")
    assert matrices["test1"].sum() == 2 * 7 * 24 * 32
    assert matrices["test2"].sum() == 2 * 35 * 8 * 32
    np.testing.assert_array_equal(matrices["test"], matrices["test1"] + matrices["test2"])
    both = scores(matrices["test1"] + matrices["test2"], CLASS_NAMES)
    for key in ("pa", "mca", "fwiu", "miou"):
        assert metrics["test"][key] == both[key]
        for name in ("test1", "test2"):
            assert metrics[name][key] == scores(matrices[name], CLASS_NAMES)[key]
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert set(written) >= {"test", "test1", "test2", "confusion_matrix", "confusion_matrices"}
    assert set(written["test1"]) >= {"pa", "mca", "fwiu", "miou", "iou", "class_names"}
    assert (tmp_path / "test_section.png").is_file()


def test_one_named_test_set_is_scored_as_the_whole_test(tmp_path, one_thread):
    """A single test survey of its own (not a block of the training survey): its batches
    are tagged, and ``test`` is its score too."""
    import lightning as L

    from facies.data.datamodule import NamedTestBatches, SurveyDataModule
    from facies.sources.synthetic import synthetic_dataset
    from facies.training.evaluation import report
    from facies.training.module import FaciesModule

    survey = synthetic_dataset(n_inlines=40, n_crosslines=16, n_samples=32)
    tests = {"test1": survey.isel(inline=slice(0, 3))}
    splits = {"fractions": {"train": 0.8, "val": 0.2}}
    dm = SurveyDataModule(survey, patch=(16, 16), stride=(16, 16), size_multiple=4,
                          splits=splits, tests=tests)  # fmt: skip
    dm.setup("test")
    assert dm.test_names == ["test1"]
    assert isinstance(dm.test_dataloader(), NamedTestBatches)
    L.seed_everything(0)
    model = {"name": "unet", "depth": 2, "base_channels": 4}
    module = FaciesModule(model, dm.class_names, norm_stats=dm.norm_stats.as_dict())
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    metrics = report(trainer, module, dm, tmp_path)
    matrices = {name: np.asarray(m) for name, m in metrics["confusion_matrices"].items()}
    assert set(matrices) == {"test", "test1"} and matrices["test1"].sum() == 3 * 16 * 32
    np.testing.assert_array_equal(matrices["test"], matrices["test1"])
    assert metrics["confusion_matrix"] == matrices["test1"].tolist()
    assert metrics["test"] == metrics["test1"]


def test_a_test_set_named_test_among_several_is_refused():
    from facies.data.datamodule import SurveyDataModule
    from facies.sources.synthetic import synthetic_dataset

    survey = synthetic_dataset(n_inlines=40, n_crosslines=16, n_samples=32)
    tests = {"test": survey.isel(inline=slice(0, 3)), "b": survey.isel(inline=slice(3, 6))}
    splits = {"fractions": {"train": 0.8, "val": 0.2}}
    with pytest.raises(ConfigError, match="name 'test' is kept for the score of all"):
        SurveyDataModule(survey, patch=(16, 16), stride=(16, 16), size_multiple=4,
                         splits=splits, tests=tests)  # fmt: skip


@pytest.fixture(scope="module")
def f3_run(tmp_path_factory) -> tuple[Path, Path, Path]:
    """One tiny training on fake F3 files: (working folder, data folder, run folder)."""
    cwd = tmp_path_factory.mktemp("f3")
    root = cwd / "f3"
    write_fake_f3(root, **FAKE)
    run = facies("train", "data=f3", f"data.root={root}", *TINY, "trainer.max_epochs=1",
                 cwd=cwd)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "test1:" in run.stdout and "test2:" in run.stdout
    return cwd, root, run_folder(run.stdout)


def test_train_on_f3_from_the_command_line(f3_run):
    cwd, _, out = f3_run
    metrics = json.loads((out / "metrics.json").read_text())
    # validation: the train volume's last inlines, after the auto gap (28 inlines: 3)
    assert metrics["splits"] == {"train": [0, 22], "val": [25, 28]}
    both = np.asarray(metrics["confusion_matrices"]["test1"]) + np.asarray(
        metrics["confusion_matrices"]["test2"]
    )
    assert metrics["confusion_matrix"] == both.tolist()
    # data=f3 scores inline and crossline test sections (the benchmark's default): twice each
    assert both.sum() == 2 * (7 * 24 + 35 * 8) * 32
    assert metrics["test"]["pa"] == scores(both)["pa"]
    assert metrics["test"]["class_names"] == CLASS_NAMES
    assert not (cwd / "data").exists()  # nothing ingested: the .npy files are read as they are


@pytest.mark.slow
def test_evaluate_an_f3_checkpoint_reports_the_same(f3_run):
    cwd, root, out = f3_run
    evaluate = facies("evaluate", f"checkpoint={out}/checkpoints/best.ckpt", "data=f3",
                      f"data.root={root}", *TINY[:2], cwd=cwd)  # fmt: skip
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    evaluated = json.loads((run_folder(evaluate.stdout) / "metrics.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert evaluated["confusion_matrices"] == metrics["confusion_matrices"]
    assert evaluated["test2"] == metrics["test2"] and evaluated["test"] == metrics["test"]

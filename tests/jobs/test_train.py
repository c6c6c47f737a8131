"""End to end on CPU with tiny settings: train, evaluate, resume, multirun, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from facies.errors import CheckpointError
from facies.jobs import JOBS
from facies.runtime import compose
from facies.training.checkpoint import load_module, read_checkpoint
from tests.helpers import CPU, TINY_DATA, TINY_MODEL, TINY_TRAIN, facies, run_folder

TINY = [*TINY_TRAIN, "trainer.max_epochs=2"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """One tiny training run shared by the tests below: (working folder, run folder)."""
    cwd = tmp_path_factory.mktemp("train")
    run = facies("train", *TINY, *CPU, cwd=cwd)
    assert run.returncode == 0, run.stderr[-3000:]
    return cwd, run_folder(run.stdout)


def test_train_writes_every_output(trained):
    _, out = trained
    for name in (
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
        "metrics.json",
        "confusion_matrix.png",
        "test_section.png",
        "training_curves.png",
        "logs/metrics.csv",
        ".hydra/config.yaml",
    ):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["test"]["miou"] <= 1 and metrics["epochs"] == 2
    assert len(metrics["confusion_matrix"]) == 6
    # train | gap | val | test (40 inlines: a gap of 4; val and test adjacent)
    assert metrics["splits"] == {"train": [0, 25], "val": [29, 33], "test": [33, 40]}


def test_checkpoint_is_plain_and_complete(trained):
    _, out = trained
    checkpoint = read_checkpoint(out / "checkpoints/best.ckpt")  # weights_only=True
    hp = checkpoint["hyper_parameters"]
    json.dumps(hp)  # plain containers only
    assert hp["class_names"][0] == "parallel" and hp["patch"] == [16, 16]
    assert set(hp["norm_stats"]) == {"low", "high", "scale"} and hp["sample_interval"] == 4.0
    module = load_module(out / "checkpoints/best.ckpt")
    logits = module(torch.zeros(1, 1, 32, 24))
    assert logits.shape == (1, 6, 32, 24)


def test_evaluate_reproduces_the_test_metrics(trained):
    cwd, out = trained
    run = facies("evaluate", f"checkpoint={out}/checkpoints/best.ckpt", *TINY_DATA, *CPU,
                 cwd=cwd)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    evaluated = json.loads((run_folder(run.stdout) / "metrics.json").read_text())["test"]
    trained_metrics = json.loads((out / "metrics.json").read_text())["test"]
    assert evaluated["miou"] == pytest.approx(trained_metrics["miou"])
    assert evaluated["support"] == trained_metrics["support"]


def test_the_same_seed_gives_the_same_metrics(trained):
    """Determinism on one CPU: a second run with the same settings and seed scores the
    same, to the last bit (test scores, confusion matrix, every logged loss and score)."""
    cwd, out = trained
    run = facies("train", *TINY, *CPU, cwd=cwd)
    assert run.returncode == 0, run.stderr[-3000:]
    again = run_folder(run.stdout)
    assert again != out
    first, second = (json.loads((p / "metrics.json").read_text()) for p in (out, again))
    assert second["test"] == first["test"]
    assert second["confusion_matrix"] == first["confusion_matrix"]
    log = "logs/metrics.csv"  # training loss per step, validation scores per epoch
    assert (again / log).read_text() == (out / log).read_text()


def test_resume_continues_from_the_last_checkpoint(trained):
    cwd, out = trained
    more = [a for a in TINY if not a.startswith("trainer.max_epochs")] + ["trainer.max_epochs=3"]
    run = facies("train", *more, f"resume={out}/checkpoints/last.ckpt", cwd=cwd)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((run_folder(run.stdout) / "metrics.json").read_text())
    assert metrics["epochs"] == 3
    assert "Restoring states from the checkpoint" in run.stderr + run.stdout


def test_multirun_gives_each_run_its_own_folder(trained):
    cwd, _ = trained
    run = facies("train", "-m", *TINY_DATA, "model.depth=2", "trainer.max_epochs=1",
                 "model.base_channels=4,8", cwd=cwd)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    folders = sorted(p.parent for p in (cwd / "multirun").rglob("metrics.json"))
    assert len(folders) == 2 and folders[0] != folders[1]


def test_a_checkpoint_with_pickled_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    bad = tmp_path / "bad.ckpt"
    torch.save({"hyper_parameters": Payload()}, bad)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_module(bad)
    assert not marker.exists()


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_module(tmp_path / "nope.ckpt")


@pytest.mark.parametrize("job", list(JOBS))
@pytest.mark.parametrize(
    "overrides", [[], ["trainer=cpu"], ["trainer=gpu"], ["trainer=ddp"], ["data=f3"]]
)
def test_every_config_composes(job, overrides):
    groups = {override.split("=")[0] for override in overrides}
    if missing := groups - set(compose(job)):
        pytest.skip(f"the {job} job has no {', '.join(sorted(missing))} config")
    cfg = compose(job, overrides)
    assert cfg is not None
    if job == "train":
        assert cfg.model.name == "unet" and cfg.scheduler.T_max == cfg.trainer.max_epochs
    if "data=f3" in overrides:
        assert cfg.data.source == "f3" and cfg.data.splits.fractions.test == 0


def test_train_on_a_user_segy_pair(tmp_path):
    from facies.sources.synthetic import make_synthetic_survey

    survey = make_synthetic_survey(
        tmp_path / "mine", n_inlines=40, n_crosslines=24, n_samples=32, seed=5, figure=False
    )
    run = facies(
        "train",
        "data=segy",
        f"data.seismic={survey.paths['seismic']}",
        f"data.labels={survey.paths['labels']}",
        f"data.classes={survey.paths['classes']}",
        *TINY_DATA[3:],
        *TINY_MODEL,
        "trainer.max_epochs=1",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(list((tmp_path / "data").glob("seismic-*.zarr"))) == 1  # stored, named by content
    metrics = json.loads((run_folder(run.stdout) / "metrics.json").read_text())
    assert metrics["test"]["class_names"][0] == "parallel"


def test_train_without_labels_says_how_to_fix_it(tmp_path):
    run = facies("train", "data=segy", "data.seismic=x.sgy", "data.labels=null", cwd=tmp_path)
    assert run.returncode == 2
    assert "needs facies labels: data.labels=" in run.stderr


def test_unet_and_lstm_multirun_then_compare(tmp_path):
    # data overrides only: the U-Net's depth (3) fits 16 x 16 patches, the LSTM has none
    run = facies("train", "-m", "model=unet,lstm", *TINY_DATA, "trainer.max_epochs=1",
                 cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    runs = sorted(p.parent for p in (tmp_path / "multirun").rglob("metrics.json"))
    assert len(runs) == 2
    unet, lstm_metrics = (json.loads((r / "metrics.json").read_text()) for r in runs)
    assert unet["splits"] == lstm_metrics["splits"]
    assert unet["test"]["support"] == lstm_metrics["test"]["support"]  # the same test samples
    assert any((r / "gates.png").is_file() for r in runs)
    compare = facies("compare", f"runs={tmp_path / 'multirun'}", cwd=tmp_path)
    assert compare.returncode == 0, compare.stderr[-3000:]
    out = run_folder(compare.stdout)
    table = (out / "compare.md").read_text()
    assert "unet (" in table and "lstm (" in table and "inference_traces_per_s" in table
    assert (out / "compare.csv").is_file() and (out / "compare.png").is_file()

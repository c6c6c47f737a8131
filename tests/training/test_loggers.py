"""logger= and callbacks= groups (issue 17): chosen loggers and callbacks are used, facies'
own checkpointing is added to them, trainer.logger/trainer.callbacks are refused, a missing
package names its extra, and the run's metadata reaches every logger."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from facies.errors import ConfigError
from facies.jobs.validate import validate
from facies.runtime import compose
from facies.training.loggers import MONITOR, MONITOR_MODE, run_metadata
from facies.training.trainer import build_trainer
from tests.helpers import CPU, TINY_TRAIN, facies, one_line_error, run_folder

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None


def _trainer(tmp_path, *overrides, callbacks=()):
    cfg = compose("train", [*CPU, *overrides])
    return build_trainer(cfg, tmp_path, list(callbacks))


def test_csv_is_the_default_logger(tmp_path):
    from lightning.pytorch.loggers import CSVLogger

    trainer = _trainer(tmp_path)
    assert [type(x) for x in trainer.loggers] == [CSVLogger]
    assert Path(trainer.loggers[0].log_dir) == tmp_path / "logs"


@pytest.mark.skipif(not HAS_TENSORBOARD, reason="tensorboard is not installed")
def test_several_loggers_and_callbacks_are_combined_with_facies_own(tmp_path):
    from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    own = ModelCheckpoint(dirpath=tmp_path / "checkpoints", monitor=MONITOR, mode=MONITOR_MODE)
    trainer = _trainer(
        tmp_path,
        "logger=[csv,tensorboard]",
        "callbacks=[early_stopping,lr_monitor]",
        callbacks=[own],
    )
    assert [type(x) for x in trainer.loggers] == [CSVLogger, TensorBoardLogger]
    assert Path(trainer.loggers[1].log_dir) == tmp_path / "tensorboard"
    kinds = [type(c) for c in trainer.callbacks]
    assert own in trainer.callbacks and EarlyStopping in kinds and LearningRateMonitor in kinds
    stop = next(c for c in trainer.callbacks if isinstance(c, EarlyStopping))
    assert stop.monitor == MONITOR and stop.mode == MONITOR_MODE  # declared once


def test_logger_none_logs_nothing(tmp_path):
    assert _trainer(tmp_path, "logger=none").loggers == []
    with pytest.raises(ConfigError, match="logger=none"):
        _trainer(tmp_path, "logger=none", "callbacks=lr_monitor")


@pytest.mark.parametrize(
    ("logger", "target", "extra"),
    [
        ("tensorboard", "lightning.pytorch.loggers.TensorBoardLogger", "tensorboard"),
        ("mlflow", "lightning.pytorch.loggers.MLFlowLogger", "mlflow"),
        ("wandb", "lightning.pytorch.loggers.WandbLogger", "wandb"),
    ],
)
def test_a_missing_logger_package_names_its_extra(tmp_path, monkeypatch, logger, target, extra):
    assert compose("train", [f"logger={logger}"]).logger[logger]._target_ == target
    real = importlib.util.find_spec
    missing = {"tensorboard", "tensorboardX", "mlflow", "wandb"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in missing else real(name, *a)
    )
    with pytest.raises(ConfigError, match=rf'pip install "facies\[{extra}\]"') as info:
        _trainer(tmp_path, f"logger={logger}")
    assert "\n" not in str(info.value)


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow not installed")
def test_mlflow_writes_a_file_store_in_the_run_folder(tmp_path):
    from lightning.pytorch.loggers import MLFlowLogger

    (logger,) = _trainer(tmp_path, "logger=mlflow").loggers
    assert isinstance(logger, MLFlowLogger) and str(tmp_path / "mlruns") in logger._tracking_uri


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb not installed")
def test_wandb_offline_stays_in_the_run_folder(tmp_path, monkeypatch):
    from lightning.pytorch.loggers import WandbLogger

    monkeypatch.setenv("WANDB_MODE", "offline")
    (logger,) = _trainer(tmp_path, "logger=wandb", "logger.wandb.offline=true").loggers
    assert isinstance(logger, WandbLogger) and logger.save_dir == str(tmp_path)


@pytest.mark.parametrize(
    "override",
    [
        "+trainer.logger=false",
        "+trainer.callbacks=[{_target_:lightning.pytorch.callbacks.EarlyStopping,monitor:val/miou}]",
    ],
)
def test_trainer_logger_and_callbacks_are_refused_not_dropped(tmp_path, override):
    cfg = compose("train", [override])
    key = override.split("=")[0].removeprefix("+")
    with pytest.raises(ConfigError, match=rf"{key} is not read: choose .* with the .*= group"):
        validate("train", cfg)
    with pytest.raises(ConfigError, match=rf"{key} is not read"):
        build_trainer(cfg, tmp_path, [])


def test_run_metadata_is_flat_small_and_json_safe():
    record = {
        "config": {"model": {"name": "unet", "depth": 2}, "data": {"patch": [16, 16]}, "x": None},
        "facies_version": "0.1.0",
        "packages": {"torch": "2.10", "zarr": None},
        "git": {"commit": "abc123", "dirty": True},
        "inputs": {"data.seismic": {"path": "/a.sgy", "size": 3, "checksum": "blake2b:ff"}},
    }
    meta = run_metadata(record)
    assert json.loads(json.dumps(meta)) == meta
    assert all(isinstance(v, bool | int | float | str) for v in meta.values())
    assert meta["config/model/name"] == "unet" and meta["config/data/patch"] == "[16,16]"
    assert meta["config/x"] == "null" and meta["packages/zarr"] == "null"
    assert meta["git/commit"] == "abc123" and meta["git/dirty"] is True
    assert meta["inputs/data.seismic"] == "blake2b:ff"


def test_a_run_logs_to_every_chosen_logger_with_its_metadata(tmp_path):
    loggers = "[csv,tensorboard]" if HAS_TENSORBOARD else "[csv]"
    run = facies(
        "train", *TINY_TRAIN, *CPU, "trainer.max_epochs=2", f"logger={loggers}",
        "callbacks=[early_stopping,lr_monitor]", "callbacks.early_stopping.patience=1",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = run_folder(run.stdout)
    assert (out / "checkpoints/best.ckpt").is_file() and (out / "training_curves.png").is_file()
    header = (out / "logs/metrics.csv").read_text().splitlines()[0]
    assert "lr-AdamW" in header  # the learning-rate monitor logged
    hparams = yaml.safe_load((out / "logs/hparams.yaml").read_text())
    assert hparams["config/model/depth"] == 2 and "git/commit" in hparams
    assert hparams["facies_version"]
    recorded = json.loads((out / "provenance.json").read_text())["config"]
    assert set(recorded["logger"]) == set(loggers.strip("[]").split(","))
    assert set(recorded["callbacks"]) == {"early_stopping", "lr_monitor"}
    if HAS_TENSORBOARD:
        assert list((out / "tensorboard").glob("events.out.tfevents.*"))


def test_trainer_logger_on_the_command_line_is_one_line_exit_2(tmp_path):
    run = facies("train", "+trainer.logger=false", cwd=tmp_path)
    assert run.returncode == 2
    assert "trainer.logger is not read" in one_line_error(run.stderr, "train")

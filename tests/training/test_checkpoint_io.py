"""Checkpoints are written whole or not at all."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from facies.training.checkpoint_io import AtomicCheckpointIO
from facies.training.trainer import build_trainer


def test_a_save_replaces_the_checkpoint_whole(tmp_path):
    path = tmp_path / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 1, "w": torch.ones(3)}, path)
    io.save_checkpoint({"epoch": 2, "w": torch.zeros(3)}, path)
    assert torch.load(path, weights_only=True)["epoch"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_a_failed_save_leaves_the_previous_checkpoint_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 1}, path)

    def killed(obj, handle):
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt  # as a signal arriving mid-write

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_the_trainer_saves_through_it(tmp_path):
    cfg = OmegaConf.create(
        {
            "trainer": {
                "_target_": "lightning.Trainer",
                "accelerator": "cpu",
                "max_epochs": 1,
                "enable_progress_bar": False,
            }
        }
    )
    trainer = build_trainer(cfg, tmp_path, callbacks=[])
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)

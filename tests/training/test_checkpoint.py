"""Bad checkpoints are refused with one CheckpointError naming the file and the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from facies.errors import CheckpointError
from facies.training.checkpoint import check_resumable, load_module, load_network, read_checkpoint
from tests.helpers import LEGACY_CHECKPOINTS, make_checkpoint

UNET = LEGACY_CHECKPOINTS / "unet.ckpt"


class Payload:
    """Runs code when unpickled: what a malicious checkpoint does."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"hello, not a checkpoint\n", "not a PyTorch checkpoint"),
        (b"", "not a readable checkpoint"),
        (UNET.read_bytes()[:5000], "not a readable checkpoint"),
    ],
    ids=["text", "empty", "truncated"],
)
def test_files_that_are_not_checkpoints(tmp_path, content, match):
    path = tmp_path / "bad.ckpt"
    path.write_bytes(content)
    for load in (read_checkpoint, load_network, load_module):
        with pytest.raises(CheckpointError, match=match):
            load(path)


def test_a_folder_and_a_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="is a folder; give the file"):
        read_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "nope.ckpt")


def test_pickled_code_never_runs(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"hyper_parameters": {"model": {"name": "unet"}}, "payload": Payload()}, path)
    for load in (read_checkpoint, load_network):
        with pytest.raises(CheckpointError, match="refusing to load"):
            load(path)
    with pytest.raises(CheckpointError, match="refusing to load"):
        check_resumable(path, {"name": "unet"}, ["a", "b"])


def test_a_plain_state_dict_is_not_a_facies_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    net, _ = load_network(UNET)
    torch.save(net.state_dict(), path)
    with pytest.raises(CheckpointError, match="no facies hyperparameters"):
        load_network(path)
    with pytest.raises(CheckpointError, match="no facies hyperparameters"):
        check_resumable(path, {"name": "unet"}, ["a", "b"])


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"norm_stats": {"low": -1.0, "high": 1.0, "scale": 0.0}}, "no positive scale"),
        ({"norm_stats": {"low": -1.0, "high": float("nan"), "scale": 1.0}}, "finite numbers"),
        ({"class_names": ["only"]}, "two or more distinct names"),
        ({"class_names": ["a", "a", "b"]}, "two or more distinct names"),
        ({"patch": [8, 0]}, "two positive integers"),
        ({"sample_interval": -4.0}, "sample_interval"),
    ],
)
def test_hyperparameters_that_make_no_sense(tmp_path, overrides, match):
    good = make_checkpoint(tmp_path / "good.ckpt")
    checkpoint = torch.load(good, weights_only=True)
    checkpoint["hyper_parameters"].update(overrides)
    path = tmp_path / "edited.ckpt"
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match=match):
        load_network(path)


def test_non_finite_weights_are_refused(tmp_path):
    checkpoint = torch.load(UNET, weights_only=True)
    key = next(k for k, v in checkpoint["state_dict"].items() if v.is_floating_point())
    checkpoint["state_dict"][key] = torch.full_like(checkpoint["state_dict"][key], float("nan"))
    path = tmp_path / "diverged.ckpt"
    torch.save(checkpoint, path)
    for load in (load_network, load_module):
        with pytest.raises(CheckpointError, match=r"non-finite weights.*diverged"):
            load(path)


def _training_checkpoint(tmp_path: Path) -> tuple[Path, dict, list[str]]:
    checkpoint = torch.load(UNET, weights_only=True)
    hp = checkpoint["hyper_parameters"]
    return UNET, dict(hp["model"]), list(hp["class_names"])


def test_resume_accepts_its_own_training_checkpoint(tmp_path):
    path, model, names = _training_checkpoint(tmp_path)
    check_resumable(path, model, names)


def test_resume_refuses_another_model_or_other_classes(tmp_path):
    path, model, names = _training_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r"another model: model.base_channels=4 \(now 16\)"):
        check_resumable(path, {**model, "base_channels": 16}, names)
    with pytest.raises(CheckpointError, match=r"model=unet checkpoint, this run trains model=lstm"):
        check_resumable(path, {"name": "lstm"}, names)
    with pytest.raises(CheckpointError, match="trained on classes"):
        check_resumable(path, model, names[::-1])


def test_resume_refuses_weights_without_training_state(tmp_path):
    path = make_checkpoint(tmp_path / "untrained.ckpt")
    hp = torch.load(path, weights_only=True)["hyper_parameters"]
    with pytest.raises(CheckpointError, match=r"no training state.*last\.ckpt"):
        check_resumable(path, dict(hp["model"]), list(hp["class_names"]))

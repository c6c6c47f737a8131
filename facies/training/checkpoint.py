"""Load checkpoints safely: ``weights_only=True``, never arbitrary pickled code."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from facies.errors import CheckpointError, FaciesError


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint's dict, loaded with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check checkpoint=...")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"refusing to load {path}: it holds pickled objects beyond tensors and plain "
            f"containers, which could run code ({str(err).splitlines()[0][:200]}). Only load "
            "checkpoints written by facies, or re-save the weights as a plain state dict."
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise CheckpointError(f"{path} is not a readable checkpoint: {err}") from None


def _hparams(checkpoint: dict, path) -> dict:
    hparams = checkpoint.get("hyper_parameters")
    if not isinstance(hparams, dict) or "model" not in hparams:
        raise CheckpointError(f"{path} holds no facies hyperparameters; was it made by facies?")
    return hparams


def load_network(path: str | os.PathLike) -> tuple[torch.nn.Module, dict]:
    """The trained network (in eval mode) and the hyperparameters, without Lightning.

    Prediction needs only these, and importing Lightning costs about 0.4 GB.
    """
    from facies.models import build_model

    checkpoint = read_checkpoint(path)
    hparams = _hparams(checkpoint, path)
    config = dict(hparams["model"])
    prefix = "net."
    weights = {
        key[len(prefix) :]: value
        for key, value in checkpoint.get("state_dict", {}).items()
        if key.startswith(prefix)
    }
    try:
        net = build_model(config.pop("name"), num_classes=len(hparams["class_names"]), **config)
        net.load_state_dict(weights)
    except (FaciesError, KeyError, RuntimeError, TypeError) as err:
        raise CheckpointError(f"{path} does not fit this version of facies: {err}") from None
    return net.eval(), hparams


def load_module(path: str | os.PathLike):
    """Rebuild the LightningModule of a facies checkpoint from its hyperparameters and weights."""
    from facies.training.module import FaciesModule

    checkpoint = read_checkpoint(path)
    hparams = _hparams(checkpoint, path)
    try:
        module = FaciesModule(**hparams)
        module.load_state_dict(checkpoint["state_dict"])
    except (FaciesError, KeyError, RuntimeError, TypeError) as err:
        raise CheckpointError(f"{path} does not fit this version of facies: {err}") from None
    return module.eval()


def write_untrained(path: str | os.PathLike, hparams: dict, seed: int = 0) -> Path:
    """A checkpoint of an untrained module with these hyperparameters (the keys of
    :class:`facies.training.module.FaciesModule`), in the layout facies reads: for benchmarks and
    tests of the machinery around a model, where the weights do not matter."""
    from facies.training.module import FaciesModule

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = FaciesModule(**hparams)
    path = Path(path)
    torch.save({"hyper_parameters": hparams, "state_dict": module.state_dict()}, path)
    return path

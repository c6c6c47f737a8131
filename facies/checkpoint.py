"""Load checkpoints safely: ``weights_only=True``, never arbitrary pickled code."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from facies.errors import CheckpointError, FaciesError
from facies.module import FaciesModule


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


def load_module(path: str | os.PathLike) -> FaciesModule:
    """Rebuild the module of a facies checkpoint from its hyperparameters and weights."""
    checkpoint = read_checkpoint(path)
    hparams = checkpoint.get("hyper_parameters")
    if not isinstance(hparams, dict) or "model" not in hparams:
        raise CheckpointError(f"{path} holds no facies hyperparameters; was it made by facies?")
    try:
        module = FaciesModule(**hparams)
        module.load_state_dict(checkpoint["state_dict"])
    except (FaciesError, KeyError, RuntimeError, TypeError) as err:
        raise CheckpointError(f"{path} does not fit this version of facies: {err}") from None
    return module.eval()

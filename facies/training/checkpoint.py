"""Load checkpoints safely: ``weights_only=True``, never arbitrary pickled code.

Every checkpoint is checked before anything is built from it: that it is a PyTorch file
at all, that it holds facies hyperparameters that make sense (class names, patch,
normalisation), that every weight is finite, and, for ``resume=``, that it is a whole
Lightning training checkpoint of the same model. Each failure is one
:class:`~facies.errors.CheckpointError` that names the file, what is wrong and the fix.
"""

from __future__ import annotations

import math
import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from facies.errors import CheckpointError, FaciesError

#: What a Lightning training checkpoint holds beyond the weights (``resume=`` needs them).
TRAINING_STATE = ("pytorch-lightning_version", "epoch", "global_step", "optimizer_states", "loops")


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint's dict, loaded with ``weights_only=True``."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(
            f"checkpoint {path} is a folder; give the file, e.g. "
            f"checkpoint={path}/checkpoints/best.ckpt."
        )
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check checkpoint=...")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"refusing to load {path}: it holds pickled objects beyond tensors and plain "
            f"containers, which could run code ({str(err).splitlines()[0][:200]}). Only load "
            "checkpoints written by facies, or re-save the weights as a plain state dict."
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as err:
        first = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated, or not a PyTorch file: {first}); "
            "give a best.ckpt or last.ckpt written by facies train."
        ) from None
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, MemoryError) as err:
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint ({type(err).__name__} while reading it); give "
            "a best.ckpt or last.ckpt written by facies train."
        ) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{path} holds a {type(checkpoint).__name__}, not a checkpoint dict; give a "
            "best.ckpt or last.ckpt written by facies train."
        )
    return checkpoint


def _bad(path, what: str) -> CheckpointError:
    return CheckpointError(
        f"{path}: {what}; it was not written by facies train (or was edited). Train again, "
        "or give another checkpoint."
    )


def check_hparams(hparams: Any, path: str | os.PathLike) -> dict:
    """The hyperparameters of a facies checkpoint, checked for what prediction and
    evaluation divide by, index with and build from."""
    if not isinstance(hparams, Mapping) or not isinstance(hparams.get("model"), Mapping):
        raise CheckpointError(
            f"{path} holds no facies hyperparameters (a plain state dict, or another "
            "program's checkpoint?); give a best.ckpt or last.ckpt written by facies train."
        )
    names = hparams.get("class_names")
    if (
        not isinstance(names, list | tuple)
        or len(names) < 2
        or not all(isinstance(n, str) for n in names)
        or len(set(names)) != len(names)
    ):
        raise _bad(path, f"class_names {names!r} is not a list of two or more distinct names")
    patch = hparams.get("patch")
    if patch is not None and (
        not isinstance(patch, list | tuple)
        or len(patch) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in patch)
    ):
        raise _bad(path, f"patch {patch!r} is not two positive integers")
    stats = hparams.get("norm_stats")
    if stats is not None:
        values = (
            {k: stats.get(k) for k in ("low", "high", "scale")}
            if isinstance(stats, Mapping)
            else {}
        )
        if not values or not all(
            isinstance(v, int | float) and math.isfinite(v) for v in values.values()
        ):
            raise _bad(path, f"normalisation {stats!r} is not three finite numbers")
        if values["scale"] <= 0 or values["high"] < values["low"]:
            raise _bad(path, f"normalisation {values} has no positive scale (or high < low)")
    interval = hparams.get("sample_interval", 0.0)
    if not isinstance(interval, int | float) or not math.isfinite(interval) or interval < 0:
        raise _bad(path, f"sample_interval {interval!r} is not a number >= 0")
    return dict(hparams)


def _hparams(checkpoint: dict, path) -> dict:
    return check_hparams(checkpoint.get("hyper_parameters"), path)


def check_finite(state_dict: Mapping[str, Any], path) -> None:
    """Refuse weights that are NaN or infinite (a run that diverged): they predict one class
    everywhere, silently."""
    bad = [
        key
        for key, value in state_dict.items()
        if isinstance(value, torch.Tensor)
        and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]
    if bad:
        raise CheckpointError(
            f"{path} holds non-finite weights ({len(bad)} tensors, e.g. {bad[0]}): the training "
            "run diverged. Use an earlier checkpoint, or train again with a lower "
            "optimizer.lr (and check the survey for NaN amplitudes)."
        )


def load_network(path: str | os.PathLike) -> tuple[torch.nn.Module, dict]:
    """The trained network (in eval mode) and the hyperparameters, without Lightning.

    Prediction needs only these, and importing Lightning costs about 0.4 GB.
    """
    from facies.models import build_model

    checkpoint = read_checkpoint(path)
    hparams = _hparams(checkpoint, path)
    config = dict(hparams["model"])
    prefix = "net."
    state = checkpoint.get("state_dict")
    if not isinstance(state, Mapping):
        raise _bad(path, "it holds no state_dict")
    check_finite(state, path)
    weights = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    try:
        net = build_model(config.pop("name"), num_classes=len(hparams["class_names"]), **config)
        net.load_state_dict(weights)
    except (FaciesError, KeyError, RuntimeError, TypeError, ValueError) as err:
        raise CheckpointError(
            f"{path} does not fit this version of facies: {_first_line(err)}"
        ) from None
    return net.eval(), hparams


def load_module(path: str | os.PathLike):
    """Rebuild the LightningModule of a facies checkpoint from its hyperparameters and weights."""
    from facies.training.module import FaciesModule

    checkpoint = read_checkpoint(path)
    hparams = _hparams(checkpoint, path)
    state = checkpoint.get("state_dict")
    if not isinstance(state, Mapping):
        raise _bad(path, "it holds no state_dict")
    check_finite(state, path)
    try:
        module = FaciesModule(**hparams)
        module.load_state_dict(state)
    except (FaciesError, KeyError, RuntimeError, TypeError, ValueError) as err:
        raise CheckpointError(
            f"{path} does not fit this version of facies: {_first_line(err)}"
        ) from None
    return module.eval()


def check_resumable(
    path: str | os.PathLike, model: Mapping[str, Any], class_names: list[str]
) -> None:
    """Refuse a ``resume=`` checkpoint that Lightning could not continue from, before
    training starts: not a facies training checkpoint, a weights-only file, another model
    or other model sizes, other classes, or non-finite weights."""
    checkpoint = read_checkpoint(path)
    missing = [key for key in TRAINING_STATE if key not in checkpoint]
    hparams = _hparams(checkpoint, path)
    if missing:
        raise CheckpointError(
            f"resume={path} holds weights but no training state ({', '.join(missing)} "
            "missing); resume takes <run>/checkpoints/last.ckpt of facies train. To score or "
            "predict with it use facies evaluate/predict checkpoint=..."
        )
    saved = dict(hparams["model"])
    if saved.get("name") != model.get("name"):
        raise CheckpointError(
            f"resume={path} holds a model={saved.get('name')} checkpoint, this run trains "
            f"model={model.get('name')}; resume with model={saved.get('name')}, or start a new "
            "run without resume=."
        )
    if saved != dict(model):
        differ = sorted(k for k in set(saved) | set(model) if saved.get(k) != model.get(k))
        shown = ", ".join(f"model.{k}={saved.get(k)!r} (now {model.get(k)!r})" for k in differ)
        raise CheckpointError(
            f"resume={path} was trained with another model: {shown}; resume with the same "
            "model settings (the run's .hydra/overrides.yaml lists them), or start a new run "
            "without resume=."
        )
    if list(hparams["class_names"]) != list(class_names):
        raise CheckpointError(
            f"resume={path} was trained on classes {list(hparams['class_names'])}, this survey "
            f"has {list(class_names)}; resume on the same survey, or start a new run."
        )
    state = checkpoint.get("state_dict")
    if not isinstance(state, Mapping):
        raise _bad(path, "it holds no state_dict")
    check_finite(state, path)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


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

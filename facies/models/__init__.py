"""Segmentation models, and what each consumes (:func:`model_input`), by name."""

from __future__ import annotations

from facies.models.registry import (
    MODELS,
    ModelEntry,
    ModelInput,
    build_model,
    model_entry,
    model_input,
)
from facies.models.unet import UNet

__all__ = [
    "MODELS",
    "ModelEntry",
    "ModelInput",
    "UNet",
    "build_model",
    "model_entry",
    "model_input",
]

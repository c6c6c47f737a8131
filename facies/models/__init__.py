"""Segmentation models: the U-Net (and, through the registry, every other model)."""

from __future__ import annotations

from facies.models.registry import MODELS, build_model
from facies.models.unet import UNet

__all__ = ["MODELS", "UNet", "build_model"]

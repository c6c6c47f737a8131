"""Theoretical receptive fields, computed from the layer stack.

Along each axis a feature-map pixel sees ``size`` input samples, and neighbouring pixels
are ``jump`` input samples apart. Through a layer of kernel ``k``, stride ``s`` and
dilation ``d``: ``size += (k - 1) * d * jump`` and ``jump *= s`` (Araujo et al., 2019,
"Computing receptive fields of convolutional neural networks", Distill). Upsampling
divides the jump: a 2x2 stride-2 transposed convolution gives each output pixel one
input pixel (the size is kept), a bilinear x2 upsampling two (the size grows by one jump).
Where paths join (a residual shortcut, a U-Net skip), the field is the larger of the two.

Normalisation is treated as pointwise: batch norm in evaluation mode is; instance and
group norm mix a whole map through their statistics, which this arithmetic leaves out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from facies.errors import ConfigError
from facies.models.blocks import ResidualBlock

_POINTWISE = (
    nn.BatchNorm2d,
    nn.GroupNorm,
    nn.InstanceNorm2d,
    nn.ReLU,
    nn.LeakyReLU,
    nn.GELU,
    nn.SiLU,
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
)


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field along (samples, traces): its size and the pixel spacing, in input units."""

    size: tuple[float, float] = (1.0, 1.0)
    jump: tuple[float, float] = (1.0, 1.0)

    def grow(self, kernel: tuple[int, int], stride: tuple[float, float], dilation=(1, 1)):
        """The field after a layer with this kernel, stride and dilation."""
        size = tuple(
            r + (k - 1) * d * j
            for r, k, d, j in zip(self.size, kernel, dilation, self.jump, strict=True)
        )
        jump = tuple(j * s for j, s in zip(self.jump, stride, strict=True))
        return ReceptiveField(size, jump)

    def union(self, other: ReceptiveField) -> ReceptiveField:
        """Where two paths join: the larger field, at the (common) finer spacing."""
        size = tuple(max(a, b) for a, b in zip(self.size, other.size, strict=True))
        jump = tuple(min(a, b) for a, b in zip(self.jump, other.jump, strict=True))
        return ReceptiveField(size, jump)


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def through(module: nn.Module, field: ReceptiveField) -> ReceptiveField:
    """The receptive field after ``module``, given the field of its input.

    Knows the layers facies' networks are made of; containers are followed in order.

    Raises:
        ConfigError: a layer whose spatial effect this arithmetic does not know.
    """
    if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        kernel = _pair(module.kernel_size)
        stride = _pair(module.stride if module.stride is not None else module.kernel_size)
        dilation = _pair(getattr(module, "dilation", 1))
        return field.grow(kernel, stride, dilation)
    if isinstance(module, nn.ConvTranspose2d):
        kernel, stride = _pair(module.kernel_size), _pair(module.stride)
        taps = tuple(math.ceil(k / s) for k, s in zip(kernel, stride, strict=True))
        return field.grow(taps, tuple(1 / s for s in stride))
    if isinstance(module, nn.Upsample):
        scale = _pair(module.scale_factor)
        taps = (1, 1) if module.mode == "nearest" else (2, 2)
        return field.grow(taps, tuple(1 / s for s in scale))
    if isinstance(module, ResidualBlock):
        main = through(module.conv2, through(module.conv1, field))
        return main.union(through(module.shortcut, field))
    if isinstance(module, _POINTWISE):
        return field
    children = list(module.children())
    if children and isinstance(module, nn.Sequential):
        for child in children:
            field = through(child, field)
        return field
    raise ConfigError(
        f"cannot compute the receptive field through {type(module).__name__}: only "
        "convolutions, pooling, upsampling, residual blocks and pointwise layers are known."
    )


def unet_receptive_fields(net: nn.Module) -> dict[str, ReceptiveField]:
    """The theoretical receptive field of every stage of a U-Net (see stages.unet_stages),
    and of its output logits under the name ``head``."""
    from facies.inspection.stages import unet_stages

    stages = unet_stages(net)
    fields: dict[str, ReceptiveField] = {}
    field = ReceptiveField()
    encoder = [s for s in stages if s.kind != "decoder"]
    for stage in encoder:
        field = through(stage.module, field)
        fields[stage.name] = field
    skips = [fields[s.name] for s in encoder[:-1]]
    decoder = [s for s in stages if s.kind == "decoder"]
    for j, stage in enumerate(decoder):
        upsampled = through(net.decoder.ups[j], field)
        field = through(stage.module, upsampled.union(skips[-1 - j]))
        fields[stage.name] = field
    fields["head"] = through(net.head, field)
    return fields

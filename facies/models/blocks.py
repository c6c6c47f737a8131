"""Convolutional building blocks shared by the U-Net backbones.

Every block takes its normalisation by name (see :func:`make_norm`), so a config can
switch between batch, group and instance normalisation without touching the model.
Convolutions that feed a normalisation layer carry no bias: the norm's shift makes
it redundant.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from facies.errors import ConfigError

NORMS: tuple[str, ...] = ("batch", "group", "instance", "none")
"""Normalisation names accepted by :func:`make_norm`."""

GROUP_NORM_MAX_GROUPS = 8


def check_choice(what: str, value: str, valid: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``valid``; otherwise raise a ConfigError listing them."""
    if value not in valid:
        raise ConfigError(f"unknown {what} {value!r}; valid values are: {', '.join(valid)}")
    return value


def make_norm(kind: str, channels: int) -> nn.Module:
    """Build the normalisation layer called ``kind`` for ``channels`` feature maps.

    Args:
        kind: ``"batch"`` (BatchNorm2d), ``"group"`` (GroupNorm with
            ``gcd(8, channels)`` groups, so 8 groups for widths that are multiples of
            8 and never a group count that does not divide the width), ``"instance"``
            (InstanceNorm2d with learned affine parameters) or ``"none"`` (identity).
        channels: number of channels to normalise.

    Raises:
        ConfigError: ``kind`` is not one of :data:`NORMS`.
    """
    check_choice("norm", kind, NORMS)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(GROUP_NORM_MAX_GROUPS, channels), channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


def make_dropout(p: float) -> nn.Module:
    """Channel dropout (whole feature maps), or identity when ``p`` is 0."""
    return nn.Dropout2d(p) if p > 0 else nn.Identity()


class ConvNormAct(nn.Sequential):
    """Convolution, normalisation, then ReLU (the activation can be left out).

    Padding is ``kernel_size // 2``, so with stride 1 the spatial size is kept and with
    stride 2 an even size is exactly halved.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        norm: str = "batch",
        act: bool = True,
    ) -> None:
        conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            bias=norm == "none",
        )
        layers = [conv, make_norm(norm, out_channels)]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class DoubleConv(nn.Sequential):
    """Two 3x3 conv-norm-ReLU blocks: the plain U-Net stage, at constant resolution.

    Args:
        in_channels: input channels.
        out_channels: output channels (both convolutions produce this many).
        norm: normalisation name, see :func:`make_norm`.
        dropout: channel-dropout probability applied after the second block.
    """

    def __init__(
        self, in_channels: int, out_channels: int, norm: str = "batch", dropout: float = 0.0
    ) -> None:
        super().__init__(
            ConvNormAct(in_channels, out_channels, norm=norm),
            ConvNormAct(out_channels, out_channels, norm=norm),
            make_dropout(dropout),
        )


class ResidualBlock(nn.Module):
    """ResNet basic block: two 3x3 conv-norm layers plus a shortcut, then ReLU.

    The shortcut is the identity when shape is kept, otherwise a 1x1 convolution (with
    the same stride) and norm that project the input to the output shape. With
    ``stride=2`` the block also downsamples, as in ResNet's stage transitions.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the first convolution and the projection (1 or 2).
        norm: normalisation name, see :func:`make_norm`.
        dropout: channel-dropout probability applied to the block's output.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        norm: str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(in_channels, out_channels, stride=stride, norm=norm)
        self.conv2 = ConvNormAct(out_channels, out_channels, norm=norm, act=False)
        if stride == 1 and in_channels == out_channels:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = ConvNormAct(
                in_channels, out_channels, kernel_size=1, stride=stride, norm=norm, act=False
            )
        self.act = nn.ReLU(inplace=True)
        self.dropout = make_dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Return ``relu(conv2(conv1(x)) + shortcut(x))`` with dropout."""
        return self.dropout(self.act(self.conv2(self.conv1(x)) + self.shortcut(x)))

"""U-Net for 2-D seismic sections: an encoder of stages, a decoder with skips, a 1x1 head.

Shapes follow segmentation_models.pytorch: :class:`Encoder` returns the list of its
stage features from full resolution down, and :class:`Decoder` consumes that list.
Inspection hooks ``encoder.stages[i]`` (or reads :meth:`UNet.forward_features`) with
no extra wiring. Sections are ``(N, C, H, W)`` with ``H`` the sample (depth/time) axis
and ``W`` the traces.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from facies.errors import ConfigError
from facies.models.blocks import (
    NORMS,
    DoubleConv,
    ResidualBlock,
    check_choice,
)
from facies.names import SECTIONS

BACKBONES: tuple[str, ...] = ("plain", "residual")
UPSAMPLES: tuple[str, ...] = ("transpose", "bilinear")


def _check_int(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_dropout(p: float) -> None:
    if not 0.0 <= p < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {p!r}")


def _block(backbone: str, c_in: int, c_out: int, norm: str, dropout: float) -> nn.Module:
    """A resolution-keeping stage body: two 3x3 conv-norm layers, plain or residual."""
    if backbone == "plain":
        return DoubleConv(c_in, c_out, norm=norm, dropout=dropout)
    return ResidualBlock(c_in, c_out, norm=norm, dropout=dropout)


class Encoder(nn.Module):
    """The contracting path: ``depth + 1`` stages whose widths double as resolution halves.

    Stage ``i`` (0 <= i <= depth) outputs ``channels[i] = base_channels * 2**i`` maps at
    ``1 / 2**i`` of the input's height and width. Stage 0 runs at full resolution; each
    later stage first downsamples by 2, then applies two 3x3 conv-norm layers. The last
    stage (``i = depth``) is the bottleneck and is the only encoder stage with dropout.

    Downsampling depends on the backbone:

    * ``"plain"``: 2x2 max-pool, then :class:`DoubleConv` (the original U-Net).
    * ``"residual"``: a :class:`ResidualBlock` whose first conv and 1x1 projection
      shortcut have stride 2 (ResNet's stage transition); stage 0 is a residual
      block with a 1x1 projection from the input channels.

    Args:
        in_channels: channels of the input sections (1 for amplitude).
        base_channels: width of stage 0.
        depth: number of downsamplings; the input size must be a multiple of ``2**depth``.
        backbone: ``"plain"`` or ``"residual"``.
        norm: ``"batch"``, ``"group"``, ``"instance"`` or ``"none"``.
        dropout: channel-dropout probability in the bottleneck.

    Raises:
        ConfigError: a size is not a positive integer, or a name is unknown.
    """

    def __init__(
        self,
        in_channels: int = 1,
        base_channels: int = 16,
        depth: int = 4,
        backbone: str = "plain",
        norm: str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_int("in_channels", in_channels, 1)
        _check_int("base_channels", base_channels, 1)
        _check_int("depth", depth, 1)
        check_choice("backbone", backbone, BACKBONES)
        check_choice("norm", norm, NORMS)
        _check_dropout(dropout)
        self.depth = depth
        self.channels: list[int] = [base_channels * 2**i for i in range(depth + 1)]
        stages: list[nn.Module] = [_block(backbone, in_channels, self.channels[0], norm, 0.0)]
        for i in range(1, depth + 1):
            c_in, c_out = self.channels[i - 1], self.channels[i]
            p = dropout if i == depth else 0.0
            if backbone == "plain":
                stages.append(nn.Sequential(nn.MaxPool2d(2), DoubleConv(c_in, c_out, norm, p)))
            else:
                stages.append(ResidualBlock(c_in, c_out, stride=2, norm=norm, dropout=p))
        self.stages = nn.ModuleList(stages)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return every stage's output, full resolution first, the bottleneck last."""
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class Decoder(nn.Module):
    """The expanding path: upsample, concatenate the matching encoder stage, convolve.

    Decoder step ``j`` (``j = 0 .. depth-1``) takes the running features at level
    ``depth - j``, upsamples them by 2 to level ``depth - j - 1`` while halving the
    width, concatenates the encoder feature of that level (the skip connection,
    giving ``2 * channels[level]`` maps), and applies a stage body of the same
    backbone as the encoder, with dropout. Its output is ``channels[0]`` maps at full
    resolution.

    Upsampling is ``"transpose"`` (a learned 2x2 stride-2 ConvTranspose2d, default;
    deterministic on GPU) or ``"bilinear"`` (bilinear interpolation then a 1x1 conv).

    Args:
        channels: the encoder's ``channels`` list, full resolution first.
        backbone: ``"plain"`` or ``"residual"``.
        norm: normalisation name.
        dropout: channel-dropout probability after every decoder step.
        upsample: ``"transpose"`` or ``"bilinear"``.
    """

    def __init__(
        self,
        channels: list[int],
        backbone: str = "plain",
        norm: str = "batch",
        dropout: float = 0.0,
        upsample: str = "transpose",
    ) -> None:
        super().__init__()
        check_choice("backbone", backbone, BACKBONES)
        check_choice("upsample", upsample, UPSAMPLES)
        _check_dropout(dropout)
        self.channels = list(channels)
        ups, blocks = [], []
        for level in range(len(channels) - 2, -1, -1):
            c_low, c = channels[level + 1], channels[level]
            if upsample == "transpose":
                ups.append(nn.ConvTranspose2d(c_low, c, kernel_size=2, stride=2))
            else:
                ups.append(
                    nn.Sequential(
                        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                        nn.Conv2d(c_low, c, kernel_size=1),
                    )
                )
            blocks.append(_block(backbone, 2 * c, c, norm, dropout))
        self.ups = nn.ModuleList(ups)
        self.blocks = nn.ModuleList(blocks)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Decode the encoder's feature list (full resolution first) to ``channels[0]`` maps."""
        x = features[-1]
        for j, (up, block) in enumerate(zip(self.ups, self.blocks, strict=True)):
            x = block(torch.cat([up(x), features[-2 - j]], dim=1))
        return x


class UNet(nn.Module):
    """U-Net: :class:`Encoder`, :class:`Decoder` and a 1x1 convolution head to class logits.

    Height and width of the input must be multiples of :attr:`size_multiple`
    (``2**depth``); callers pad (the data module does). ``forward`` checks this
    before running and raises a :class:`ConfigError` naming the padded shape.

    Args:
        in_channels: input channels (1 for amplitude sections).
        num_classes: number of facies classes; comes from the data's labels.
        depth: number of downsamplings (encoder stages = ``depth + 1``).
        base_channels: width of the first stage; widths double per stage.
        backbone: ``"plain"`` (double conv, max-pool) or ``"residual"`` (ResNet blocks,
            stride-2 convolutions).
        norm: ``"batch"``, ``"group"``, ``"instance"`` or ``"none"``.
        dropout: channel-dropout probability in the bottleneck and every decoder step.
        upsample: ``"transpose"`` or ``"bilinear"``, see :class:`Decoder`.
    """

    #: What the network reads: whole sections or patches (see facies.models.registry).
    consumes = SECTIONS

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        depth: int = 4,
        base_channels: int = 16,
        backbone: str = "plain",
        norm: str = "batch",
        dropout: float = 0.0,
        upsample: str = "transpose",
    ) -> None:
        super().__init__()
        _check_int("num_classes", num_classes, 1)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.encoder = Encoder(in_channels, base_channels, depth, backbone, norm, dropout)
        self.size_multiple: int = 2**depth
        self.decoder = Decoder(self.encoder.channels, backbone, norm, dropout, upsample)
        self.head = nn.Conv2d(self.encoder.channels[0], num_classes, kernel_size=1)

    def check_input_shape(self, shape: tuple[int, ...] | torch.Size) -> None:
        """Raise a ConfigError unless ``shape`` is ``(N, in_channels, H, W)`` with H, W fitting.

        Cheap (integer arithmetic on the shape), so ``forward`` runs it every call.
        """
        if len(shape) != 4 or shape[1] != self.in_channels:
            raise ConfigError(
                f"UNet expects input of shape (N, {self.in_channels}, H, W), got {tuple(shape)}"
            )
        m = self.size_multiple
        n, c, h, w = shape
        if h % m or w % m:
            shape = n, c, h, w = int(n), int(c), int(h), int(w)
            padded = (n, c, -(-h // m) * m, -(-w // m) * m)
            raise ConfigError(
                f"UNet input shape {shape} does not fit: height and width must be multiples "
                f"of {m} (2**depth, depth={self.encoder.depth}); pad the input to {padded}"
            )

    def forward_features(self, x: Tensor) -> list[Tensor]:
        """The encoder's stage features, full resolution first, bottleneck last."""
        self.check_input_shape(x.shape)
        return self.encoder(x)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits ``(N, num_classes, H, W)`` for sections ``(N, in_channels, H, W)``."""
        return self.head(self.decoder(self.forward_features(x)))

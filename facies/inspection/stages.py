"""The stages of a U-Net that inspection looks at, and their activations on a section.

A stage is a module whose output is one level of the feature hierarchy: every encoder
stage (the last one is the bottleneck) and every decoder step, in the order data flows
through them. Activations are captured with forward hooks, so the network needs no
extra wiring and runs its normal ``forward``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from facies.errors import ConfigError


@dataclass(frozen=True)
class Stage:
    """One level of the hierarchy.

    Attributes:
        name: ``enc0`` .. ``enc{depth-1}``, ``bottleneck``, ``dec{depth-1}`` .. ``dec0``
            (decoder steps named by the level they return to, so ``dec0`` is at full
            resolution).
        kind: ``encoder``, ``bottleneck`` or ``decoder``.
        scale: input samples per feature-map pixel along each axis (``2**level``).
        channels: feature maps the stage outputs.
        module: the module whose output is the stage's activation.
    """

    name: str
    kind: str
    scale: int
    channels: int
    module: nn.Module


def unet_stages(net: nn.Module) -> list[Stage]:
    """The stages of a :class:`facies.models.unet.UNet`, input side first.

    Raises:
        ConfigError: ``net`` is not a U-Net (no encoder stages and decoder blocks).
    """
    encoder, decoder = getattr(net, "encoder", None), getattr(net, "decoder", None)
    if not hasattr(encoder, "stages") or not hasattr(decoder, "blocks"):
        raise ConfigError(
            f"feature-hierarchy inspection needs a U-Net (encoder stages and decoder blocks); "
            f"got {type(net).__name__}. For the LSTM baseline look at gates.png from "
            "`facies evaluate` instead."
        )
    depth = len(encoder.stages) - 1
    stages = []
    for level, module in enumerate(encoder.stages):
        kind = "bottleneck" if level == depth else "encoder"
        name = "bottleneck" if level == depth else f"enc{level}"
        stages.append(Stage(name, kind, 2**level, encoder.channels[level], module))
    for j, module in enumerate(decoder.blocks):
        level = depth - 1 - j
        stages.append(Stage(f"dec{level}", "decoder", 2**level, encoder.channels[level], module))
    return stages


@torch.no_grad()
def capture(net: nn.Module, x: Tensor, stages: list[Stage]) -> tuple[Tensor, dict[str, Tensor]]:
    """Run ``net`` on ``x`` and return its logits and every stage's output.

    Activations are detached copies, so in-place layers later in the network cannot
    change them.
    """
    return _run(net, x, stages, detach=True)


def capture_with_grad(
    net: nn.Module, x: Tensor, stages: list[Stage]
) -> tuple[Tensor, dict[str, Tensor]]:
    """Like :func:`capture`, but the activations stay in the autograd graph of ``x``."""
    return _run(net, x, stages, detach=False)


def _run(
    net: nn.Module, x: Tensor, stages: list[Stage], detach: bool
) -> tuple[Tensor, dict[str, Tensor]]:
    outputs: dict[str, Tensor] = {}
    handles = []
    for stage in stages:

        def hook(_module, _inputs, output, name=stage.name):
            outputs[name] = output.detach().clone() if detach else output

        handles.append(stage.module.register_forward_hook(hook))
    try:
        logits = net(x)
    finally:
        for handle in handles:
            handle.remove()
    return logits, outputs

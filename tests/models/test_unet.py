"""U-Net shapes, skips, size errors, dropout and a tiny overfit, on CPU with tiny widths."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from facies.errors import ConfigError
from facies.models import MODELS, UNet, build_model
from facies.models.blocks import ResidualBlock, make_norm
from facies.models.unet import Encoder

BACKBONES = ["plain", "residual"]
NORMS = ["batch", "group", "instance", "none"]


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**kwargs) -> UNet:
    """A seeded UNet small enough for fast CPU tests."""
    torch.manual_seed(0)
    options = {"num_classes": 3, "depth": 2, "base_channels": 4} | kwargs
    return UNet(**options)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("backbone", BACKBONES)
def test_logits_have_input_size_and_class_channels(backbone: str, norm: str) -> None:
    model = tiny(backbone=backbone, norm=norm, num_classes=5)
    out = model(torch.randn(2, 1, 16, 24))
    assert out.shape == (2, 5, 16, 24)


@pytest.mark.parametrize("upsample", ["transpose", "bilinear"])
def test_upsample_modes_give_the_same_shape(upsample: str) -> None:
    out = tiny(upsample=upsample, depth=3)(torch.randn(1, 1, 16, 8))
    assert out.shape == (1, 3, 16, 8)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_encoder_returns_depth_plus_one_stages_full_resolution_first(backbone: str) -> None:
    encoder = Encoder(in_channels=1, base_channels=4, depth=3, backbone=backbone)
    features = encoder(torch.randn(2, 1, 32, 16))
    assert encoder.channels == [4, 8, 16, 32]
    assert len(features) == len(encoder.stages) == 4
    for i, f in enumerate(features):
        assert f.shape == (2, 4 * 2**i, 32 // 2**i, 16 // 2**i)


def test_forward_features_matches_stage_hooks() -> None:
    model = tiny(depth=3).eval()
    seen: list[torch.Tensor] = []
    handles = [
        s.register_forward_hook(lambda _m, _i, out: seen.append(out)) for s in model.encoder.stages
    ]
    x = torch.randn(1, 1, 16, 16)
    features = model.forward_features(x)
    for h in handles:
        h.remove()
    assert len(seen) == len(features) == 4
    assert all(torch.equal(a, b) for a, b in zip(seen, features, strict=True))


@pytest.mark.parametrize("backbone", BACKBONES)
def test_every_skip_connection_reaches_the_output(backbone: str) -> None:
    """The decoder must use each encoder stage directly; without skips only the last counts."""
    model = tiny(backbone=backbone, depth=3).eval()
    features = [f.detach().requires_grad_() for f in model.encoder(torch.randn(1, 1, 16, 16))]
    model.head(model.decoder(features)).sum().backward()
    for i, f in enumerate(features):
        assert f.grad is not None and f.grad.abs().sum() > 0, f"stage {i} does not reach output"
    first_block_in = next(m for m in model.decoder.blocks[-1].modules() if isinstance(m, nn.Conv2d))
    assert first_block_in.in_channels == 2 * model.encoder.channels[0]


@pytest.mark.parametrize(
    ("shape", "padded"),
    [((2, 1, 30, 32), (2, 1, 32, 32)), ((1, 1, 17, 45), (1, 1, 24, 48))],
)
def test_size_not_multiple_raises_with_padded_shape(shape, padded) -> None:
    model = tiny(depth=3)
    assert model.size_multiple == 8
    with pytest.raises(ConfigError, match=re.escape(f"pad the input to {padded}")):
        model(torch.randn(*shape))


def test_wrong_channel_count_raises() -> None:
    with pytest.raises(ConfigError, match=r"\(N, 1, H, W\)"):
        tiny()(torch.randn(1, 3, 16, 16))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"norm": "layer"}, "unknown norm 'layer'; valid values are: batch, group, instance"),
        ({"backbone": "vgg"}, "unknown backbone 'vgg'; valid values are: plain, residual"),
        ({"upsample": "nearest"}, "valid values are: transpose, bilinear"),
        ({"depth": 0}, "depth must be an integer >= 1, got 0"),
        ({"dropout": 1.5}, r"dropout must be in \[0, 1\), got 1.5"),
        ({"num_classes": 0}, "num_classes must be an integer >= 1"),
    ],
)
def test_bad_options_raise_config_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        tiny(**kwargs)


def test_make_norm_group_count_divides_width() -> None:
    assert make_norm("group", 12).num_groups == 4
    assert make_norm("group", 32).num_groups == 8
    assert isinstance(make_norm("none", 4), nn.Identity)


def test_residual_block_projects_only_when_shape_changes() -> None:
    assert isinstance(ResidualBlock(4, 4).shortcut, nn.Identity)
    assert not isinstance(ResidualBlock(4, 8).shortcut, nn.Identity)
    assert ResidualBlock(4, 8, stride=2)(torch.randn(1, 4, 8, 6)).shape == (1, 8, 4, 3)


def test_registry_builds_unet_and_lists_names_on_unknown() -> None:
    assert isinstance(build_model("unet", num_classes=4, depth=2, base_channels=4), UNet)
    assert "unet" in MODELS
    with pytest.raises(ConfigError, match=r"unknown model 'resnet'; valid names are: .*unet"):
        build_model("resnet")
    with pytest.raises(ConfigError, match="it accepts: in_channels, num_classes"):
        build_model("unet", n_classes=4)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_dropout_is_stochastic_in_train_and_deterministic_in_eval(backbone: str) -> None:
    model = tiny(backbone=backbone, dropout=0.5)
    x = torch.randn(2, 1, 16, 16)
    model.train()
    assert not torch.allclose(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_parameter_count_grows_with_base_channels() -> None:
    counts = [sum(p.numel() for p in tiny(base_channels=b).parameters()) for b in (4, 8, 16)]
    assert counts[0] < counts[1] < counts[2]


@pytest.mark.parametrize("backbone", BACKBONES)
def test_channels_last_matches_contiguous(backbone: str) -> None:
    model = tiny(backbone=backbone).eval()
    x = torch.randn(2, 1, 16, 16)
    expected = model(x)
    model = model.to(memory_format=torch.channels_last)
    out = model(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_compiles_without_graph_breaks() -> None:
    model = tiny(depth=1).eval()
    x = torch.randn(1, 1, 8, 8)
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    torch.testing.assert_close(compiled(x), model(x))


def two_layer_sections(gen: torch.Generator, n: int = 4, size: int = 32):
    """Sections with a quiet upper layer over a reflective (alternating) lower one, noisy.

    The boundary depth varies per section, so the net must read the texture, not the row.
    """
    rows = torch.arange(size).view(1, size, 1)
    boundary = torch.randint(8, size - 8, (n, 1, 1), generator=gen)
    mask = (rows >= boundary).expand(n, size, size).long()
    texture = torch.where(rows % 2 == 0, 1.0, -1.0).expand(n, size, size)
    x = torch.where(mask.bool(), texture, 0.0) + 0.3 * torch.randn(n, size, size, generator=gen)
    return x.unsqueeze(1), mask


def test_tiny_unet_learns_to_segment_two_layers() -> None:
    gen = torch.Generator().manual_seed(0)
    x, y = two_layer_sections(gen)
    model = tiny(num_classes=2, depth=2, base_channels=4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    x_new, y_new = two_layer_sections(gen, n=8)  # unseen sections
    with torch.no_grad():
        accuracy = (model.eval()(x_new).argmax(1) == y_new).float().mean().item()
    assert accuracy > 0.95

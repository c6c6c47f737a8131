"""The parts of inspection on small networks whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from facies.errors import ConfigError, FaciesError
from facies.inspection import (
    InspectionData,
    ReceptiveField,
    capture,
    cut_sections,
    effective_fields,
    features_at,
    fit_probe,
    inspect_network,
    mass_width,
    parse_section,
    spectral_centroid,
    through,
    unet_receptive_fields,
    unet_stages,
)
from facies.models.lstm import TraceLSTM
from facies.models.unet import UNet


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


def test_stages_of_a_unet_and_their_activation_shapes():
    net = UNet(num_classes=3, depth=2, base_channels=4).eval()
    stages = unet_stages(net)
    assert [s.name for s in stages] == ["enc0", "enc1", "bottleneck", "dec1", "dec0"]
    assert [s.scale for s in stages] == [1, 2, 4, 2, 1]
    assert [s.channels for s in stages] == [4, 8, 16, 8, 4]
    assert [s.kind for s in stages] == ["encoder", "encoder", "bottleneck", "decoder", "decoder"]
    x = torch.randn(2, 1, 32, 48)
    logits, outputs = capture(net, x, stages)
    assert logits.shape == (2, 3, 32, 48)
    for stage in stages:
        assert outputs[stage.name].shape == (
            2,
            stage.channels,
            32 // stage.scale,
            48 // stage.scale,
        )
    # Hooks are gone afterwards and the captured maps are what the network computed.
    assert all(not s.module._forward_hooks for s in stages)
    torch.testing.assert_close(outputs["bottleneck"], net.forward_features(x)[-1])


def test_a_network_that_is_not_a_unet_is_refused():
    with pytest.raises(ConfigError, match="needs a U-Net"):
        unet_stages(TraceLSTM(num_classes=3))


def test_receptive_fields_of_a_small_unet_by_hand():
    # Plain, depth 1. enc0: two 3x3 convs: 1 + 2 + 2 = 5.
    # bottleneck: 2x2 pool (5 + 1 = 6, jump 2), two 3x3 convs (6 + 4 + 4 = 14).
    # dec0: 2x2 stride-2 transposed conv keeps 14 (one input pixel per output pixel),
    # jump back to 1; the skip (5) is smaller; two 3x3 convs: 14 + 2 + 2 = 18. Head 1x1: 18.
    fields = unet_receptive_fields(UNet(depth=1))
    assert {k: v.size for k, v in fields.items()} == {
        "enc0": (5, 5),
        "bottleneck": (14, 14),
        "dec0": (18, 18),
        "head": (18, 18),
    }
    assert fields["bottleneck"].jump == (2, 2) and fields["dec0"].jump == (1, 1)
    # Residual, depth 1: enc0 = 5 (the 1x1 shortcut sees 1); bottleneck: stride-2 3x3
    # (5 + 2 = 7, jump 2) then 3x3 (7 + 4 = 11); dec0: 11, then 11 + 2 + 2 = 15.
    residual = unet_receptive_fields(UNet(depth=1, backbone="residual"))
    assert [residual[k].size[0] for k in ("enc0", "bottleneck", "dec0")] == [5, 11, 15]
    # Bilinear upsampling reads two input pixels: depth 2 plain, bottleneck 32 at jump 4;
    # up: 32 + 4 = 36 at jump 2, convs +4 +4 = 44; up: 44 + 2 = 46, convs +2 +2 = 50.
    bilinear = unet_receptive_fields(UNet(depth=2, upsample="bilinear"))
    assert [bilinear[k].size[0] for k in ("bottleneck", "dec1", "dec0")] == [32, 44, 50]


def test_receptive_field_arithmetic_matches_the_gradient_support():
    """All-positive weights and average pooling: every input in the field moves the output."""
    net = nn.Sequential(
        nn.Conv2d(1, 2, kernel_size=(3, 5), padding=(1, 2)),
        nn.Conv2d(2, 2, 3, stride=2, padding=1),
        nn.AvgPool2d(2),
        nn.Conv2d(2, 1, 3, dilation=2, padding=2),
    )
    for p in net.parameters():
        nn.init.constant_(p, 0.1)
    field = through(net, ReceptiveField())
    # Hand: (3, 5) -> +2*1 -> (5, 7), jump 2 -> +1*2 -> (7, 9), jump 4 -> +2*2*4 -> (23, 25)
    assert field.size == (23, 25) and field.jump == (4, 4)
    x = torch.zeros(1, 1, 64, 64, requires_grad=True)
    out = net(x)
    out[0, 0, 4, 4].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    assert (int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1) == (23, 25)


def test_unknown_layers_are_named():
    with pytest.raises(ConfigError, match="LSTM"):
        through(nn.Sequential(nn.Conv2d(1, 1, 3), nn.LSTM(2, 2)), ReceptiveField())


def test_mass_width():
    assert mass_width(np.ones(100)) == pytest.approx(95.0)
    assert mass_width(np.ones(100), mass=0.5) == pytest.approx(50.0)
    spike = np.zeros(51)
    spike[25] = 1.0
    assert mass_width(spike) == pytest.approx(0.95)
    assert mass_width(np.zeros(10)) == 0.0


def test_effective_field_of_a_linear_stack_fills_its_theoretical_field():
    net = UNet(depth=1, base_channels=2, norm="none").eval()
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.constant_(module.weight, 0.05)
            nn.init.constant_(module.bias, 0.01)
    x = torch.rand(2, 1, 48, 48) + 0.5  # positive: ReLUs pass everything
    fields = effective_fields(net, x, unet_stages(net))
    grad = fields["enc0"].gradient
    rows, cols = np.nonzero(grad)
    assert rows.max() - rows.min() + 1 == 5 and cols.max() - cols.min() + 1 == 5
    assert fields["enc0"].centre == (24, 24)
    assert fields["bottleneck"].centre == (25, 25)  # pixel 12 at scale 2 covers 24-25
    for name, theoretical in unet_receptive_fields(net).items():
        if name in fields:
            assert max(fields[name].extent) <= theoretical.size[0]
    # A smooth (triangular-ish) field: 95 % of the mass is narrower than the support.
    assert fields["dec0"].extent[0] < unet_receptive_fields(net)["dec0"].size[0]


def test_spectral_centroid_of_sinusoids():
    h, w = 64, 128
    rows = torch.arange(h, dtype=torch.float64)[:, None]
    cols = torch.arange(w, dtype=torch.float64)[None, :]
    vertical = torch.cos(2 * np.pi * 0.125 * rows).expand(h, w)  # 8 cycles over 64 samples
    lateral = torch.cos(2 * np.pi * 0.25 * cols).expand(h, w)
    c = spectral_centroid(vertical[None])
    assert c.vertical == pytest.approx(0.125) and c.lateral == pytest.approx(0.0, abs=1e-9)
    assert c.radial == pytest.approx(0.125)
    c = spectral_centroid(torch.stack([lateral, lateral]), scale=4)
    assert c.lateral == pytest.approx(0.25 / 4) and c.radial_native == pytest.approx(0.25)
    assert spectral_centroid(torch.ones(3, 8, 8)).radial == 0.0
    # Lower frequencies give a lower centroid.
    slow = torch.cos(2 * np.pi * 0.03125 * rows).expand(h, w)
    assert spectral_centroid(slow[None]).radial < spectral_centroid(vertical[None]).radial


def test_features_at_equals_upsampling_then_indexing():
    maps = torch.randn(5, 6, 10)
    up = F.interpolate(maps[None], size=(24, 40), mode="bilinear", align_corners=False)[0]
    rows = torch.tensor([0, 3, 11, 23, 17])
    cols = torch.tensor([0, 39, 5, 20, 33])
    torch.testing.assert_close(features_at(maps, rows, cols, (24, 40)), up[:, rows, cols].T)


def test_probe_separates_separable_classes_and_not_noise():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (600,), generator=g)
    centres = torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    x = centres[labels] + torch.randn(600, 2, generator=g)
    good = fit_probe(x[:300], labels[:300], x[300:], labels[300:], 3)
    assert good.accuracy > 0.95 and good.miou > 0.9
    assert good.confusion.sum() == 300
    noise = torch.randn(600, 2, generator=g)
    bad = fit_probe(noise[:300], labels[:300], noise[300:], labels[300:], 3)
    assert bad.accuracy < 0.5
    with pytest.raises(FaciesError, match="labelled pixels"):
        fit_probe(x[:0], labels[:0], x, labels, 3)


def test_cut_sections_orients_samples_down_and_pads():
    amplitude = torch.arange(3 * 5 * 7, dtype=torch.float32).reshape(3, 5, 7)
    labels = torch.zeros(3, 5, 7, dtype=torch.int64)
    sections = cut_sections(amplitude, labels, "inline", [1, 2], 4, -100)
    assert sections.images.shape == (2, 1, 8, 8) and sections.valid == (7, 5)
    torch.testing.assert_close(sections.images[0, 0, :7, :5], amplitude[1].T)
    assert (sections.masks[:, 7:, :] == -100).all() and (sections.masks[:, :, 5:] == -100).all()
    crossline = cut_sections(amplitude, labels, "crossline", [4], 1, -100)
    torch.testing.assert_close(crossline.images[0, 0], amplitude[:, 4].T)
    assert crossline.valid == (7, 3)


def test_parse_section():
    inlines, crosslines = np.arange(100, 110), np.arange(5, 25, 2)
    assert parse_section("inline:103", inlines, crosslines) == ("inline", 3)
    assert parse_section("crossline:9", inlines, crosslines) == ("crossline", 2)
    assert parse_section(None, inlines, crosslines) is None
    with pytest.raises(ConfigError, match="inlines run from 100 to 109"):
        parse_section("inline:99", inlines, crosslines)
    with pytest.raises(ConfigError, match="section=inline:N"):
        parse_section("timeslice:3", inlines, crosslines)


def _tiny_inspection_data() -> InspectionData:
    """Sections whose label is the sign of a smoothed amplitude: learnable, tiny."""
    g = torch.Generator().manual_seed(0)
    amplitude = torch.randn(12, 32, 32, generator=g)
    labels = (F.avg_pool2d(amplitude[None], 5, 1, 2)[0] > 0).long()
    sections = lambda rows: cut_sections(amplitude, labels, "inline", rows, 4, -100)  # noqa: E731
    return InspectionData(
        sections([6]),
        sections([0, 2, 4]),
        sections([8, 10]),
        sections([9, 11]),
        ["low", "high"],
        -100,
    )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_inspect_network_on_cuda_matches_cpu():
    data = _tiny_inspection_data()
    torch.manual_seed(0)
    net = UNet(num_classes=2, depth=2, base_channels=4).eval()
    cpu = inspect_network(net, data, probe_pixels=500)
    gpu = inspect_network(net.to("cuda"), data, probe_pixels=500)
    for a, b in zip(cpu.stages, gpu.stages, strict=True):
        assert a.theoretical_field == b.theoretical_field
        assert a.effective_field == pytest.approx(b.effective_field, rel=1e-3)
        assert a.centroid.radial == pytest.approx(b.centroid.radial, rel=1e-3)
        assert a.probe.accuracy == pytest.approx(b.probe.accuracy, abs=0.02)


def test_inspect_network_on_tiny_sections():
    data = _tiny_inspection_data()
    torch.manual_seed(0)
    result = inspect_network(
        UNet(num_classes=2, depth=2, base_channels=4), data, channels=3, probe_pixels=500
    )
    assert [s.name for s in result.stages] == [
        "input",
        "enc0",
        "enc1",
        "bottleneck",
        "dec1",
        "dec0",
    ]
    assert result.activations["enc1"].shape == (3, 16, 16)
    assert set(result.fields) == {"enc0", "enc1", "bottleneck", "dec1", "dec0"}
    for stage in result.stages:
        assert stage.probe.confusion.sum() == 500
        assert 0 <= stage.probe.miou <= 1

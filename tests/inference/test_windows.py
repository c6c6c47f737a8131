"""Blending is a partition of unity, and one window is one forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facies.errors import ConfigError
from facies.inference.sections import predict_sections
from facies.inference.windows import blend_weights, taper, window_starts
from facies.models import UNet


@pytest.mark.parametrize("shape", [(64, 64), (70, 45), (16, 100), (5, 7)])
@pytest.mark.parametrize("overlap", [0.25, 0.5, 0.75])
def test_blend_weights_sum_to_one_everywhere(shape, overlap):
    weights = blend_weights(shape, (16, 16), overlap)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-9)
    assert weights.shape[1:] == shape


def test_windows_cover_every_sample_with_the_overlap_asked():
    starts = window_starts(100, 16, 0.25)
    assert starts[0] == 0 and starts[-1] == 100 - 16
    assert np.all(np.diff(starts) <= 12)
    with pytest.raises(ConfigError, match=r"overlap must be in \[0, 1\)"):
        window_starts(100, 16, 1.0)


def test_taper_is_smooth_and_positive():
    t = taper(32)
    assert t.min() > 0 and t.argmax() in (15, 16)
    assert np.abs(np.diff(t)).max() < 0.15


def test_a_section_that_fits_one_window_equals_one_forward_pass():
    torch.manual_seed(0)
    net = UNet(num_classes=4, depth=2, base_channels=4).eval()
    sections = np.random.default_rng(0).standard_normal((3, 16, 24)).astype(np.float32)
    tiled = predict_sections(net, sections, (16, 24), 0.5, 4)
    with torch.no_grad():
        direct = net(torch.from_numpy(sections)[:, None]).softmax(1).numpy()
    np.testing.assert_allclose(tiled, direct, atol=1e-5)


def test_tiled_probabilities_are_probabilities_on_odd_shapes():
    torch.manual_seed(0)
    net = UNet(num_classes=3, depth=2, base_channels=4).eval()
    sections = np.random.default_rng(1).standard_normal((2, 37, 29)).astype(np.float32)
    probs = predict_sections(net, sections, (16, 16), 0.5, 3)
    assert probs.shape == (2, 3, 37, 29)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)

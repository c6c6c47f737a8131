"""Whole sections: facies, confidence and probabilities as evaluation's forward pass gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facies.inference.sections import classify_whole
from facies.models import UNet


@pytest.mark.parametrize("per_forward", [1, 2, 4])
def test_whole_sections_reduce_to_evaluations_argmax(per_forward):
    torch.manual_seed(0)
    net = UNet(num_classes=3, depth=2, base_channels=4).eval()
    sections = torch.from_numpy(np.random.default_rng(0).standard_normal((5, 13, 10)))
    sections = sections.float()
    facies, confidence, probs = classify_whole(net, sections, 4, per_forward, True)
    with torch.no_grad():  # padded with zeros after the last sample and trace, as Volume.cut
        logits = net(F.pad(sections, (0, 2, 0, 3))[:, None])[:, :, :13, :10]
    assert facies.dtype == torch.int16 and facies.shape == (5, 10, 13)  # the store's layout
    torch.testing.assert_close(facies.long(), logits.argmax(1).transpose(1, 2))
    expected = logits.softmax(1).permute(1, 0, 3, 2)
    torch.testing.assert_close(probs, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(confidence, expected.max(0).values, atol=1e-6, rtol=0)
    again = classify_whole(net, sections, 4, per_forward, False)
    assert again[2] is None
    torch.testing.assert_close(again[0], facies, atol=0, rtol=0)
    torch.testing.assert_close(again[1], confidence, atol=0, rtol=0)

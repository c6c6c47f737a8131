"""The trace-sequence baseline model."""

from __future__ import annotations

import pytest
import torch

from facies.errors import ConfigError
from facies.models import build_model
from facies.models.lstm import TraceLSTM


@pytest.mark.parametrize("neighbourhood,channels", [(0, 1), (1, 9), (2, 25)])
def test_logits_per_sample_for_each_neighbourhood(neighbourhood, channels):
    net = TraceLSTM(num_classes=5, neighbourhood=neighbourhood, hidden_size=8, num_layers=1)
    assert net.in_channels == channels
    assert net(torch.randn(3, channels, 40)).shape == (3, 5, 40)


def test_registered_and_checked():
    net = build_model("lstm", num_classes=4, hidden_size=8)
    assert isinstance(net, TraceLSTM) and net.lstm.bidirectional
    with pytest.raises(ConfigError, match=r"expects \(N, 1, samples\)"):
        net(torch.randn(2, 3, 10))
    with pytest.raises(ConfigError, match="hidden_size >= 1"):
        TraceLSTM(hidden_size=0)


def test_bidirectional_sees_below_and_unidirectional_does_not():
    torch.manual_seed(0)
    x = torch.randn(1, 1, 30, requires_grad=True)
    for bidirectional, below in ((True, True), (False, False)):
        net = TraceLSTM(num_classes=2, hidden_size=8, num_layers=1, bidirectional=bidirectional)
        net(x)[0, :, 10].sum().backward()
        assert bool(x.grad[0, 0, 11:].abs().sum() > 0) is below
        x.grad = None

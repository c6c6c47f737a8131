"""The trace-sequence baseline: a bidirectional LSTM that sees one trace at a time.

Input ``(N, channels, samples)``: the trace alone (1 channel) or a square neighbourhood
of traces around it (``(2r+1)**2`` channels), so one can measure how much lateral
context matters. Output: class logits per sample, ``(N, num_classes, samples)``.
Uses ``torch.nn.LSTM`` (cuDNN on a GPU); :mod:`facies.models.lstm_cell` holds the same
cell written out gate by gate, tested to match it.
"""

from __future__ import annotations

from torch import Tensor, nn

from facies.errors import ConfigError
from facies.names import TRACES


class TraceLSTM(nn.Module):
    """LSTM over the sample axis with a per-sample linear head.

    Args:
        num_classes: facies classes.
        neighbourhood: radius r of the square of traces fed as channels (0: the trace).
        hidden_size: LSTM state size per direction.
        num_layers: stacked LSTM layers.
        bidirectional: read the trace downwards and upwards.
        dropout: between LSTM layers.
    """

    #: What the network reads: one trace (or its neighbourhood) at a time.
    consumes = TRACES
    size_multiple = 1

    def __init__(
        self,
        num_classes: int = 2,
        neighbourhood: int = 0,
        hidden_size: int = 64,
        num_layers: int = 2,
        bidirectional: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if neighbourhood < 0 or hidden_size < 1 or num_layers < 1:
            raise ConfigError(
                f"LSTM needs neighbourhood >= 0, hidden_size >= 1 and num_layers >= 1; got "
                f"{neighbourhood}, {hidden_size}, {num_layers}."
            )
        self.neighbourhood = neighbourhood
        self.in_channels = (2 * neighbourhood + 1) ** 2
        self.lstm = nn.LSTM(
            self.in_channels,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, traces: Tensor) -> Tensor:
        """Logits ``(N, num_classes, samples)`` for traces ``(N, channels, samples)``."""
        if traces.ndim != 3 or traces.shape[1] != self.in_channels:
            raise ConfigError(
                f"TraceLSTM expects (N, {self.in_channels}, samples), got {tuple(traces.shape)}"
            )
        states, _ = self.lstm(traces.transpose(1, 2))
        return self.head(states).transpose(1, 2)

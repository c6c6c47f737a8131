"""The LSTM written out gate by gate, as in the lecture, to check and to look inside.

For one layer and one direction, with ``[h, x]`` the concatenation of the previous
hidden state and the current input::

    f_t  = sigmoid(W_f [h_{t-1}, x_t] + b_f)      forget gate
    i_t  = sigmoid(W_i [h_{t-1}, x_t] + b_i)      input gate
    c~_t = tanh(W_c [h_{t-1}, x_t] + b_c)         candidate
    o_t  = sigmoid(W_o [h_{t-1}, x_t] + b_o)      output gate
    c_t  = f_t * c_{t-1} + i_t * c~_t             cell state: no weight matrix on this path
    h_t  = o_t * tanh(c_t)

Training uses ``torch.nn.LSTM`` (fused, fast). :class:`ExplicitLSTM` computes the
same function with plain tensor operations; :meth:`ExplicitLSTM.from_torch` copies a
trained ``nn.LSTM`` into it, so the gates of a real model can be recorded and plotted.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from facies.errors import ConfigError

#: Names of the recorded per-step tensors, each (batch, time, hidden).
RECORDED = ("f", "i", "candidate", "o", "c", "h")
#: Row blocks of torch's packed ``weight_ih``/``weight_hh``/biases, in torch's order.
TORCH_GATE_ORDER = ("i", "f", "candidate", "o")


class LSTMCell(nn.Module):
    """One layer, one direction: the four gates, each its own ``W [h, x] + b``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        width = hidden_size + input_size
        self.hidden_size = hidden_size
        self.forget = nn.Linear(width, hidden_size, bias=bias)
        self.input = nn.Linear(width, hidden_size, bias=bias)
        self.candidate = nn.Linear(width, hidden_size, bias=bias)
        self.output = nn.Linear(width, hidden_size, bias=bias)

    def gate(self, name: str) -> nn.Linear:
        """The linear map of gate ``name`` (``f``, ``i``, ``candidate`` or ``o``)."""
        names = {"f": "forget", "i": "input", "candidate": "candidate", "o": "output"}
        return getattr(self, names[name])

    def forward(self, x: Tensor, h: Tensor, c: Tensor) -> dict[str, Tensor]:
        """One time step: ``x`` (batch, input), ``h`` and ``c`` (batch, hidden)."""
        hx = torch.cat([h, x], dim=1)
        f = torch.sigmoid(self.forget(hx))
        i = torch.sigmoid(self.input(hx))
        candidate = torch.tanh(self.candidate(hx))
        o = torch.sigmoid(self.output(hx))
        c = f * c + i * candidate
        h = o * torch.tanh(c)
        return {"f": f, "i": i, "candidate": candidate, "o": o, "c": c, "h": h}

    def sequence(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[list[dict[str, Tensor]], Tensor]:
        """Run over ``x`` (batch, time, input) from step 0; the states of every step."""
        steps = []
        for t in range(x.shape[1]):
            state = self(x[:, t], h, c)
            h, c = state["h"], state["c"]
            steps.append(state)
        return steps, torch.stack([s["h"] for s in steps], dim=1)


class ExplicitLSTM(nn.Module):
    """A drop-in for ``torch.nn.LSTM`` (no dropout, no projection), gate by gate.

    Args:
        input_size: features per time step.
        hidden_size: units per layer and direction.
        num_layers: stacked layers; layer k > 0 reads the outputs of layer k - 1.
        bidirectional: add a direction that reads the sequence backwards.
        batch_first: inputs and outputs are (batch, time, features) rather than
            (time, batch, features).
        bias: learn the ``b`` of each gate.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        batch_first: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if min(input_size, hidden_size, num_layers) < 1:
            raise ConfigError(
                f"ExplicitLSTM needs positive sizes, got input_size={input_size}, "
                f"hidden_size={hidden_size}, num_layers={num_layers}."
            )
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bidirectional, self.batch_first = bidirectional, batch_first
        self.directions = 2 if bidirectional else 1
        self.cells = nn.ModuleList(
            LSTMCell(input_size if layer == 0 else hidden_size * self.directions, hidden_size, bias)
            for layer in range(num_layers)
            for _ in range(self.directions)
        )
        #: Gates of the last ``forward(..., record=True)``, detached; see :meth:`forward`.
        self.recorded: dict[str, Tensor] | None = None

    def cell(self, layer: int, reverse: bool = False) -> LSTMCell:
        """The cell of ``layer`` in the forward (or, with ``reverse``, backward) direction."""
        return self.cells[layer * self.directions + int(reverse)]

    def forward(
        self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None, record: bool = False
    ) -> tuple[Tensor, tuple[Tensor, Tensor]] | tuple[Tensor, tuple[Tensor, Tensor], dict]:
        """Run the stack over a batch of sequences, like ``nn.LSTM.forward``.

        Args:
            x: (batch, time, input) with ``batch_first``, else (time, batch, input).
            hx: optional initial ``(h_0, c_0)``, each (layers * directions, batch, hidden);
                zeros when omitted.
            record: also return the gates of layer 0, forward direction.

        Returns:
            ``(output, (h_n, c_n))`` shaped as ``nn.LSTM`` gives them, and with
            ``record`` a third item: a dict with ``f``, ``i``, ``candidate`` (c~), ``o``,
            ``c`` and ``h``, each (batch, time, hidden), the values at every step of
            layer 0's forward direction, plus ``c0`` (batch, hidden), the cell state
            before step 0. These keep their graph (gradients flow through them); a
            detached copy stays in :attr:`recorded`.
        """
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ConfigError(
                f"ExplicitLSTM expects a 3-D input with {self.input_size} features last, "
                f"got shape {tuple(x.shape)}; add a batch axis or fix input_size."
            )
        seq = x if self.batch_first else x.transpose(0, 1)
        batch = seq.shape[0]
        shape = (self.num_layers * self.directions, batch, self.hidden_size)
        if hx is None:
            zeros = seq.new_zeros(shape)
            h0, c0 = zeros, zeros
        else:
            h0, c0 = hx
        h_n, c_n, gates = [], [], None
        for layer in range(self.num_layers):
            outputs = []
            for reverse in (False, True)[: self.directions]:
                k = layer * self.directions + int(reverse)
                inputs = seq.flip(1) if reverse else seq
                steps, out = self.cell(layer, reverse).sequence(inputs, h0[k], c0[k])
                h_n.append(steps[-1]["h"])
                c_n.append(steps[-1]["c"])
                outputs.append(out.flip(1) if reverse else out)
                if k == 0 and record:
                    gates = {n: torch.stack([s[n] for s in steps], dim=1) for n in RECORDED}
                    gates["c0"] = c0[0]
            seq = torch.cat(outputs, dim=2)
        output = seq if self.batch_first else seq.transpose(0, 1)
        state = (torch.stack(h_n), torch.stack(c_n))
        if not record:
            return output, state
        self.recorded = {name: value.detach() for name, value in gates.items()}
        return output, state, gates

    @classmethod
    def from_torch(cls, lstm: nn.LSTM) -> ExplicitLSTM:
        """An :class:`ExplicitLSTM` computing exactly what ``lstm`` computes (in eval mode).

        ``nn.LSTM`` packs the gates as row blocks (i, f, g, o) of ``weight_ih_l{k}``
        (acting on x) and ``weight_hh_l{k}`` (acting on h), with two biases that add;
        ``_reverse`` names the backward direction. Here each gate's ``W`` acts on
        ``[h, x]``, so ``W = [weight_hh | weight_ih]`` and ``b = bias_ih + bias_hh``.
        Dropout between layers acts only in training and is not copied.
        """
        if getattr(lstm, "proj_size", 0):
            raise ConfigError(
                f"ExplicitLSTM has no projection; got an nn.LSTM with proj_size="
                f"{lstm.proj_size}. Use proj_size=0."
            )
        explicit = cls(
            lstm.input_size,
            lstm.hidden_size,
            lstm.num_layers,
            lstm.bidirectional,
            lstm.batch_first,
            lstm.bias,
        )
        explicit.to(device=lstm.weight_ih_l0.device, dtype=lstm.weight_ih_l0.dtype)
        hidden = lstm.hidden_size
        with torch.no_grad():
            for layer in range(lstm.num_layers):
                for reverse in (False, True)[: explicit.directions]:
                    suffix = f"l{layer}" + ("_reverse" if reverse else "")
                    w_ih = getattr(lstm, f"weight_ih_{suffix}")
                    w_hh = getattr(lstm, f"weight_hh_{suffix}")
                    cell = explicit.cell(layer, reverse)
                    for block, name in enumerate(TORCH_GATE_ORDER):
                        rows = slice(block * hidden, (block + 1) * hidden)
                        gate = cell.gate(name)
                        gate.weight.copy_(torch.cat([w_hh[rows], w_ih[rows]], dim=1))
                        if lstm.bias:
                            b_ih = getattr(lstm, f"bias_ih_{suffix}")
                            b_hh = getattr(lstm, f"bias_hh_{suffix}")
                            gate.bias.copy_(b_ih[rows] + b_hh[rows])
        return explicit

    def torch_layout(self, grad: bool = False) -> dict[str, Tensor]:
        """Parameters (or, with ``grad``, their gradients) packed under ``nn.LSTM``'s names.

        The inverse of :meth:`from_torch`: ``weight_ih_l{k}`` and ``weight_hh_l{k}``
        stack the gates' blocks in torch's (i, f, g, o) order. Both ``bias_ih`` and
        ``bias_hh`` are given the gates' bias, whose gradient is what each of torch's
        two biases receives.
        """
        layout: dict[str, Tensor] = {}
        for layer in range(self.num_layers):
            for reverse in (False, True)[: self.directions]:
                suffix = f"l{layer}" + ("_reverse" if reverse else "")
                cell = self.cell(layer, reverse)
                gates = [cell.gate(name) for name in TORCH_GATE_ORDER]
                weights = torch.cat([_value(g.weight, grad) for g in gates])
                layout[f"weight_ih_{suffix}"] = weights[:, self.hidden_size :]
                layout[f"weight_hh_{suffix}"] = weights[:, : self.hidden_size]
                if gates[0].bias is not None:
                    bias = torch.cat([_value(g.bias, grad) for g in gates])
                    layout[f"bias_ih_{suffix}"] = bias
                    layout[f"bias_hh_{suffix}"] = bias
        return layout


def _value(param: nn.Parameter, grad: bool) -> Tensor:
    """The parameter's data, or its gradient (zeros where backward has not reached it)."""
    if not grad:
        return param.detach()
    return param.grad if param.grad is not None else torch.zeros_like(param)

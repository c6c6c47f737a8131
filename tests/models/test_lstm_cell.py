"""The explicit-gate LSTM computes exactly what torch.nn.LSTM computes, gradients included."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from facies.errors import ConfigError
from facies.models.lstm_cell import RECORDED, ExplicitLSTM

# float64 so that "exactly" means 1e-5 with a wide margin, not float32 rounding.
DTYPE = torch.float64
TOL = 1e-5
BATCH, STEPS, FEATURES, HIDDEN = 3, 7, 2, 5


def pair(num_layers: int, bidirectional: bool, batch_first: bool = True):
    """A seeded nn.LSTM with non-zero biases everywhere, and its explicit copy."""
    torch.manual_seed(0)
    lstm = nn.LSTM(
        FEATURES,
        HIDDEN,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
    ).to(DTYPE)
    with torch.no_grad():  # torch's init is small; spread the gates out so all regimes show
        for param in lstm.parameters():
            param.uniform_(-0.8, 0.8)
    return lstm, ExplicitLSTM.from_torch(lstm)


def sequences(batch_first: bool = True) -> torch.Tensor:
    torch.manual_seed(1)
    x = torch.randn(BATCH, STEPS, FEATURES, dtype=DTYPE)
    return x if batch_first else x.transpose(0, 1).contiguous()


CONFIGS = [(layers, bi) for layers in (1, 2) for bi in (False, True)]


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize(("num_layers", "bidirectional"), CONFIGS)
def test_outputs_and_final_states_match_torch(
    num_layers: int, bidirectional: bool, batch_first: bool
) -> None:
    lstm, explicit = pair(num_layers, bidirectional, batch_first)
    x = sequences(batch_first)
    out, (h_n, c_n) = lstm(x)
    out_e, (h_e, c_e) = explicit(x)
    assert out_e.shape == out.shape
    assert h_e.shape == h_n.shape == (num_layers * (2 if bidirectional else 1), BATCH, HIDDEN)
    torch.testing.assert_close(out_e, out, rtol=0, atol=TOL)
    torch.testing.assert_close(h_e, h_n, rtol=0, atol=TOL)
    torch.testing.assert_close(c_e, c_n, rtol=0, atol=TOL)


@pytest.mark.parametrize(("num_layers", "bidirectional"), CONFIGS)
def test_gradients_match_torch_for_input_and_every_parameter(
    num_layers: int, bidirectional: bool
) -> None:
    lstm, explicit = pair(num_layers, bidirectional)
    x = sequences().requires_grad_()
    x_e = x.detach().clone().requires_grad_()
    torch.manual_seed(2)
    weights = torch.randn(BATCH, STEPS, HIDDEN * (2 if bidirectional else 1), dtype=DTYPE)

    def loss(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        out, (h_n, c_n) = model(inputs)
        return (out * weights).sum() + h_n.pow(2).sum() + c_n.sin().sum()

    loss(lstm, x).backward()
    loss(explicit, x_e).backward()
    torch.testing.assert_close(x_e.grad, x.grad, rtol=0, atol=TOL)
    grads = explicit.torch_layout(grad=True)
    names = [name for name, _ in lstm.named_parameters()]
    assert sorted(grads) == sorted(names)
    for name, param in lstm.named_parameters():
        torch.testing.assert_close(grads[name], param.grad, rtol=0, atol=TOL, msg=name)


def test_initial_state_is_used_like_torch() -> None:
    lstm, explicit = pair(2, True)
    torch.manual_seed(3)
    h0, c0 = (torch.randn(4, BATCH, HIDDEN, dtype=DTYPE) for _ in range(2))
    out, (h_n, c_n) = lstm(sequences(), (h0, c0))
    out_e, (h_e, c_e) = explicit(sequences(), (h0, c0))
    torch.testing.assert_close(out_e, out, rtol=0, atol=TOL)
    torch.testing.assert_close(h_e, h_n, rtol=0, atol=TOL)
    torch.testing.assert_close(c_e, c_n, rtol=0, atol=TOL)


def test_torch_layout_round_trips_the_weights() -> None:
    lstm, explicit = pair(2, True)
    layout = explicit.torch_layout()
    for name, param in lstm.named_parameters():
        if name.startswith("bias"):  # only the sum of the two biases is kept
            other = name.replace("_ih_", "_hh_") if "_ih_" in name else name.replace("_hh_", "_ih_")
            param = param + dict(lstm.named_parameters())[other]
        torch.testing.assert_close(layout[name], param.detach(), rtol=0, atol=1e-12)


def test_recorded_gates_have_shapes_ranges_and_obey_the_cell_update() -> None:
    _, explicit = pair(2, True)
    x = sequences()
    _, (h_n, c_n), gates = explicit(x, record=True)
    assert set(gates) == {*RECORDED, "c0"}
    for name in RECORDED:
        assert gates[name].shape == (BATCH, STEPS, HIDDEN), name
    for name in ("f", "i", "o"):  # sigmoid gates
        assert gates[name].min() > 0 and gates[name].max() < 1, name
    assert gates["candidate"].abs().max() < 1
    f, i, candidate, o, c, h = (gates[name] for name in RECORDED)
    c_prev = torch.cat([gates["c0"][:, None], c[:, :-1]], dim=1)
    torch.testing.assert_close(c, f * c_prev + i * candidate, rtol=0, atol=1e-12)
    torch.testing.assert_close(h, o * torch.tanh(c), rtol=0, atol=1e-12)
    # Layer 0, forward direction: its last h and c are the first of h_n and c_n.
    torch.testing.assert_close(h[:, -1], h_n[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(c[:, -1], c_n[0], rtol=0, atol=1e-12)
    assert explicit.recorded is not None and not explicit.recorded["c"].requires_grad
    # A single layer's recorded h is the output itself.
    _, explicit_one = pair(1, False)
    out, _, gates = explicit_one(x, record=True)
    torch.testing.assert_close(gates["h"], out, rtol=0, atol=0)


def test_recording_does_not_change_the_result() -> None:
    _, explicit = pair(1, True)
    plain, _ = explicit(sequences())
    recorded, _, _ = explicit(sequences(), record=True)
    torch.testing.assert_close(recorded, plain, rtol=0, atol=0)


def test_wrong_input_shape_says_what_was_expected() -> None:
    explicit = ExplicitLSTM(FEATURES, HIDDEN)
    with pytest.raises(ConfigError, match=r"3-D input with 2 features.*\(7, 2\)"):
        explicit(torch.zeros(STEPS, FEATURES))
    with pytest.raises(ConfigError, match="proj_size=2"):
        ExplicitLSTM.from_torch(nn.LSTM(FEATURES, HIDDEN, proj_size=2))

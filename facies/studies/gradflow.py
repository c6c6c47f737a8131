"""How far back along a trace can a gradient reach? A plain RNN against an LSTM.

The lecture's claim, measured: backpropagating through time, a tanh RNN multiplies the
gradient by the same recurrent Jacobian at every step, so it shrinks geometrically;
the LSTM's cell state is updated by element-wise operations only
(``c_t = f_t * c_{t-1} + i_t * c~_t``), so along that path the gradient is scaled by
the forget gates alone, and where they are near one it survives.

Both models are measured at initialisation, on the same traces, with the same hidden
size: the loss is the sum of the hidden state at the last sample T, and for each
distance t we take ``||dL/dx_{T-t}||`` per trace, averaged over the traces.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from facies.errors import ConfigError

log = logging.getLogger(__name__)

#: LSTM initialisations :func:`gradient_flow` knows; see :func:`init_lstm`.
INITS = ("chrono", "forget_bias", "torch")
#: The forget-gate bias of ``init="forget_bias"`` (Jozefowicz et al., 2015).
FORGET_BIAS = 1.0


def init_lstm(lstm: nn.LSTM, init: str, length: int, generator: torch.Generator) -> None:
    """Set the gate biases of ``lstm`` in place; the weights keep torch's default init.

    Args:
        lstm: a fresh ``nn.LSTM``.
        init: ``"torch"`` leaves torch's default (every bias U(-1/sqrt(H), 1/sqrt(H)), so
            forget gates start near 0.5 and the cell halves its memory every step);
            ``"forget_bias"`` sets the forget bias to 1 (Jozefowicz et al., 2015, "An
            empirical exploration of recurrent network architectures"), f near 0.73;
            ``"chrono"`` is the chrono initialisation of Tallec & Ollivier (2018, "Can
            recurrent neural networks warp time?"): ``b_f = log(u)``, ``u ~ U(1, length - 1)``
            and ``b_i = -b_f``, so the units' memory times spread over 1 to ``length``
            samples, the span the model is meant to look over.
        length: the longest dependency to expect, in samples (the trace length).
        generator: the random source of the chrono biases.
    """
    if init not in INITS:
        raise ConfigError(f"unknown LSTM init {init!r}; use one of {', '.join(INITS)}.")
    if init == "torch":
        return
    hidden = lstm.hidden_size
    forget, gate_in = slice(hidden, 2 * hidden), slice(0, hidden)  # torch packs i, f, g, o
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            for suffix in ("", "_reverse")[: 2 if lstm.bidirectional else 1]:
                b_ih = getattr(lstm, f"bias_ih_l{layer}{suffix}")
                b_hh = getattr(lstm, f"bias_hh_l{layer}{suffix}")
                b_hh[forget] = 0.0  # the two biases add: keep the whole value in one
                if init == "forget_bias":
                    b_ih[forget] = FORGET_BIAS
                    continue
                u = torch.rand(hidden, generator=generator, dtype=torch.float64)
                b_f = torch.log(1 + u * max(length - 2, 0))
                b_ih[forget] = b_f.to(b_ih.dtype)
                b_ih[gate_in] = -b_f.to(b_ih.dtype)
                b_hh[gate_in] = 0.0


def as_traces(traces: Tensor | np.ndarray) -> Tensor:
    """``traces`` as a float64 tensor (batch, time, 1); (batch, time) is accepted too."""
    x = torch.as_tensor(np.asarray(traces) if not isinstance(traces, Tensor) else traces)
    if x.dim() == 2:
        x = x[..., None]
    if x.dim() != 3 or x.shape[-1] != 1 or x.shape[0] < 1 or x.shape[1] < 2:
        raise ConfigError(
            f"traces must be (traces, samples) or (traces, samples, 1) with at least 2 "
            f"samples, got shape {tuple(x.shape)}."
        )
    x = x.detach().to(torch.float64)
    if not torch.isfinite(x).all():
        raise ConfigError("traces hold NaN or infinite values; clean or clip them first.")
    return x


def unit_rms_traces(amplitude: np.ndarray, count: int, length: int, seed: int = 0) -> np.ndarray:
    """``count`` traces drawn at random (seeded) from a cube, cut to ``length``, unit RMS.

    Args:
        amplitude: (..., samples), e.g. an (inline, crossline, sample) cube.
        count: traces to draw, without replacement.
        length: samples kept from the top of each trace.
        seed: the draw is a pure function of the cube and this seed.

    Raises:
        ConfigError: too few live (non-zero) traces, or traces shorter than ``length``.
    """
    flat = np.asarray(amplitude, dtype=np.float64).reshape(-1, np.shape(amplitude)[-1])
    if length < 2 or flat.shape[1] < length:
        raise ConfigError(
            f"length={length} samples asked for traces of {flat.shape[1]} samples; "
            f"use a length from 2 to {flat.shape[1]}."
        )
    flat = flat[:, :length]
    rms = np.sqrt(np.mean(flat**2, axis=1))
    live = np.flatnonzero(rms > 0)
    if count < 1 or count > len(live):
        raise ConfigError(
            f"traces={count} asked for, but the input has {len(live)} live traces; "
            f"use traces=1..{len(live)}."
        )
    pick = np.sort(np.random.default_rng(seed).choice(live, size=count, replace=False))
    return (flat[pick] / rms[pick, None]).astype(np.float32)


def _input_gradients(model: nn.Module, x: Tensor) -> list[float]:
    """Mean over traces of ``||dL/dx_{T-t}||`` for t = 0..T-1, L = sum of h at step T."""
    x = x.clone().requires_grad_()
    output, _ = model(x)
    output[:, -1].sum().backward()
    norms = x.grad.norm(dim=2).mean(dim=0)  # (time,)
    return norms.flip(0).tolist()  # index t: t samples before the last


def gradient_flow(
    traces: Tensor | np.ndarray, hidden_size: int = 32, seed: int = 0, init: str = "chrono"
) -> dict[str, list]:
    """Gradient norm against distance along the trace, for a tanh RNN and an LSTM.

    Both models are fresh: the RNN with torch's default init, the LSTM with the
    weights of torch's default init and the gate biases of ``init`` (see
    :func:`init_lstm`; ``"chrono"`` by default, because at torch's default the forget
    gates sit near 0.5 and the LSTM's advantage shows only once they are trained). They
    run in float64 so that the RNN's tiny gradients do not underflow.

    Args:
        traces: (traces, samples[, 1]) amplitudes, best normalised (e.g. unit RMS).
        hidden_size: units of both models.
        seed: seeds both models; the result is a pure function of the inputs.
        init: the LSTM initialisation, one of :data:`INITS`.

    Returns:
        Plain lists: ``distance`` (0..T-1 samples back from the last sample), ``rnn``
        and ``lstm`` (mean gradient norm at each distance); plus ``hidden_size``,
        ``seed``, ``init`` and ``traces`` (the count).
    """
    x = as_traces(traces)
    if hidden_size < 1:
        raise ConfigError(f"hidden_size must be positive, got {hidden_size}.")
    torch.manual_seed(seed)
    rnn = nn.RNN(1, hidden_size, nonlinearity="tanh", batch_first=True).to(torch.float64)
    torch.manual_seed(seed)
    lstm = nn.LSTM(1, hidden_size, batch_first=True).to(torch.float64)
    init_lstm(lstm, init, x.shape[1], torch.Generator().manual_seed(seed))
    result = {
        "distance": list(range(x.shape[1])),
        "rnn": _input_gradients(rnn, x),
        "lstm": _input_gradients(lstm, x),
        "hidden_size": hidden_size,
        "seed": seed,
        "init": init,
        "traces": int(x.shape[0]),
    }
    log.info("gradient flow over %d traces of %d samples", x.shape[0], x.shape[1])
    return result


def decay(result: dict, distance: int) -> dict[str, float]:
    """``grad(t = distance) / grad(t = 0)`` for each model, and its log10.

    Raises:
        ConfigError: ``distance`` is not one of the measured distances.
    """
    distances = result["distance"]
    if distance not in distances:
        raise ConfigError(
            f"distance {distance} was not measured; choose 0 to {distances[-1]} samples "
            "or use longer traces."
        )
    k = distances.index(distance)
    summary: dict[str, float] = {"distance": distance}
    for model in ("rnn", "lstm"):
        ratio = result[model][k] / result[model][0] if result[model][0] > 0 else 0.0
        summary[model] = ratio
        summary[f"{model}_log10"] = math.log10(ratio) if ratio > 0 else -math.inf
    return summary


def plot_gradient_flow(result: dict, path: str | Path) -> Path:
    """Both curves against distance, log-scale y, written to ``path`` (PNG)."""
    from facies.plots import figure

    path = Path(path)
    fig = figure((6.4, 4.2))
    ax = fig.subplots()
    for model, label in (("rnn", "tanh RNN"), ("lstm", f"LSTM ({result.get('init', '')} init)")):
        values = np.asarray(result[model], dtype=np.float64)
        shown = np.where(values > 0, values, np.nan)  # log scale: underflowed values drop out
        ax.plot(result["distance"], shown, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("distance t back from the last sample T (samples)")
    ax.set_ylabel(r"mean $\|\partial L / \partial x_{T-t}\|$")
    traces, hidden = result.get("traces", "?"), result.get("hidden_size", "?")
    ax.set_title(f"gradient flow along {traces} traces, hidden size {hidden}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path

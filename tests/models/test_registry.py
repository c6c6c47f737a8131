"""Models declare what they consume; nothing outside facies/models asks for a name or class."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from facies.errors import ConfigError
from facies.models import MODELS, ModelEntry, ModelInput, build_model, model_entry, model_input
from facies.names import SECTIONS, TRACES
from facies.sources.synthetic import synthetic_dataset
from facies.training.inputs import datamodule_for
from tests.helpers import REPO


def test_the_config_alone_says_what_a_model_consumes():
    assert model_input({"name": "unet", "depth": 3}) == ModelInput(SECTIONS, size_multiple=8)
    assert model_input({"name": "lstm", "neighbourhood": 2}) == ModelInput(
        TRACES, size_multiple=1, neighbourhood=2
    )
    for name, entry in MODELS.items():  # the built network says the same
        spec = model_input({"name": name})
        net = build_model(name, num_classes=3)
        assert net.consumes == spec.kind and net.size_multiple == spec.size_multiple
        assert isinstance(entry, ModelEntry)


def test_an_unknown_model_lists_the_valid_names():
    with pytest.raises(ConfigError, match=r"unknown model .vit.*lstm, unet"):
        model_input({"name": "vit"})
    with pytest.raises(ConfigError, match="unknown model None"):
        model_entry({})


class TraceMLP(nn.Module):
    """A third kind of model: a per-sample MLP on single traces."""

    consumes = TRACES
    size_multiple = 1

    def __init__(self, num_classes: int = 2, hidden: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(1, hidden, 1), nn.ReLU(), nn.Conv1d(hidden, num_classes, 1)
        )

    def forward(self, traces: torch.Tensor) -> torch.Tensor:
        return self.net(traces)


def test_a_third_model_kind_needs_only_a_registry_entry(monkeypatch):
    entry = ModelEntry(TraceMLP, lambda **_: ModelInput(TRACES))
    monkeypatch.setitem(MODELS, "mlp", entry)
    survey = synthetic_dataset(n_inlines=24, n_crosslines=8, n_samples=32, seed=0)
    data = {"patch": [32, 8], "stride": [32, 8], "batch_size": 4, "trace_batch_size": 32}
    dm = datamodule_for(survey, data, {"name": "mlp", "hidden": 4}, tests={})
    dm.setup("fit")
    assert dm.consumes == TRACES
    batch = next(iter(dm.train_dataloader()))
    net = build_model("mlp", num_classes=len(dm.class_names), hidden=4)
    logits = net(batch["trace"])
    assert logits.shape == (*batch["mask"].shape[:1], len(dm.class_names), 32)
    assert np.isfinite(logits.detach().numpy()).all()


#: Branching on a model's name or class: what only facies/models may do.
BRANCHES = re.compile(
    r"""isinstance\([^)]*\b(UNet|TraceLSTM)\b|\b(TraceLSTM|UNet)\b\s*\)|"""
    r"""(name|\["name"\]|\.get\("name"\))\s*[!=]=\s*["'](unet|lstm)["']"""
)


def test_no_code_outside_models_branches_on_a_model_name_or_class():
    offenders = []
    for path in (REPO / "facies").rglob("*.py"):
        if "models" in path.relative_to(REPO / "facies").parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if BRANCHES.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)

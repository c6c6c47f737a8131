"""The feature hierarchy of a U-Net, measured stage by stage, and the same for a control.

:func:`inspect_network` takes a network and the sections to look at
(:class:`InspectionData`) and returns, for every stage: the strongest activation maps
on the chosen section, the theoretical and effective receptive fields, the spectral
centroid of the activations and a linear probe's held-out scores.
:func:`inspect_checkpoint` does this for a trained checkpoint and for an untrained
network of the same shape, the control. ``input`` is reported as a stage of its own
(scale 1, one channel: the normalised amplitude), the reference the others start from.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from facies.errors import ConfigError
from facies.inspection.data import InspectionData, Sections, inspection_data
from facies.inspection.effective_field import EffectiveField, effective_fields
from facies.inspection.probe import ProbeResult, features_at, fit_probe, sample_pixels
from facies.inspection.receptive_field import unet_receptive_fields
from facies.inspection.spectra import SpectralCentroid, centroid_of_power, power_spectrum
from facies.inspection.stages import Stage, capture, unet_stages
from facies.models import model_entry

log = logging.getLogger(__name__)

INPUT = "input"


@dataclass
class StageResult:
    """The numbers of one stage (see :meth:`as_dict` for their JSON form)."""

    name: str
    kind: str
    scale: int
    channels: int
    theoretical_field: tuple[float, float]
    effective_field: tuple[float, float]
    centroid: SpectralCentroid
    probe: ProbeResult
    top_channels: list[int]
    top_energy: list[float]

    def as_dict(self, sample_interval: float = 0.0) -> dict:
        centroid = {
            "radial_cycles_per_sample": self.centroid.radial,
            "vertical_cycles_per_sample": self.centroid.vertical,
            "lateral_cycles_per_trace": self.centroid.lateral,
            "radial_cycles_per_pixel": self.centroid.radial_native,
        }
        if sample_interval > 0:  # ms per sample -> Hz along a time axis
            centroid["vertical_hz_if_time"] = self.centroid.vertical * 1000.0 / sample_interval
        return {
            "name": self.name,
            "kind": self.kind,
            "scale": self.scale,
            "channels": self.channels,
            "receptive_field": {
                "theoretical": {
                    "samples": self.theoretical_field[0],
                    "traces": self.theoretical_field[1],
                },
                "effective": {
                    "samples": self.effective_field[0],
                    "traces": self.effective_field[1],
                },
            },
            "spectral_centroid": centroid,
            "probe": {
                "accuracy": self.probe.accuracy,
                "miou": self.probe.miou,
                "train_accuracy": self.probe.train_accuracy,
                "confusion_matrix": self.probe.confusion.tolist(),
            },
            "top_channels": self.top_channels,
            "top_channel_energy": self.top_energy,
        }


@dataclass
class NetworkInspection:
    """Results for one network: numbers per stage plus the maps the figures show."""

    stages: list[StageResult]
    activations: dict[str, np.ndarray] = field(default_factory=dict)
    fields: dict[str, EffectiveField] = field(default_factory=dict)

    def stage(self, name: str) -> StageResult:
        return next(s for s in self.stages if s.name == name)


def _batched(images: Tensor, batch: int):
    for start in range(0, len(images), batch):
        yield start, images[start : start + batch]


def _probe_features(
    net: nn.Module, stages: list[Stage], data: Sections, pixels, batch: int
) -> dict[str, Tensor]:
    """Per stage (and the input), features ``(P, C)`` at the chosen pixels of ``data``."""
    section_of, rows, cols = pixels
    size = tuple(data.images.shape[-2:])
    parts: dict[str, list[Tensor]] = {INPUT: []} | {s.name: [] for s in stages}
    for start, images in _batched(data.images, batch):
        _, outputs = capture(net, images, stages)
        outputs[INPUT] = images
        for k in range(len(images)):
            pick = section_of == start + k
            if not pick.any():
                continue
            for name, maps in outputs.items():
                parts[name].append(features_at(maps[k].float(), rows[pick], cols[pick], size))
    return {name: torch.cat(chunks) for name, chunks in parts.items()}


def _valid_crop(maps: Tensor, valid: tuple[int, int], scale: int) -> Tensor:
    """The part of stage maps ``(..., h, w)`` that covers the unpadded section."""
    return maps[..., : math.ceil(valid[0] / scale), : math.ceil(valid[1] / scale)]


def inspect_network(
    net: nn.Module,
    data: InspectionData,
    channels: int = 8,
    mass: float = 0.95,
    probe_pixels: int = 10000,
    probe_iterations: int = 100,
    seed: int = 0,
    batch: int = 4,
) -> NetworkInspection:
    """Measure every stage of the U-Net ``net`` (moved to eval mode) on ``data``.

    Args:
        net: a :class:`facies.models.unet.UNet`.
        data: the sections, see :class:`InspectionData`.
        channels: strongest activation maps kept per stage for the figures.
        mass: share of the gradient inside the effective receptive field.
        probe_pixels: labelled pixels sampled from each of the probe's two sets.
        probe_iterations: L-BFGS iterations of each probe.
        seed: pixel sampling and probe initialisation.
        batch: sections per forward pass.
    """
    net.eval()
    device = next(net.parameters()).device
    stages = unet_stages(net)
    theoretical = unet_receptive_fields(net)
    generator = torch.Generator().manual_seed(seed)

    def to(sections: Sections) -> Sections:
        return Sections(sections.images.to(device), sections.masks, sections.names, sections.valid)

    section, train, test, erf = (
        to(d) for d in (data.section, data.probe_train, data.probe_test, data.erf_sections)
    )
    _, shown = capture(net, section.images, stages)
    shown[INPUT] = section.images
    fields = effective_fields(net, erf.images, stages, mass)
    train_pixels = sample_pixels(train.masks, probe_pixels, data.ignore_index, generator)
    test_pixels = sample_pixels(test.masks, probe_pixels, data.ignore_index, generator)
    train_x = _probe_features(net, stages, train, tuple(p.to(device) for p in train_pixels), batch)
    test_x = _probe_features(net, stages, test, tuple(p.to(device) for p in test_pixels), batch)
    train_y = train.masks[train_pixels].to(device)
    test_y = test.masks[test_pixels].to(device)

    power = _power_spectra(net, stages, test, batch)

    results, activations = [], {}
    one = Stage(INPUT, INPUT, 1, int(section.images.shape[1]), nn.Identity())
    for stage in [one, *stages]:
        maps = _valid_crop(shown[stage.name][0], section.valid, stage.scale).float().cpu()
        energy = maps.square().mean(dim=(-2, -1))
        top = torch.argsort(energy, descending=True)[:channels]
        activations[stage.name] = maps[top].numpy()
        probe = fit_probe(
            train_x[stage.name],
            train_y,
            test_x[stage.name],
            test_y,
            len(data.class_names),
            probe_iterations,
            seed=seed,
        )
        if stage.name == INPUT:
            theory, effective = (1.0, 1.0), (1.0, 1.0)
        else:
            theory, effective = theoretical[stage.name].size, fields[stage.name].extent
        results.append(
            StageResult(
                name=stage.name,
                kind=stage.kind,
                scale=stage.scale,
                channels=stage.channels,
                theoretical_field=tuple(float(v) for v in theory),
                effective_field=tuple(float(v) for v in effective),
                centroid=centroid_of_power(power[stage.name], stage.scale),
                probe=probe,
                top_channels=[int(i) for i in top],
                top_energy=[float(energy[i]) for i in top],
            )
        )
        log.info(
            "%-10s field %5.0f theory, %5.1f x %5.1f effective; centroid %.3f; probe mIoU %.3f",
            stage.name,
            theory[0],
            *effective,
            results[-1].centroid.radial,
            probe.miou,
        )
    return NetworkInspection(results, activations, fields)


def _power_spectra(
    net: nn.Module, stages: list[Stage], data: Sections, batch: int
) -> dict[str, np.ndarray]:
    """Per stage (and the input), the power spectrum of its maps over the unpadded part
    of ``data``'s sections, summed over channels and sections."""
    scales = {INPUT: 1} | {s.name: s.scale for s in stages}
    power: dict[str, np.ndarray] = {}
    for _, images in _batched(data.images, batch):
        _, outputs = capture(net, images, stages)
        outputs[INPUT] = images
        for name, maps in outputs.items():
            part = power_spectrum(_valid_crop(maps.float(), data.valid, scales[name]))
            power[name] = power[name] + part if name in power else part
    return power


# ----------------------------------------------------------------------- checkpoint


@dataclass
class Inspection:
    """A trained network's hierarchy beside its untrained control's."""

    trained: NetworkInspection
    control: NetworkInspection
    data: InspectionData
    model: dict
    checkpoint: str = ""
    mass: float = 0.95

    def as_dict(self) -> dict:
        si = self.data.sample_interval
        return {
            "checkpoint": self.checkpoint,
            "model": self.model,
            "section": self.data.section.names[0],
            "class_names": self.data.class_names,
            "probe_sections": {
                "train": self.data.probe_train.names,
                "held_out": self.data.probe_test.names,
            },
            "erf_sections": self.data.erf_sections.names,
            "sample_interval": si,
            "effective_field_mass": self.mass,
            "stages": {
                "trained": [s.as_dict(si) for s in self.trained.stages],
                "control": [s.as_dict(si) for s in self.control.stages],
            },
        }


def control_network(model: dict, num_classes: int, seed: int = 0) -> nn.Module:
    """An untrained network of the same configuration, initialised from ``seed``."""
    from facies.models import build_model

    config = dict(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config.pop("name"), num_classes=num_classes, **config).eval()


def inspect_checkpoint(
    checkpoint: str | os.PathLike,
    datamodule_factory,
    section: str | None = None,
    device: str = "cpu",
    probe_sections: int = 8,
    erf_sections: int = 4,
    **options,
) -> Inspection:
    """Inspect a trained U-Net checkpoint and its untrained control.

    Args:
        checkpoint: a facies checkpoint (loaded with ``weights_only=True``).
        datamodule_factory: ``f(hparams) -> SurveyDataModule`` (not set up); it gets
            the checkpoint's hyperparameters so the data are normalised as in training.
        section: ``inline:N`` or ``crossline:N``; default the middle held-out inline.
        device: where the networks run.
        probe_sections, erf_sections: see :func:`inspection_data`.
        options: passed to :func:`inspect_network`.
    """
    from facies.training.checkpoint import load_network

    net, hparams = load_network(checkpoint)
    if not model_entry(hparams["model"]).stages:  # refuse before loading any data
        raise ConfigError(
            f"{checkpoint} holds a {hparams['model'].get('name')!r} model, which has no encoder "
            "stages to inspect (feature-hierarchy inspection reads U-Net checkpoints); for the "
            "LSTM baseline look at gates.png from `facies evaluate` instead."
        )
    unet_stages(net)
    model = dict(hparams["model"])
    datamodule = datamodule_factory(hparams)
    datamodule.setup("test")
    if list(datamodule.class_names) != list(hparams["class_names"]):
        raise ConfigError(
            f"the survey's classes {list(datamodule.class_names)} differ from the "
            f"checkpoint's {list(hparams['class_names'])}; inspect on the survey it was "
            "trained on (or one with the same classes)."
        )
    data = inspection_data(datamodule, section, net.size_multiple, probe_sections, erf_sections)
    control = control_network(model, len(hparams["class_names"]), options.get("seed", 0))
    log.info("inspecting the trained network")
    trained_result = inspect_network(net.to(device), data, **options)
    log.info("inspecting the untrained control")
    control_result = inspect_network(control.to(device), data, **options)
    mass = options.get("mass", 0.95)
    return Inspection(trained_result, control_result, data, model, str(checkpoint), mass)

"""The data a model consumes: a data module cut for it from the data config.

The model declares what it reads (:func:`facies.models.model_input`: sections or traces,
its size multiple, its trace neighbourhood); this module asks, so neither the data
module nor the jobs know one model from another.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import xarray as xr

from facies.data.datamodule import SurveyDataModule
from facies.data.memory import available_bytes, choose_in_memory
from facies.data.sections import MIN_LABELLED, SECTIONS_LAYOUT, choose_layout
from facies.data.sections_datamodule import SectionsDataModule
from facies.data.streamed_datamodule import StreamedSurveyDataModule
from facies.errors import ConfigError
from facies.models import model_input
from facies.names import TRACES

log = logging.getLogger(__name__)


def datamodule_for(
    survey: xr.Dataset,
    data: Mapping[str, Any],
    model: Mapping[str, Any],
    seed: int = 0,
    norm_stats: dict | None = None,
    patch: tuple[int, int] | None = None,
    tests: dict[str, xr.Dataset] | None = None,
) -> SurveyDataModule:
    """The data module the model of ``model`` (its config) needs: patches and sections
    for a model that consumes sections (the U-Net), traces for a trace model (the LSTM).

    Both see the same splits (the gaps follow the patch width), so their test scores
    are on the same samples. A data config with its own test surveys (``data=f3``: the
    benchmark's Test 1 and Test 2) brings them along unless ``tests`` are given; its
    ``test_directions`` (default inline only) say which sections the test sets are
    scored on.

    ``data.layout`` (``auto``, ``volume`` or ``sections``) chooses between the whole
    survey in memory and only its labelled sections (:mod:`facies.data.sections`: a few
    interpreted inlines and crosslines, or 2-D lines); ``auto`` picks sections when the
    labels are sparse.

    ``data.in_memory`` (``auto``, true or false) chooses, for the volume layout, between
    the survey in memory and streaming it from the store (:mod:`facies.data.streamed`);
    ``auto`` streams when the surveys would not fit in the memory available
    (:func:`facies.data.memory.choose_in_memory`). The choice and why are logged.
    """
    if tests is None:
        from facies.sources.survey import load_test_surveys

        tests = load_test_surveys(data)
    consumes = model_input(model)
    traces = consumes.kind == TRACES
    patch = tuple(patch or data["patch"])
    # a checkpoint's patch (evaluation, inspection) may be smaller than the data config's
    # stride: no training patch is cut then, so the stride only has to fit the patch
    stride = tuple(min(int(s), int(p)) for s, p in zip(data["stride"], patch, strict=True))
    common = {
        "patch": patch,
        "stride": stride,
        "batch_size": data["trace_batch_size"] if traces else data["batch_size"],
        "splits": data.get("splits"),
        "size_multiple": consumes.size_multiple,
        "augmentation": data.get("augmentation"),
        "norm_stats": norm_stats,
        "seed": seed,
        "consumes": consumes.kind,
        "neighbourhood": consumes.neighbourhood,
        "mask_nonfinite": bool(data.get("mask_nonfinite", False)),
        "patches_per_epoch": data.get("patches_per_epoch"),
    }
    sections = data.get("sections") or {}
    layout, found, share = choose_layout(data.get("layout") or "auto", survey, sections)
    if layout == SECTIONS_LAYOUT:
        if data.get("in_memory", "auto") is False:
            log.warning(
                "data.in_memory=false streams the volume layout; the sections layout holds "
                "only the labelled sections, in memory (data.layout=volume to stream the "
                "whole survey)"
            )
        if tests:
            raise ConfigError(
                f"the sections layout scores held-out labelled sections, and this data "
                f"config brings test surveys ({', '.join(tests)}); use data.layout=volume."
            )
        log.info(
            "sections layout (data.layout=%s): labelled traces cover %.1f%% of the grid; "
            "%d labelled sections: %s",
            data.get("layout") or "auto", 100 * share, len(found),
            ", ".join(p.name for p in found[:20]) + (" ..." if len(found) > 20 else ""),
        )  # fmt: skip
        return SectionsDataModule(
            survey,
            found,
            margin=sections.get("margin"),
            min_labelled=sections.get("min_labelled", MIN_LABELLED),
            **common,
        )
    setting = data.get("in_memory", "auto")
    if setting is False and traces:
        raise ConfigError(
            "data.in_memory=false streams patches for models that read sections; a trace "
            "model (model=lstm) needs the survey in memory: use data.in_memory=true or auto."
        )
    shapes = [
        tuple(s.sizes[d] for d in ("inline", "crossline", "sample"))
        for s in (survey, *(tests or {}).values())
    ]
    in_memory, why = choose_in_memory(setting, shapes, available_bytes())
    if traces and not in_memory:  # no streaming for trace models: the memory check says why
        in_memory, why = True, f"{why}; a trace model is not streamed: in memory"
    log.info("training data: %s", why)
    module = SurveyDataModule if in_memory else StreamedSurveyDataModule
    return module(
        survey,
        directions=tuple(data.get("directions", ("inline", "crossline"))),
        tests=tests,
        test_directions=data.get("test_directions", ("inline",)),
        **common,
    )

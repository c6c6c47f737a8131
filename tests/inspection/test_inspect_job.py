"""`facies inspect` end to end on a small trained U-Net: the report, its numbers, the control."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.helpers import facies

SURVEY = [
    "data.synthetic.n_inlines=48",
    "data.synthetic.n_crosslines=48",
    "data.synthetic.n_samples=64",
    "data.patch=[32,32]",
    "data.stride=[16,16]",
    "model.depth=2",
    "model.base_channels=8",
    "trainer=cpu",  # CPU arithmetic: the margins below were set there
]
SMALL_PROBE = [
    "device=cpu",
    "probe.sections=4",
    "probe.pixels=4000",
    "probe.iterations=100",
    "erf.sections=2",
]


def _run_folder(stdout: str, marker: str) -> Path:
    return Path(stdout.rsplit(marker, 1)[1].split()[0])


@pytest.fixture(scope="module")
def inspected(tmp_path_factory) -> tuple[Path, Path, dict]:
    """(working folder, report folder, inspection.json) of a small trained U-Net."""
    cwd = tmp_path_factory.mktemp("inspect")
    train = facies("train", *SURVEY, "trainer.max_epochs=4", cwd=cwd)
    assert train.returncode == 0, train.stderr[-3000:]
    checkpoint = _run_folder(train.stdout, "run folder: ") / "checkpoints" / "best.ckpt"
    run = facies("inspect", f"checkpoint={checkpoint}", *SURVEY[:3], *SMALL_PROBE, cwd=cwd)
    assert run.returncode == 0, run.stderr[-3000:]
    report = _run_folder(run.stdout, "report: ").parent
    return cwd, report, json.loads((report / "inspection.json").read_text())


def test_report_has_every_stage_figure_and_number(inspected):
    _, out, numbers = inspected
    names = ["input", "enc0", "enc1", "bottleneck", "dec1", "dec0"]
    for which in ("trained", "control"):
        stages = numbers["stages"][which]
        assert [s["name"] for s in stages] == names
        for stage in stages:
            assert set(stage) >= {"receptive_field", "spectral_centroid", "probe", "top_channels"}
            assert 0 <= stage["probe"]["miou"] <= 1 and 0 <= stage["probe"]["accuracy"] <= 1
            assert len(stage["top_channels"]) == min(8, stage["channels"])
    trained = {s["name"]: s for s in numbers["stages"]["trained"]}
    assert trained["bottleneck"]["receptive_field"]["theoretical"] == {"samples": 32, "traces": 32}
    assert trained["enc0"]["receptive_field"]["theoretical"]["samples"] == 5
    report = (out / "report.md").read_text()
    assert "![summary](summary.png)" in report
    for name in ["summary.png", "figures/section.png", "figures/receptive_fields.png"] + [
        f"figures/activations_{n}.png" for n in names
    ]:
        assert (out / name).stat().st_size > 1000, name
        if name != "summary.png":
            assert f"({name})" in report
    assert numbers["section"].startswith("inline ")


def test_the_trained_bottleneck_separates_facies_better_than_the_untrained_control(inspected):
    _, _, numbers = inspected
    trained = {s["name"]: s for s in numbers["stages"]["trained"]}
    control = {s["name"]: s for s in numbers["stages"]["control"]}
    assert trained["bottleneck"]["probe"]["miou"] > control["bottleneck"]["probe"]["miou"] + 0.05
    # Deeper encoder stages see larger context: the effective field grows with depth.
    effective = [
        trained[n]["receptive_field"]["effective"]["samples"]
        for n in ("enc0", "enc1", "bottleneck")
    ]
    assert effective == sorted(effective)


def test_section_choice_and_bad_sections(inspected):
    cwd, _, numbers = inspected
    checkpoint = numbers["checkpoint"]
    run = facies(
        "inspect",
        f"checkpoint={checkpoint}",
        *SURVEY[:3],
        *SMALL_PROBE,
        "section=crossline:310",
        cwd=cwd,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = _run_folder(run.stdout, "report: ").parent
    assert json.loads((report / "inspection.json").read_text())["section"] == "crossline 310"
    bad = facies("inspect", f"checkpoint={checkpoint}", *SURVEY[:3], "section=inline:9999", cwd=cwd)
    assert bad.returncode == 2
    assert "the survey has no inline 9999" in bad.stderr


def test_inspect_needs_a_checkpoint(tmp_path):
    run = facies("inspect", cwd=tmp_path)
    assert run.returncode == 2 and "needs checkpoint=" in run.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without GPU")
def test_device_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    run = facies("inspect", "checkpoint=missing.ckpt", "device=cuda", cwd=tmp_path)
    assert run.returncode == 2 and "torch sees no GPU" in run.stderr

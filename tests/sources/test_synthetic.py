"""The built-in synthetic survey: determinism, structure, facies character, files, the job."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from facies.errors import ConfigError, FaciesError, OutputError
from facies.io import open_segy
from facies.io.segy.create import SegySpec, create_segy, inline_block_writer, write_segy_blocks
from facies.jobs import synth
from facies.names import AMPLITUDE, CDP_X, CDP_Y, CROSSLINE, DIMS, INLINE, LABELS
from facies.runtime import compose
from facies.sources.geology import Geology
from facies.sources.synthetic import (
    FIRST_CROSSLINE,
    FIRST_INLINE,
    SynthParams,
    make_synthetic_survey,
    survey_geometry,
    synthetic_arrays,
    synthetic_dataset,
)

SMALL = {"n_inlines": 11, "n_crosslines": 13, "n_samples": 40, "n_facies": 4}


@pytest.fixture(scope="module")
def default_survey() -> tuple[np.ndarray, np.ndarray, list[str]]:
    return synthetic_arrays()


def interior(labels: np.ndarray, half: int = 5) -> np.ndarray:
    """Samples whose class holds ``half`` samples above and below: away from the wavelet's
    spill across layer boundaries (the 25 Hz Ricker at 4 ms is 21 samples long)."""
    ok = np.zeros(labels.shape, dtype=bool)
    core = labels[..., half:-half]
    ok[..., half:-half] = (core == labels[..., : -2 * half]) & (core == labels[..., 2 * half :])
    return ok


def test_same_seed_same_survey_other_seed_differs():
    a1, l1, names = synthetic_arrays(**SMALL, seed=3)
    a2, l2, _ = synthetic_arrays(**SMALL, seed=3)
    a3, l3, _ = synthetic_arrays(**SMALL, seed=4)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(l1, l2)
    assert not np.array_equal(a1, a3) and not np.array_equal(l1, l3)
    assert a1.dtype == np.float32 and l1.dtype == np.int16 and a1.shape == (11, 13, 40)
    assert names == ["parallel", "chaotic", "transparent", "high_amplitude"]


def test_every_class_has_a_fair_share(default_survey):
    amplitude, labels, names = default_survey
    assert amplitude.shape == labels.shape == (128, 128, 128)
    assert len(names) == 6
    share = np.bincount(labels.ravel(), minlength=6) / labels.size
    assert share.min() > 0.05, dict(zip(names, share.round(3), strict=True))
    assert np.isfinite(amplitude).all() and 0.3 < amplitude.std() < 3


def test_blocks_of_any_size_agree_with_the_whole_cube():
    geology = Geology(SynthParams(**SMALL, seed=7))
    whole = geology.block(0, 11)
    for cuts in ([0, 1, 11], [0, 4, 8, 11], [0, 5, 6, 11]):
        parts = [geology.block(a, b) for a, b in itertools.pairwise(cuts)]
        np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), whole[0])
        np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), whole[1])


def test_labels_change_with_depth_fold_and_are_offset_by_the_fault():
    params = SynthParams(n_faults=1, n_channels=0, seed=0)
    geology = Geology(params)
    _, labels = geology.block(0, params.n_inlines)
    fault = geology.faults.pop()
    _, unfaulted = geology.block(0, params.n_inlines)
    ns = params.n_samples
    assert min(len(np.unique(t)) for t in labels.reshape(-1, ns)) >= 4  # several layers

    def top_of_layer_3(cube: np.ndarray) -> np.ndarray:
        """Depth where layer 2's facies gives way to layer 3's, on every trace."""
        upper, lower = geology.layer_facies[2], geology.layer_facies[3]
        hit = (cube[..., :-1] == upper) & (cube[..., 1:] == lower)
        assert hit.any(axis=-1).all()
        return hit.argmax(axis=-1) + 1

    depth, flat = top_of_layer_3(labels), top_of_layer_3(unfaulted)
    assert np.ptp(flat) >= 8  # folded: the horizon's depth varies laterally
    # the hanging wall (above the dipping plane) is dropped by the throw; the rest stays
    ii, jj = np.meshgrid(np.arange(128), np.arange(128), indexing="ij")
    z = np.arange(ns)
    hanging = (ii * fault.ci + jj * fault.cj - fault.p0)[..., None] > fault.heave * (z / ns - 0.5)
    np.testing.assert_array_equal(labels[~hanging], unfaulted[~hanging])
    rows, cols = np.nonzero(hanging[ii, jj, depth] & hanging[ii, jj, depth - 1])
    assert len(rows) > 0.1 * depth.size
    offset = depth[rows, cols] - flat[rows, cols]
    assert set(np.unique(offset)) <= {np.floor(fault.throw), np.ceil(fault.throw)}
    assert fault.throw > 4  # a visible offset: 0.06 * 128 * (0.7 to 1.3) samples


def test_facies_have_their_own_seismic_character(default_survey):
    amplitude, labels, names = default_survey
    ok = interior(labels)
    rms = {n: float(amplitude[(labels == f) & ok].std()) for f, n in enumerate(names)}
    # Impedance contrast: transparent 0.12 and high amplitude 2.5 times the parallel
    # facies'; with noise (0.1) and leftovers of neighbouring layers the ratios blur,
    # so the bounds leave a factor of about two on each side.
    assert rms["transparent"] < 0.35 * rms["parallel"]
    assert rms["high_amplitude"] > 1.5 * rms["parallel"]
    # Lateral continuity: correlation of neighbouring traces. Chaotic reflectors are
    # segments of 4 traces, shifted by up to 6 samples (more than a quarter of the
    # Ricker's period) each, so the correlation falls to about 0.5; parallel beds keep
    # it above 0.9.
    corr = {}
    for f, n in enumerate(names):
        both = (labels[:, 1:] == f) & (labels[:, :-1] == f) & ok[:, 1:] & ok[:, :-1]
        corr[n] = np.corrcoef(amplitude[:, 1:][both], amplitude[:, :-1][both])[0, 1]
    assert corr["chaotic"] < 0.7 < 0.85 < corr["parallel"]
    assert corr["clinoform"] > 0.8  # dipping but continuous


def test_survey_files_read_back_with_their_geometry(tmp_path):
    amplitude, labels, names = synthetic_arrays(**SMALL, seed=5)
    survey = make_synthetic_survey(tmp_path / "syn", **SMALL, seed=5, block_inlines=4)
    assert set(survey.paths) == {"seismic", "labels", "classes", "figure"}
    assert survey.shape == (11, 13, 40) and survey.class_names == names
    assert survey.class_counts == np.bincount(labels.ravel(), minlength=4).tolist()
    seismic, classes = open_segy(survey.paths["seismic"]), open_segy(survey.paths["labels"])
    np.testing.assert_array_equal(seismic[AMPLITUDE].values, amplitude)
    np.testing.assert_array_equal(classes[AMPLITUDE].values.astype(np.int16), labels)
    assert seismic.attrs["sample_format"] == 5 and classes.attrs["sample_format"] == 3
    inlines, crosslines, cdp_x, cdp_y = survey_geometry(11, 13)
    assert inlines[0] == FIRST_INLINE == 100 and crosslines[0] == FIRST_CROSSLINE == 300
    for ds in (seismic, classes):
        np.testing.assert_array_equal(ds[INLINE].values, inlines)
        np.testing.assert_array_equal(ds[CROSSLINE].values, crosslines)
        np.testing.assert_allclose(ds[CDP_X].values, cdp_x, atol=0.01)
        np.testing.assert_allclose(ds[CDP_Y].values, cdp_y, atol=0.01)
        assert ds.attrs["sample_interval"] == 4.0 and ds.attrs["sorting"] == "inline"
    assert np.ptp(cdp_y[:, 0]) > 0 and np.ptp(cdp_x[:, 0]) > 0  # a rotated grid
    assert json.loads(survey.paths["classes"].read_text()) == names
    png = survey.paths["figure"].read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_dataset_uses_the_shared_names():
    ds = synthetic_dataset(**SMALL)
    assert ds[AMPLITUDE].dims == DIMS and ds[LABELS].dims == DIMS
    assert ds.attrs["class_names"][0] == "parallel" and ds["twt"].values[1] == 4.0


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_facies": 1}, "n_facies=1; use 2 to 32"),
        ({"n_inlines": 4}, r"{'n_inlines': 4}: .* at least 8"),
        ({"n_facies": 6.0}, r"{'n_facies': 6.0}: sizes, counts and seed must be whole"),
        ({"n_samples": 20}, "n_samples=20 is too thin for 8 layers; use n_samples >= 30"),
        ({"frequency": 200.0}, r"below Nyquist \(125 Hz\)"),
        ({"n_layers": 5}, r"n_layers=5 for 6 facies; use n_facies \+ 2 \(8\)"),
        ({"noise": -1.0}, "noise=-1.0; use a value from 0 to 10"),
    ],
)
def test_bad_parameters_say_what_to_use(params, match):
    with pytest.raises(ConfigError, match=match):
        synthetic_arrays(**params)


def test_too_large_for_memory_points_to_the_file_writer():
    with pytest.raises(ConfigError, match="make_synthetic_survey"):
        synthetic_arrays(n_inlines=2048, n_crosslines=2048, n_samples=64)


def test_job_writes_then_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "survey"
    overrides = [f"output={out}", "n_inlines=10", "n_crosslines=12", "n_samples=32", "n_facies=3"]
    cfg = compose("synth", [*overrides, "figure=false"])
    again = compose("synth", [*overrides, "seed=1"])
    forced = compose("synth", [*overrides, "seed=1", "overwrite=true"])
    survey = synth.run(cfg)
    text = capsys.readouterr().out
    assert "10 inlines x 12 crosslines x 32 samples" in text and "0 parallel" in text
    assert "figure" not in survey.paths and (out / "seismic.sgy").is_file()
    before = (out / "seismic.sgy").read_bytes()
    with pytest.raises(OutputError, match=r"already holds a synthetic survey.*overwrite=true"):
        synth.run(again)
    assert (out / "seismic.sgy").read_bytes() == before
    synth.run(forced)
    assert (out / "seismic.sgy").read_bytes() != before


def test_block_writer_matches_create_segy_and_is_atomic(tmp_path):
    cube = np.arange(5 * 3 * 6, dtype=np.float32).reshape(5, 3, 6)
    il, xl = np.arange(1, 6), np.arange(10, 13)
    gx, gy = np.meshgrid(xl * 25.0, il * 25.0)
    whole = create_segy(tmp_path / "a.sgy", cube, il, xl, cdp_x=gx, cdp_y=gy)
    blocks = write_segy_blocks(
        tmp_path / "b.sgy", (cube[:2], cube[2:3], cube[3:]), il, xl, 6, cdp_x=gx, cdp_y=gy
    )
    assert whole.read_bytes() == blocks.read_bytes()
    with (
        pytest.raises(FaciesError, match="only 2 of 5 inlines"),
        inline_block_writer(tmp_path / "c.sgy", il, xl, 6) as write,
    ):
        write(cube[:2])
    with (
        pytest.raises(FaciesError, match=r"expected \(k, 3, 6\)"),
        inline_block_writer(tmp_path / "d.sgy", il, xl, 6) as write,
    ):
        write(cube[:, :2])
    with pytest.raises(FaciesError, match="inline-sorted"):
        write_segy_blocks(tmp_path / "e.sgy", [cube], il, xl, 6, spec=SegySpec(sorting="shuffled"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sgy", "b.sgy"]

"""One class palette and one amplitude clip for every figure."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex, to_rgba

from facies import plots


def test_class_k_has_one_colour_whatever_the_number_of_classes():
    three, eight, thirty = plots.class_colors(3), plots.class_colors(8), plots.class_colors(30)
    assert len(three) == 3 and len(eight) == 8 and len(thirty) == 30
    assert eight[:3] == three and thirty[:8] == eight
    assert len(set(plots.class_colors(len(plots.CLASS_COLORS)))) >= 12  # all distinct


@pytest.mark.parametrize("n", [1, 3, 6, 8, 14, 20])
def test_the_colormap_shows_class_k_in_colour_k(n):
    cmap, norm = plots.class_colormap(n), plots.class_norm(n)
    classes = np.arange(n)
    by_limits = cmap((classes + 0.5) / n)  # imshow with vmin=-0.5, vmax=n - 0.5
    by_norm = cmap(norm(classes))
    expected = np.array([to_rgba(c) for c in plots.class_colors(n)])
    np.testing.assert_allclose(by_limits, expected)
    np.testing.assert_allclose(by_norm, expected)


def test_masked_cells_are_transparent():
    cmap = plots.class_colormap(4)
    assert cmap(np.ma.masked_less(np.array([-1]), 0))[0][3] == 0


def test_figures_colour_a_class_the_same_for_three_and_eight_classes(tmp_path):
    labels = np.tile(np.arange(3), (4, 1))
    seismic = np.linspace(-1, 1, 12).reshape(4, 3)
    for n in (3, 8):
        names = [f"c{k}" for k in range(n)]
        plots.section_figure(seismic, {"truth": labels}, names, "t", tmp_path / f"{n}.png")
        assert (tmp_path / f"{n}.png").read_bytes()[:4] == b"\x89PNG"
    assert to_hex(plots.class_colormap(3)(2)) == to_hex(plots.class_colormap(8)(2 / 7))


def test_seismic_clip_is_the_percentile_of_magnitudes():
    values = np.linspace(-100, 100, 201)
    assert plots.seismic_clip(values) == pytest.approx(np.percentile(np.abs(values), 99))
    assert plots.seismic_clip(values, percentile=50) == pytest.approx(50)


def test_seismic_clip_ignores_nan_and_infinities():
    values = np.linspace(-100, 100, 201)
    spoilt = np.concatenate([values, [np.nan, np.inf, -np.inf]])
    assert plots.seismic_clip(spoilt) == pytest.approx(plots.seismic_clip(values))


@pytest.mark.parametrize("values", [np.zeros(5), np.full(3, np.nan), np.array([])])
def test_seismic_clip_is_never_zero_or_nan(values):
    assert plots.seismic_clip(values) == 1.0

"""Labels drawn on a few sections (images with a legend, or arrays) become a label cube:
the drawn samples keep their class, everything else is unlabelled, and what cannot be
mapped exactly is refused, never guessed."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from facies.errors import ConfigError, GeometryError, OptionError
from facies.io.labels import load_class_names
from facies.io.section_labels import UNLABELLED
from facies.io.store import ingest_segy, open_survey
from facies.names import LABELS

INLINES, CROSSLINES, NS = np.arange(10, 16), np.arange(20, 25), 8
NAMES = ["sand", "shale", "salt"]
RGB = [(230, 159, 0), (86, 180, 233), (0, 158, 115)]


def truth() -> np.ndarray:
    """Class ids of every sample: layers in depth, shifted along the inline."""
    i, _, s = np.meshgrid(
        np.arange(len(INLINES)), np.arange(len(CROSSLINES)), np.arange(NS), indexing="ij"
    )
    return ((s + i) // 3 % 3).astype(np.int16)


def legend(folder, rows=None) -> None:
    with (folder / "legend.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "name", "R", "G", "B"])
        for row in rows or [(k, n, *RGB[k]) for k, n in enumerate(NAMES)]:
            writer.writerow(row)


def picture(ids: np.ndarray) -> Image.Image:
    """Class ids (samples, traces) as an RGB picture in the legend's colours."""
    return Image.fromarray(np.asarray(RGB, dtype=np.uint8)[ids])


@pytest.fixture
def folder(tmp_path):
    cube = truth()
    out = tmp_path / "sections"
    out.mkdir()
    legend(out)
    picture(cube[2].T).save(out / "inline_12.png")  # samples x crosslines
    np.save(out / "crossline_23.npy", cube[:, 3].T)  # samples x inlines, as class ids
    return out


def ingest(make_segy, tmp_path, labels, **kw):
    segy = make_segy(inlines=INLINES, crosslines=CROSSLINES, ns=NS)
    return ingest_segy(segy, tmp_path / "s.zarr", labels=labels, **kw)


def test_drawn_sections_keep_their_classes_and_the_rest_is_unlabelled(make_segy, tmp_path, folder):
    store = ingest(make_segy, tmp_path, folder, ignore_label=UNLABELLED, class_names=folder)
    labels = open_survey(store)[LABELS].values
    cube = truth()
    drawn = np.zeros(cube.shape, dtype=bool)
    drawn[2], drawn[:, 3] = True, True
    np.testing.assert_array_equal(labels[drawn], cube[drawn])
    assert (labels[~drawn] == UNLABELLED).all()


def test_the_legend_names_the_classes(folder):
    assert load_class_names(folder) == NAMES
    assert load_class_names(folder / "legend.csv") == NAMES


def test_unlabelled_needs_ignore_label(make_segy, tmp_path, folder):
    with pytest.raises(OptionError, match=r"set ignore_label=-1"):
        ingest(make_segy, tmp_path, folder)


def test_transparent_and_unlabelled_colours_are_unlabelled(make_segy, tmp_path, folder):
    ids = truth()[2].T
    rgba = np.dstack([np.asarray(RGB, dtype=np.uint8)[ids], np.full(ids.shape, 255, np.uint8)])
    rgba[:2, :, 3] = 0  # the first two samples not drawn
    rgba[-1, :, :3] = (255, 255, 255)  # the last sample painted "unlabelled" white
    Image.fromarray(rgba, "RGBA").save(folder / "inline_12.png")
    legend(
        folder, [*[(k, n, *RGB[k]) for k, n in enumerate(NAMES)], (9, "unlabelled", 255, 255, 255)]
    )
    store = ingest(make_segy, tmp_path, folder, ignore_label=UNLABELLED, class_names=NAMES)
    inline = open_survey(store)[LABELS].values[2]  # (crosslines, samples)
    off_crossline = np.arange(len(CROSSLINES)) != 3  # crossline 23 labels its own samples
    assert (inline[off_crossline][:, [0, 1, -1]] == UNLABELLED).all()
    np.testing.assert_array_equal(inline[:, 2:-1], truth()[2][:, 2:-1])


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("inline_12.png", lambda: picture(truth()[2]), r"5 x 8 .* inline 12 is 8 samples x 5"),
        ("inline_99.png", lambda: picture(truth()[2].T), r"no inline 99 .* run 10..15"),
        ("il12.png", lambda: picture(truth()[2].T), r"named inline_<number> or crossline_"),
        ("inline_12.jpg", lambda: picture(truth()[2].T), r"JPEG changes colours"),
    ],
)
def test_sections_that_do_not_fit_are_refused(make_segy, tmp_path, folder, name, make, message):
    (folder / "inline_12.png").unlink()
    make().save(folder / name)
    with pytest.raises((ConfigError, GeometryError), match=message):
        ingest(make_segy, tmp_path, folder, ignore_label=-1)
    assert not (tmp_path / "s.zarr").exists()


def test_a_colour_the_legend_lacks_is_refused_with_its_count(make_segy, tmp_path, folder):
    rgb = np.asarray(picture(truth()[2].T)).copy()
    rgb[0, :3] = (231, 159, 0)  # a smoothed edge: one value off
    Image.fromarray(rgb).save(folder / "inline_12.png")
    with pytest.raises(ConfigError, match=r"3 pixels have colours the legend lacks \(\(231, 159"):
        ingest(make_segy, tmp_path, folder, ignore_label=-1)


def test_crossing_sections_must_agree(make_segy, tmp_path, folder):
    wrong = truth()[:, 3].T.copy()
    wrong[:, 2] = (wrong[:, 2] + 1) % 3  # inline 12 (index 2) differs where they cross
    np.save(folder / "crossline_23.npy", wrong)
    with pytest.raises(ConfigError, match=r"inline_12.png and crossline_23.npy cross at 8"):
        ingest(make_segy, tmp_path, folder, ignore_label=-1)


def test_images_need_a_legend(make_segy, tmp_path, folder):
    (folder / "legend.csv").unlink()
    with pytest.raises(ConfigError, match=r"images need .*legend.csv"):
        ingest(make_segy, tmp_path, folder, ignore_label=-1)


def test_an_edited_section_makes_a_new_store_record(make_segy, tmp_path, folder):
    from facies.io.store import store_record

    segy = make_segy(inlines=INLINES, crosslines=CROSSLINES, ns=NS)
    before = store_record(segy, labels=folder, ignore_label=-1)
    edited = truth()[:, 3].T.copy()
    edited[0, 0] = (edited[0, 0] + 1) % 3
    np.save(folder / "crossline_23.npy", edited)
    assert store_record(segy, labels=folder, ignore_label=-1) != before


def test_a_2d_line_labelled_by_one_picture(make_segy, tmp_path):
    """A 2-D line is one inline: its picture labels every trace of it."""
    ids = truth()[0:1]  # (1 inline, crosslines, samples)
    segy = make_segy(inlines=[10], crosslines=CROSSLINES, ns=NS)
    folder = tmp_path / "line"
    folder.mkdir()
    legend(folder)
    picture(ids[0].T).save(folder / "inline_10.png")
    store = ingest_segy(segy, tmp_path / "line.zarr", labels=folder, ignore_label=-1)
    np.testing.assert_array_equal(open_survey(store)[LABELS].values, ids)

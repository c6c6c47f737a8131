"""The survey store: streamed, atomic, same values as the SEG-Y, labels checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facies.errors import ConfigError, FaciesError, GeometryError, OutputError
from facies.io import inline_blocks, open_segy, store_layout, write_segy_like
from facies.io.segy import reader
from facies.io.store import ingest_segy, open_survey
from facies.io.survey_qc import format_qc, survey_qc
from facies.names import AMPLITUDE, LABELS, LIVE


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of two inlines and chunks of two, so tiny surveys take many blocks."""
    monkeypatch.setattr(reader, "BLOCK_BYTES", 1)
    monkeypatch.setattr(store_layout, "MIN_CROSSLINE_INLINES", 2)


@pytest.mark.parametrize("sorting", ["inline", "crossline", "shuffled"])
def test_store_holds_the_same_survey(make_segy, tmp_path, small_blocks, sorting):
    live = np.ones((7, 4), dtype=bool)
    live[3, 2] = live[0, 0] = False
    path = make_segy(inlines=range(1, 8), live=live, sorting=sorting)
    out = ingest_segy(path, tmp_path / "s.zarr")
    survey, expected = open_survey(out), open_segy(path)
    np.testing.assert_array_equal(survey[AMPLITUDE].values, expected[AMPLITUDE].values)
    np.testing.assert_array_equal(survey[LIVE].values, live)
    for name in ("inline", "crossline", "sample", "cdp_x", "cdp_y"):
        np.testing.assert_array_equal(survey[name].values, expected[name].values)
    assert survey.attrs["sorting"] == expected.attrs["sorting"]
    section = survey[AMPLITUDE].sel(crossline=21).values
    np.testing.assert_array_equal(section, expected[AMPLITUDE].sel(crossline=21).values)


def test_labels_from_segy_and_npy_give_the_same_store(make_segy, tmp_path, small_blocks):
    seismic = make_segy(inlines=range(1, 6))
    labels = (np.arange(5 * 4 * 8).reshape(5, 4, 8) // 7 % 3).astype(np.int16)
    labels[0, 0, :4] = 255  # unlabelled samples
    write_segy_like(seismic, labels, tmp_path / "labels.sgy")
    np.save(tmp_path / "labels.npy", labels)
    a = ingest_segy(seismic, tmp_path / "a.zarr", labels=tmp_path / "labels.sgy",
                    ignore_label=255, class_names=["sand", "shale", "salt"])  # fmt: skip
    b = ingest_segy(seismic, tmp_path / "b.zarr", labels=tmp_path / "labels.npy",
                    ignore_label=255)  # fmt: skip
    sa, sb = open_survey(a), open_survey(b)
    np.testing.assert_array_equal(sa[LABELS].values, labels)
    np.testing.assert_array_equal(sb[LABELS].values, labels)
    expected = np.bincount(labels[labels != 255], minlength=3).tolist()
    assert sa.attrs["class_counts"] == expected == sb.attrs["class_counts"]
    qc = survey_qc(sa)
    assert qc["class_counts"] == dict(zip(["sand", "shale", "salt"], expected, strict=True))
    assert "sand:" in format_qc(qc) and "value 255" in format_qc(qc)


def test_labels_with_another_geometry_are_refused(make_segy, tmp_path):
    seismic = make_segy("a.sgy", inlines=range(1, 6))
    other = make_segy("b.sgy", inlines=range(2, 7))
    with pytest.raises(GeometryError, match=r"inlines 2\.\.6 \(5\) vs 1\.\.5 \(5\)"):
        ingest_segy(seismic, tmp_path / "s.zarr", labels=other)
    np.save(tmp_path / "l.npy", np.zeros((5, 4, 7), dtype=np.int16))
    with pytest.raises(GeometryError, match=r"shape \(5, 4, 7\).*\(5, 4, 8\)"):
        ingest_segy(seismic, tmp_path / "s.zarr", labels=tmp_path / "l.npy")
    np.save(tmp_path / "f.npy", np.zeros((5, 4, 8), dtype=np.float32))
    with pytest.raises(ConfigError, match="must be integers"):
        ingest_segy(seismic, tmp_path / "s.zarr", labels=tmp_path / "f.npy")
    assert not (tmp_path / "s.zarr").exists()


def test_negative_labels_need_an_ignore_value(make_segy, tmp_path):
    seismic = make_segy()
    np.save(tmp_path / "l.npy", np.full((5, 4, 8), -1, dtype=np.int16))
    with pytest.raises(FaciesError, match=r"negative class ids.*ignore_label"):
        ingest_segy(seismic, tmp_path / "s.zarr", labels=tmp_path / "l.npy")
    ingest_segy(seismic, tmp_path / "s.zarr", labels=tmp_path / "l.npy", ignore_label=-1)


def test_a_failed_ingest_leaves_nothing(make_segy, tmp_path, small_blocks, monkeypatch):
    path = make_segy()
    calls = []
    real = inline_blocks.InlineBlocks.read

    def failing(self, start, stop, out=None, headers=None):
        calls.append(start)
        if len(calls) == 2:
            raise OSError("read error")
        return real(self, start, stop, out, headers)

    monkeypatch.setattr(inline_blocks.InlineBlocks, "read", failing)
    with pytest.raises(OSError, match="read error"):
        ingest_segy(path, tmp_path / "s.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.sgy"]


def test_existing_store_is_kept_unless_overwrite(make_segy, tmp_path):
    path = make_segy()
    out = ingest_segy(path, tmp_path / "s.zarr")
    with pytest.raises(OutputError, match="overwrite"):
        ingest_segy(path, out)
    ingest_segy(path, out, overwrite=True)
    assert open_survey(out)[AMPLITUDE].shape == (5, 4, 8)


def test_open_survey_is_lazy_and_checks_its_input(make_segy, tmp_path):
    out = ingest_segy(make_segy(), tmp_path / "s.zarr")
    survey = open_survey(out)
    assert not isinstance(survey[AMPLITUDE].variable._data, np.ndarray)  # not loaded yet
    with pytest.raises(FaciesError, match=r"not a survey store.*facies ingest"):
        open_survey(tmp_path)


def test_amplitude_percentiles_are_recorded(make_segy, tmp_path):
    survey = open_survey(ingest_segy(make_segy(), tmp_path / "s.zarr"))
    pct = survey.attrs["amplitude_percentiles"]
    values = open_segy(make_segy("again.sgy"))[AMPLITUDE].values
    assert pct["50"] == pytest.approx(np.percentile(values, 50))
    assert json.dumps(survey_qc(survey))  # plain containers

"""Dead is dead: traces flagged dead (trace identification code 2 or 3) and, by default,
all-zero traces are not live wherever a survey is read, and stay in SEG-Y outputs."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from facies.data.normalization import NormStats
from facies.errors import ConfigError, OptionError
from facies.inference import prediction_store as ps
from facies.inference.predict import PredictOptions, predict_survey
from facies.inference.reader import SurveyReader
from facies.io import open_segy, scan_segy, write_segy_like
from facies.io.segy import fields
from facies.io.segy.scan import DEAD_TRACE_CODES
from facies.io.segy.summary import format_summary, summarize
from facies.io.store import ingest_segy, open_survey
from facies.names import AMPLITUDE, LIVE
from facies.training.checkpoint import load_network
from tests.helpers import CLASSES, encoded_cube, facies, make_checkpoint

SHAPE = (5, 4, 8)  # the fixtures' inlines 10..14, crosslines 20..23, 8 samples


def _codes() -> np.ndarray:
    """Trace identification codes of a 5 x 4 grid: two dead, one dummy, odd others."""
    codes = np.ones(SHAPE[:2], dtype=np.int16)
    codes[0, 0] = codes[3, 2] = 2  # dead
    codes[4, 3] = 3  # dummy
    codes[1, 1], codes[2, 2], codes[1, 3] = 0, 4, -1  # unknown, time break, other: data
    return codes


def _read_codes(path) -> np.ndarray:
    from facies.io.segy.layout import read_layout
    from facies.io.segy.scan import read_fields

    layout = read_layout(path, "auto")
    return read_fields(layout, [fields.TRACE_IDENTIFICATION_CODE])[fields.TRACE_IDENTIFICATION_CODE]


# ------------------------------------------------------------------------ the headers


def test_create_segy_writes_trace_identification_codes(make_flagged_segy, make_segy):
    codes = _codes()
    np.testing.assert_array_equal(_read_codes(make_flagged_segy(codes)), codes.ravel())
    np.testing.assert_array_equal(_read_codes(make_flagged_segy(1, name="ones.sgy")), 1)
    assert not _read_codes(make_segy()).any()  # unchanged default: 0 (unknown)


@pytest.mark.parametrize("sorting", ["inline", "crossline", "shuffled"])
def test_flagged_traces_are_not_live(make_flagged_segy, sorting):
    codes = _codes()
    scan = scan_segy(make_flagged_segy(codes, sorting=sorting))
    dead = np.isin(codes, DEAD_TRACE_CODES)
    assert DEAD_TRACE_CODES == (2, 3)
    np.testing.assert_array_equal(scan.grid.live_mask(), ~dead)
    assert scan.grid.trace_mask().all()  # every trace stays on the grid...
    assert len(scan.grid.traces) == 20  # ...and in the file's trace list (for SEG-Y out)
    assert scan.grid.dead_flagged == 3 and scan.grid.missing == 0
    assert scan.grid.live_fraction == pytest.approx(17 / 20)


def test_open_segy_zeroes_flagged_traces_and_counts_them(make_flagged_segy):
    codes = _codes()
    cube = encoded_cube(range(10, 15), range(20, 24), 8)
    cube[0, 0] = 1e6  # a dead trace may hold anything: it is read as no data
    survey = open_segy(make_flagged_segy(codes, cube=cube))
    dead = np.isin(codes, DEAD_TRACE_CODES)
    np.testing.assert_array_equal(survey[LIVE].values, ~dead)
    amplitude = survey[AMPLITUDE].values
    assert (amplitude[dead] == 0).all()
    np.testing.assert_array_equal(amplitude[~dead], cube[~dead])
    attrs = survey.attrs
    assert attrs["dead_flagged_traces"] == 3 and attrs["missing_traces"] == 0
    assert attrs["live_traces"] == 17 and attrs["live_fraction"] == pytest.approx(0.85)
    assert attrs["all_zero_traces"] == 0 and attrs["zero_traces"] == "dead"


def test_a_grid_of_mostly_dead_traces_is_no_geometry_error(make_flagged_segy, caplog):
    codes = np.full(SHAPE[:2], 2, dtype=np.int16)
    codes[0, 0] = 1  # 1 live trace in 20: the geometry is fine, the traces are dead
    survey = open_segy(make_flagged_segy(codes))
    assert survey[LIVE].sum() == 1
    codes[0, 0] = 2
    with caplog.at_level(logging.WARNING):
        survey = open_segy(make_flagged_segy(codes, name="all.sgy"))
    assert not survey[LIVE].any()
    assert "every one of its 20 traces is flagged dead" in caplog.text


def test_missing_and_flagged_traces_together(make_flagged_segy):
    live = np.ones(SHAPE[:2], dtype=bool)
    live[2, :] = False  # a missing inline
    codes = _codes()
    scan = scan_segy(make_flagged_segy(codes, live=live))
    dead = np.isin(codes, DEAD_TRACE_CODES)
    np.testing.assert_array_equal(scan.grid.live_mask(), live & ~dead)
    np.testing.assert_array_equal(scan.grid.trace_mask(), live)
    assert scan.grid.missing == 4 and scan.grid.dead_flagged == int((dead & live).sum())


# ------------------------------------------------------------------------ zero traces


def _cube_with_zero_traces() -> tuple[np.ndarray, np.ndarray]:
    cube = encoded_cube(range(10, 15), range(20, 24), 8)
    zero = np.zeros(SHAPE[:2], dtype=bool)
    zero[1, 2] = zero[4, 0] = True
    cube[zero] = 0.0
    cube[2, 1, :] = 0.0
    cube[2, 1, 3] = np.nan  # NaN is not zero: a live trace (with a non-finite sample)
    return cube, zero


def test_all_zero_traces_are_dead_by_default_and_live_on_request(make_segy):
    cube, zero = _cube_with_zero_traces()
    path = make_segy(cube=cube)
    survey = open_segy(path)
    np.testing.assert_array_equal(survey[LIVE].values, ~zero)
    assert survey.attrs["all_zero_traces"] == 2 and survey.attrs["live_traces"] == 18
    kept = open_segy(path, zero_traces="live")
    assert kept[LIVE].values.all() and kept.attrs["all_zero_traces"] == 2
    assert kept.attrs["zero_traces"] == "live"


def test_zero_traces_option_is_checked(make_segy):
    with pytest.raises(OptionError, match=r"zero_traces='maybe' is not one of dead, live"):
        open_segy(make_segy(), zero_traces="maybe")


def test_zero_traces_is_a_segy_option_of_every_job():
    from omegaconf import OmegaConf

    from facies.io.segy.options import SEGY_OPTIONS, segy_options
    from tests.helpers import REPO

    assert "zero_traces" in SEGY_OPTIONS
    defaults = OmegaConf.load(REPO / "conf" / "segy" / "default.yaml")
    assert segy_options(defaults)["zero_traces"] == "dead"
    with pytest.raises(ConfigError, match="unknown SEG-Y option"):
        segy_options({"zero_trace": "live"})


def test_ingest_settles_the_live_mask_from_the_samples(make_flagged_segy, tmp_path):
    cube, zero = _cube_with_zero_traces()
    codes = _codes()
    path = make_flagged_segy(codes, cube=cube)
    dead = np.isin(codes, DEAD_TRACE_CODES)
    survey = open_survey(ingest_segy(path, tmp_path / "a.zarr"))
    np.testing.assert_array_equal(survey[LIVE].values, ~dead & ~zero)
    expected = open_segy(path)
    np.testing.assert_array_equal(survey[LIVE].values, expected[LIVE].values)
    np.testing.assert_array_equal(survey[AMPLITUDE].values, expected[AMPLITUDE].values)
    assert survey.attrs["live_fraction"] == pytest.approx((~dead & ~zero).mean())
    kept = open_survey(ingest_segy(path, tmp_path / "b.zarr", zero_traces="live"))
    np.testing.assert_array_equal(kept[LIVE].values, ~dead)


def test_ingest_fills_labels_of_traces_that_are_not_live(make_flagged_segy, tmp_path):
    cube, _ = _cube_with_zero_traces()
    codes = _codes()
    path = make_flagged_segy(codes, cube=cube)
    labels = np.ones(SHAPE, dtype=np.int16)
    np.save(tmp_path / "l.npy", labels)
    survey = open_survey(
        ingest_segy(path, tmp_path / "s.zarr", labels=tmp_path / "l.npy", ignore_label=255)
    )
    live = survey[LIVE].values
    assert (survey["labels"].values[~live] == 255).all()
    assert (survey["labels"].values[live] == 1).all()
    assert survey.attrs["class_counts"] == [0, int(live.sum()) * 8]


def test_survey_reader_finds_zero_traces_as_it_reads(make_flagged_segy, tmp_path):
    cube, zero = _cube_with_zero_traces()
    codes = _codes()
    dead = np.isin(codes, DEAD_TRACE_CODES)
    path = make_flagged_segy(codes, cube=cube)
    reader = SurveyReader(path)
    live = reader.live  # the same array, settled as blocks are read
    np.testing.assert_array_equal(live, ~dead)  # the headers' word before any read
    block = reader.read(0, 5)
    np.testing.assert_array_equal(live, ~dead & ~zero)
    np.testing.assert_array_equal(reader.coordinates()[LIVE].values, ~dead & ~zero)
    assert (block[~live] == 0).all()
    kept = SurveyReader(path, zero_traces="live")
    kept.read(0, 5)
    np.testing.assert_array_equal(kept.live, ~dead)
    store = SurveyReader(ingest_segy(path, tmp_path / "s.zarr"))
    np.testing.assert_array_equal(store.live, ~dead & ~zero)


# ------------------------------------------------------------------------ outputs


def test_writer_keeps_every_trace_and_header(make_flagged_segy, tmp_path):
    path = make_flagged_segy(_codes(), sorting="shuffled")
    values = np.arange(np.prod(SHAPE), dtype=np.float32).reshape(SHAPE)
    out = write_segy_like(path, values, tmp_path / "out.sgy")
    raw_in, raw_out = path.read_bytes(), out.read_bytes()
    assert len(raw_in) == len(raw_out)
    size = 240 + 8 * 4
    for k in range(20):
        start = 3600 + k * size
        assert raw_in[start : start + 240] == raw_out[start : start + 240]


def _predict(path, store, **segy):
    net, _ = load_network(make_checkpoint(store.parent / "m.ckpt"))
    reader = SurveyReader(path, **segy)
    stats = NormStats(-2000.0, 2000.0, 2000.0)
    predict_survey(net, reader, stats, CLASSES, store, PredictOptions(window=(8, 8)))
    return ps.open_prediction(store)


def test_prediction_is_no_data_on_traces_that_are_not_live(make_flagged_segy, tmp_path):
    cube, zero = _cube_with_zero_traces()
    codes = _codes()
    dead = np.isin(codes, DEAD_TRACE_CODES)
    path = make_flagged_segy(codes, cube=cube)
    result = _predict(path, tmp_path / "p.zarr")
    labels, confidence = result[ps.FACIES].values, result[ps.CONFIDENCE].values
    gone = dead | zero
    assert (labels[gone] == ps.NO_TRACE).all() and (confidence[gone] == 0).all()
    assert ps.NO_TRACE == -1
    live = ~gone
    live_labels = labels[live]
    nan = np.isnan(cube[live])  # the NaN sample: no-data too
    assert (live_labels[~nan] >= 0).all() and (live_labels[nan] == ps.NO_TRACE).all()
    kept = _predict(path, tmp_path / "q.zarr", zero_traces="live")[ps.FACIES].values
    assert (kept[zero] >= 0).all() and (kept[dead] == ps.NO_TRACE).all()


def test_predict_job_writes_no_data_into_dead_traces_and_keeps_them(make_flagged_segy, tmp_path):
    cube, zero = _cube_with_zero_traces()
    cube[2, 1, 3] = 1.0
    codes = _codes()
    path = make_flagged_segy(codes, cube=cube)
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "facies.sgy"
    run = facies("predict", f"checkpoint={ckpt}", f"input={path}", f"output={out}",
                 "figure=false", "device=cpu", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    raw_in, raw_out = path.read_bytes(), out.read_bytes()
    size_in, size_out = 240 + 8 * 4, 240 + 8 * 2
    assert (len(raw_out) - 3600) // size_out == (len(raw_in) - 3600) // size_in == 20
    gone = (np.isin(codes, DEAD_TRACE_CODES) | zero).ravel()  # inline-sorted file: trace k
    for k in range(20):
        header = raw_out[3600 + k * size_out : 3600 + k * size_out + 240]
        assert header == raw_in[3600 + k * size_in : 3600 + k * size_in + 240]
        data = np.frombuffer(raw_out, ">i2", 8, 3600 + k * size_out + 240)
        assert (data == -1).all() if gone[k] else ((data >= 0) & (data < 3)).all()


# ------------------------------------------------------------------------ facies info


def test_info_reports_dead_flagged_traces_and_missing_cells(make_flagged_segy, tmp_path):
    live = np.ones(SHAPE[:2], dtype=bool)
    live[4, 3] = False
    path = make_flagged_segy(_codes(), live=live)
    summary = summarize(scan_segy(path))
    assert summary["dead_flagged_traces"] == 2  # the dummy trace is the missing one
    assert summary["missing_traces"] == 1 and summary["grid_cells"] == 20
    assert summary["live_fraction"] == pytest.approx(17 / 20)
    text = format_summary(summary)
    assert "19, 2 flagged dead (trace identification code 2 or 3, bytes 29-30" in text
    assert "20, 1 without a trace" in text and "85.0% of the grid" in text
    run = facies("info", f"input={path}", "text=false", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "2 flagged dead" in run.stdout and "1 without a trace" in run.stdout


def test_a_bad_zero_traces_value_names_the_segy_key(make_segy, tmp_path):
    run = facies("info", f"input={make_segy()}", "segy.zero_traces=maybe", cwd=tmp_path)
    assert run.returncode == 2
    assert "segy.zero_traces" in run.stderr and "Traceback" not in run.stderr


# ------------------------------------------------------------------------ real files


def test_segyio_files_have_no_dead_flags(segyio_data):
    """f3.sgy flags every trace as seismic data (1), small.sgy leaves the code 0."""
    for name, code in (("f3.sgy", 1), ("small.sgy", 0)):
        assert (_read_codes(segyio_data / name) == code).all()
        survey = open_segy(segyio_data / name)
        assert survey[LIVE].values.all() and survey.attrs["dead_flagged_traces"] == 0


def test_a_real_file_with_dead_flags(segyio_data, tmp_path):
    """f3.sgy with the codes of some traces set to 2, as a real survey's outline holds."""
    from facies.io.segy.layout import read_layout

    path = tmp_path / "f3-dead.sgy"
    shutil.copy(segyio_data / "f3.sgy", path)
    layout = read_layout(path, "auto")
    raw = bytearray(path.read_bytes())
    flagged = np.arange(0, layout.trace_count, 3)
    for k in flagged:
        at = (
            layout.first_trace_offset + k * layout.trace_size + fields.TRACE_IDENTIFICATION_CODE - 1
        )
        raw[at : at + 2] = (2).to_bytes(2, "big")
    path.write_bytes(bytes(raw))
    survey = open_segy(path)
    original = open_segy(segyio_data / "f3.sgy")
    assert survey.attrs["dead_flagged_traces"] == len(flagged)
    assert int(survey[LIVE].sum()) == layout.trace_count - len(flagged)
    live = survey[LIVE].values
    np.testing.assert_array_equal(survey[AMPLITUDE].values[live], original[AMPLITUDE].values[live])
    assert (survey[AMPLITUDE].values[~live] == 0).all()
    qc = open_survey(ingest_segy(path, tmp_path / "f3.zarr"))
    np.testing.assert_array_equal(qc[LIVE].values, live)

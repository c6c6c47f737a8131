"""The ingest QC counts what is wrong: live, dead-flagged, all-zero and missing traces,
non-finite samples; its percentiles come from finite samples of live traces only."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from facies.io import store
from facies.io.store import ingest_segy, open_survey
from facies.io.survey_qc import PERCENTILES, STAT_TRACES, TraceQc, format_qc, survey_qc
from facies.names import AMPLITUDE, LIVE
from tests.helpers import encoded_cube, facies

SHAPE = (5, 4, 8)


def _survey(make_flagged_segy):
    """A survey with one of each: dead-flagged, all-zero and missing traces, NaN and inf."""
    cube = encoded_cube(range(10, 15), range(20, 24), 8)
    codes = np.ones(SHAPE[:2], dtype=np.int16)
    codes[0, 0] = 2
    cube[0, 0] = 1e9  # a dead trace's values: in no percentile
    cube[1, 1] = 0.0  # all zero
    cube[2, 2, 3] = np.nan
    cube[2, 3, :2] = np.inf
    live = np.ones(SHAPE[:2], dtype=bool)
    live[4, 3] = False  # missing
    return make_flagged_segy(codes, cube=cube, live=live), cube


def test_qc_counts_every_kind_of_trace(make_flagged_segy, tmp_path, caplog):
    path, _ = _survey(make_flagged_segy)
    with caplog.at_level(logging.WARNING):
        survey = open_survey(ingest_segy(path, tmp_path / "s.zarr"))
    qc = survey_qc(survey)
    assert qc["live_traces"] == 17 and qc["live_fraction"] == pytest.approx(0.85)
    assert qc["dead_flagged_traces"] == 1 and qc["all_zero_traces"] == 1
    assert qc["missing_traces"] == 1 and qc["zero_traces"] == "dead"
    assert qc["nonfinite_samples"] == 3 and qc["nonfinite_traces"] == 2
    assert "3 NaN or infinite amplitude samples in 2 live traces" in caplog.text
    assert "data.mask_nonfinite=true" in caplog.text
    # non-finite samples are kept as they are; the dead trace is no data
    amplitude = survey[AMPLITUDE].values
    assert np.isnan(amplitude[2, 2, 3]) and np.isinf(amplitude[2, 3, :2]).all()
    assert (amplitude[0, 0] == 0).all() and not survey[LIVE].values[0, 0]
    assert json.dumps(qc)


def test_percentiles_come_from_finite_live_samples(make_flagged_segy, tmp_path):
    path, cube = _survey(make_flagged_segy)
    pct = survey_qc(open_survey(ingest_segy(path, tmp_path / "s.zarr")))["amplitude_percentiles"]
    live = np.ones(SHAPE[:2], dtype=bool)
    live[0, 0] = live[1, 1] = live[4, 3] = False
    values = cube[live].ravel()
    values = values[np.isfinite(values)]
    assert list(pct) == [str(p) for p in PERCENTILES]
    for p in PERCENTILES:
        assert pct[str(p)] == pytest.approx(np.percentile(values, p))
    assert all(np.isfinite(v) for v in pct.values()) and pct["99.9"] < 1e9


def test_zero_traces_kept_live_count_in_the_percentiles(make_flagged_segy, tmp_path):
    path, _ = _survey(make_flagged_segy)
    qc = survey_qc(open_survey(ingest_segy(path, tmp_path / "s.zarr", zero_traces="live")))
    assert qc["live_traces"] == 18 and qc["all_zero_traces"] == 1
    assert qc["zero_traces"] == "live"
    assert "1 all-zero (kept live: segy.zero_traces=live)" in format_qc(qc)
    assert qc["amplitude_percentiles"]["0.1"] == 0.0


def test_qc_text_names_the_counts_and_the_fix(make_flagged_segy, tmp_path):
    path, _ = _survey(make_flagged_segy)
    text = format_qc(survey_qc(open_survey(ingest_segy(path, tmp_path / "s.zarr"))))
    assert "live        85.0% of the grid: 17 live traces" in text
    assert "1 flagged dead (trace identification code 2 or 3, bytes 29-30)" in text
    assert "1 all-zero (dead: segy.zero_traces=dead)" in text
    assert "1 grid cells without a trace" in text
    assert "non-finite  3 samples in 2 live traces, kept as they are: train with " in text
    assert "data.mask_nonfinite=true" in text
    assert "nan" not in text.lower().replace("non-finite", "")


def test_a_survey_without_finite_live_samples_says_so(make_segy, tmp_path):
    cube = np.full(SHAPE, np.nan, dtype=np.float32)
    qc = survey_qc(open_survey(ingest_segy(make_segy(cube=cube), tmp_path / "s.zarr")))
    assert qc["amplitude_percentiles"] == {} and qc["nonfinite_samples"] == np.prod(SHAPE)
    assert "no finite sample in a live trace" in format_qc(qc)


def test_a_clean_survey_reports_zeros(make_segy, tmp_path):
    qc = survey_qc(open_survey(ingest_segy(make_segy(), tmp_path / "s.zarr")))
    assert qc["live_traces"] == 20 and qc["dead_flagged_traces"] == 0
    assert qc["all_zero_traces"] == qc["missing_traces"] == qc["nonfinite_samples"] == 0
    assert "non-finite  0 samples in 0 live traces\n" in format_qc(qc) + "\n"


def test_an_older_store_without_the_counts_still_gets_a_qc(make_segy, tmp_path):
    survey = open_survey(ingest_segy(make_segy(), tmp_path / "s.zarr"))
    for key in ("dead_flagged_traces", "all_zero_traces", "missing_traces", "nonfinite_samples"):
        del survey.attrs[key]
    qc = survey_qc(survey)
    assert qc["dead_flagged_traces"] is None and qc["live_traces"] == 20
    text = format_qc(qc)
    assert "flagged dead" not in text and "non-finite" not in text


def test_counts_and_sampling_do_not_depend_on_the_blocks(make_flagged_segy, tmp_path, monkeypatch):
    path, _ = _survey(make_flagged_segy)
    whole = survey_qc(open_survey(ingest_segy(path, tmp_path / "a.zarr")))
    from facies.io import inline_blocks

    monkeypatch.setattr(inline_blocks, "BLOCK_BYTES", 1)  # a block per inline
    monkeypatch.setattr(store, "LATERAL_CHUNK", 1)
    blocks = survey_qc(open_survey(ingest_segy(path, tmp_path / "b.zarr")))
    assert whole == blocks


def test_trace_qc_samples_one_live_trace_in_every(monkeypatch):
    import facies.io.survey_qc as survey_qc_module

    monkeypatch.setattr(survey_qc_module, "STAT_TRACES", 4)
    qc = TraceQc(header_live=12)  # every third live trace
    assert qc.every == 3 and STAT_TRACES == 4096
    values = np.arange(12, dtype=np.float32)[:, None, None] * np.ones((1, 1, 2), np.float32)
    live = np.ones((12, 1), dtype=bool)
    for start in range(0, 12, 5):  # blocks of 5, 5 and 2 traces
        qc.add(values[start : start + 5], live[start : start + 5], ~live[start : start + 5])
    sampled = np.concatenate(qc._sampled)[:, 0]
    np.testing.assert_array_equal(sampled, [0, 3, 6, 9])


def test_ingest_command_prints_and_saves_the_qc(make_flagged_segy, tmp_path):
    path, _ = _survey(make_flagged_segy)
    out = tmp_path / "s.zarr"
    run = facies("ingest", f"input={path}", f"output={out}", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "1 flagged dead" in run.stdout and "1 all-zero" in run.stdout
    assert "non-finite  3 samples in 2 live traces" in run.stdout
    saved = open_survey(out).attrs["qc"]  # kept in the store, not as a file in its tree
    assert saved["dead_flagged_traces"] == 1 and saved["nonfinite_traces"] == 2

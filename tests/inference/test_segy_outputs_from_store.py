"""facies predict on a survey store whose source SEG-Y moved, was deleted or changed: the
facies, confidence and probability SEG-Y files are written from the headers the store
kept (never another file's), with the same guarantees as from the source; a store that
keeps none is refused in one line that says what is needed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import segyio

from facies.data.normalization import NormStats
from facies.errors import ConfigError
from facies.inference import prediction_store as ps
from facies.inference.predict import PredictOptions, predict_survey
from facies.inference.reader import SurveyReader
from facies.inference.segy_out import output_template, write_outputs
from facies.io.store import ingest_segy
from facies.training.checkpoint import load_network
from tests.helpers import CLASSES, as_legacy_store, make_checkpoint

STATS = NormStats(-2000.0, 2000.0, 2000.0)
CHECKPOINT = {"path": "m.ckpt", "checksum": "blake2b:0123abcd"}


def predict_and_write(store, tmp_path, name="facies.sgy"):
    """Predict the store (as facies predict does) and write its SEG-Y files."""
    reader = SurveyReader(store)
    net, _ = load_network(make_checkpoint(tmp_path / "m.ckpt"))
    prediction = tmp_path / f"{name}.zarr"
    opts = PredictOptions(window=(8, 8), probabilities=True)
    predict_survey(net, reader, STATS, CLASSES, prediction, opts)
    template = output_template(store, reader.scan, {}, survey=reader.survey)
    files = write_outputs(template, prediction, tmp_path / name, CLASSES, checkpoint=CHECKPOINT,
                          source=template.source, version="9.9", overwrite=False, inputs=[store],
                          confidence=True, probabilities=True)  # fmt: skip
    return template, prediction, files


@pytest.fixture
def source(make_segy):
    live = np.ones((6, 4), dtype=bool)
    live[2, 1] = False  # a missing trace
    codes = np.zeros((6, 4), dtype=np.int16)
    codes[4, 3] = 2  # a trace flagged dead
    return make_segy(inlines=range(1, 7), crosslines=range(1, 5), ns=16, live=live,
                     trace_id=codes)  # fmt: skip


def split(raw: bytes, ns: int, bps: int) -> tuple[bytes, list[bytes]]:
    """File headers and trace headers of a SEG-Y byte string."""
    size = 240 + ns * bps
    count = (len(raw) - 3600) // size
    return raw[:3600], [raw[3600 + k * size : 3600 + k * size + 240] for k in range(count)]


@pytest.mark.parametrize("how", ["moved", "deleted"])
def test_the_facies_segy_of_a_store_whose_source_is_gone(source, tmp_path, how):
    original = source.read_bytes()
    store = ingest_segy(source, tmp_path / "survey.zarr")
    if how == "moved":
        shutil.move(source, tmp_path / "elsewhere.sgy")
    else:
        source.unlink()
    template, prediction, files = predict_and_write(store, tmp_path)
    assert template.kept_in == store and template.source == source.resolve()
    facies = ps.open_prediction(prediction)[ps.FACIES].values
    with segyio.open(files["segy"], ignore_geometry=True) as f:  # big-endian, as the source
        assert int(f.format) == 3 and f.bin[segyio.BinField.Samples] == 16
        il = f.attributes(segyio.TraceField.INLINE_3D)[:]
        xl = f.attributes(segyio.TraceField.CROSSLINE_3D)[:]
        cells = {(i, x) for i in range(1, 7) for x in range(1, 5)} - {(3, 2)}
        assert len(il) == 23 and set(zip(il, xl, strict=True)) == cells  # none where missing
        np.testing.assert_array_equal(f.trace.raw[:], facies[il - 1, xl - 1])
        assert (facies[4, 3] == ps.NO_TRACE).all()  # the dead trace: no data, as from the source
        text = segyio.tools.wrap(f.text[0])
        assert "FACIES CLASS IDS" in text and f"source: {source.name}" in text
        assert "headers as kept in survey.zarr (source not read)" in text
        assert "0=parallel 1=chaotic 2=transparent -1=no data" in text
    head, headers = split(Path(files["segy"]).read_bytes(), 16, 2)
    head_in, headers_in = split(original, 16, 4)
    assert headers == headers_in  # byte-identical trace headers, byte 115 already 16
    assert head[3200:3224] == head_in[3200:3224] and head[3226:] == head_in[3226:]
    with segyio.open(files["confidence"], ignore_geometry=True) as f:
        assert int(f.format) == 5 and f.tracecount == 23
    legend = json.loads((tmp_path / "facies.legend.json").read_text())
    assert legend["headers_kept_in"] == str(store) and (tmp_path / "facies.colours.csv").exists()
    assert [c["name"] for c in legend["classes"]] == CLASSES


def test_a_changed_source_is_never_the_template(source, tmp_path):
    original = source.read_bytes()
    store = ingest_segy(source, tmp_path / "survey.zarr")
    raw = bytearray(original)
    raw[3600 + 180 : 3600 + 184] = (123456).to_bytes(4, "big", signed=True)  # a cdp_x edited
    source.write_bytes(bytes(raw))
    template, _, files = predict_and_write(store, tmp_path)
    assert template.kept_in == store
    _, headers = split(Path(files["segy"]).read_bytes(), 16, 2)
    _, headers_in = split(original, 16, 4)
    assert headers == headers_in  # the store's (the survey predicted), not the edited file's


def test_a_present_matching_source_is_still_read(source, tmp_path):
    store = ingest_segy(source, tmp_path / "survey.zarr")
    template, _, _ = predict_and_write(store, tmp_path)
    assert template.path == source.resolve() and template.kept_in is None


def test_a_store_keeping_no_headers_says_what_is_needed(source, tmp_path):
    store = as_legacy_store(ingest_segy(source, tmp_path / "survey.zarr"))
    shutil.rmtree(store / "trace_header")
    source.unlink()
    reader = SurveyReader(store)
    with pytest.raises(ConfigError) as err:
        output_template(store, reader.scan, {}, survey=reader.survey)
    line = str(err.value)
    assert "\n" not in line and f"ingested from {source.resolve()}, which is gone" in line
    assert "keeps no SEG-Y headers" in line and "give input=<that SEG-Y file" in line
    assert f"output={store} overwrite=true" in line and "write_segy=false" in line

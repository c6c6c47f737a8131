"""The files facies predict writes for interpretation software: a facies SEG-Y that says
what it holds, its legend and colour table, confidence and probability SEG-Y files; read
back with segyio, segysak and obspy."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import segyio

from facies.data.normalization import NormStats
from facies.inference import prediction_store as ps
from facies.inference.predict import PredictOptions, predict_survey
from facies.inference.reader import SurveyReader
from facies.inference.segy_out import write_outputs
from facies.io.segy.scan import scan_segy
from facies.training.checkpoint import load_network
from tests.helpers import CLASSES, make_checkpoint

STATS = NormStats(-2000.0, 2000.0, 2000.0)


@pytest.fixture
def written(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 7), crosslines=range(1, 5), ns=16, endian="little")
    net, _ = load_network(make_checkpoint(tmp_path / "m.ckpt"))
    store = tmp_path / "p.zarr"
    opts = PredictOptions(window=(8, 8), probabilities=True)
    predict_survey(net, SurveyReader(path), STATS, CLASSES, store, opts)
    output = tmp_path / "facies.sgy"
    files = write_outputs(
        scan_segy(path), store, output, CLASSES,
        checkpoint={"path": str(tmp_path / "m.ckpt"), "checksum": "blake2b:0123abcd"},
        source=path, version="9.9", overwrite=False, inputs=[path],
        confidence=True, probabilities=True,
    )  # fmt: skip
    return path, store, files


def test_the_facies_segy_says_what_it_holds(written):
    source, store, files = written
    with segyio.open(files["segy"], ignore_geometry=True, endian="little") as f:
        text = segyio.tools.wrap(f.text[0])
        assert "FACIES CLASS IDS" in text and "facies 9.9" in text
        assert f"source: {source.name}" in text and "blake2b:0123abcd" in text
        assert "0=parallel 1=chaotic 2=transparent -1=no data" in text
        assert "no-data value -1" in text and "FACIES OUTPUT" in text.splitlines()[-1]
        assert f.bin[segyio.BinField.Format] == 3
        assert all(f.header[k][segyio.TraceField.TRACE_SAMPLE_COUNT] == 16 for k in range(3))
        stored = ps.open_prediction(store)[ps.FACIES].values.reshape(-1, 16)
        np.testing.assert_array_equal(f.trace.raw[:], stored)
    with open(files["segy"], "rb") as fh:  # rev 2 byte-order word in the file's order
        fh.seek(3296)
        assert int.from_bytes(fh.read(4), "little") == 0x01020304


def test_legend_and_colour_table_beside_it(written):
    _, _, files = written
    legend = json.loads(Path(files["legend"]).read_text())
    assert [c["name"] for c in legend["classes"]] == CLASSES and legend["no_data"] == -1
    assert legend["checkpoint"]["checksum"] == "blake2b:0123abcd"
    with open(files["colours"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == CLASSES
    assert all(0 <= int(r[c]) <= 255 for r in rows for c in "RGB")
    assert (rows[0]["R"], rows[0]["G"], rows[0]["B"]) != (rows[1]["R"], rows[1]["G"], rows[1]["B"])


def test_confidence_and_probability_segy(written):
    _, store, files = written
    prediction = ps.open_prediction(store)
    with segyio.open(files["confidence"], ignore_geometry=True, endian="little") as f:
        assert f.bin[segyio.BinField.Format] == 5
        conf = f.trace.raw[:]
    np.testing.assert_allclose(conf, prediction[ps.CONFIDENCE].values.reshape(-1, 16))
    total = 0
    for name in CLASSES:
        with segyio.open(files[f"probability {name}"], ignore_geometry=True, endian="little") as f:
            total = total + f.trace.raw[:]
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


def test_segysak_and_obspy_read_the_facies_segy(written):
    _, store, files = written
    pytest.importorskip("segysak")
    obspy = pytest.importorskip("obspy")
    import xarray as xr

    ds = xr.open_dataset(files["segy"], engine="sgy_engine",
                         dim_byte_fields={"iline": 189, "xline": 193},
                         segyio_kwargs={"endian": "little"})  # fmt: skip
    assert dict(ds.sizes) == {"iline": 6, "xline": 4, "samples": 16}
    facies = ps.open_prediction(store)[ps.FACIES].values
    np.testing.assert_array_equal(ds["data"].values, facies)
    stream = obspy.read(files["segy"], format="SEGY", byteorder="<")
    assert len(stream) == 24 and stream[0].stats.npts == 16
    np.testing.assert_array_equal(stream[0].data, facies[0, 0])

"""Train -> evaluate -> predict through the CLI on a few labelled sections and on a 2-D
line of the synthetic survey (tiny settings)."""

from __future__ import annotations

import json
import re

from facies.io.segy.reader import open_segy as read_segy
from tests.helpers import CPU, TINY_MODEL, TINY_SPARSE, facies, run_folder

EPOCHS = ["trainer.max_epochs=1", "trainer.log_every_n_steps=1"]


def _train_evaluate_predict(tmp_path, data: list[str], segy: list[str], seismic: str):
    train = facies("train", *data, *segy, *TINY_MODEL, *CPU, *EPOCHS, cwd=tmp_path, timeout=300)
    assert train.returncode == 0, train.stderr[-3000:]
    run = run_folder(train.stdout)
    metrics = json.loads((run / "metrics.json").read_text())
    assert (run / "test_section.png").is_file()
    ckpt = run / "checkpoints" / "best.ckpt"
    evaluate = facies("evaluate", f"checkpoint={ckpt}", *data, *segy, *CPU, cwd=tmp_path,
                      timeout=300)  # fmt: skip
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    scored = json.loads((run_folder(evaluate.stdout) / "metrics.json").read_text())
    assert abs(scored["test"]["pa"] - metrics["test"]["pa"]) < 1e-6
    out = tmp_path / "facies.sgy"
    predict = facies("predict", f"checkpoint={ckpt}", f"input={seismic}", f"output={out}",
                     *segy, cwd=tmp_path, timeout=300)  # fmt: skip
    assert predict.returncode == 0, predict.stderr[-3000:]
    return metrics, train, out


def test_sparse_sections_train_evaluate_predict(tmp_path):
    metrics, train, out = _train_evaluate_predict(
        tmp_path, TINY_SPARSE, [], "data/synthetic/seismic.sgy"
    )
    log = (run_folder(train.stdout) / "train.log").read_text()
    assert "sections layout" in log
    # only labelled samples count: 1 held-out test section of 48 or 64 traces x 32 samples
    support = sum(metrics["test"]["support"]) if "support" in metrics["test"] else None
    assert support is None or support in (48 * 32, 64 * 32)
    predicted = read_segy(out, min_live_fraction=0)
    assert predicted.sizes["inline"] == 64 and predicted.sizes["crossline"] == 48


def test_a_2d_line_train_evaluate_predict(tmp_path):
    data = [
        "data.synthetic.n_inlines=16", "data.synthetic.n_crosslines=160",
        "data.synthetic.n_samples=32", "data.synthetic.lines=1",
        "data.patch=[16,16]", "data.stride=[16,16]",
    ]  # fmt: skip
    segy = ["segy.iline=9", "segy.xline=21"]
    metrics, _, out = _train_evaluate_predict(tmp_path, data, segy, "data/synthetic/seismic.sgy")
    assert "train" in metrics["splits"]
    predicted = read_segy(out, iline=9, xline=21)
    assert predicted.sizes["inline"] == 1 and predicted.sizes["crossline"] == 160


def test_a_set_of_2d_lines_splits_by_whole_lines(tmp_path):
    data = [
        "data.synthetic.n_inlines=40", "data.synthetic.n_crosslines=64",
        "data.synthetic.n_samples=32", "data.synthetic.lines=5", "data.layout=sections",
        "data.patch=[16,16]", "data.stride=[16,16]",
    ]  # fmt: skip
    segy = ["segy.iline=9", "segy.xline=21"]
    train = facies("train", *data, *segy, *TINY_MODEL, *CPU, *EPOCHS, cwd=tmp_path, timeout=300)
    assert train.returncode == 0, train.stderr[-3000:]
    log = (run_folder(train.stdout) / "train.log").read_text()
    assert "5 labelled sections" in log
    # whole lines held out, not blocks of traces
    assert re.search(r"val \['inline \d+'\], test \['inline \d+'\]", log), log[-2000:]

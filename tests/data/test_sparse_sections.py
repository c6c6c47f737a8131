"""The sections layout: labelled sections found, split without leaks, patches that hold
labels, and memory that follows the labelled sections, not the grid."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from facies.data.sections import (
    Piece,
    choose_layout,
    excluded_traces,
    find_sections,
    split_pieces,
)
from facies.data.sections_datamodule import SectionsDataModule
from facies.errors import ConfigError
from facies.io.store import open_survey
from facies.names import IGNORE_INDEX
from tests.helpers import REPO, source_env, sparse_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return sparse_store(tmp_path_factory.mktemp("sparse"))


def test_sections_found_from_a_segy_of_sections_only(store):
    survey = open_survey(store)
    layout, found, share = choose_layout("auto", survey, {})
    assert layout == "sections" and share < 0.25
    names = [p.name for p in found]
    assert names == [
        "inline 110", "inline 132", "inline 153",
        "crossline 308", "crossline 324", "crossline 340",
    ]  # fmt: skip
    # the inlines that only cross labelled crosslines are not sections
    assert all(len(p) > 40 for p in found)


def test_sections_found_in_a_full_survey_with_ignored_labels():
    nil, nxl = 40, 30
    live = np.ones((nil, nxl), bool)
    labelled = np.zeros((nil, nxl), bool)
    labelled[[5, 20]] = True
    labelled[:, 12] = True
    found = find_sections(labelled, live, np.arange(nil) + 1, np.arange(nxl) + 500)
    assert [p.name for p in found] == ["inline 6", "inline 21", "crossline 512"]
    listed = find_sections(labelled, live, np.arange(nil) + 1, np.arange(nxl) + 500,
                           {"inlines": [21], "crosslines": []})  # fmt: skip
    assert [p.name for p in listed] == ["inline 21"]
    with pytest.raises(ConfigError, match="does not hold"):
        find_sections(labelled, live, np.arange(nil), np.arange(nxl), {"inlines": [999]})


def test_dense_survey_stays_a_volume():
    from facies.sources.synthetic import synthetic_dataset

    survey = synthetic_dataset(n_inlines=16, n_crosslines=16, n_samples=32)
    assert choose_layout("auto", survey, {})[0] == "volume"
    assert choose_layout("sections", survey, {})[0] == "sections"


def test_splits_hold_out_spread_whole_sections():
    sections = [Piece("inline", k, k, 0, 50) for k in range(0, 40, 10)]
    sections += [Piece("crossline", k, k, 0, 40) for k in range(5, 50, 8)]
    pieces = split_pieces(sections, None)
    assert len(pieces["val"]) >= 1 and len(pieces["test"]) >= 1
    held = {p.name for p in pieces["val"] + pieces["test"]}
    assert not held & {p.name for p in pieces["train"]}
    assert {p.direction for p in pieces["val"] + pieces["test"]} == {"inline", "crossline"}


def test_a_single_line_is_split_in_blocks_of_traces():
    pieces = split_pieces([Piece("inline", 0, 7, 0, 200)], None)
    (train,), (val,), (test,) = pieces["train"], pieces["val"], pieces["test"]
    assert (train.lo, train.hi, val.lo, val.hi, test.lo, test.hi) == (0, 140, 140, 160, 160, 200)
    near = excluded_traces(pieces, (1, 200), margin=8)[train]
    assert near[-8:].all() and not near[:-8].any()


def test_no_training_trace_within_the_margin_of_a_held_out_section(store):
    survey = open_survey(store)
    _, found, _ = choose_layout("auto", survey, {})
    dm = SectionsDataModule(survey, found, patch=(16, 16), stride=(8, 8), size_multiple=4,
                            margin=5)  # fmt: skip
    dm.setup()
    held = [p for name in ("val", "test") for p in dm.pieces[name]]
    train = dm.splits["train"]
    assert held and len(train)
    for row in range(train.start, train.stop):
        piece = dm.stack_pieces[row]
        for other in held:
            if other.direction == piece.direction:
                continue
            # where the held-out section crosses this training one, along it
            if not other.lo <= piece.index < other.hi:
                continue
            at = other.index - piece.lo
            lo, hi = max(0, at - 5), min(len(piece), at + 6)
            labels = dm.volume.labels[row, lo:hi]
            assert (labels == IGNORE_INDEX).all(), (piece.name, other.name)
            assert (dm.volume.amplitude[row, at] == 0).all()  # the crossing trace zeroed
            assert not dm.live[row, lo:hi].any()
    # the held-out sections keep their crossing traces
    for name in ("val", "test"):
        region = dm.splits[name]
        assert (dm.volume.labels[region.start : region.stop] != IGNORE_INDEX).any()


def test_training_patches_hold_a_share_of_labelled_samples(store):
    survey = open_survey(store)
    _, found, _ = choose_layout("auto", survey, {})
    dm = SectionsDataModule(survey, found, patch=(16, 16), stride=(8, 8), size_multiple=4)
    dm.setup()
    table = dm.tables["train"]
    assert len(table)
    mask = dm.volume.cut(table, np.arange(len(table)), dm.patch)["mask"]
    share = (mask != IGNORE_INDEX).flatten(1).float().mean(1)
    assert share.min() >= 0.25
    assert set(table.section.tolist()) <= set(range(dm.splits["train"].start,
                                                    dm.splits["train"].stop))  # fmt: skip


MEMORY_SCRIPT = """
import json, resource, sys
from facies.training.trainer import prepare_training, train_config
cfg = train_config(["data=segy", f"data.store={sys.argv[1]}", "data.seismic=null",
    "data.labels=null", "data.patch=[32,32]", "data.stride=[32,32]", "model.depth=2",
    "model.base_channels=4", "trainer=cpu", "trainer.max_epochs=1",
    "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1"])
run = prepare_training(cfg, sys.argv[2])
run.trainer.fit(run.module, datamodule=run.datamodule)
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "volume": list(run.datamodule.volume.shape)}))
"""


def test_memory_follows_the_sections_not_the_grid(tmp_path):
    """A 320 x 480 x 256 grid (a dense volume: 236 MiB at 6 bytes a sample) holding 2
    inlines and 3 crosslines trains with only those in memory."""
    store = sparse_store(tmp_path, shape=(320, 480, 256), inlines=2, crosslines=3)
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(store), str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, env=source_env(), cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["volume"][0] == 5 and result["volume"][1] == 480
    baseline = subprocess.run(
        [sys.executable, "-c", "import resource, torch, lightning, facies.training.trainer;"
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"],
        capture_output=True, text=True, env=source_env(), cwd=REPO,
    )  # fmt: skip
    base = float(baseline.stdout.strip())
    # the dense grid alone would add 236 MiB
    assert result["peak_mib"] - base < 150, (result, base)

"""One spelling per option, everywhere (issue 13): ``segy.<option>`` in every job that
reads SEG-Y, old spellings refused with the new one named, errors that name the key of
the job that raised them, one data base config, one run-folder pattern."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from facies.cli import error_text, legacy_spellings, main, option_key
from facies.errors import (
    ConfigError,
    GeometryError,
    GeometryOptionError,
    OptionError,
    SegyFormatError,
    SegyFormatOptionError,
)
from facies.io.segy.options import SEGY_OPTIONS, segy_options
from facies.jobs import JOBS
from facies.runtime import compose
from facies.sources import survey as sources
from tests.helpers import REPO, facies, source_env

CONF = REPO / "conf"
#: Jobs that read SEG-Y, and those of them that train or score on a data config.
SEGY_JOBS = ("info", "ingest", "predict", "gradflow", "train", "evaluate", "inspect")
DATA_JOBS = ("train", "evaluate", "inspect")
SOURCES = ("synthetic", "segy", "f3")
#: Jobs that write beside the user's files, not into a run folder of their own.
IN_PLACE_JOBS = ("info", "ingest", "synth")


# ------------------------------------------------------------------ the segy options


def test_the_options_are_the_readers_keywords():
    import inspect

    from facies.io.segy.scan import scan_segy

    keywords = [p.name for p in inspect.signature(scan_segy).parameters.values()][1:]
    assert tuple(keywords) == SEGY_OPTIONS
    assert tuple(OmegaConf.load(CONF / "segy" / "default.yaml")) == SEGY_OPTIONS


def test_segy_options_turns_a_node_into_keywords():
    node = OmegaConf.create({"iline": 9, "xline": 21, "endian": "${oc.select:nothing,big}"})
    assert segy_options(node) == {"iline": 9, "xline": 21, "endian": "big"}
    assert segy_options(None) == {}
    assert segy_options(compose("info").segy) == dict(OmegaConf.load(CONF / "segy/default.yaml"))
    with pytest.raises(ConfigError, match=r"unknown SEG-Y option\(s\) inline; the options are"):
        segy_options({"inline": 9})


@pytest.mark.parametrize("job", SEGY_JOBS)
def test_every_job_that_reads_segy_takes_segy_dot_options(job):
    cfg = compose(job, ["segy.iline=9", "segy.xline=21", "segy.min_live_fraction=0"])
    assert segy_options(cfg.segy) == {
        **segy_options(compose(job).segy),
        "iline": 9,
        "xline": 21,
        "min_live_fraction": 0,
    }
    assert not set(SEGY_OPTIONS) & set(cfg)  # nothing left at the top level
    if "data" in cfg:
        assert "segy" not in cfg.data


@pytest.mark.parametrize("job", sorted(JOBS))
def test_every_job_config_composes(job):
    cfg = compose(job)
    assert ("segy" in cfg) == (job in SEGY_JOBS)
    if job in DATA_JOBS:
        for source in SOURCES:
            assert compose(job, [f"data={source}"]).data.source == source


def test_gradflow_reads_a_segy_file_with_the_segy_options(make_segy):
    from facies.jobs.gradflow import load_candidates

    path = make_segy(iline_byte=9, xline_byte=21)
    cfg = compose("gradflow", ["segy.iline=9", "segy.xline=21"])
    assert load_candidates(str(path), 2, 8, 0, cfg).shape == (8, 8)
    with pytest.raises(GeometryError):  # at the default bytes 189/193 there is no grid
        load_candidates(str(path), 2, 8, 0, compose("gradflow"))


def test_info_and_ingest_take_segy_options_on_the_command_line(make_segy, tmp_path):
    path = make_segy(iline_byte=9, xline_byte=21)
    run = facies("ingest", f"input={path}", "segy.iline=9", "segy.xline=21",
                 f"output={tmp_path / 's.zarr'}", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "s.zarr").is_dir()


# ------------------------------------------------------------------ old spellings


@pytest.mark.parametrize(
    ("job", "override", "new"),
    [
        ("info", "iline=9", "segy.iline=9"),
        ("info", "+iline=9", "segy.iline=9"),
        ("ingest", "++xline=21", "segy.xline=21"),
        ("predict", "sample_interval=4", "segy.sample_interval=4"),
        ("gradflow", "min_live_fraction=0", "segy.min_live_fraction=0"),
        ("train", "data.segy.iline=9", "segy.iline=9"),
        ("train", "+data.segy.iline=9", "segy.iline=9"),
        ("evaluate", "data.segy.endian=little", "segy.endian=little"),
        ("inspect", "data.segy.domain=depth", "segy.domain=depth"),
        ("train", "~data.segy.offset", "~segy.offset"),
    ],
)
def test_old_spellings_are_one_line_naming_the_new_key(job, override, new, capsys):
    assert main([job, "input=x.sgy", override]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"facies {job}: error: ")
    assert f"{override} is now spelled {new} " in err


def test_an_old_spelling_exits_2_before_hydra_runs(tmp_path):
    run = facies("info", "input=x.sgy", "iline=9", "xline=21", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.startswith(
        "facies info: error: iline=9 is now spelled segy.iline=9; xline=21 is now spelled "
        "segy.xline=21 ("
    )
    assert "Traceback" not in run.stderr and "Could not override" not in run.stderr
    run = facies("train", "data.segy.iline=9", cwd=tmp_path)
    assert run.returncode == 2 and "is now spelled segy.iline=9" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no run folder was made


@pytest.mark.parametrize(
    ("job", "overrides"),
    [
        ("predict", ["checkpoint=m.ckpt", "input=new.sgy", "output=f.sgy", "store=p.zarr"]),
        ("synth", ["sample_interval=2", "n_inlines=8"]),  # synth's own option, no SEG-Y read
        ("train", ["hydra.run.dir=here", "hydra/launcher=slurm", "-m", "model=unet,lstm"]),
        ("train", ["data=segy", "data.seismic=a.sgy", "segy.iline=9", "+trainer.x=1"]),
        ("info", ["input=a.sgy", "--cfg", "job", "-p", "segy.iline"]),
        ("ingest", ["input=a.sgy", "labels=l.sgy", "ignore_label=255"]),
    ],
)
def test_current_spellings_pass(job, overrides):
    assert legacy_spellings(job, overrides) is None


# ------------------------------------------------------- errors name the job's key


def test_an_option_error_renders_the_bare_name_for_python_callers():
    err = OptionError("labels hold -1; set {key} (and {classes}) {x}", option="ignore_label",
                      others=("classes",))  # fmt: skip
    assert str(err) == "labels hold -1; set ignore_label (and classes) {x}"
    assert err.option == "ignore_label" and err.options == ("ignore_label", "classes")
    assert isinstance(err, ConfigError)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is OptionError and str(again) == str(err) and again.option == err.option
    assert isinstance(GeometryOptionError("{key}", option="iline"), GeometryError | OptionError)
    assert isinstance(SegyFormatOptionError("{key}", option="domain"), SegyFormatError)


@pytest.mark.parametrize(
    ("job", "option", "key"),
    [
        ("train", "ignore_label", "data.ignore_label"),
        ("evaluate", "labels", "data.labels"),
        ("inspect", "root", "data.root"),
        ("ingest", "ignore_label", "ignore_label"),
        ("ingest", "labels", "labels"),
        ("train", "iline", "segy.iline"),
        ("ingest", "iline", "segy.iline"),
        ("predict", "sample_interval", "segy.sample_interval"),
    ],
)
def test_each_job_names_an_option_by_its_own_key(job, option, key):
    cfg = compose(job)
    assert option_key(job, option, cfg) == key
    err = OptionError("set {key}=...", option=option)
    assert error_text(job, err, cfg) == f"set {key}=..."
    assert error_text(job, ConfigError("set {key}"), cfg) == "set {key}"  # not an option error


def test_a_job_option_keeps_its_top_level_key():
    assert option_key("evaluate", "checkpoint", compose("evaluate")) == "checkpoint"


def _negative_labels(make_segy, tmp_path: Path) -> tuple[Path, Path]:
    seismic = make_segy()
    labels = tmp_path / "labels.npy"
    np.save(labels, np.full((5, 4, 8), -1, dtype=np.int16))
    return seismic, labels


def test_ingest_names_ignore_label(make_segy, tmp_path):
    seismic, labels = _negative_labels(make_segy, tmp_path)
    run = facies("ingest", f"input={seismic}", f"labels={labels}", cwd=tmp_path)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "labels hold negative class ids (-1)" in run.stderr
    assert "set ignore_label=-1" in run.stderr


def test_train_names_data_ignore_label(make_segy, tmp_path):
    seismic, labels = _negative_labels(make_segy, tmp_path)
    run = facies("train", "data=segy", f"data.seismic={seismic}", f"data.labels={labels}",
                 "trainer=cpu", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 2, run.stderr[-2000:]
    assert "labels hold negative class ids (-1)" in run.stderr
    assert "set data.ignore_label=-1" in run.stderr


# ------------------------------------------------------------------ the data configs


def _own_keys(path: Path) -> set[str]:
    return set(OmegaConf.load(path)) - {"defaults"}


def test_the_data_base_holds_only_what_every_source_shares():
    base = _own_keys(CONF / "base" / "data.yaml")
    assert base == {
        "splits", "patch", "stride", "directions", "test_directions", "batch_size",
        "trace_batch_size", "augmentation", "mask_nonfinite", "patches_per_epoch", "layout",
        "in_memory",
        "sections",
    }  # fmt: skip
    assert not (CONF / "data" / "base.yaml").exists()  # not selectable as data=<name>


@pytest.mark.parametrize("source", SOURCES)
def test_each_source_adds_its_own_keys_to_the_base_and_nulls_none(source):
    path = CONF / "data" / f"{source}.yaml"
    raw = OmegaConf.load(path)
    assert list(raw.defaults) == ["/base/data@_here_", "_self_"]  # no other source inherited
    assert raw.source == source
    base = _own_keys(CONF / "base" / "data.yaml")
    own = _own_keys(path)
    composed = compose("train", [f"data={source}"]).data
    assert set(composed) == base | own
    others = set().union(*(_own_keys(CONF / "data" / f"{s}.yaml") for s in SOURCES if s != source))
    for key in own & others - base - {"source"}:  # a key two sources share is used by both
        assert key in ("store", "seismic", "labels", "classes", "ignore_label"), key
    if source == "f3":
        assert not own & {"store", "seismic", "labels", "classes", "synthetic", "ignore_label"}


def test_the_defaults_are_what_they_were():
    synthetic = compose("train").data
    assert synthetic.store is None and synthetic.synthetic.n_inlines == 128  # stored by content
    assert synthetic.seismic == "data/synthetic/seismic.sgy"
    assert list(synthetic.patch) == [64, 64] and synthetic.splits.fractions.train == 0.7
    f3 = compose("train", ["data=f3"]).data
    assert f3.splits.fractions.train == 0.9 and f3.splits.ranges is None
    assert list(f3.test_directions) == ["inline", "crossline"] and f3.root == "data/f3"


def test_the_store_is_ingested_with_the_jobs_segy_options(make_segy, tmp_path, monkeypatch):
    calls = []

    def ingest(seismic, store, **kw):
        calls.append(kw)
        return Path(store)

    monkeypatch.setattr(sources, "ingest_segy", ingest)
    monkeypatch.chdir(tmp_path)
    seismic = make_segy("a.sgy")
    np.save(tmp_path / "l.npy", np.zeros((5, 4, 8), dtype=np.int16))
    cfg = compose("train", ["data=segy", f"data.seismic={seismic}",
                            f"data.labels={tmp_path / 'l.npy'}", "segy.iline=9"])  # fmt: skip
    store = sources.prepare_store(cfg.data, segy=cfg.segy)
    assert store.parent == Path("data") and store.name.startswith("a-")
    assert calls[0]["iline"] == 9 and calls[0]["xline"] == 193
    # a data config saved by facies <= 0.2 held its options as data.segy
    old = OmegaConf.create({**OmegaConf.to_container(cfg.data), "segy": {"iline": 5}})
    assert sources.prepare_store(old) != store  # other header bytes: a store of their own
    assert calls[1]["iline"] == 5


def test_the_source_is_dispatched_on():
    assert sources.source_of({"source": "f3"}) == "f3"
    assert sources.source_of({"synthetic": {"n_inlines": 8}}) == "synthetic"
    assert sources.source_of({"seismic": "a.sgy"}) == "segy"
    with pytest.raises(OptionError, match="'nope' is no survey source") as info:
        sources.source_of({"source": "nope"})
    assert error_text("train", info.value, compose("train")).startswith("data.source='nope'")


def test_a_missing_survey_names_the_data_keys(tmp_path):
    cfg = compose("train", ["data=segy"])
    with pytest.raises(OptionError) as info:
        sources.prepare_store(cfg.data, segy=cfg.segy)
    assert error_text("train", info.value, cfg) == (
        "no survey to train on: give data.store=<survey.zarr> or data.seismic=<file.sgy> "
        "(with data.labels=<labels.sgy|.npy>)."
    )


# ------------------------------------------------------------------ one run folder


@pytest.mark.parametrize("job", sorted(JOBS))
def test_one_run_folder_pattern_serves_every_job(job):
    hydra = compose(job, [f"hydra.job.name={job}"], return_hydra_config=True).hydra
    if job in IN_PLACE_JOBS:
        assert hydra.run.dir == "." and hydra.output_subdir is None
        return
    assert hydra.run.dir.startswith(f"outputs/{job}/")
    assert hydra.sweep.dir.startswith(f"multirun/{job}/")
    assert OmegaConf.to_container(hydra.sweep, resolve=False)["subdir"] == (
        "${hydra.job.num}_${hydra.job.override_dirname}"
    )


def test_the_run_folder_is_set_in_one_place():
    for path in CONF.glob("*.yaml"):
        hydra = OmegaConf.load(path).get("hydra") or {}
        assert ("run" in hydra) == (path.stem in IN_PLACE_JOBS), path.name
        assert "sweep" not in hydra, path.name


def test_the_options_module_is_light():
    """The CLI checks the spellings with it before anything heavy is imported."""
    heavy = ("torch", "xarray", "zarr", "omegaconf")
    code = (
        "import json, sys, facies.io.segy.options, facies.cli; "
        f"print(json.dumps([m for m in {heavy} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, env=source_env(), timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []


def test_a_missing_f3_folder_names_data_root(tmp_path):
    from facies.sources.f3 import load_f3

    with pytest.raises(OptionError) as info:
        load_f3(tmp_path / "nowhere")
    assert "pass root=<the folder" in str(info.value)  # a Python caller's argument
    assert "pass data.root=<the folder" in error_text("train", info.value, compose("train"))

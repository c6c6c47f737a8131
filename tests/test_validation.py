"""One validation layer for options (issue 14): a bad value is one line, exit 2, before any
work (no survey made or read, no run folder), with the key, the value and a value that works."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys

import pytest
import torch

from facies.cli import main
from facies.errors import ConfigError
from facies.jobs import JOBS
from facies.jobs.validate import NOT_OPTIONS, options, problems, rule_for, shown, validate
from facies.runtime import compose
from tests.helpers import REPO, facies, one_line_error, source_env

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="the error where torch sees no GPU")
#: The choices of the config groups each job selects, composed one at a time.
GROUPS = {
    "data": ["synthetic", "segy", "f3"],
    "model": ["unet", "unet_residual", "lstm"],
    "trainer": ["auto", "cpu", "gpu", "ddp"],
    "scheduler": ["cosine", "none"],
    "logger": ["csv", "tensorboard", "mlflow", "wandb", "many", "none"],
    "callbacks": ["default", "early_stopping", "lr_monitor"],
}


def _configs():
    for job in sorted(JOBS):
        cfg = compose(job)
        yield job, [], cfg
        for group, choices in GROUPS.items():
            if group in cfg:
                for choice in choices:
                    yield job, [f"{group}={choice}"], compose(job, [f"{group}={choice}"])


# ------------------------------------------------------------------------------ the table


def test_every_option_of_every_job_has_a_rule():
    """The table is the one place: an option added to a config without a rule fails here."""
    from omegaconf import OmegaConf

    missing = set()
    for job, overrides, cfg in _configs():
        for key, _ in options(OmegaConf.to_container(cfg, resolve=False)):
            if any(fnmatch.fnmatchcase(key, p) for p in NOT_OPTIONS) or key == "scheduler":
                continue
            if rule_for(job, key) is None:
                missing.add(f"{job} {' '.join(overrides)}: {key}")
    assert not missing, sorted(missing)


def test_the_shipped_defaults_pass():
    for job, overrides, cfg in _configs():
        gpu = overrides == ["trainer=gpu"]  # refused where torch sees no GPU (below)
        assert problems(job, cfg, checks=not gpu) == [], (job, overrides)


def test_all_problems_are_one_error_naming_each_key():
    cfg = compose("train", ["data.batch_size=0", "seed=abc", "optimizer.lr=-1"])
    with pytest.raises(ConfigError) as info:
        validate("train", cfg)
    text = str(info.value)
    assert "\n" not in text
    for fix in ("data.batch_size=16", "seed=0", "optimizer.lr=0.002"):
        assert f"e.g. {fix}" in text


def test_values_are_shown_as_typed():
    assert shown([32, 16, 8]) == "[32,16,8]" and shown(None) == "null" and shown(True) == "true"
    assert shown("abc") == "abc" and shown("a,b") == "'a,b'"


def test_an_interpolation_is_checked_where_it_points():
    cfg = compose("train", ["trainer.max_epochs=abc"])  # scheduler.T_max: ${trainer.max_epochs}
    found = problems("train", cfg)
    assert len(found) == 1 and found[0].startswith("trainer.max_epochs=abc")


def test_the_validation_module_is_light():
    code = (
        "import json, sys, facies.jobs.validate; "
        "print(json.dumps([m for m in ('torch', 'omegaconf', 'numpy') if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, env=source_env(), timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []


# ------------------------------------------------------------- every case, one line each

CASES = [
    (
        "train",
        ["data.batch_size=0"],
        "data.batch_size=0: must be a positive integer",
        "e.g. data.batch_size=16",
    ),
    (
        "train",
        ["data.batch_size=-4"],
        "data.batch_size=-4: must be a positive integer",
        "data.batch_size=16",
    ),
    (
        "evaluate",
        ["checkpoint=m.ckpt", "data.batch_size=0"],
        "data.batch_size=0",
        "data.batch_size=16",
    ),
    (
        "inspect",
        ["checkpoint=m.ckpt", "data.batch_size=-4"],
        "data.batch_size=-4",
        "data.batch_size=16",
    ),
    (
        "predict",
        ["checkpoint=m.ckpt", "input=x.sgy", "batch_size=0"],
        "batch_size=0: must be a positive integer",
        "e.g. batch_size=16",
    ),
    (
        "train",
        ["trainer.max_epochs=abc"],
        "trainer.max_epochs=abc: must be a positive integer",
        "trainer.max_epochs=12",
    ),
    ("train", ["seed=abc"], "seed=abc: must be an integer", "e.g. seed=0"),
    ("synth", ["seed=-1"], "seed=-1: must be an integer", "e.g. seed=0"),
    ("predict", ["overlap=abc"], "overlap=abc: must be a number in [0, 1)", "overlap=0.5"),
    ("predict", ["overlap=1"], "overlap=1: must be a number in [0, 1)", "overlap=0.5"),
    (
        "ingest",
        ["input=x.sgy", "ignore_label=abc"],
        "ignore_label=abc: must be null or an integer",
        "ignore_label=255",
    ),
    ("train", ["data.ignore_label=abc"], "data.ignore_label=abc", "data.ignore_label=255"),
    (
        "info",
        ["input=x.sgy", "segy.iline=abc"],
        "segy.iline=abc: must be the trace header byte",
        "segy.iline=189",
    ),
    (
        "ingest",
        ["input=x.sgy", "segy.xline=190"],
        "segy.xline=190",
        "the nearest are 185, 189, 193",
    ),
    ("info", ["input=x.sgy", "segy.iline=300"], "segy.iline=300", "189/193, 9/21"),
    (
        "train",
        ["data.patch=[32,16,8]"],
        "data.patch=[32,16,8]: must be two positive integers",
        "data.patch=[64,64]",
    ),
    (
        "train",
        ["data.patch=[20,20]"],
        "data.patch=[20,20]: each side must be a multiple of 8",
        "data.patch=[24,24]",
    ),
    (
        "predict",
        ["window=[100000,100000]"],
        "window=[100000,100000] with batch_size=16: one batch needs at least",
        "leave window unset",
    ),
    (
        "predict",
        ["window=[64]"],
        "window=[64]: must be null or two positive integers",
        "window=[64,64]",
    ),
    (
        "train",
        ["optimizer.lr=-0.001"],
        "optimizer.lr=-0.001: must be a number > 0",
        "optimizer.lr=0.002",
    ),
    ("train", ["optimizer.lr=0"], "optimizer.lr=0: must be a number > 0", "optimizer.lr=0.002"),
    (
        "predict",
        ["directions=[xline]"],
        "directions=[xline]: must be a list of inline and/or crossline",
        "xline is no section direction",
    ),
    (
        "train",
        ["data.directions=[xline]"],
        "data.directions=[xline]",
        "data.directions=[inline,crossline]",
    ),
    (
        "evaluate",
        ["data.test_directions=[inline,xline]"],
        "data.test_directions=[inline,xline]",
        "data.test_directions=[inline]",
    ),
    (
        "train",
        ["model.name=vit"],
        "model.name=vit: must be a registered name",
        "the names are lstm, unet",
    ),
    ("predict", ["overwrite=yes"], "overwrite=yes: must be true or false", "overwrite=true"),
    ("predict", ["input=123"], "input=123: must be a path", "'input=\"123\"'"),
    (
        "train",
        ["data.splits=3"],
        "data.splits=3: data.splits holds options",
        "data.splits.fractions",
    ),
    (
        "train",
        ["~data"],
        "~data: facies train reads data, so it cannot be deleted",
        "set its options",
    ),
    (
        "inspect",
        ["section=middle"],
        "section=middle: must be null, inline:N or crossline:N",
        "section=inline:100",
    ),
]


@pytest.mark.parametrize(("job", "overrides", "problem", "fix"), CASES)
def test_a_bad_option_is_one_line_with_the_key_and_the_fix(job, overrides, problem, fix, capsys):
    assert main([job, *overrides]) == 2
    line = one_line_error(capsys.readouterr().err, job)
    assert problem in line and fix in line, line


@NO_GPU
@pytest.mark.parametrize(
    ("job", "overrides", "problem"),
    [
        ("train", ["trainer=gpu"], "trainer.accelerator=gpu (trainer=gpu), but torch sees no GPU"),
        ("evaluate", ["checkpoint=m.ckpt", "trainer.accelerator=cuda"], "but torch sees no GPU"),
        ("predict", ["checkpoint=m.ckpt", "input=x.sgy", "device=cuda"], "device=cuda, but torch"),
        ("inspect", ["checkpoint=m.ckpt", "device=cuda:0"], "device=cuda:0, but torch sees no"),
    ],
)
def test_a_gpu_where_there_is_none_is_refused(job, overrides, problem, capsys):
    assert main([job, *overrides]) == 2
    line = one_line_error(capsys.readouterr().err, job)
    assert problem in line and ("trainer=cpu" in line or "device=cpu" in line), line


def test_refused_before_any_work_or_run_folder(tmp_path):
    """In a fresh folder: no survey made (data/), no run folder (outputs/), one line."""
    for job, args in [
        ("train", ["data.batch_size=0"]),
        ("predict", ["checkpoint=m.ckpt", "input=x.sgy", "window=[100000,100000]"]),
        ("train", ["trainer.max_epochs=abc", "seed=abc"]),
    ]:
        run = facies(job, *args, cwd=tmp_path)
        assert run.returncode == 2, run.stderr[-2000:]
        one_line_error(run.stderr, job)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_each_job_of_a_sweep_is_validated(tmp_path):
    """-m: the first values are checked before Hydra runs, each job's when it runs."""
    first = facies("train", "-m", "data.batch_size=0,16", cwd=tmp_path)
    assert first.returncode == 2
    assert "data.batch_size=0: must be a positive integer" in one_line_error(first.stderr, "train")
    assert not (tmp_path / "multirun").exists()
    later = facies("gradflow", "-m", "traces=2,0", "length=32", "hidden_size=2", cwd=tmp_path)
    assert later.returncode == 2, later.stderr[-2000:]
    assert "traces=0: must be a positive integer, e.g. traces=64" in later.stderr
    assert "Traceback" not in later.stderr
    assert len(list((tmp_path / "multirun").rglob("gradflow.json"))) == 1  # the first job ran


def test_a_gpu_that_is_there_passes_and_one_more_is_refused(monkeypatch):
    from facies.jobs import validate as rules

    monkeypatch.setattr(rules, "_cuda", lambda: (True, 1, "2.0+cu121"))  # one GPU
    for job, overrides in [("train", ["trainer=gpu"]), ("predict", ["device=cuda"]),
                           ("inspect", ["device=cuda:0"])]:  # fmt: skip
        assert problems(job, compose(job, overrides)) == [], job
    [found] = problems("train", compose("train", ["trainer=gpu", "trainer.devices=4"]))
    assert found == "trainer.devices=4, but torch sees 1 GPU(s); use trainer.devices=1"
    [found] = problems("inspect", compose("inspect", ["device=cuda:1"]))
    assert found == "device=cuda:1, but torch sees 1 GPU(s): cuda:0..cuda:0"


def test_a_window_larger_than_the_survey_is_refused(make_segy, tmp_path):
    from tests.helpers import make_checkpoint

    path, ckpt = make_segy(), make_checkpoint(tmp_path / "m.ckpt")
    run = facies("predict", f"checkpoint={ckpt}", f"input={path}", "window=[4096,4096]",
                 "hydra.run.dir=run", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 2, run.stderr[-3000:]
    line = one_line_error(run.stderr, "predict")
    assert "window=[4096,4096] is larger than the survey's sections (8 samples, 5 traces" in line
    assert "use at most window=[8,8]" in line

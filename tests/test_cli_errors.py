"""Hydra's own errors as one line (issue 14): unknown keys and group options, overrides
Hydra cannot read, and survey paths its grammar rejects (quoted for it instead)."""

from __future__ import annotations

import pytest

from facies.cli import main, quote_overrides
from facies.errors import ConfigError
from tests.helpers import facies, one_line_error


@pytest.mark.parametrize(
    ("job", "override", "expected"),
    [
        ("train", "foo=1", ["foo=1: facies train has no option foo.", "+foo=<value> adds a key"]),
        ("train", "data.batchsize=4", ["the closest are data.batch_size"]),
        ("predict", "batchsize=4", ["no option batchsize; the closest are batch_size"]),
        ("train", "trainer.gradient_clip=1", ["+trainer.gradient_clip_val=1, an argument of"]),
        ("train", "model=vit", ["model=vit: there is no model called 'vit'; the choices are "
                                "lstm, unet, unet_residual"]),
        ("evaluate", "data=nope", ["the choices are f3, segy, synthetic"]),
        ("train", "hydra/launcher=nope", ["there is no hydra/launcher called 'nope'"]),
        ("train", "model.base_channels=4,8", ["add -m to run one job for each",
                                              "model.base_channels=[4,8] for a list"]),
        ("info", "a b=1", ["cannot read 'a b=1'", "'input=\"Brønn.sgy\"'"]),
        ("info", "=1", ["cannot read '=1': no option before '='"]),
        ("train", "data=5", ["the options do not make a config"]),
    ],
)  # fmt: skip
def test_a_hydra_error_is_one_line_with_the_fix(job, override, expected, capsys):
    assert main([job, override]) == 2
    line = one_line_error(capsys.readouterr().err, job)
    for text in expected:
        assert text in line, line


def test_hydra_errors_exit_2_before_any_work(tmp_path):
    for args in (["train", "foo=1"], ["train", "model=vit"], ["info", "a b=1"]):
        run = facies(*args, cwd=tmp_path)
        assert run.returncode == 2, run.stderr[-2000:]
        one_line_error(run.stderr, args[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "value",
    ["my survey.sgy", "Brønn.sgy", "it's.sgy", "a,b.sgy", "a=b.sgy", " lead.sgy", "x#(1).sgy",
     'say "hi".sgy', "end\\", "it's \"both\".sgy"],
)  # fmt: skip
def test_a_value_hydra_cannot_read_is_quoted_to_the_string_typed(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    [arg] = quote_overrides([f"input={value}"])
    assert OverridesParser.create().parse_override(arg).value() == value
    assert quote_overrides(["input=plain.sgy", "-m", "model=unet,lstm"], multirun=True) == [
        "input=plain.sgy", "-m", "model=unet,lstm",
    ]  # fmt: skip
    assert quote_overrides(["--cfg", "job", "-p", "a b"]) == ["--cfg", "job", "-p", "a b"]


def test_a_list_of_values_without_m_is_refused():
    with pytest.raises(ConfigError, match=r"add -m to run one job for each"):
        quote_overrides(["seed=1,2"])
    assert quote_overrides(["input=a,b.sgy"]) == ["input='a,b.sgy'"]  # a file name


@pytest.mark.parametrize("name", ["my survey.sgy", "Brønn.sgy", "it's.sgy", "a,b.sgy", "a=b.sgy"])
def test_survey_paths_hydra_rejects_are_read(name, make_segy, tmp_path):
    path = make_segy(name)
    run = facies("info", f"input={path}", "json=true", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert '"count": 5' in run.stdout


def test_help_cfg_and_hydra_overrides_still_work(tmp_path):
    run = facies("train", "--help", cwd=tmp_path)
    assert run.returncode == 0 and "data" in run.stdout, run.stderr[-2000:]
    # --cfg shows the config and runs nothing: its values are not validated
    run = facies("train", "data.batch_size=0", "--cfg", "job", "-p", "data.batch_size",
                 cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0 and run.stdout.strip() == "0", run.stderr[-2000:]
    run = facies("train", "hydra.run.dir=elsewhere", "--cfg", "hydra", "-p", "hydra.run.dir",
                 cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0 and "elsewhere" in run.stdout, run.stderr[-2000:]
    run = facies("train", "hydra.job.nam=x", cwd=tmp_path)
    assert run.returncode == 2 and "the closest are hydra.job.name" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []

"""Hydra's conventions through the facies command: --help per job, --info, --version, bash
completion, and console output with one line per message."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from facies.cli import main, with_job_name
from tests.helpers import TINY_TRAIN, facies, source_env


def test_version_of_a_job_is_facies_version(capsys):
    from facies import __version__

    assert main(["predict", "--version"]) == 0
    assert capsys.readouterr().out.strip() == f"facies {__version__}"


def test_job_help_shows_its_own_options_with_their_comments(capsys):
    assert main(["predict", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("facies predict: ")
    assert "checkpoint: null        # a facies checkpoint (required)" in out
    assert "segy options, set with segy.<key>=..." in out and "iline: 189" in out
    for other in ("model (choose", "trainer (choose", "optimizer"):  # the train job's groups
        assert other not in out


def test_train_help_lists_its_groups_and_choices(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "model (choose with model=<name>: lstm, unet, unet_residual; default unet)" in out
    assert "data (choose with data=<name>: f3, segy, synthetic; default synthetic)" in out
    assert "patch: [64, 64]" in out  # the shared data options, with their comments


def test_info_and_shell_completion_flags_reach_hydra(tmp_path):
    assert with_job_name(["--info"], "train") == ["--info"]
    assert with_job_name(["-sc", "query=bash"], "train") == ["-sc", "query=bash"]
    run = facies("train", "--info", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Hydra" in run.stdout and "Config search path" in run.stdout
    env = {"COMP_LINE": "facies-train model=", "COMP_POINT": "19"}
    run = facies("train", "-sc", "query=bash", cwd=tmp_path, env=source_env() | env)
    assert set(run.stdout.split()) == {"model=lstm", "model=unet", "model=unet_residual"}


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_jobs_and_options(tmp_path):
    script = (
        'facies() { python -m facies "$@"; }\n'
        'eval "$(python -m facies --completion bash)"\n'
        'COMP_WORDS=(facies pre); COMP_CWORD=1; COMP_LINE="facies pre"; _facies_completion\n'
        'echo "jobs: ${COMPREPLY[@]}"\n'
        'COMP_WORDS=(facies train model=); COMP_CWORD=2; COMP_LINE="facies train model="\n'
        '_facies_completion; echo "options: ${COMPREPLY[@]}"\n'
    )
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env=source_env())  # fmt: skip
    assert "jobs: predict" in run.stdout, run.stderr
    assert "options: model=lstm model=unet model=unet_residual" in run.stdout


def test_lightning_messages_show_once_and_without_adverts(tmp_path):
    run = facies("train", *TINY_TRAIN, "trainer.max_epochs=1", "trainer=cpu", cwd=tmp_path,
                 timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    both = run.stdout + run.stderr
    assert both.count("GPU available") == 1 and both.count("Total params") == 1
    assert "Tip:" not in both and "LeafSpec" not in both

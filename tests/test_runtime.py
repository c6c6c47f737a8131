"""facies.runtime: configs from the package or the checkout, ranks, the facies command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from facies import runtime
from tests.helpers import REPO


def test_a_source_checkout_finds_its_configs_without_an_install():
    """From the repository root, ``python -m facies.cli`` (and ``python -m facies``) run the
    working tree with the checkout's conf/; the tests do too, never an installed copy."""
    import facies

    assert Path(facies.__file__).resolve().parent == REPO / "facies"
    assert Path(runtime.config_source()) == REPO / "conf"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for module in ("facies.cli", "facies"):
        run = subprocess.run(
            [sys.executable, "-m", module, "info", "--help"],
            cwd=REPO, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.startswith("facies info: ") and "segy options" in run.stdout


def test_compose_gives_a_job_config_with_overrides():
    cfg = runtime.compose("train", ["trainer.max_epochs=3", "model=lstm"])
    assert cfg.trainer.max_epochs == 3 and cfg.model.name == "lstm"


@pytest.mark.parametrize(
    ("variables", "primary"),
    [
        ({}, True),
        ({"RANK": "1"}, False),
        ({"SLURM_PROCID": "3"}, False),
        ({"LOCAL_RANK": "0"}, True),
    ],
)
def test_only_rank_zero_is_the_primary_process(monkeypatch, variables, primary):
    for name in ("RANK", "SLURM_PROCID", "NODE_RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert runtime.is_primary_process() is primary


def test_a_notebook_or_script_is_not_the_facies_command():
    assert runtime.started_by_facies() is None  # pytest's __main__

"""The benchmark scripts stay runnable: each imports and parses its arguments.

Their measurements run by hand (see benchmarks/RESULTS.md); this catches a script broken
by a change to the library or to the shared timing helper.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import REPO, source_env

SCRIPTS = sorted(p for p in (REPO / "benchmarks").glob("*.py") if p.stem != "timing")


def test_every_benchmark_is_listed():
    assert {p.stem for p in SCRIPTS} == {
        "ingest",
        "inspection",
        "lstm",
        "predict",
        "quality",
        "train",
        "train_memory",
        "train_streamed",
    }


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_starts(script, tmp_path):
    run = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=source_env(),  # the working tree's facies, not an installed copy
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "usage:" in run.stdout and "--" in run.stdout


def test_the_inspection_benchmark_runs_on_a_tiny_survey(tmp_path):
    """Beyond --help: it composes the training config as the CLI does (it read a data
    config file directly once and broke when the shared keys moved)."""
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "inspection.py"), "--survey", "32"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=source_env(),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ratio to target (120 s)" in run.stdout

"""The installed `facies` command, run in subprocesses from a temporary folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import pytest

from facies.cli import main, with_job_name
from facies.jobs import JOBS
from tests.helpers import REPO, facies


def test_the_installed_console_script_runs(tmp_path):
    """``pip install .`` puts a ``facies`` command on the PATH (every other test runs the
    working tree through ``python -m facies``)."""
    exe = shutil.which("facies")
    if exe is None:
        pytest.skip("the facies console script is not installed (pip install .)")
    run = subprocess.run([exe, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "usage: facies <job>" in run.stdout, run.stderr


def test_help_lists_every_job_with_a_line(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, job in JOBS.items():
        assert f"{name}" in out and job.summary in out


def test_unknown_job_lists_the_jobs(capsys):
    assert main(["trian"]) == 2
    err = capsys.readouterr().err
    assert "unknown job 'trian'" in err and "info" in err


def test_help_info_and_ingest_do_not_import_torch_or_lightning(make_segy, tmp_path):
    path = make_segy()
    code = (
        "import sys; from facies.cli import main; main(['--help']); "
        f"main(['info', 'input={path}']); main(['ingest', 'input={path}']); "
        "heavy = [m for m in ('torch', 'lightning') if m in sys.modules]; "
        "print('HEAVY', heavy)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "HEAVY []" in run.stdout


def test_info_prints_what_a_geoscientist_checks(make_segy, tmp_path):
    path = make_segy(sorting="crossline", endian="little", inlines=range(100, 110, 2))
    run = facies("info", f"input={path}", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    for expected in (
        "sorting        crossline",
        "endianness     little",
        "100..108 step 2 (5), byte 189",
        "20..23 step 1 (4), byte 193",
        "8 x 4 ms, first at 0 ms",
        "live fraction  100.0%",
        "5 (4-byte IEEE floating point)",
        "written by facies",
    ):
        assert expected in run.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.sgy"]  # no run folder left


def test_info_json_and_header_bytes(make_segy, tmp_path):
    path = make_segy(iline_byte=9, xline_byte=21)
    run = facies(
        "info", f"input={path}", "segy.iline=9", "segy.xline=21", "json=true", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout[run.stdout.index("{") :])
    assert summary["inline"] == {"first": 10, "last": 14, "step": 1, "count": 5}
    assert summary["header_bytes"]["iline"] == 9


def test_bad_input_is_one_line_with_the_fix_and_exit_2(tmp_path):
    (tmp_path / "bad.sgy").write_bytes(b"x" * 100)
    run = facies("info", f"input={tmp_path / 'bad.sgy'}", cwd=tmp_path)
    assert run.returncode == 2
    assert "facies info: error:" in run.stderr and "shorter than the 3600-byte" in run.stderr
    assert "Traceback" not in run.stderr
    run = facies("info", cwd=tmp_path)
    assert run.returncode == 2 and "facies info input=survey.sgy" in run.stderr


def test_the_wheel_ships_its_configs(tmp_path):
    """Build the wheel, install it alone, and run a job from an unrelated folder."""
    wheel_dir, site = tmp_path / "wheel", tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(wheel_dir), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if build.returncode != 0:
        pytest.fail(f"wheel build failed:\n{build.stderr[-2000:]}")
    wheel = next(wheel_dir.glob("facies-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "facies/conf/info.yaml" in names and "facies/conf/segy/default.yaml" in names
    assert "facies/conf/hydra/launcher/slurm.yaml" in names  # hydra/launcher=slurm
    assert "facies/conf/hydra/default.yaml" in names  # the run folders
    assert "facies/conf/base/data.yaml" in names  # what every data source shares
    for init in (REPO / "facies").rglob("__init__.py"):  # every subpackage is shipped
        assert init.relative_to(REPO).as_posix() in names
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-c", "import facies.cli, sys; print(facies.cli.__file__); "
         "sys.exit(facies.cli.main(['info', 'input=/nonexistent.sgy']))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert str(site) in run.stdout  # the wheel's copy ran, not the source tree
    assert run.returncode == 2 and "no such file" in run.stderr, run.stderr
    run = subprocess.run(  # the data base config and the run folder, from the package
        [sys.executable, "-c", "import facies.cli, sys; sys.exit(facies.cli.main(["
         "'train', 'data=segy', '--cfg', 'all', '-p', 'data', '--resolve']))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "source: segy" in run.stdout and "trace_batch_size: 256" in run.stdout


def test_ingest_writes_a_store_and_prints_its_qc(make_segy, tmp_path):
    from facies.io.store import open_survey

    path = make_segy()
    run = facies("ingest", f"input={path}", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "5 inlines 10..14 x 4 crosslines 20..23" in run.stdout
    assert "qc" in open_survey(tmp_path / "data" / "cube.zarr").attrs  # the QC is in the store
    again = facies("ingest", f"input={path}", cwd=tmp_path)
    assert again.returncode == 2 and "overwrite" in again.stderr


def test_synth_then_ingest_from_the_command_line(tmp_path):
    run = facies("synth", "n_inlines=16", "n_crosslines=12", "n_samples=32", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    folder = tmp_path / "data" / "synthetic"
    assert {p.name for p in folder.iterdir()} >= {"seismic.sgy", "labels.sgy", "classes.json"}
    run = facies(
        "ingest",
        "input=data/synthetic/seismic.sgy",
        "labels=data/synthetic/labels.sgy",
        "classes=data/synthetic/classes.json",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "16 inlines 100..115 x 12 crosslines 300..311" in run.stdout
    assert "parallel:" in run.stdout  # class counts with names


def test_jobs_are_named_after_the_job_not_the_cli_module():
    assert with_job_name(["a=1", "b=2"], "train") == ["hydra.job.name=train", "a=1", "b=2"]
    assert with_job_name(["-m", "a=1,2"], "train") == ["-m", "hydra.job.name=train", "a=1,2"]
    assert with_job_name(["--cfg", "hydra", "-p", "x.y"], "train")[-1] == "hydra.job.name=train"
    assert with_job_name(["hydra.job.name=mine", "a=1"], "train") == ["hydra.job.name=mine", "a=1"]

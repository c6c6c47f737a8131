"""2-D lines: recognised by facies info, read with the line and CDP bytes."""

from __future__ import annotations

import pytest

from facies.errors import GeometryOptionError
from facies.io.segy.reader import open_segy as read_segy
from facies.io.segy.scan import scan_segy
from facies.io.segy.summary import format_summary, summarize
from facies.sources.synthetic import make_synthetic_survey
from tests.helpers import facies


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    folder = tmp_path_factory.mktemp("line")
    return make_synthetic_survey(folder, n_inlines=8, n_crosslines=120, n_samples=32,
                                 lines=1, figure=False).paths["seismic"]  # fmt: skip


def test_default_bytes_say_2d_line_and_the_bytes_that_work(line):
    with pytest.raises(GeometryOptionError, match=r"2-D line.*iline=9 xline=21"):
        scan_segy(line)
    text = format_summary(summarize(scan_segy(line, iline=9, xline=21)))
    assert "2-D line of 120 traces" in text


def test_info_job_says_2d_line(line, tmp_path):
    run = facies("info", f"input={line}", cwd=tmp_path)
    assert run.returncode != 0 and "2-D line" in run.stderr and "duplicate" not in run.stderr


def test_a_2d_line_reads_as_one_inline(line):
    survey = read_segy(line, iline=9, xline=21)
    assert survey.sizes["inline"] == 1 and survey.sizes["crossline"] == 120
    assert survey["crossline"].values[0] == 1


def test_a_set_of_lines(tmp_path):
    path = make_synthetic_survey(tmp_path, n_inlines=20, n_crosslines=40, n_samples=32, lines=4,
                                 figure=False).paths["seismic"]  # fmt: skip
    survey = read_segy(path, iline=9, xline=21)
    assert survey.sizes["crossline"] == 40 and int(survey["live"].values.sum(1).min()) == 40

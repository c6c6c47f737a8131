"""Light modules stay light: importing them loads none of the heavy libraries.

Each import runs in a fresh interpreter (this one has long since loaded everything),
from the working tree (``PYTHONPATH``), never an installed copy.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO, source_env

HEAVY = ("torch", "xarray", "segyio", "zarr", "lightning", "matplotlib")
LIGHT = (
    "facies",
    "facies.errors",
    "facies.names",
    "facies.runtime",
    "facies.cli",
    "facies.jobs",
    "facies.io",
    "facies.io.atomic",
    "facies.io.segy.fields",
)
PROBE = "import json, sys, {module}; print(json.dumps([m for m in {heavy} if m in sys.modules]))"


def loaded_after_import(module: str) -> list[str]:
    """The heavy libraries in ``sys.modules`` after ``import module`` in a new interpreter."""
    code = PROBE.format(module=module, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, env=source_env(), timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", LIGHT)
def test_light_modules_import_no_heavy_library(module):
    assert loaded_after_import(module) == []


def test_the_lazy_names_of_facies_io_still_import():
    code = (
        "import json; from facies.io import SegyScan, open_segy, scan_segy, write_segy_like; "
        "import facies.io; print(json.dumps(sorted(facies.io.__all__)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, env=source_env(), timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == ["SegyScan", "open_segy", "scan_segy", "write_segy_like"]


def test_an_unknown_name_of_facies_io_is_an_attribute_error():
    import facies.io

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        facies.io.nope  # noqa: B018

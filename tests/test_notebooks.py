"""The notebooks: committed without outputs, and executed end to end with tiny settings.

Every ``notebooks/*.ipynb`` is picked up. Each has exactly one code cell tagged
``parameters`` that holds plain assignments of literals (``name = value``). The test
inserts a cell after it that sets the names of :data:`TINY` that the parameters cell
assigns (a notebook can add its own in its metadata, ``{"facies": {"test_parameters":
{"name": value}}}``), then runs the notebook with nbclient in a temporary folder, the
kernel's working directory, so nothing is written into the repository.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, source_env

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]

#: Values that make any notebook run in seconds: a 32 x 32 x 64 survey, one short epoch.
TINY = {
    "n_inlines": 32,
    "n_crosslines": 32,
    "n_samples": 64,
    "patch": 16,
    "depth": 2,
    "base_channels": 4,
    "hidden_size": 8,
    "max_epochs": 1,
    "max_batches": 2,
    "gradflow_traces": 8,
}
CELL_TIMEOUT = 240  # seconds for one cell: generous, for a busy machine
KERNEL = "facies-test"


def read(path: Path):
    return nbformat.read(path, as_version=4)


def parameters_cell(nb) -> tuple[int, dict[str, object]]:
    """Index of the cell tagged ``parameters`` and the values it assigns."""
    tagged = [
        k
        for k, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", [])
    ]
    assert len(tagged) == 1, f"want one code cell tagged 'parameters', found {len(tagged)}"
    values: dict[str, object] = {}
    for node in ast.parse(nb.cells[tagged[0]].source).body:
        assert isinstance(node, ast.Assign), (
            f"the parameters cell holds only assignments, not {ast.dump(node)[:80]}"
        )
        (target,) = node.targets
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        value = ast.literal_eval(node.value)
        items = value if isinstance(target, ast.Tuple) else [value]
        for name, item in zip(names, items, strict=True):
            assert isinstance(name, ast.Name), "assign parameters to plain names"
            values[name.id] = item
    return tagged[0], values


def test_the_notebooks_are_there():
    assert {"01-quickstart", "02-feature-hierarchy", "03-unet-vs-lstm"} <= set(IDS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    nb = read(path)
    nbformat.validate(nb)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name} cell {k} has outputs; clear them before committing"
        assert cell.execution_count is None, f"{path.name} cell {k} has an execution count"
        assert "execution" not in cell.metadata, f"{path.name} cell {k} has execution timings"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_has_a_parameters_cell_the_test_can_shrink(path):
    nb = read(path)
    _, values = parameters_cell(nb)
    tiny = TINY | nb.metadata.get("facies", {}).get("test_parameters", {})
    assert set(values) & set(tiny), f"{path.name}: no parameter of {sorted(tiny)} to shrink"


@pytest.fixture
def kernel(tmp_path_factory, monkeypatch) -> str:
    """A kernel spec that runs this interpreter (the one with facies installed)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(root))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugger warning
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # tiny tensors on a shared CPU
    monkeypatch.setenv("PYTHONPATH", source_env()["PYTHONPATH"])  # the working tree's facies
    return KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_runs_with_tiny_settings(path, tmp_path, kernel):
    nb = read(path)
    index, values = parameters_cell(nb)
    tiny = TINY | nb.metadata.get("facies", {}).get("test_parameters", {})
    injected = {name: tiny[name] for name in values if name in tiny}
    source = "# injected by tests/test_notebooks.py\n" + "\n".join(
        f"{name} = {value!r}" for name, value in injected.items()
    )
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=kernel,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback
    seconds = time.perf_counter() - started
    print(f"{path.name}: {seconds:.1f} s")

    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert images, f"{path.name} showed no figure inline"
    text = "".join(out.get("text", "") for out in outputs)
    assert "non-interactive, and thus cannot be shown" not in text

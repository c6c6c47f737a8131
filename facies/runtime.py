"""What every job shares at run time: its configs, its run folder, its rank, DDP launch,
and how it stops on a signal.

Light on import: nothing here imports torch, Lightning or xarray at module level, so the
``facies`` command and the data jobs start fast.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from facies.errors import ConfigError

log = logging.getLogger(__name__)

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


def config_root() -> Any:
    """The folder of the configs (a :class:`importlib.resources.abc.Traversable`), to read
    their YAML text as written (comments included)."""
    source = config_source()
    if source.startswith("pkg://"):
        from importlib.resources import files

        return files(source.removeprefix("pkg://"))
    return Path(source)


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


# ---------------------------------------------------------------------------- signals
#
# SIGTERM (a scheduler's time limit, `kill`) and SIGINT (Ctrl-C) stop a job the same way:
# the exception :class:`Interrupted` (a KeyboardInterrupt, so every library unwinds as on
# Ctrl-C and no ``except Exception`` swallows it) ends the job, the ``facies`` command
# records ``"status": "interrupted"`` in provenance.json and exits 128 + the signal's
# number (143, 130). Files are whole or absent whenever it strikes (checkpoints, stores
# and SEG-Y are written atomically), so it is raised at once, from the signal handler.
#
# While Lightning trains (:func:`interruptible` with ``at_batch_end``), the first SIGTERM
# is left to Lightning: its own handler, which it chains before ours, sets
# ``trainer.received_sigterm`` and its loops stop at the end of the batch; a second
# SIGTERM, or SIGINT, stops at once. Once stopping, further signals are only logged, so
# the job can record how it ended (as Lightning ignores Ctrl-C while it shuts down).

#: The signals that stop a job.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_received: list[int] = []
_stopping: list[int] = []  # the signal that raised Interrupted: later ones are only noted
_at_batch_end = 0


class Interrupted(KeyboardInterrupt):
    """The job was stopped by ``signum``; ``hint`` says what was kept and how to go on."""

    def __init__(self, signum: int, hint: str | None = None) -> None:
        self.signum = int(signum)
        self.hint = hint
        super().__init__(signal.Signals(self.signum).name)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended."""
        return 128 + self.signum

    def message(self) -> str:
        return f"interrupted by {self.signal_name}" + (f"; {self.hint}" if self.hint else "")


def received_signal() -> int | None:
    """The first stop signal this job received (since :func:`handle_signals`), or None."""
    return _received[0] if _received else None


def _on_signal(signum: int, frame: Any) -> None:
    first = not _received
    _received.append(signum)
    if first and _at_batch_end and signum == signal.SIGTERM:
        log.warning("SIGTERM: stopping at the end of this batch (send it again to stop at once)")
        return
    if _stopping:  # the job is stopping already: let it finish its records
        log.warning("%s: stopping already", signal.Signals(signum).name)
        return
    _stopping.append(signum)
    raise Interrupted(signum)


@contextmanager
def handle_signals() -> Iterator[None]:
    """Within: SIGTERM and SIGINT raise :class:`Interrupted` (the ``facies`` command runs
    every job in this). The handlers before are restored at the end; outside the main
    thread, where Python cannot set handlers, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    _stopping.clear()
    saved = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def interruption(err: BaseException) -> Interrupted | None:
    """``err`` as an :class:`Interrupted` when it ends a job a signal stopped (Lightning
    turns one into ``SystemExit``: ``SIGTERMException``, or ``exit(1)`` after Ctrl-C),
    else None."""
    if isinstance(err, Interrupted):
        return err
    signum = received_signal()
    if signum is None and isinstance(err, KeyboardInterrupt):
        signum = signal.SIGINT  # Ctrl-C where our handler was not installed
    if signum is None:
        return None
    return Interrupted(signum)


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` if a stop signal was received (at a safe point)."""
    signum = received_signal()
    if signum is not None:
        raise Interrupted(signum)


@contextmanager
def interruptible(
    hint: str | Callable[[], str | None] | None = None, at_batch_end: bool = False
) -> Iterator[None]:
    """A stretch of a job that a signal may stop: an interruption raised within carries
    ``hint`` (what was kept, how to go on; a callable is asked when it happens).

    ``at_batch_end``: the first SIGTERM is only noted, for Lightning's loops to stop at the
    end of the batch (see :mod:`facies.training.trainer`); on leaving, a signal noted
    and not yet acted on raises.
    """
    global _at_batch_end
    _at_batch_end += bool(at_batch_end)
    try:
        yield
        if at_batch_end:
            raise_if_interrupted()
    except BaseException as err:
        stop = interruption(err)
        if stop is None:
            raise
        if stop.hint is None and hint is not None:
            stop.hint = hint() if callable(hint) else hint
        if stop is err:
            raise
        raise stop from None
    finally:
        _at_batch_end -= bool(at_batch_end)


# -------------------------------------------------------------------------- logging

#: Libraries that attach console handlers of their own when imported before logging is set
#: up: their messages would show twice (their format and Hydra's).
LIBRARY_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning")
#: Messages that advertise rather than inform.
ADVERTS = ("\N{ELECTRIC LIGHT BULB} Tip:",)


class _NoAdverts:
    """A logging filter that drops library advertisements."""

    def filter(self, record) -> bool:
        return not str(record.getMessage()).startswith(ADVERTS)


def route_library_logs() -> None:
    """Send Lightning's log records through the root logger only (Hydra's console and log
    file format), once each, without its advertising tips."""
    import logging
    import warnings

    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                logger.removeHandler(handler)
        logger.propagate = True
    # a deprecation inside Lightning itself (torch's pytree API), not the user's to act on
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    for handler in logging.getLogger().handlers:  # filters of a logger skip its children
        if not any(isinstance(f, _NoAdverts) for f in handler.filters):
            handler.addFilter(_NoAdverts())

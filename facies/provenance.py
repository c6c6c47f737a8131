"""Run provenance: what a run was made from, recorded as ``provenance.json`` in its folder.

Every job with a run folder of its own (train, evaluate, predict, compare, gradflow;
not info, ingest or synth, which write beside the user's files and keep no run folder)
records, when it starts:

- the resolved config, the command line and the Hydra overrides;
- the facies version, Python, the platform and the versions of the main libraries;
- the git commit of the checkout facies runs from (and whether it has uncommitted
  changes), or null when facies is not running from a git checkout;
- a fingerprint of every input file the config names.

When the job ends, the record is rewritten with its status: ``finished``, ``failed``
with the error, or ``interrupted`` (SIGTERM or SIGINT: the run stopped early, with what
it had written whole); a killed run (SIGKILL) keeps ``running``.

Which config values are paths: every string (in mappings and lists, at any depth) that
looks like a path (holds a ``/`` or has a file suffix) and names an existing file or
folder, relative to the folder facies was started from. Values of keys named ``output``
are what the run writes, never inputs; they are fingerprinted under ``outputs`` at the
end. Paths that did not exist when the run started but do at its end (a synthetic
survey made on first use, a prediction store) are fingerprinted under ``created``.

Fingerprints (:mod:`facies.io.fingerprint`) are cheap and say whether two files hold
the same data as far as headers and size can tell. A run that fingerprints one SEG-Y
twice (predict: here and for its prediction store) passes one
:class:`~facies.io.fingerprint.FingerprintCache` to both, and its trace headers are
read once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from facies.io.fingerprint import FingerprintCache, fingerprint

log = logging.getLogger(__name__)

PROVENANCE_FILE = "provenance.json"
FORMAT = 1
OUTPUT_KEYS = {"output"}
PACKAGES = ("torch", "lightning", "numpy", "xarray", "zarr", "segyio", "hydra-core")
GIT_TIMEOUT_S = 5.0
#: The status of a run: while it runs, and how it ended.
STATUSES = ("running", "finished", "failed", "interrupted")
SLURM_VARIABLES = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_NODELIST")


# ------------------------------------------------------------------- paths in the config


def _looks_like_path(value: str) -> bool:
    if not value or "://" in value or "\n" in value or len(value) > 4096:
        return False
    return "/" in value or os.sep in value or bool(Path(value).suffix)


def _candidates(config: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key path, value) of every string in ``config`` that looks like a path."""
    if isinstance(config, dict):
        for key, value in config.items():
            yield from _candidates(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(config, list | tuple):
        for k, value in enumerate(config):
            yield from _candidates(value, f"{prefix}[{k}]")
    elif isinstance(config, str) and _looks_like_path(config):
        yield prefix, config


def config_paths(config: Any, base: Path) -> dict[str, Path]:
    """{key path: absolute path} of every string in ``config`` naming an existing path."""
    found = {}
    for key, value in _candidates(config):
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            if path.exists():
                found[key] = path.resolve()
        except OSError:  # a name too long or unreadable: not a path we can use
            continue
    return found


def _is_output_key(key: str) -> bool:
    leaf = key.rsplit(".", 1)[-1].split("[", 1)[0]
    return leaf in OUTPUT_KEYS


def _fingerprints(
    paths: dict[str, Path], base: Path, cache: FingerprintCache | None
) -> dict[str, Any]:
    out = {}
    base = base.resolve()
    for key, path in paths.items():
        if path == base or path in base.parents:
            out[key] = {"path": str(path), "skipped": "the working folder or one holding it"}
            continue
        try:
            out[key] = fingerprint(path, cache)
        except OSError as err:
            out[key] = {"path": str(path), "error": str(err)}
    return out


# ------------------------------------------------------------------------ the environment


def git_state(package_dir: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """Commit and dirty flag of the git checkout ``package_dir`` is tracked in, else None.

    ``package_dir`` defaults to the folder of the ``facies`` package. A folder inside a
    repository that does not track it (an environment under a project's git tree) gives
    None, as do a missing ``git`` and a repository git refuses to read.
    """
    if package_dir is None:
        package_dir = Path(__file__).resolve().parent
    package_dir = Path(package_dir)

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(package_dir), *args],
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    tracked = git("ls-files", "--", ".")
    commit = git("rev-parse", "HEAD") if tracked else None
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "dirty": None if status is None else bool(status),
        "root": git("rev-parse", "--show-toplevel"),
    }


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def plain_config(cfg: Any) -> Any:
    """``cfg`` as plain containers, resolved where its interpolations resolve."""
    from omegaconf import OmegaConf

    if not OmegaConf.is_config(cfg):
        return cfg
    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    except Exception as err:  # an interpolation that cannot resolve: keep it as written
        log.debug("config not resolved for provenance (%s)", err)
        return OmegaConf.to_container(cfg, resolve=False)


# ----------------------------------------------------------------------------- the record


class Provenance:
    """The provenance record of one run; written at the start, updated at the end.

    Args:
        run_dir: the run folder; the record is ``run_dir/provenance.json``.
        config: the job's config (OmegaConf or plain containers).
        job: the job's name.
        command: the command line (``sys.argv`` when None).
        overrides: the Hydra overrides.
        base: the folder relative config paths start from (the working folder).
        fingerprints: SEG-Y fingerprints shared with the rest of the run (see
            :class:`facies.io.fingerprint.FingerprintCache`); None reads every input's
            headers here and keeps nothing.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        config: Any,
        *,
        job: str | None = None,
        command: Sequence[str] | None = None,
        overrides: Sequence[str] = (),
        base: str | os.PathLike | None = None,
        fingerprints: FingerprintCache | None = None,
    ) -> None:
        from facies import __version__

        self.path = Path(run_dir) / PROVENANCE_FILE
        self.base = Path(base) if base else Path.cwd()
        self.fingerprints = fingerprints
        config = plain_config(config)
        paths = config_paths(config, self.base)
        keys = [key for key, _ in _candidates(config)]
        self._outputs = [key for key in keys if _is_output_key(key)]
        self._missing = [key for key in keys if key not in paths and key not in self._outputs]
        self._config = config
        self.record: dict[str, Any] = {
            "format": FORMAT,
            "job": job,
            "command": shlex.join(command) if command else shlex.join(sys.argv),
            "overrides": list(overrides),
            "run_dir": str(Path(run_dir).resolve()),
            "cwd": str(self.base.resolve()),
            "status": "running",
            "started": _now(),
            "finished": None,
            "facies_version": __version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "host": socket.gethostname(),
            "packages": _versions(),
            "git": git_state(),
            "slurm": {k: os.environ[k] for k in SLURM_VARIABLES if k in os.environ} or None,
            "config": config,
            "inputs": _fingerprints(
                {k: p for k, p in paths.items() if not _is_output_key(k)}, self.base, fingerprints
            ),
        }

    def write(self) -> Path:
        """Write the record atomically (a reader never sees half a file)."""
        from facies.io.atomic import atomic_target

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(self.path) as tmp:
            tmp.write_text(json.dumps(self.record, indent=2, default=str) + "\n")
        return self.path

    def finish(self, error: str | None = None, status: str | None = None) -> Path:
        """Record the end of the run, and fingerprint what it made that the config names.

        ``status``: one of :data:`STATUSES`; by default ``failed`` with an ``error``,
        else ``finished``.
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        now = config_paths(self._config, self.base)
        created = {k: now[k] for k in self._missing if k in now}
        outputs = {k: now[k] for k in self._outputs if k in now}
        self.record.update(
            status=status or ("failed" if error else "finished"),
            finished=_now(),
            error=error,
            created=_fingerprints(created, self.base, self.fingerprints),
            outputs=_fingerprints(outputs, self.base, self.fingerprints),
        )
        return self.write()


def start(
    cfg: Any,
    *,
    job: str,
    command: Sequence[str] | None = None,
    fingerprints: FingerprintCache | None = None,
) -> Provenance | None:
    """Write ``provenance.json`` into the Hydra run folder of the job running now.

    ``fingerprints``: the run's cache of SEG-Y fingerprints (see :class:`Provenance`);
    pass the same one to the job, so what is fingerprinted here is not read again.

    Returns None (and writes nothing) for jobs without a run folder of their own
    (``hydra.output_subdir: null``: info, ingest, synth, and the extra processes
    Lightning starts for DDP) and in processes other than rank 0. A failure to write
    the record is logged, never fatal.
    """
    from hydra.core.hydra_config import HydraConfig

    from facies.runtime import is_primary_process

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    if hydra.output_subdir is None or not is_primary_process():
        return None
    try:
        record = Provenance(
            hydra.runtime.output_dir,
            cfg,
            job=job,
            command=command,
            overrides=list(hydra.overrides.task),
            base=hydra.runtime.cwd,
            fingerprints=fingerprints,
        )
        record.write()
    except Exception as err:
        log.warning("provenance not recorded: %s", err)
        return None
    return record


def finish(record: Provenance | None, error: str | None = None, status: str | None = None) -> None:
    """Update the record started by :func:`start` (no-op for None); never raises."""
    if record is None:
        return
    try:
        record.finish(error, status)
    except Exception as err:
        log.warning("provenance not updated at the end of the run: %s", err)

"""Run provenance: what a run was made from, recorded as ``provenance.json`` in its folder.

Every job with a run folder of its own (train, evaluate, predict, compare, gradflow;
not info, ingest or synth, which write beside the user's files and keep no run folder)
records, when it starts:

- the resolved config, the command line and the Hydra overrides;
- the facies version, Python, the platform and the versions of the main libraries;
- the git commit of the checkout facies runs from (and whether it has uncommitted
  changes), or null when facies is not running from a git checkout;
- a fingerprint of every input file the config names.

When the job ends, the record is rewritten with its status (``finished`` or ``failed``
with the error); a killed run keeps ``running``.

Which config values are paths: every string (in mappings and lists, at any depth) that
looks like a path (holds a ``/`` or has a file suffix) and names an existing file or
folder, relative to the folder facies was started from. Values of keys named ``output``
are what the run writes, never inputs; they are fingerprinted under ``outputs`` at the
end. Paths that did not exist when the run started but do at its end (a synthetic
survey made on first use, a prediction store) are fingerprinted under ``created``.

Fingerprints are cheap, so a 2 GB SEG-Y takes seconds, and say whether two files hold
the same data as far as headers and size can tell:

- SEG-Y (``.sgy``, ``.segy``): the size, and a BLAKE2b checksum of the textual and
  binary headers (with any extended textual headers) and of every 240-byte trace
  header, read block by block through a memory map. Sample values are not read: a
  change of geometry, coordinates or sample format shows, an edited amplitude does not.
- other files (``.npy``, checkpoints, JSON): the size and a checksum of the first and
  last MiB.
- folders (survey and prediction stores, run folders): the number and total size of
  the files, and a checksum of the names and contents of the metadata files
  (``zarr.json``, ``.zarray``, ``.zattrs``, ``.zgroup``, ``.zmetadata``, ``*.json``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PROVENANCE_FILE = "provenance.json"
FORMAT = 1
#: A plain file is fingerprinted by this much of its head and of its tail.
EDGE_BYTES = 1 << 20
#: Trace headers are read this many bytes of traces at a time.
SEGY_BLOCK_BYTES = 64 << 20
SEGY_SUFFIXES = {".sgy", ".segy"}
METADATA_NAMES = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}
#: Metadata files larger than this are fingerprinted by size only.
METADATA_MAX_BYTES = 4 << 20
#: Stop walking a folder after this many files (the fingerprint says it was cut short).
MAX_FILES = 200_000
OUTPUT_KEYS = {"output"}
PACKAGES = ("torch", "lightning", "numpy", "xarray", "zarr", "segyio", "hydra-core")
GIT_TIMEOUT_S = 5.0
SLURM_VARIABLES = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_NODELIST")
#: SEG-Y fingerprints computed in this process, by path and what ``os.stat`` says of the
#: file (size, inode, modification and change times): any write or rename changes the key.
_SEGY_FINGERPRINTS: dict[tuple[Any, ...], dict[str, Any]] = {}
#: Only files unchanged for this long are remembered: a file written within the same
#: timestamp tick as its fingerprint could change again without changing its times (as
#: git treats "racily clean" index entries).
SETTLED_NS = 2_000_000_000


def _blake2b() -> Any:
    return hashlib.blake2b(digest_size=20)


# ---------------------------------------------------------------------------- fingerprints


def fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Size and header checksum of a file or folder (see the module docstring).

    SEG-Y fingerprints are remembered for the life of the process (see
    :data:`_SEGY_FINGERPRINTS`): a predict run needs its input's twice, for
    ``provenance.json`` and for the prediction store, and reads the trace headers once.
    """
    path = Path(path).resolve()
    if path.is_dir():
        return {"path": str(path), **_folder(path)}
    stat = path.stat()
    size = stat.st_size
    if path.suffix.lower() in SEGY_SUFFIXES:
        key = (str(path), stat.st_dev, stat.st_ino, size, stat.st_mtime_ns, stat.st_ctime_ns)
        if key in _SEGY_FINGERPRINTS:
            return dict(_SEGY_FINGERPRINTS[key])
        started = time.time_ns()
        try:
            record = {"path": str(path), "size": size, **segy_headers_checksum(path)}
        except Exception as err:  # not SEG-Y we can lay out: fall back to head and tail
            log.debug("%s: not fingerprinted as SEG-Y (%s)", path, err)
        else:
            if stat.st_ctime_ns < started - SETTLED_NS:
                _SEGY_FINGERPRINTS[key] = dict(record)
            return record
    return {"path": str(path), "size": size, "kind": "file", "checksum": _edges(path, size)}


def segy_headers_checksum(path: str | os.PathLike) -> dict[str, Any]:
    """Checksum of the file headers and every trace header of a SEG-Y file.

    Memory stays bounded: trace headers are gathered from a memory map a block of
    traces at a time. Raises :class:`facies.errors.SegyFormatError` for files whose
    layout cannot be read.
    """
    from facies.io.segy.layout import TRACE_HEADER_SIZE, read_layout

    layout = read_layout(path)
    digest = _blake2b()
    with open(layout.path, "rb") as fh:
        digest.update(fh.read(layout.first_trace_offset))
    traces = np.memmap(
        layout.path,
        dtype=np.uint8,
        mode="r",
        offset=layout.first_trace_offset,
        shape=(layout.trace_count, layout.trace_size),
    )
    step = max(1, SEGY_BLOCK_BYTES // layout.trace_size)
    for start in range(0, layout.trace_count, step):
        digest.update(np.ascontiguousarray(traces[start : start + step, :TRACE_HEADER_SIZE]))
    del traces
    return {
        "kind": "segy",
        "traces": layout.trace_count,
        "checksum": f"blake2b:{digest.hexdigest()}",
        "covers": "file headers and every trace header",
    }


def _edges(path: Path, size: int) -> str:
    digest = _blake2b()
    digest.update(size.to_bytes(8, "little"))
    with path.open("rb") as fh:
        digest.update(fh.read(EDGE_BYTES))
        if size > EDGE_BYTES:
            fh.seek(max(EDGE_BYTES, size - EDGE_BYTES))
            digest.update(fh.read(EDGE_BYTES))
    return f"blake2b:{digest.hexdigest()}"


def _is_metadata(name: str) -> bool:
    return name in METADATA_NAMES or name.endswith(".json")


def _folder(root: Path) -> dict[str, Any]:
    digest = _blake2b()
    files = size = 0
    complete = True
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if files >= MAX_FILES:
                complete = False
                break
            path = Path(folder, name)
            try:
                stat = path.stat()
            except OSError:  # vanished or a broken link
                continue
            files += 1
            size += stat.st_size
            if _is_metadata(name):
                rel = path.relative_to(root).as_posix().encode()
                digest.update(len(rel).to_bytes(4, "little") + rel)
                if stat.st_size <= METADATA_MAX_BYTES:
                    digest.update(path.read_bytes())
                else:
                    digest.update(stat.st_size.to_bytes(8, "little"))
        if not complete:
            break
    record = {
        "kind": "folder",
        "files": files,
        "size": size,
        "checksum": f"blake2b:{digest.hexdigest()}",
        "covers": "file count and sizes, names and contents of metadata files",
    }
    if not complete:
        record["truncated_at_files"] = MAX_FILES
    return record


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


def _fingerprints(paths: dict[str, Path], base: Path) -> dict[str, Any]:
    out = {}
    base = base.resolve()
    for key, path in paths.items():
        if path == base or path in base.parents:
            out[key] = {"path": str(path), "skipped": "the working folder or one holding it"}
            continue
        try:
            out[key] = fingerprint(path)
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


def _plain_config(cfg: Any) -> Any:
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
    """The provenance record of one run; written at the start, updated at the end."""

    def __init__(
        self,
        run_dir: str | os.PathLike,
        config: Any,
        *,
        job: str | None = None,
        command: Sequence[str] | None = None,
        overrides: Sequence[str] = (),
        base: str | os.PathLike | None = None,
    ) -> None:
        from facies import __version__

        self.path = Path(run_dir) / PROVENANCE_FILE
        self.base = Path(base) if base else Path.cwd()
        config = _plain_config(config)
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
                {k: p for k, p in paths.items() if not _is_output_key(k)}, self.base
            ),
        }

    def write(self) -> Path:
        """Write the record atomically (a reader never sees half a file)."""
        from facies.io.atomic import atomic_target

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(self.path) as tmp:
            tmp.write_text(json.dumps(self.record, indent=2, default=str) + "\n")
        return self.path

    def finish(self, error: str | None = None) -> Path:
        """Record the end of the run, and fingerprint what it made that the config names."""
        now = config_paths(self._config, self.base)
        created = {k: now[k] for k in self._missing if k in now}
        outputs = {k: now[k] for k in self._outputs if k in now}
        self.record.update(
            status="failed" if error else "finished",
            finished=_now(),
            error=error,
            created=_fingerprints(created, self.base),
            outputs=_fingerprints(outputs, self.base),
        )
        return self.write()


def start(
    cfg: Any,
    *,
    job: str,
    command: Sequence[str] | None = None,
) -> Provenance | None:
    """Write ``provenance.json`` into the Hydra run folder of the job running now.

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
        )
        record.write()
    except Exception as err:
        log.warning("provenance not recorded: %s", err)
        return None
    return record


def finish(record: Provenance | None, error: str | None = None) -> None:
    """Update the record started by :func:`start` (no-op for None); never raises."""
    if record is None:
        return
    try:
        record.finish(error)
    except Exception as err:
        log.warning("provenance not updated at the end of the run: %s", err)

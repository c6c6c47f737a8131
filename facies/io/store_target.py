"""Where a survey store is written: the output rule, and the temporary store an ingest
writes into (who writes it; leftovers of killed runs removed, a running one refused).

Where a store is written follows :mod:`facies.io.outputs`: never over an input,
``overwrite`` replaces only a facies store, deleted once the new one is complete.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import time
from pathlib import Path

from facies.errors import OutputError
from facies.io import outputs

log = logging.getLogger(__name__)

#: Written into a temporary store while an ingest writes it: who writes it.
OWNER_FILE = ".facies-ingest.json"


def check_target(out: str | os.PathLike, overwrite: bool, inputs: tuple) -> Path:
    """The output rule for a survey store (:func:`facies.io.outputs.prepare_output`)."""
    paths = [p for p in inputs if isinstance(p, str | os.PathLike)]
    return outputs.prepare_output(
        out, kind=outputs.STORE, overwrite=overwrite, inputs=paths, replaceable="survey store"
    )


def claim(tmp: Path) -> None:
    """Say in a temporary store who writes it, so a later ingest can tell a killed run's
    leftover (removed) from a store another run is writing now (refused)."""
    owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
    (tmp / OWNER_FILE).write_text(json.dumps(owner))


def _running(pid: int, started: float) -> bool:
    """Whether process ``pid`` of this machine is alive and began before ``started``
    (a pid reused by a later process does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, but not ours to signal
        pass
    began = _process_start(pid)
    return began is None or began <= started + 1


def _process_start(pid: int) -> float | None:
    """When process ``pid`` began (seconds since the epoch), from /proc; None if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22, starttime: clock ticks after boot
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def clear_leftovers(out: Path, started: float) -> None:
    """Remove the temporary stores of killed ingests of ``out``; refuse to write while
    another ingest writes ``out``; report leftovers that cannot be told apart."""
    for tmp in outputs.temporaries(out):
        owner = None
        with contextlib.suppress(OSError, ValueError):
            owner = json.loads((tmp / OWNER_FILE).read_text())
        ours = isinstance(owner, dict) and owner.get("host") == socket.gethostname()
        if ours and _running(int(owner.get("pid", 0)), float(owner.get("started", 0))):
            raise OutputError(
                f"output={out}: another facies ingest (process {owner['pid']}) is writing it "
                f"now ({tmp.name}); wait for it to end, or stop it, then ingest again."
            )
        if tmp.is_dir() and (ours or (owner is None and tmp.stat().st_mtime < started)):
            log.info("removing %s, left by an ingest that was killed", tmp)
            shutil.rmtree(tmp, ignore_errors=True)
            continue
        log.warning(
            "%s was left beside %s by an interrupted write (on %s); remove it when no facies "
            "job writes %s.",
            tmp, out, (owner or {}).get("host", "an unknown machine"), out,
        )  # fmt: skip

"""The ``facies`` command: the first word picks the job, the rest are Hydra overrides.

facies info input=survey.sgy iline=9 xline=21
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

from facies.errors import FaciesError
from facies.jobs import JOBS

log = logging.getLogger(__name__)

CONFIG_MODULE = "facies.conf"


def usage() -> str:
    """The text of ``facies --help``."""
    width = max(len(name) for name in JOBS)
    jobs = "\n".join(f"  {name.ljust(width)}  {job.summary}" for name, job in JOBS.items())
    return (
        "usage: facies <job> [key=value ...] [hydra options]\n\n"
        f"jobs:\n{jobs}\n\n"
        "Options are Hydra overrides, e.g. `facies info input=survey.sgy iline=9 xline=21`.\n"
        "`facies <job> --help` shows a job's configuration; `-m` runs a multirun sweep."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] == "--version":
        from facies import __version__

        print(f"facies {__version__}")
        return 0
    name, overrides = args[0], args[1:]
    if name not in JOBS:
        print(
            f"facies: unknown job {name!r}; the jobs are: {', '.join(JOBS)}. "
            "Run `facies --help` for what each does.",
            file=sys.stderr,
        )
        return 2
    return run_job(name, overrides)


def run_job(name: str, overrides: Sequence[str]) -> int:
    """Run one job under Hydra with its primary config ``conf/<name>.yaml``."""
    import hydra
    from omegaconf import DictConfig

    def task(cfg: DictConfig) -> None:
        module = importlib.import_module(JOBS[name].module)
        try:
            module.run(cfg)
        except FaciesError as err:
            print(f"facies {name}: error: {err}", file=sys.stderr)
            raise SystemExit(2) from None

    saved = sys.argv
    sys.argv = [f"facies-{name}", *overrides]
    try:
        hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name=name)(
            task
        )()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    finally:
        sys.argv = saved
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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


def with_job_name(args: Sequence[str], name: str) -> list[str]:
    """``args`` with ``hydra.job.name=<name>`` among the overrides, unless one is there.

    Hydra otherwise names every job after this file: cli.log, SLURM job "cli". The
    override goes next to the others (argparse takes them as one run of words).
    """
    args = list(args)
    if any(a.lstrip("+~").startswith("hydra.job.name=") for a in args):
        return args
    first = next((k for k, a in enumerate(args) if "=" in a and not a.startswith("-")), len(args))
    return [*args[:first], f"hydra.job.name={name}", *args[first:]]


def run_job(name: str, overrides: Sequence[str]) -> int:
    """Run one job under Hydra with its primary config ``conf/<name>.yaml``."""
    import hydra
    from omegaconf import DictConfig

    from facies import provenance
    from facies.runtime import config_source

    command = ["facies", name, *overrides]

    def task(cfg: DictConfig) -> None:
        module = importlib.import_module(JOBS[name].module)
        # provenance.json in the run folder (None for jobs without one): one place for all jobs
        record = provenance.start(cfg, job=name, command=command)
        error = None
        try:
            module.run(cfg)
        except FaciesError as err:
            error = f"{type(err).__name__}: {err}"
            print(f"facies {name}: error: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        except SystemExit as stop:
            error = f"exit code {stop.code}" if stop.code not in (0, None) else None
            raise
        except BaseException as err:
            error = f"{type(err).__name__}: {err}"
            raise
        finally:
            provenance.finish(record, error=error)

    saved = sys.argv
    sys.argv = [f"facies-{name}", *with_job_name(overrides, name)]
    try:
        hydra.main(version_base="1.3", config_path=config_source(), config_name=name)(task)()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    finally:
        sys.argv = saved
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``facies`` command: the first word picks the job, the rest are Hydra overrides.

facies info input=survey.sgy segy.iline=9 segy.xline=21
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

from facies.errors import FaciesError, OptionError
from facies.jobs import JOBS

log = logging.getLogger(__name__)

#: Jobs that read SEG-Y: each takes the reading options under ``segy.`` (conf/segy/).
SEGY_JOBS = frozenset({"info", "ingest", "predict", "gradflow", "train", "evaluate", "inspect"})
#: Where each job keeps the options of its survey (``ignore_label``, ``classes``,
#: ``labels``, ...) that library errors name: under ``data.`` in the jobs that train or
#: score on a data config, at the top level elsewhere (``facies ingest ignore_label=``).
DATA_PREFIX = {"train": "data.", "evaluate": "data.", "inspect": "data."}
#: Old spellings of the SEG-Y options (facies <= 0.2): ``iline=9`` in info, ingest,
#: predict and gradflow, ``data.segy.iline=9`` in train, evaluate and inspect.
LEGACY_SEGY_PREFIXES = ("", "data.segy.")


def usage() -> str:
    """The text of ``facies --help``."""
    width = max(len(name) for name in JOBS)
    jobs = "\n".join(f"  {name.ljust(width)}  {job.summary}" for name, job in JOBS.items())
    return (
        "usage: facies <job> [key=value ...] [hydra options]\n\n"
        f"jobs:\n{jobs}\n\n"
        "Options are Hydra overrides, e.g. `facies info input=survey.sgy segy.iline=9 "
        "segy.xline=21`.\n"
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
    renamed = legacy_spellings(name, overrides)
    if renamed:
        print(f"facies {name}: error: {renamed}", file=sys.stderr)
        return 2
    return run_job(name, overrides)


def _split_override(arg: str) -> tuple[str, str, str | None] | None:
    """(prefix ``+``, ``++`` or ``~``, key, value or None) of a Hydra override, None for a
    flag (``-m``, ``--cfg``) or a word that is not an override."""
    if not arg or arg.startswith("-"):
        return None
    body = arg.lstrip("+~")
    prefix = arg[: len(arg) - len(body)]
    key, eq, value = body.partition("=")
    if not eq and not prefix.startswith("~"):
        return None
    return prefix, key.split("@", 1)[0], value if eq else None


def legacy_spellings(name: str, overrides: Sequence[str]) -> str | None:
    """A one-line error for overrides spelled as before issue 13 (``iline=9``,
    ``data.segy.iline=9``) saying how each is spelled now (``segy.iline=9``), or None.

    Checked before Hydra runs, whose own message ("Could not override 'iline'") would not
    say what to type instead.
    """
    if name not in SEGY_JOBS:
        return None
    from facies.io.segy.options import SEGY_NODE, SEGY_OPTIONS

    found = []
    for arg in overrides:
        parts = _split_override(arg)
        if parts is None:
            continue
        prefix, key, value = parts
        for old in LEGACY_SEGY_PREFIXES:
            option = key.removeprefix(old) if key.startswith(old) else None
            if option in SEGY_OPTIONS or (old and key == old.rstrip(".")):
                new = f"{SEGY_NODE}.{option}" if option in SEGY_OPTIONS else SEGY_NODE
                tilde = "~" if prefix.startswith("~") else ""
                found.append(
                    f"{arg} is now spelled {tilde}{new}"
                    + (f"={value}" if value is not None else "")
                )
                break
    if not found:
        return None
    return (
        "; ".join(found)
        + f" (every job that reads SEG-Y spells its reading options {SEGY_NODE}.<option>; "
        + f"`facies {name} --help` lists them)."
    )


def option_key(name: str, option: str, cfg=None) -> str:
    """How job ``name`` spells library option ``option`` on its command line:
    ``segy.iline`` everywhere, ``data.ignore_label`` in train, ``ignore_label`` in ingest."""
    from facies.io.segy.options import SEGY_NODE, SEGY_OPTIONS

    if option in SEGY_OPTIONS:
        return f"{SEGY_NODE}.{option}"
    if cfg is not None and option in cfg:  # an option of the job itself (checkpoint=)
        return option
    return DATA_PREFIX.get(name, "") + option


def error_text(name: str, err: FaciesError, cfg=None) -> str:
    """The message of ``err`` as job ``name`` shows it: options named by their keys."""
    if isinstance(err, OptionError):
        return err.render(lambda option: option_key(name, option, cfg))
    return str(err)


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
        from facies.io.fingerprint import FingerprintCache

        job = JOBS[name]
        module = importlib.import_module(job.module)
        # one cache for the run: provenance.json and the job fingerprint each input once
        fingerprints = FingerprintCache()
        # provenance.json in the run folder (None for jobs without one): one place for all jobs
        record = provenance.start(cfg, job=name, command=command, fingerprints=fingerprints)
        error = None
        try:
            module.run(cfg, **({"fingerprints": fingerprints} if job.fingerprints else {}))
        except FaciesError as err:
            text = error_text(name, err, cfg)
            error = f"{type(err).__name__}: {text}"
            print(f"facies {name}: error: {text}", file=sys.stderr)
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

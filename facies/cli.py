"""The ``facies`` command: the first word picks the job, the rest are Hydra overrides.

facies info input=survey.sgy segy.iline=9 segy.xline=21
"""

from __future__ import annotations

import importlib
import logging
import re
import signal
import sys
from collections.abc import Sequence

from facies.errors import ConfigError, FaciesError, OptionError
from facies.jobs import JOBS

log = logging.getLogger(__name__)

#: Jobs that read SEG-Y: each takes the reading options under ``segy.`` (conf/segy/).
SEGY_JOBS = frozenset({"info", "ingest", "predict", "gradflow", "train", "evaluate", "inspect"})
#: Where each job keeps the options of its survey (``ignore_label``, ``classes``,
#: ``labels``, ...) that library errors name: under ``data.`` in the jobs that train or
#: score on a data config, at the top level elsewhere (``facies ingest ignore_label=``).
DATA_PREFIX = {"train": "data.", "evaluate": "data.", "inspect": "data."}
#: Old spellings of the SEG-Y options (facies 0.1): ``iline=9`` in info, ingest,
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
    if "--version" in args:  # `facies --version` and `facies <job> --version` alike
        from facies import __version__

        print(f"facies {__version__}")
        return 0
    if args[0] == "--completion":
        shell = args[1] if len(args) > 1 else "bash"
        if shell != "bash":
            print(f"facies: --completion {shell}: only bash is supported.", file=sys.stderr)
            return 2
        print(completion_script())
        return 0
    name, overrides = args[0], args[1:]
    if name not in JOBS:
        print(
            f"facies: unknown job {name!r}; the jobs are: {', '.join(JOBS)}. "
            "Run `facies --help` for what each does.",
            file=sys.stderr,
        )
        return 2
    if {"-h", "--help"} & set(overrides) and "--hydra-help" not in overrides:
        from facies.jobs.help import job_help

        print(job_help(name))
        return 0
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


#: Flags after which Hydra runs no job (and some take the next word as their value, which an
#: inserted ``hydra.job.name=`` would become).
NO_JOB_FLAGS = frozenset({"-i", "--info", "-sc", "--shell-completion", "--hydra-help"})


def completion_script() -> str:
    """Bash completion for ``facies``: job names first, then each job's options, answered
    by Hydra's own completion of that job (``eval "$(facies --completion bash)"``)."""
    jobs = " ".join(JOBS)
    return f"""_facies_completion()
{{
    local cur="${{COMP_WORDS[COMP_CWORD]}}"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{jobs} --help --version" -- "$cur"))
        return
    fi
    local job="${{COMP_WORDS[1]}}"
    local rest="${{COMP_LINE#*"$job"}}"
    local line="facies-$job$rest"
    COMPREPLY=($(COMP_LINE="$line" COMP_POINT=${{#line}} facies "$job" -sc query=bash 2>/dev/null))
}}
complete -o nospace -F _facies_completion facies"""


def with_job_name(args: Sequence[str], name: str) -> list[str]:
    """``args`` with ``hydra.job.name=<name>`` among the overrides, unless one is there.

    Hydra otherwise names every job after this file: cli.log, SLURM job "cli". The
    override goes next to the others (argparse takes them as one run of words).
    """
    args = list(args)
    if any(a.lstrip("+~").startswith("hydra.job.name=") for a in args):
        return args
    if set(args) & NO_JOB_FLAGS:  # Hydra answers these without running the job
        return args
    first = next((k for k, a in enumerate(args) if "=" in a and not a.startswith("-")), len(args))
    return [*args[:first], f"hydra.job.name={name}", *args[first:]]


def run_job(name: str, overrides: Sequence[str]) -> int:
    """Run one job under Hydra with its primary config ``conf/<name>.yaml``.

    Before Hydra runs (and makes a run folder), the command line is checked: values
    Hydra's grammar cannot read are quoted (:func:`quote_overrides`), the config is
    composed and its options validated (:func:`preflight`); what is wrong is one line,
    exit 2. SIGTERM and SIGINT stop the job with ``"status": "interrupted"`` and exit
    128 + the signal (:func:`facies.runtime.handle_signals`).
    """
    import hydra
    from omegaconf import DictConfig

    from facies import provenance, runtime
    from facies.runtime import config_source

    command = ["facies", name, *overrides]
    try:
        multirun = bool(_flags(overrides)[0] & MULTIRUN_FLAGS)
        args = quote_overrides(overrides, multirun=multirun)
        validated = preflight(name, args)
    except ConfigError as err:
        print(f"facies {name}: error: {err}", file=sys.stderr)
        return 2

    def task(cfg: DictConfig) -> None:
        from hydra.core.hydra_config import HydraConfig

        from facies.io.fingerprint import FingerprintCache
        from facies.jobs.validate import validate

        job = JOBS[name]
        status = error = None
        record = None
        runtime.route_library_logs()  # Lightning's messages once, in Hydra's format
        try:
            if not validated or HydraConfig.get().mode.name == "MULTIRUN":
                validate(name, cfg)  # each job of a sweep: its own values
            module = importlib.import_module(job.module)
            # one cache for the run: provenance.json and the job fingerprint each input once
            fingerprints = FingerprintCache()
            # provenance.json in the run folder (None for jobs without one): one place for all
            record = provenance.start(cfg, job=name, command=command, fingerprints=fingerprints)
            module.run(cfg, **({"fingerprints": fingerprints} if job.fingerprints else {}))
        except FaciesError as err:
            text = error_text(name, err, cfg)
            error = f"{type(err).__name__}: {text}"
            print(f"facies {name}: error: {text}", file=sys.stderr)
            raise SystemExit(2) from None
        except BaseException as err:
            stop = runtime.interruption(err)
            if stop is not None:
                status, error = "interrupted", f"interrupted by {stop.signal_name}"
                print(f"facies {name}: {stop.message()}", file=sys.stderr)
                raise SystemExit(stop.exit_code) from None
            if isinstance(err, SystemExit):
                error = f"exit code {err.code}" if err.code not in (0, None) else None
            else:
                error = f"{type(err).__name__}: {err}"
            raise
        finally:
            provenance.finish(record, error=error, status=status)

    saved = sys.argv
    sys.argv = [f"facies-{name}", *with_job_name(args, name)]
    try:
        with runtime.handle_signals():
            hydra.main(version_base="1.3", config_path=config_source(), config_name=name)(task)()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    except KeyboardInterrupt as err:  # a signal before the job started (or after it ended)
        stop = runtime.interruption(err) or runtime.Interrupted(signal.SIGINT)
        print(f"facies {name}: {stop.message()}", file=sys.stderr)
        return stop.exit_code
    finally:
        sys.argv = saved
    return 0


# ---------------------------------------------------------------- the command line


#: Hydra's flags that take a value (the next word, or ``--flag=value``).
VALUE_FLAGS = frozenset(
    {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name",
     "-cd", "--config-dir", "--experimental-rerun"}
)  # fmt: skip
#: Flags after which no job runs and nothing is composed here: Hydra answers them.
HYDRA_ANSWERS = frozenset(
    {"-h", "--help", "--hydra-help", "--version", "-i", "--info", "-sc", "--shell-completion",
     "-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir",
     "--experimental-rerun"}
)  # fmt: skip
MULTIRUN_FLAGS = frozenset({"-m", "--multirun"})
SHOW_FLAGS = frozenset({"-c", "--cfg"})
#: How to quote a value, shown where one cannot be read.
QUOTING = (
    "quote a value holding spaces, commas, quotes, '=', brackets or non-ASCII letters, in "
    "single quotes for the shell around double quotes for facies: 'input=\"Brønn.sgy\"'"
)


def _flags(args: Sequence[str]) -> tuple[set[str], list[int]]:
    """(Hydra's flags in ``args``, the positions of the overrides)."""
    flags, positions = set(), []
    skip = False
    for k, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg.startswith("-") and not arg.startswith("~"):
            flag = arg.split("=", 1)[0]
            flags.add(flag)
            skip = flag in VALUE_FLAGS and "=" not in arg
        else:
            positions.append(k)
    return flags, positions


def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _quoted(value: str) -> str:
    """``value`` in Hydra's quotes: single quotes unless it holds one; a backslash before
    the quote or at the end doubled, the quote inside escaped."""
    q = "'" if "'" not in value else '"'
    body = re.sub(r"(\\*)" + q, lambda m: m.group(1) * 2 + "\\" + q, value)
    body = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, body)
    return q + body + q


def _looks_like_path(value: str) -> bool:
    return (
        "/" in value
        or "\\" in value
        or re.search(r"\.[A-Za-z][A-Za-z0-9]{0,5}$", value) is not None
    )


def quote_overrides(args: Sequence[str], multirun: bool = False) -> list[str]:
    """``args`` with each ``key=value`` quoted so that Hydra reads the string typed, where
    its override grammar cannot read the value (a non-ASCII letter, an apostrophe, ``=``,
    ``#``, ``(``), would strip it (a space at an end), or would read it as several values
    (a comma) where no sweep is asked for (no ``-m``) and the value names a file.

    Raises:
        ConfigError: an override that cannot be read even quoted (a bad key), or a
            list of values without ``-m``: what to write instead.
    """
    from hydra.errors import HydraException

    parser = _parser()
    out = list(args)
    for k in _flags(args)[1]:
        arg = args[k]
        parts = _split_override(arg)
        if parts is not None and not parts[1]:
            raise ConfigError(f"cannot read {arg!r}: no option before '='; write key=value.")
        try:
            override = parser.parse_override(arg)
        except HydraException as err:  # the parser's own error: no OverrideParseException
            fixed = _requoted(parser, arg, parts)
            if fixed is None:
                reason = str(err).splitlines()[0].strip()
                raise ConfigError(
                    f"cannot read {arg!r} ({reason}); write key=value, and {QUOTING}."
                ) from None
            out[k] = fixed
            continue
        typed = parts[2] if parts else None
        if typed and typed != typed.strip() and not override.is_sweep_override():
            out[k] = _requoted(parser, arg, parts) or arg  # " lead.sgy": Hydra strips spaces
            continue
        if multirun or not override.is_sweep_override():
            continue
        fixed = _requoted(parser, arg, parts) if _looks_like_path(parts[2] or "") else None
        if fixed is None:
            key, value = parts[1], parts[2]
            raise ConfigError(
                f"{arg} gives {key} several values: add -m to run one job for each, write "
                f"{key}=[{value}] for a list, or quote it for a string: '{key}=\"{value}\"'."
            )
        out[k] = fixed
    return out


def _requoted(parser, arg: str, parts) -> str | None:
    """``arg`` with its value quoted, if Hydra then reads it as exactly the value typed."""
    if parts is None or parts[2] is None:
        return None
    prefix, _, value = parts
    key = arg[len(prefix) :].partition("=")[0]
    fixed = f"{prefix}{key}={_quoted(value)}"
    try:
        override = parser.parse_override(fixed)
    except Exception:
        return None
    return fixed if override.value() == value else None


def preflight(name: str, args: Sequence[str]) -> bool:
    """Compose job ``name``'s config from the overrides in ``args`` and validate its
    options (:mod:`facies.jobs.validate`), before Hydra runs; True when validated.

    With ``-m``, the first value of each sweep is composed here (each job of the sweep is
    validated when it runs). Nothing is composed where Hydra answers a flag (``--help``,
    ``--info``, another config), nor validated for ``--cfg`` (which runs nothing).

    Raises:
        ConfigError: an unknown key or group option, or a bad value, in one line.
    """
    flags, positions = _flags(args)
    if flags & HYDRA_ANSWERS:
        return False
    overrides = [args[k] for k in positions]
    from facies.jobs.validate import deleted, validate

    deleted(name, [o[1:].split("=", 1)[0] for o in overrides if o.startswith("~")])
    if flags & MULTIRUN_FLAGS:
        overrides = [_first_value(o) for o in overrides]
        overrides = [o for o in overrides if o is not None]
    from facies.runtime import compose

    try:
        cfg = compose(name, overrides)
    except Exception as err:
        raise ConfigError(compose_error(name, overrides, err)) from None
    if flags & SHOW_FLAGS:
        return False
    validate(name, cfg)
    return True


def _first_value(arg: str) -> str | None:
    """A sweep's first value as a plain override (``a=1,2`` -> ``a=1``); None for a sweep
    whose values depend on the config (``glob(...)``)."""
    override = _parser().parse_override(arg)
    if not override.is_sweep_override():
        return arg
    try:
        first = next(iter(override.sweep_string_iterator()))
    except Exception:
        return None
    return f"{arg.partition('=')[0]}={first}"


def compose_error(name: str, overrides: Sequence[str], err: Exception) -> str:
    """One line for an error Hydra raised composing the config from ``overrides``: an
    unknown key (the closest ones), an unknown group option (the choices), a value Hydra
    cannot read (how to quote), anything else in Hydra's words."""
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(err, MissingConfigException) and err.missing_cfg_file and err.options:
        group, _, option = err.missing_cfg_file.rpartition("/")
        choices = ", ".join(sorted(err.options))
        return (
            f"{group}={option}: there is no {group} called {option!r}; the choices are "
            f"{choices} (e.g. {group}={sorted(err.options)[0]})."
        )
    if isinstance(err, OverrideParseException):
        return f"cannot read the options ({_one_line(err)}); {QUOTING}."
    cause = err.__cause__
    named = re.match(r"Could not override '([^']+)'", str(err))
    key = getattr(cause, "full_key", None) or (named.group(1) if named else None)
    if isinstance(err, ConfigCompositionException) and key and named:
        return _unknown_key(name, overrides, key)
    detail = _one_line(cause) if isinstance(cause, OmegaConfBaseException) else ""
    # the configs are facies' own: what fails to compose is the command line
    return (
        f"the options do not make a config: {_one_line(err)}"
        + (f" ({detail})" if detail else "")
        + f". `facies {name} --help` shows the options and their values."
    )


def _one_line(err: BaseException) -> str:
    """An error's message on one line, without Hydra's pointers to its docs."""
    lines = [line.strip() for line in str(err).splitlines()]
    keep = [
        line
        for line in lines
        if line and not line.startswith(("See https://", "full_key:", "object_type=", "Set the"))
    ]
    return " ".join(keep).rstrip(".")


def _unknown_key(name: str, overrides: Sequence[str], key: str) -> str:
    """An override of a key the config does not hold: the closest keys, how to add one."""
    import difflib

    from facies.runtime import compose

    given = [o for o in overrides if (_split_override(o) or (None, None))[1] == key]
    others = [o for o in overrides if o not in given]
    try:
        cfg = compose(name, others)
    except Exception:
        cfg = compose(name)
    from omegaconf import OmegaConf

    from facies.jobs.validate import options

    if key.startswith("hydra."):  # Hydra's own keys, under hydra.
        cfg = compose(name, return_hydra_config=True).hydra
    keys = [k for k, _ in options(OmegaConf.to_container(cfg, resolve=False))]
    if key.startswith("hydra."):
        keys = [f"hydra.{k}" for k in keys]
    keys += sorted({k.rsplit(".", i)[0] for k in keys for i in range(1, k.count(".") + 1)})
    keys = [k for k in keys if not key.startswith(k + ".")]  # not the groups holding it
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    if not close:  # the same name in another group: trace_batch_size -> data.trace_batch_size
        leaf = key.rsplit(".", 1)[-1]
        close = [k for k in keys if k.rsplit(".", 1)[-1] == leaf][:3]
    shown = given[0] if given else key
    hint = f"; the closest are {', '.join(close)}" if close else ""
    lightning = " (e.g. +trainer.gradient_clip_val=1, an argument of Lightning's Trainer)"
    return (
        f"{shown}: facies {name} has no option {key}{hint}. `facies {name} --cfg job` lists "
        f"the options; +{key}=<value> adds a key the config lacks"
        + (lightning if key.startswith("trainer.") else "")
        + "."
    )


if __name__ == "__main__":
    raise SystemExit(main())

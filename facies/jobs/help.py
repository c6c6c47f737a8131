"""``facies <job> --help``: the job's own options with the comments that explain them.

Hydra's ``--help`` lists every config group of the application (the train job's groups
under ``facies predict``) and the config without its comments. This help reads the job's
YAML files as they are written: the job's own options, then each group the job uses with
its choices and the default's options, comments included.
"""

from __future__ import annotations

from importlib.abc import Traversable

import yaml

from facies.jobs import JOBS
from facies.runtime import config_root

#: Groups whose options are Hydra's own (logging, launchers): left to ``--hydra-help``.
HYDRA_GROUPS = ("hydra", "override hydra")


def _strip(text: str) -> str:
    """The YAML text without its defaults list and hydra node (which say how to compose
    the job, not what to set)."""
    out, skipping = [], False
    for line in text.splitlines():
        top = line and not line[0].isspace() and not line.startswith("#")
        if top:
            skipping = line.startswith(("defaults:", "hydra:"))
        if not skipping:
            out.append(line)
    return "\n".join(out).strip("\n")


def _defaults(text: str) -> list[tuple[str, str, str]]:
    """(group, package, default choice) of each group in a config's defaults list; a plain
    config merged in (``- /base/data@_here_``) comes as (its folder, package, its name)."""
    found = []
    for entry in (yaml.safe_load(text) or {}).get("defaults", []) or []:
        if isinstance(entry, str) and entry != "_self_":
            path, _, package = entry.lstrip("/").partition("@")
            folder, _, leaf = path.rpartition("/")
            found.append((folder, package or path, leaf))
            continue
        if not isinstance(entry, dict):
            continue
        ((key, choice),) = entry.items()
        if key.startswith(HYDRA_GROUPS) or choice is None:
            continue
        group, _, package = key.lstrip("/").partition("@")
        found.append((group, package or group, str(choice)))
    return found


def _choices(root: Traversable, group: str) -> list[str]:
    folder = root.joinpath(*group.split("/"))
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def job_help(name: str) -> str:
    """The help text of job ``name``."""
    root = config_root()
    text = root.joinpath(f"{name}.yaml").read_text()
    lines = [
        f"facies {name}: {JOBS[name].summary}",
        "",
        f"usage: facies {name} [key=value ...] [-m] [--cfg job] [--info] [--hydra-help]",
        "",
        f"options of facies {name} (set with key=value):",
        _indent(_strip(text)) or "    (none of its own)",
    ]
    for group, package, default in _defaults(text):
        choices = _choices(root, group)
        path = "" if package == "_here_" else f"{package}."
        if package == "_here_":  # a shared base merged into the job's own options
            lines += ["", f"shared options ({group}/{default}.yaml):"]
        elif len(choices) > 1:
            pick = f"choose with {group}=<name>: {', '.join(choices)}; default {default}"
            lines += ["", f"{group} ({pick}); options of {default}, set with {path}<key>=...:"]
        else:
            lines += ["", f"{group} options, set with {path}<key>=...:"]
        group_text = root.joinpath(*group.split("/"), f"{default}.yaml").read_text()
        lines.append(_indent(_strip(group_text)) or "    (none)")
        for sub_group, sub_package, sub_default in _defaults(group_text):
            if sub_package == "_here_":
                base = root.joinpath(*sub_group.split("/"), f"{sub_default}.yaml").read_text()
                lines.append(_indent(_strip(base)))
    lines += [
        "",
        "`facies <job> --cfg job` prints the composed configuration; `--hydra-help` shows "
        "Hydra's own options.",
    ]
    return "\n".join(lines)

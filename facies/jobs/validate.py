"""One validation layer for the options of every job, run before the job does any work.

The ``facies`` command composes a job's config and hands it to :func:`validate` before
Hydra makes a run folder, and again inside each job of a multirun sweep. Every option
a user can set has a rule in one table, :data:`RULES` (key -> rule; :data:`JOB_RULES`
where a key means something else in one job), and the few things that need several
options or the machine are :data:`CHECKS`: a batch that cannot fit in memory, a GPU
asked for where torch sees none, a patch the model cannot take. All problems found
are reported at once, in one line of :class:`~facies.errors.ConfigError`, each with
the key, the value given and a value that works::

    data.batch_size=0: must be a positive integer, e.g. data.batch_size=16.

Light on import (no omegaconf, torch or numpy at module level): torch is imported
only to check a GPU asked for, or a model's name and patch (train), in jobs that import
it anyway.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from facies.errors import ConfigError

#: Section directions a ``directions`` option may name.
DIRECTIONS = ("inline", "crossline")
#: The blocks of inlines a survey is split into (facies.data.splits).
SPLITS = ("train", "val", "test")
#: Floats per pixel of a batch the network holds at the least (input, logits and the
#: first layer's feature maps): a lower bound, so only batches that cannot fit are refused.
MIN_FLOATS_PER_PIXEL = 16
#: Lightning's precision settings.
PRECISIONS = (
    "64", "32", "16", "bf16", "64-true", "32-true", "16-true", "bf16-true", "16-mixed",
    "bf16-mixed", "transformer-engine", "transformer-engine-float16",
)  # fmt: skip
#: Lightning's accelerators, and those of them that are a CUDA GPU.
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
CUDA_ACCELERATORS = ("gpu", "cuda")


# ------------------------------------------------------------------------------ values


def shown(value: Any) -> str:
    """``value`` as it is written on the command line (``[32,16,8]``, ``null``, ``abc``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ",".join(shown(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and (not value or value != value.strip() or "," in value):
        return repr(value)
    return str(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# ------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """What the value of one option must be.

    Attributes:
        must_be: the values accepted, in words (``"a positive integer"``).
        accepts: whether a value is accepted.
        example: a value that works, shown in the fix.
        advice: more words for a refused value (the nearest header bytes), or None; may
            return "" for nothing more to say.
    """

    must_be: str
    accepts: Callable[[Any], bool]
    example: str
    advice: Callable[[Any], str] | None = None

    def problem(self, key: str, value: Any) -> str | None:
        """None for an accepted value, else what is wrong and the fix, in a few words."""
        try:
            if self.accepts(value):
                return None
        except (TypeError, ValueError):  # a value of another shape: refused
            pass
        more = self.advice(value) if self.advice else ""
        text = f"{key}={shown(value)}: must be {self.must_be}, e.g. {key}={self.example}"
        return f"{text}; {more}" if more else text


def integer(low: int | None = None, high: int | None = None, example: int | None = None) -> Rule:
    """An integer in ``low..high`` (either end open when None)."""
    if low == 1 and high is None:
        words = "a positive integer"
    elif high is None:
        words = "an integer" + (f" >= {low}" if low is not None else "")
    else:
        words = f"an integer in {low}..{high}"

    def accepts(v: Any) -> bool:
        return _is_int(v) and (low is None or v >= low) and (high is None or v <= high)

    return Rule(words, accepts, str(example if example is not None else (low or 0)))


def number(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    example: float,
) -> Rule:
    """A finite number (int or float) between ``low`` and ``high``."""
    if high is None:
        words = "a number" + (f" {'>' if low_open else '>='} {low:g}" if low is not None else "")
    else:
        words = (
            f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        )

    def accepts(v: Any) -> bool:
        if not _is_number(v):
            return False
        above = low is None or (v > low if low_open else v >= low)
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    return Rule(words, accepts, f"{example:g}")


def choice(*values: str, example: str | None = None, lazy: Callable[[], Any] | None = None) -> Rule:
    """One of ``values``, or of the names ``lazy()`` returns (looked up when a value is
    checked, so a registry that imports torch is imported only by jobs that check it)."""
    if lazy is None:
        return Rule(
            "one of " + ", ".join(values),
            lambda v: isinstance(v, str) and v in values,
            example or values[0],
        )

    def names() -> list[str]:
        return sorted(lazy())

    return Rule(
        "a registered name",
        lambda v: isinstance(v, str) and v in names(),
        example or "",
        advice=lambda v: f"the names are {', '.join(names())}",
    )


def optional(rule: Rule, example: str | None = None) -> Rule:
    """``rule``, or null."""
    return Rule(
        f"null or {rule.must_be}",
        lambda v: v is None or rule.accepts(v),
        example or rule.example,
        rule.advice,
    )


def pair(low: int = 1, what: str = "samples, traces", example: str = "[64,64]") -> Rule:
    """Two integers >= ``low``: a patch or a window (samples, traces)."""
    return Rule(
        f"two {'positive integers' if low == 1 else f'integers >= {low}'} [{what}]",
        lambda v: (
            isinstance(v, list | tuple) and len(v) == 2 and all(_is_int(x) and x >= low for x in v)
        ),
        example,
    )


def _directions(v: Any) -> bool:
    return (
        isinstance(v, list | tuple)
        and len(v) > 0
        and all(isinstance(d, str) and d in DIRECTIONS for d in v)
        and len(set(v)) == len(v)
    )


def _direction_advice(v: Any) -> str:
    values = v if isinstance(v, list | tuple) else [v]
    unknown = [str(d) for d in values if d not in DIRECTIONS]
    if unknown:
        return f"{', '.join(unknown)} is no section direction"
    return ""


DIRECTIONS_RULE = Rule(
    "a list of inline and/or crossline, each once",
    _directions,
    "[inline,crossline]",
    _direction_advice,
)


def _header_byte_rule(example: int) -> Rule:
    """A 1-based trace header byte where a standard field starts (1, 5, 9, ... 237)."""

    def starts() -> dict[int, int]:
        from facies.io.segy.fields import FIELD_SIZES

        return FIELD_SIZES

    def advice(v: Any) -> str:
        from facies.io.segy.fields import line_pairs_hint

        near = ""
        if _is_int(v):
            nearest = sorted(starts(), key=lambda b: abs(b - v))[:3]
            near = f"the nearest are {', '.join(map(str, sorted(nearest)))}; "
        return f"{near}common inline/crossline bytes: {line_pairs_hint()}"

    return Rule(
        f"the trace header byte (1..{max(starts())}) where a standard field starts",
        lambda v: _is_int(v) and v in starts(),
        str(example),
        advice,
    )


def _is_path(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _path_advice(v: Any) -> str:
    if _is_number(v) or isinstance(v, bool):
        return f"quote a name that reads as a number or a flag: '{{key}}=\"{shown(v)}\"'"
    return ""


#: Paths may be null here: a job that needs one says so, with its usage line.
PATH = Rule("a path", lambda v: v is None or _is_path(v), "<path>", _path_advice)
PATHS = Rule(
    "a path or a list of paths",
    lambda v: (
        v is None or _is_path(v) or (isinstance(v, list | tuple) and v and all(map(_is_path, v)))
    ),
    "[<run folder>,<run folder>]",
)
FLAG = Rule("true or false", lambda v: isinstance(v, bool), "true")
POSITIVE = integer(1, example=16)
SEED = integer(0, 2**32 - 1, example=0)
LABEL = optional(integer(example=255), "255")
CLASSES = Rule(
    "null, a JSON file of class names or a list of names",
    lambda v: (
        v is None
        or _is_path(v)
        or (isinstance(v, list | tuple) and v and all(isinstance(n, str) and n for n in v))
    ),
    "[sand,shale]",
)


def _ranges(v: Any) -> bool:
    if v is None:
        return True
    if not isinstance(v, Mapping) or not v or not set(v) <= set(SPLITS):
        return False
    return all(
        isinstance(r, list | tuple)
        and len(r) == 2
        and all(_is_int(x) for x in r)
        and 0 <= r[0] < r[1]
        for r in v.values()
    )


def _int_list(v: Any) -> bool:
    return v is None or (isinstance(v, list | tuple) and all(_is_int(x) for x in v))


def _section(v: Any) -> bool:
    if v is None:
        return True
    direction, _, number_ = str(v).partition(":") if isinstance(v, str) else ("", "", "")
    return direction in DIRECTIONS and number_.strip().lstrip("-").isdigit()


def _inline_span(v: Any) -> bool:
    return v is None or (
        isinstance(v, list | tuple) and len(v) == 2 and all(_is_int(x) for x in v) and v[0] <= v[1]
    )


def _devices(v: Any) -> bool:
    if v == "auto" or (_is_int(v) and (v >= 1 or v == -1)):
        return True
    return isinstance(v, list | tuple) and v and all(_is_int(x) and x >= 0 for x in v)


def _precision(v: Any) -> bool:
    return v is None or (not isinstance(v, bool) and str(v) in PRECISIONS)


def _model_names() -> Any:
    from facies.models.registry import MODELS

    return MODELS


#: Every option a user sets, by its key in the composed config (``*``: any one key).
#: A key missing from a job's config is skipped, so one table serves every job.
RULES: dict[str, Rule] = {
    # what every job shares
    "seed": SEED,
    "input": PATH,
    "output": PATH,
    "checkpoint": PATH,
    "overwrite": FLAG,
    "figure": FLAG,
    "allow_mismatch": FLAG,
    "device": choice("auto", "cpu", "cuda", example="auto"),
    # SEG-Y reading (facies.io.segy.options)
    "segy.iline": _header_byte_rule(189),
    "segy.xline": _header_byte_rule(193),
    "segy.offset_byte": _header_byte_rule(37),
    "segy.offset": optional(integer(), "0"),
    "segy.endian": choice("auto", "big", "little"),
    "segy.sample_interval": optional(number(0, low_open=True, example=4)),
    "segy.domain": choice("twt", "depth"),
    "segy.min_live_fraction": number(0, 1, example=0.1),
    "segy.zero_traces": choice("dead", "live"),
    # the survey a model trains on or is scored on
    "data.source": choice("synthetic", "segy", "f3"),
    "data.store": PATH,
    "data.seismic": PATH,
    "data.labels": PATH,
    "data.root": PATH,
    "data.classes": CLASSES,
    "data.ignore_label": LABEL,
    "data.batch_size": POSITIVE,
    "data.trace_batch_size": integer(1, example=256),
    "data.patch": pair(example="[64,64]"),
    "data.stride": pair(example="[32,32]"),
    "data.patches_per_epoch": Rule(
        "a positive integer or all", lambda v: v == "all" or (_is_int(v) and v >= 1), "2048"
    ),
    "data.splits.gap": Rule(
        "auto or an integer >= 0 (inlines)", lambda v: v == "auto" or (_is_int(v) and v >= 0), "4"
    ),
    "data.directions": DIRECTIONS_RULE,
    "data.test_directions": Rule(
        DIRECTIONS_RULE.must_be, _directions, "[inline]", _direction_advice
    ),
    "data.mask_nonfinite": FLAG,
    "data.layout": choice("auto", "volume", "sections"),
    "data.in_memory": Rule(
        "auto, true or false", lambda v: v == "auto" or isinstance(v, bool), "false"
    ),
    "data.sections.inlines": Rule("a list of inline numbers", lambda v: _int_list(v), "[100,200]"),
    "data.sections.crosslines": Rule(
        "a list of crossline numbers", lambda v: _int_list(v), "[300,400]"
    ),
    "data.sections.margin": optional(integer(0, example=32), "32"),
    "data.sections.min_labelled": number(0, 1, example=0.25),
    "data.splits.fractions.*": number(0, example=0.7),
    "data.splits.ranges": Rule(
        "null or {train|val|test: [start, stop]} of inline indices, 0 <= start < stop",
        _ranges,
        "{train:[0,80],val:[88,100],test:[108,128]}",
    ),
    "data.augmentation.enabled": FLAG,
    "data.augmentation.amplitude_scale": number(0, 1, high_open=True, example=0.2),
    "data.augmentation.noise": number(0, example=0.05),
    # the model (conf/model/)
    "model.name": choice(lazy=_model_names, example="unet"),
    "model.depth": integer(1, 8, example=3),
    "model.base_channels": integer(1, example=16),
    "model.backbone": choice("plain", "residual"),
    "model.norm": choice("batch", "group", "instance", "none"),
    "model.dropout": number(0, 1, high_open=True, example=0.1),
    "model.upsample": choice("transpose", "bilinear"),
    "model.hidden_size": integer(1, example=64),
    "model.num_layers": integer(1, example=2),
    "model.bidirectional": FLAG,
    "model.neighbourhood": integer(0, example=1),
    # training
    "trainer.accelerator": choice(*ACCELERATORS),
    "trainer.devices": Rule(
        "a positive integer, -1 (all), auto or a list of device indices", _devices, "1"
    ),
    "trainer.num_nodes": integer(1, example=1),
    "trainer.precision": Rule(
        "null (chosen for the device) or one of " + ", ".join(PRECISIONS), _precision, "32-true"
    ),
    "trainer.max_epochs": Rule(
        "a positive integer (or -1: no limit)",
        lambda v: _is_int(v) and (v >= 1 or v == -1),
        "12",
    ),
    "trainer.benchmark": optional(FLAG),
    "trainer.deterministic": Rule(
        "true, false or warn", lambda v: isinstance(v, bool) or v == "warn", "true"
    ),
    "trainer.log_every_n_steps": integer(1, example=10),
    "trainer.strategy": Rule("a strategy name", lambda v: isinstance(v, str) and bool(v), "ddp"),
    # logger= and callbacks= groups (issue 17): named entries with a Lightning _target_
    "logger.*.save_dir": Rule(
        "null (the run folder) or a path", lambda v: v is None or _is_path(v), "logs"
    ),
    "logger.*.name": Rule("null or a name", lambda v: v is None or isinstance(v, str), "logs"),
    "logger.*.version": Rule(
        "null, a name or a number", lambda v: v is None or isinstance(v, str | int), '""'
    ),
    "logger.*.log_model": Rule("true, false or all", lambda v: v in (True, False, "all"), "false"),
    "logger.tensorboard.default_hp_metric": FLAG,
    "logger.mlflow.experiment_name": Rule(
        "a name", lambda v: isinstance(v, str) and bool(v), "facies"
    ),
    "logger.mlflow.run_name": Rule(
        "null or a name", lambda v: v is None or isinstance(v, str), "unet"
    ),
    "logger.mlflow.tracking_uri": Rule(
        "null (a file store in the run folder) or a URI",
        lambda v: v is None or (isinstance(v, str) and bool(v)),
        "http://localhost:5000",
    ),
    "logger.wandb.project": Rule(
        "a project name", lambda v: isinstance(v, str) and bool(v), "facies"
    ),
    "logger.wandb.offline": FLAG,
    "callbacks.*.monitor": Rule(
        "null (val/miou, as best.ckpt) or a logged metric",
        lambda v: v is None or (isinstance(v, str) and "/" in v),
        "val/loss",
    ),
    "callbacks.*.mode": Rule("null, min or max", lambda v: v in (None, "min", "max"), "max"),
    "callbacks.early_stopping.patience": integer(0, example=5),
    "callbacks.early_stopping.min_delta": number(0, example=0.001),
    "callbacks.lr_monitor.logging_interval": choice("epoch", "step"),
    # anything else in an entry (logger=none, callbacks=default: empty) goes to its class
    "logger*": Rule("an option of the logger's Lightning class", lambda v: True, "{}"),
    "callbacks*": Rule("an option of the callback's Lightning class", lambda v: True, "{}"),
    "optimizer.lr": number(0, low_open=True, example=0.002),
    "optimizer.weight_decay": number(0, example=0.0001),
    "scheduler.T_max": integer(1, example=12),
    "scheduler.eta_min": number(0, example=0.00001),
    "class_weights": FLAG,
    "dice_weight": number(0, example=0.5),
    "channels_last": FLAG,
    "compile": FLAG,
    "resume": PATH,
    # predict
    "store": PATH,
    "probabilities": FLAG,
    "confidence": FLAG,
    "mode": choice("sections", "windows"),
    "precision": choice("float32", "bfloat16"),
    "memory_mb": optional(integer(1, example=1024), "1024"),
    "window": optional(pair(example="[64,64]"), "[64,64]"),
    "overlap": number(0, 1, high_open=True, example=0.5),
    "directions": DIRECTIONS_RULE,
    "batch_size": POSITIVE,
    "block_inlines": optional(integer(1, example=16), "16"),
    "normalization": choice("checkpoint", "survey"),
    "inlines": Rule(
        "null or [first, last] inline numbers, first <= last", _inline_span, "[100,200]"
    ),
    "write_segy": FLAG,
    # inspect
    "section": Rule("null, inline:N or crossline:N (survey numbers)", _section, "inline:100"),
    "channels": integer(1, example=8),
    "probe.sections": integer(1, example=8),
    "probe.pixels": integer(1, example=10000),
    "probe.iterations": integer(1, example=100),
    "erf.sections": integer(1, example=4),
    "erf.mass": number(0, 1, low_open=True, example=0.95),
    # compare
    "runs": PATHS,
    # ingest
    "labels": PATH,
    "classes": CLASSES,
    "ignore_label": LABEL,
    # info
    "json": FLAG,
    "text": FLAG,
    # gradflow
    "traces": integer(1, example=64),
    "length": integer(2, example=200),
    "hidden_size": integer(1, example=32),
    "init": choice("chrono", "forget_bias", "torch"),
    # synth
    "n_inlines": integer(1, example=128),
    "n_crosslines": integer(1, example=128),
    "n_samples": integer(1, example=128),
    "n_facies": integer(2, example=6),
    "frequency": number(0, low_open=True, example=25),
    "noise": number(0, example=0.1),
    "sample_interval": number(0, low_open=True, example=4),
    "n_layers": optional(integer(1, example=8), "8"),
    "n_faults": integer(0, example=2),
    "n_channels": integer(0, example=2),
    "fold": number(0, example=0.08),
    "throw": number(0, example=0.06),
    "labelled_inlines": integer(0, example=4),
    "labelled_crosslines": integer(0, example=6),
    "sparse_traces": choice("labelled", "all"),
    "lines": integer(0, example=1),
}
#: Where a key means something else in one job.
JOB_RULES: dict[str, dict[str, Rule]] = {
    "predict": {"resume": FLAG},
    "inspect": {
        "device": Rule(
            "auto, cpu, cuda or cuda:N",
            lambda v: (
                v in ("auto", "cpu", "cuda")
                or (isinstance(v, str) and v.startswith("cuda:") and v[5:].isdigit())
            ),
            "auto",
        )
    },
}
#: Keys that are no option of the user's (Hydra's instantiation keys).
NOT_OPTIONS = ("*._target_", "*._partial_")


#: Groups whose options are another job's: ``data.synthetic`` is what ``facies synth`` takes.
SAME_AS = {"data.synthetic.": "synth"}


def rule_for(job: str, key: str) -> Rule | None:
    """The rule of option ``key`` in ``job``, or None for a key without one."""
    for prefix, other in SAME_AS.items():
        if key.startswith(prefix):
            return rule_for(other, key.removeprefix(prefix))
    own = JOB_RULES.get(job, {})
    if key in own:
        return own[key]
    if key in RULES:
        return RULES[key]
    for pattern, rule in RULES.items():
        if "*" in pattern and fnmatch.fnmatchcase(key, pattern):
            return rule
    return None


# ------------------------------------------------------------------------- the config


def _plain(cfg: Any) -> Any:
    """``cfg`` as plain containers, interpolations (``${trainer.max_epochs}``) left as
    written: they are checked where they point."""
    try:
        from omegaconf import OmegaConf
    except ImportError:  # pragma: no cover - comes with hydra
        return cfg
    if OmegaConf.is_config(cfg):
        return OmegaConf.to_container(cfg, resolve=False)
    return cfg


def options(cfg: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(key, value) of every option of ``cfg``: its leaves, and the nodes that have a rule
    of their own (``data.splits.ranges`` holds a mapping). ``hydra`` is not an option."""
    for name, value in cfg.items():
        key = f"{prefix}{name}"
        if key == "hydra":
            continue
        if isinstance(value, Mapping) and value and key not in RULES:
            yield from options(value, key + ".")
        else:
            yield key, value


def _groups(cfg: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(key, value) of each group of options (``data.splits``) that a value replaced
    (``data.splits=3``): the rules of its options would not see it."""
    seen = set()
    for pattern in [*RULES, *(prefix + "*" for prefix in SAME_AS)]:
        parts = pattern.split(".")
        for n in range(1, len(parts)):
            key = ".".join(parts[:n])
            if "*" in key or key in seen:
                continue
            seen.add(key)
            value = _get(cfg, key, default=_MISSING)
            if value is not _MISSING and value is not None and not isinstance(value, Mapping):
                yield key, value


def _not_a_group(key: str, value: Any) -> str:
    depth = key.count(".") + 1
    inside = sorted({".".join(p.split(".")[: depth + 1]) for p in RULES if p.startswith(key + ".")})
    listed = f" ({', '.join(inside)})" if inside else ""
    return f"{key}={shown(value)}: {key} holds options{listed}, not a value; set those"


_MISSING = object()


def _is_interpolation(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")


def problems(job: str, cfg: Any, checks: bool = True) -> list[str]:
    """What is wrong with the options of ``job``'s config ``cfg`` (empty when nothing)."""
    plain = _plain(cfg)
    found = [_not_a_group(key, value) for key, value in _groups(plain)]
    for key, value in options(plain):
        rule = rule_for(job, key)
        if rule is None or _is_interpolation(value):
            continue
        problem = rule.problem(key, value)
        if problem:
            found.append(problem.replace("{key}", key))
    if checks and not found:  # the checks read several options: each must be valid first
        for check in CHECKS:
            problem = check(job, plain)
            if problem:
                found.append(problem)
    return found


def deleted(job: str, keys: list[str]) -> None:
    """Refuse ``~key`` overrides that delete an option (or a group of options) of facies':
    every job reads all of its options."""
    found = []
    for key in keys:
        group = any(p.startswith(key + ".") for p in [*RULES, *JOB_RULES.get(job, {})])
        if rule_for(job, key) is not None or group:
            found.append(
                f"~{key}: facies {job} reads {key}, so it cannot be deleted; "
                + (f"set its options instead (`facies {job} --help` lists them)" if group
                   else f"set {key}=<value> instead")
            )  # fmt: skip
    if found:
        raise ConfigError("; ".join(found) + ".")


def validate(job: str, cfg: Any, checks: bool = True) -> None:
    """Refuse a config with a bad option: one :class:`ConfigError` naming every problem."""
    found = problems(job, cfg, checks)
    if found:
        raise ConfigError("; ".join(found) + ".")


# ------------------------------------------------------------------------- the checks


def _get(cfg: Mapping[str, Any], key: str, default: Any = None) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _gib(n: float) -> str:
    return f"{n / 2**40:.2f} TiB" if n >= 2**40 else f"{n / 2**30:.1f} GiB"


def _batch_memory(job: str, cfg: Mapping[str, Any]) -> str | None:
    """A batch of patches (train) or windows (predict) that cannot fit in memory."""
    if job == "predict":
        size_key, batch_key = "window", "batch_size"
        fix = "leave window unset (the checkpoint's patch)"
    elif job in ("train", "evaluate", "inspect"):
        size_key, batch_key, fix = "data.patch", "data.batch_size", "use a smaller data.patch"
    else:
        return None
    size, batch = _get(cfg, size_key), _get(cfg, batch_key)
    if size is None or batch is None:
        return None
    need = batch * size[0] * size[1] * MIN_FLOATS_PER_PIXEL * 4
    from facies.data.memory import available_bytes

    have = available_bytes()
    if have is None or need <= have:
        return None
    return (
        f"{size_key}={shown(size)} with {batch_key}={batch}: one batch needs at least "
        f"{_gib(need)} of memory and {_gib(have)} is available; {fix} or lower {batch_key}"
    )


def _cuda() -> tuple[bool, int, str]:
    """(CUDA usable, devices, torch's version) - imports torch."""
    import torch

    available = torch.cuda.is_available()
    return available, torch.cuda.device_count() if available else 0, torch.__version__


def _gpu(job: str, cfg: Mapping[str, Any]) -> str | None:
    """A GPU asked for (``trainer=gpu``, ``device=cuda``) where torch sees none."""
    accelerator = _get(cfg, "trainer.accelerator")
    device = cfg.get("device")
    wants_trainer_gpu = job in ("train", "evaluate") and accelerator in CUDA_ACCELERATORS
    wants_device = isinstance(device, str) and device.startswith("cuda")
    if not (wants_trainer_gpu or wants_device):
        return None
    available, count, version = _cuda()
    why = "torch sees no GPU here" + (" (a CPU-only build)" if "+cpu" in version else "")
    if wants_trainer_gpu:
        if not available:
            return (
                f"trainer.accelerator={accelerator} (trainer=gpu), but {why}; use trainer=auto "
                "(the GPU when there is one) or trainer=cpu"
            )
        devices = _get(cfg, "trainer.devices")
        if _is_int(devices) and devices > count:
            return (
                f"trainer.devices={devices}, but torch sees {count} GPU(s); use "
                f"trainer.devices={count}"
            )
        return None
    if not available:
        return (
            f"device={device}, but {why}; use device=auto (the GPU when there is one) or device=cpu"
        )
    index = device.partition(":")[2]
    if index and int(index) >= count:
        return f"device={device}, but torch sees {count} GPU(s): cuda:0..cuda:{count - 1}"
    return None


def _patch_multiple(job: str, cfg: Mapping[str, Any]) -> str | None:
    """A training patch the model cannot take (U-Net: multiples of 2**depth)."""
    model, patch = cfg.get("model"), _get(cfg, "data.patch")
    if job != "train" or not isinstance(model, Mapping) or patch is None:
        return None
    from facies.models.registry import model_input

    multiple = model_input(model).size_multiple
    if all(v % multiple == 0 for v in patch):
        return None
    fixed = [math.ceil(v / multiple) * multiple for v in patch]
    return (
        f"data.patch={shown(patch)}: each side must be a multiple of {multiple} (2**model.depth), "
        f"e.g. data.patch={shown(fixed)}"
    )


def _stride(job: str, cfg: Mapping[str, Any]) -> str | None:
    """A stride larger than the patch: samples or traces between patches never trained on."""
    patch, stride = _get(cfg, "data.patch"), _get(cfg, "data.stride")
    if job != "train" or patch is None or stride is None:
        return None
    if all(s <= p for s, p in zip(stride, patch, strict=True)):
        return None
    fixed = [min(s, p) for s, p in zip(stride, patch, strict=True)]
    return (
        f"data.stride={shown(stride)}: must not exceed data.patch={shown(patch)} on either "
        f"axis (samples, traces), or what lies between two patches is never trained on; "
        f"e.g. data.stride={shown(fixed)}"
    )


def _splits(job: str, cfg: Mapping[str, Any]) -> str | None:
    """Training needs a train and a validation block of inlines (by fractions or ranges)."""
    splits = _get(cfg, "data.splits")
    if job != "train" or not isinstance(splits, Mapping):
        return None
    ranges = splits.get("ranges")
    if ranges:
        missing = [name for name in ("train", "val") if name not in ranges]
        key, fix = "data.splits.ranges", "e.g. data.splits.ranges={train:[0,80],val:[88,100]}"
    else:
        fractions = splits.get("fractions") or {}
        missing = [name for name in ("train", "val") if not fractions.get(name)]
        key, fix = "data.splits.fractions", "e.g. data.splits.fractions.val=0.1"
    if not missing:
        return None
    return f"{key} gives no {' and no '.join(missing)} block, which training needs; {fix}"


def _trainer_groups(job: str, cfg: Mapping[str, Any]) -> str | None:
    """``trainer.logger``/``trainer.callbacks`` would replace facies' own: the groups add."""
    trainer = _get(cfg, "trainer") or {}
    for key, e_g in (
        ("logger", "logger=[csv,tensorboard]"),
        ("callbacks", "callbacks=[early_stopping]"),
    ):
        if isinstance(trainer, Mapping) and key in trainer:
            return (
                f"trainer.{key} is not read: choose {key} with the {key}= group, e.g. {e_g}, "
                f"or add an entry +{key}.<name>={{_target_:...}}"
            )
    return None


#: Checks of several options together, or of the machine: (job, plain config) -> problem.
CHECKS: tuple[Callable[[str, Mapping[str, Any]], str | None], ...] = (
    _splits,
    _gpu,
    _patch_multiple,
    _stride,
    _batch_memory,
    _trainer_groups,
)

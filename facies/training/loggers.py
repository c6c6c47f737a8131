"""The loggers and callbacks a run's config selects (``logger=``, ``callbacks=`` groups).

Each group holds named entries with a ``_target_`` (``logger=[csv,tensorboard]`` gives
``logger.csv`` and ``logger.tensorboard``), as lightning-hydra-template does. facies' own
callbacks (checkpoints, the ETA line, the stop on SIGTERM) are added to the user's, never
in their place. ``trainer.logger`` and ``trainer.callbacks`` are refused: the groups are
the one way in, so nothing given is silently replaced.

Every logger also receives the run's metadata (:func:`run_metadata`: provenance, flat).
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.utils import instantiate

from facies.errors import ConfigError

log = logging.getLogger(__name__)

#: The metric best.ckpt is chosen by, and its mode: declared once.
MONITOR, MONITOR_MODE = "val/miou", "max"
#: Logger classes whose package is optional: (importable modules, the facies extra).
OPTIONAL = {
    "TensorBoardLogger": (("tensorboard", "tensorboardX"), "tensorboard"),
    "MLFlowLogger": (("mlflow",), "mlflow"),
    "WandbLogger": (("wandb",), "wandb"),
}
#: Trainer options the groups replace.
GROUP_OF = {"logger": "logger", "callbacks": "callbacks"}
#: Most metadata entries sent to a logger (the flattened config is most of them).
MAX_ENTRIES = 400
#: Longest text value sent to a logger.
MAX_TEXT = 250


def refuse_trainer_keys(trainer_cfg: Mapping[str, Any]) -> None:
    """Refuse ``trainer.logger`` / ``trainer.callbacks``: the groups are the way in."""
    for key, group in GROUP_OF.items():
        if key in trainer_cfg:
            raise ConfigError(
                f"trainer.{key} is not read: choose {group} with the {group}= group "
                f"(e.g. {group}=[{'csv,tensorboard' if key == 'logger' else 'early_stopping'}]"
                f"; facies train --help lists them) or add an entry "
                f"+{group}.<name>={{_target_:...}}."
            )


def _entries(group: Any, name: str) -> dict[str, dict[str, Any]]:
    if group in (None, False) or group == {}:
        return {}
    if not isinstance(group, Mapping):
        raise ConfigError(
            f"{name}={group!r}: must name entries of the {name} group, e.g. {name}=[csv]."
        )
    entries = {}
    for key, entry in group.items():
        if entry is None:
            continue
        if not isinstance(entry, Mapping) or "_target_" not in entry:
            raise ConfigError(
                f"{name}.{key}: must be a mapping with a _target_ (a Lightning class), "
                f"e.g. {name}=[{key}] with conf/{name}/{key}.yaml."
            )
        entries[str(key)] = dict(entry)
    return entries


def _check_package(key: str, target: str) -> None:
    cls = target.rsplit(".", 1)[-1]
    if cls not in OPTIONAL:
        return
    modules, extra = OPTIONAL[cls]
    if not any(importlib.util.find_spec(m) is not None for m in modules):
        raise ConfigError(
            f"logger={key} needs the {modules[0]} package, which is not installed; "
            f'install it with: pip install "facies[{extra}]"'
        )


def _save_dir(value: Any, out: Path) -> str:
    """null: the run folder; a relative path: inside the run folder."""
    if value in (None, ""):
        return str(out)
    path = Path(str(value)).expanduser()
    return str(path if path.is_absolute() else out / path)


def build_loggers(group: Any, out: Path) -> list[Any]:
    """The loggers of the ``logger`` group (in its order), writing under ``out``.

    Raises:
        ConfigError: an entry is no logger, or a selected logger's package is missing
            (the message names the extra to install).
    """
    loggers = []
    for key, entry in _entries(group, "logger").items():
        _check_package(key, str(entry["_target_"]))
        if "save_dir" in entry:
            entry["save_dir"] = _save_dir(entry["save_dir"], out)
        loggers.append(instantiate(entry))
    return loggers


def build_callbacks(group: Any, logged: bool = True) -> list[Any]:
    """The callbacks of the ``callbacks`` group; a null ``monitor``/``mode`` is the
    metric best.ckpt is chosen by (:data:`MONITOR`).

    ``logged``: whether the run has a logger (a learning-rate monitor needs one).
    """
    callbacks = []
    for key, entry in _entries(group, "callbacks").items():
        if not logged and str(entry["_target_"]).endswith("LearningRateMonitor"):
            raise ConfigError(
                f"callbacks.{key} logs the learning rate, but logger=none: choose a logger "
                "(e.g. logger=csv) or leave lr_monitor out of callbacks."
            )
        if "monitor" in entry and entry["monitor"] is None:
            entry["monitor"] = MONITOR
            if "mode" in entry and entry["mode"] is None:
                entry["mode"] = MONITOR_MODE
        callbacks.append(instantiate(entry))
    return callbacks


# ------------------------------------------------------------------------- run metadata


def _flat(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flat(inner, f"{prefix}{key}/", out)
        return
    key = prefix.rstrip("/")
    if value is None:
        out[key] = "null"
    elif isinstance(value, bool | int | float | str):
        out[key] = value
    else:  # lists: one JSON string
        out[key] = json.dumps(value, default=str, separators=(",", ":"))


def run_metadata(record: Mapping[str, Any] | None, config: Any = None) -> dict[str, Any]:
    """A small, flat, JSON-safe view of a run's provenance for a logger's hyperparameters:
    ``config/...`` (the resolved config), ``facies_version``, ``packages/...``,
    ``git/commit``, ``git/dirty`` and ``inputs/<key>`` (each input's fingerprint digest).

    ``record``: the provenance record (``provenance.json``); None gives the config alone.
    """
    from facies import __version__

    record = dict(record or {})
    if "config" not in record:
        from facies.provenance import plain_config

        record["config"] = plain_config(config)
    meta: dict[str, Any] = {}
    _flat({"config": record["config"] or {}}, "", meta)
    meta["facies_version"] = record.get("facies_version", __version__)
    for name, version in (record.get("packages") or {}).items():
        meta[f"packages/{name}"] = version or "null"
    git = record.get("git") or {}
    if git:
        meta["git/commit"] = git.get("commit") or "null"
        meta["git/dirty"] = "null" if git.get("dirty") is None else bool(git["dirty"])
    for key, value in (record.get("inputs") or {}).items():
        digest = None
        if isinstance(value, Mapping):
            digest = next((value[k] for k in ("checksum", "digest", "sha256") if k in value), None)
        meta[f"inputs/{key}"] = str(digest or json.dumps(value, default=str, sort_keys=True))
    # keep it small: loggers limit values (MLflow: 500 characters in older servers)
    meta = {k: v[:MAX_TEXT] if isinstance(v, str) else v for k, v in meta.items()}
    return dict(list(meta.items())[:MAX_ENTRIES])


def provenance_record(out: Path) -> dict[str, Any] | None:
    """The run folder's ``provenance.json`` (written when the job began), if any."""
    from facies.provenance import PROVENANCE_FILE

    try:
        return json.loads((Path(out) / PROVENANCE_FILE).read_text())
    except (OSError, ValueError):
        return None


def metadata_callback(out: Path, config: Any) -> Any:
    """A callback that gives every logger the run's metadata once, when fitting or
    testing begins (on the main process: the loggers log there only)."""
    from lightning.pytorch.callbacks import Callback

    class RunMetadata(Callback):
        sent = False

        def setup(self, trainer, pl_module, stage: str) -> None:
            if self.sent or not trainer.loggers:
                return
            self.sent = True
            meta = run_metadata(provenance_record(out), config)
            for logger in trainer.loggers:
                try:
                    logger.log_hyperparams(meta)
                except Exception as err:  # a logger refusing metadata never stops a run
                    log.warning("run metadata not logged to %s: %s", type(logger).__name__, err)

    return RunMetadata()

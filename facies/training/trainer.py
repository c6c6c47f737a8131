"""Everything a training run is made of, from a ``train`` config: data, model, trainer.

``facies train`` and the notebooks share this wiring::

    cfg = train_config(["model.depth=3", "trainer.max_epochs=4"])
    run = prepare_training(cfg, Path("outputs/my-run"))
    run.trainer.fit(run.module, datamodule=run.datamodule)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf


def train_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The ``facies train`` configuration (shipped in the package) with ``overrides``,
    as on the command line (``["model=lstm", "trainer.max_epochs=4"]``)."""
    from facies.runtime import compose

    return compose("train", overrides)


def stop_on_signal() -> Any:
    """A callback that ends training at a batch boundary once the job received a stop
    signal (:func:`facies.runtime.interruptible` with ``at_batch_end``).

    Lightning stops its loops at the end of a batch after SIGTERM, but only for a signal
    its own handler saw: one received before ``fit`` set it up (while the model moved to
    the device, or the sanity check began) would be forgotten. This checks the job's
    record of signals at the start of every batch and of every loop.
    """
    from lightning.pytorch.callbacks import Callback

    from facies.runtime import raise_if_interrupted

    def check(trainer) -> None:
        if not trainer.received_sigterm:  # Lightning's loops stop for one it saw
            raise_if_interrupted()

    class StopOnSignal(Callback):
        def on_fit_start(self, trainer, pl_module) -> None:
            check(trainer)

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            check(trainer)

        def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, *_) -> None:
            check(trainer)

        def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, *_) -> None:
            check(trainer)

    return StopOnSignal()


def build_trainer(cfg: DictConfig, out: Path, callbacks: list) -> Any:
    """The configured Trainer, with precision and cuDNN autotuning chosen for the device,
    the loggers of the ``logger`` group (CSV in ``out/logs`` by default) given the run's
    metadata, the callbacks of the ``callbacks`` group after facies' own ``callbacks``,
    checkpoints written atomically, and a stop at the next batch on SIGTERM
    (:func:`stop_on_signal`).

    Raises:
        ConfigError: ``trainer.logger`` or ``trainer.callbacks`` is set (the groups are
            the way in), or a selected logger's package is not installed.
    """
    import lightning  # noqa: F401  (before its handlers are routed)
    import torch

    from facies.runtime import route_library_logs

    route_library_logs()
    from facies.training.checkpoint_io import AtomicCheckpointIO
    from facies.training.loggers import (
        build_callbacks,
        build_loggers,
        metadata_callback,
        refuse_trainer_keys,
    )

    trainer_cfg = OmegaConf.to_container(cfg.trainer, resolve=True)
    refuse_trainer_keys(trainer_cfg)
    gpu = torch.cuda.is_available() and trainer_cfg.get("accelerator") in ("auto", "gpu", "cuda")
    if trainer_cfg.get("precision") is None:
        trainer_cfg["precision"] = "bf16-mixed" if gpu else "32-true"
    if trainer_cfg.get("benchmark") is None:
        trainer_cfg["benchmark"] = gpu
    loggers = build_loggers(_plain(cfg.get("logger")), Path(out))
    chosen = build_callbacks(_plain(cfg.get("callbacks")), logged=bool(loggers))
    own = [*callbacks, stop_on_signal(), metadata_callback(Path(out), cfg)]
    return instantiate(
        trainer_cfg,
        callbacks=[*own, *chosen],
        logger=loggers or False,
        default_root_dir=out,
        plugins=[AtomicCheckpointIO()],  # a kill never leaves a torn last.ckpt
    )


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


@dataclass
class Training:
    """A training run, ready to ``trainer.fit(module, datamodule=datamodule)``.

    ``checkpoints`` keeps ``best.ckpt`` (by validation mIoU) and ``last.ckpt`` in
    ``<out>/checkpoints``.
    """

    module: Any
    datamodule: Any
    trainer: Any
    checkpoints: Any
    survey: Any


def prepare_training(cfg: DictConfig, out: str | Path, survey=None) -> Training:
    """Seed, load the survey (``cfg.data``, its SEG-Y read with ``cfg.segy``, unless
    ``survey`` is given), set up the data module, and build the module, checkpointing and
    the trainer writing into ``out``."""
    import lightning as L

    from facies.runtime import route_library_logs

    route_library_logs()  # Lightning (imported just now) logs once, in the job's format
    from lightning.pytorch.callbacks import ModelCheckpoint

    from facies.names import IGNORE_INDEX
    from facies.sources.survey import load_survey
    from facies.training.inputs import datamodule_for
    from facies.training.loggers import MONITOR, MONITOR_MODE
    from facies.training.module import FaciesModule

    out = Path(out)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    if survey is None:
        survey = load_survey(cfg.data, segy=cfg.get("segy"))
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    data_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    datamodule = datamodule_for(survey, data_cfg, model_cfg, cfg.seed)
    if cfg.get("resume"):  # refuse what Lightning could not continue from, before any work
        from facies.training.checkpoint import check_resumable

        check_resumable(cfg.resume, model_cfg, datamodule.class_names)
    datamodule.setup("fit")
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    module = FaciesModule(
        model=model_cfg,
        class_names=datamodule.class_names,
        ignore_index=IGNORE_INDEX,
        class_weights=datamodule.class_weights() if cfg.class_weights else None,
        dice_weight=cfg.dice_weight,
        norm_stats=datamodule.norm_stats.as_dict(),
        patch=list(datamodule.patch),
        sample_interval=float(survey.attrs.get("sample_interval", 0.0)),
        optimizer=instantiate(cfg.optimizer),
        scheduler=scheduler,
        channels_last=cfg.channels_last,
        compile=cfg.compile,
    )
    checkpoints = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor=MONITOR,
        mode=MONITOR_MODE,
        save_last=True,
    )
    from facies.training.eta import TrainingETA

    trainer = build_trainer(cfg, out, [checkpoints, TrainingETA()])
    return Training(module, datamodule, trainer, checkpoints, survey)

"""The LightningModule shared by the segmentation models: loss, metrics, optimiser.

Hyperparameters are plain containers (the model's config, class names, normalisation
statistics, patch size, sample interval), so a checkpoint loads with
``torch.load(weights_only=True)`` and holds everything that prediction needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric

from facies.errors import TrainingError
from facies.models import build_model
from facies.names import IGNORE_INDEX
from facies.training.metrics import FaciesConfusion, scores

log = logging.getLogger(__name__)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Soft Dice loss averaged over classes, leaving out ignored samples."""
    valid = (target != ignore_index).unsqueeze(1)
    probs = logits.softmax(dim=1) * valid
    onehot = F.one_hot(target.clamp(min=0), logits.shape[1]).movedim(-1, 1) * valid
    dims = (0, *range(2, logits.ndim))
    intersection = (probs * onehot).sum(dims)
    total = probs.sum(dims) + onehot.sum(dims)
    return 1 - ((2 * intersection + 1) / (total + 1)).mean()


class FaciesModule(L.LightningModule):
    """Segmentation of sections into facies, scored with the F3 benchmark metrics.

    Args:
        model: the model's config: ``name`` (see :data:`facies.models.MODELS`) and its
            keyword arguments, without ``num_classes``.
        class_names: one name per class; their number sets the model's output.
        ignore_index: label value left out of the loss and the metrics.
        class_weights: cross-entropy weights per class (from the training region).
        dice_weight: weight of a soft Dice term added to the cross-entropy.
        norm_stats: the amplitude normalisation of the training data.
        patch: (samples, traces) of the training patches.
        sample_interval: of the training survey, ms or m.
        optimizer: factory ``params -> Optimizer`` (a Hydra ``_partial_``).
        scheduler: factory ``optimizer -> LRScheduler``, stepped per epoch, or None.
        channels_last: use channels-last memory format on the GPU.
        compile: ``torch.compile`` the network.
    """

    def __init__(
        self,
        model: dict[str, Any],
        class_names: list[str],
        ignore_index: int = IGNORE_INDEX,
        class_weights: list[float] | None = None,
        dice_weight: float = 0.0,
        norm_stats: dict[str, float] | None = None,
        patch: tuple[int, int] | list[int] = (64, 64),
        sample_interval: float | None = None,
        optimizer: Callable | None = None,
        scheduler: Callable | None = None,
        channels_last: bool = False,
        compile: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        config = dict(model)
        self.net = build_model(config.pop("name"), num_classes=len(class_names), **config)
        self.optimizer_factory = optimizer or partial(torch.optim.AdamW, lr=1e-3)
        self.scheduler_factory = scheduler
        weights = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        self.register_buffer("class_weights", weights, persistent=False)
        n = len(class_names)
        self.val_confusion = FaciesConfusion(n, ignore_index)
        #: Validation loss over the whole split: batches weighted by their labelled samples,
        #: summed over DDP ranks (as the confusion matrix is).
        self.val_loss = MeanMetric(nan_strategy="disable")
        #: One confusion matrix per test set (``test``, or e.g. F3's ``test1``, ``test2``),
        #: accumulated over all the set's test sections, of every scored direction (with
        #: ``data.test_directions=[inline,crossline]``, F3's protocol, each sample twice).
        self.test_confusions = torch.nn.ModuleDict({"test": FaciesConfusion(n, ignore_index)})
        #: After testing: scores and matrices by test set; with named sets (F3's, or one
        #: of a user's), ``test`` holds the combined score, from the sum of their matrices.
        self.test_results: dict[str, dict] = {}
        self.test_confmats: dict[str, torch.Tensor] = {}
        self.test_scores: dict | None = None
        self.test_confmat: torch.Tensor | None = None

    @property
    def size_multiple(self) -> int:
        return int(getattr(self.net, "size_multiple", 1))

    def configure_model(self) -> None:
        if self.hparams.compile and not isinstance(self.net, torch._dynamo.OptimizedModule):
            self.net = torch.compile(self.net)

    def on_fit_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "move_to"):
            datamodule.move_to(self.device)
        if self.hparams.channels_last and self.device.type == "cuda":
            self.net.to(memory_format=torch.channels_last)

    def on_test_start(self) -> None:
        self.on_fit_start()
        datamodule = getattr(self.trainer, "datamodule", None)
        names = list(getattr(datamodule, "test_names", None) or ["test"])
        if list(self.test_confusions) != names:
            n, ignore = len(self.hparams.class_names), self.hparams.ignore_index
            confusions = {name: FaciesConfusion(n, ignore) for name in names}
            self.test_confusions = torch.nn.ModuleDict(confusions).to(self.device)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.hparams.channels_last and image.is_cuda:
            image = image.contiguous(memory_format=torch.channels_last)
        return self.net(image)

    def loss(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ignore = self.hparams.ignore_index
        loss = F.cross_entropy(logits.float(), mask, weight=self.class_weights, ignore_index=ignore)
        if self.hparams.dice_weight:
            loss = loss + self.hparams.dice_weight * dice_loss(logits.float(), mask, ignore)
        return loss

    @staticmethod
    def inputs(batch: dict) -> torch.Tensor:
        """Sections (``image``) for the U-Net, traces (``trace``) for the LSTM."""
        return batch["image"] if "image" in batch else batch["trace"]

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        logits = self(self.inputs(batch))
        mask = batch["mask"]
        loss = self.loss(logits, mask)
        # one host sync a step for both checks (on a GPU each .item()/bool() waits)
        labelled, finite = torch.stack(
            [(mask != self.hparams.ignore_index).any(), torch.isfinite(loss)]
        ).tolist()
        if not labelled:
            # a batch of rows repeated only to even out DDP shards: nothing to learn
            return logits.sum() * 0.0
        if not finite:
            raise TrainingError(
                f"the training loss became {loss.item()} at epoch {self.current_epoch}, step "
                f"{self.global_step}: the survey holds NaN or infinite amplitudes (see the QC of "
                "facies ingest / facies info), or the learning rate is too high (lower "
                "optimizer.lr). No checkpoint of this step was written."
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=len(logits))
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        logits = self(self.inputs(batch))
        mask = batch["mask"]
        labelled = (mask != self.hparams.ignore_index).sum()
        # Every batch counts, on every rank: one without a labelled sample (its loss is
        # NaN, 0/0) with weight 0, so no rank skips the sum over ranks at the epoch's end.
        loss = self.loss(logits, mask)
        self.val_loss.update(torch.where(labelled > 0, loss, torch.zeros_like(loss)), labelled)
        self.val_confusion.update(logits, mask)

    def on_validation_epoch_end(self) -> None:
        loss = self.val_loss.compute()  # summed over DDP ranks: every rank calls it
        self.val_loss.reset()
        if self._log_scores("val", self.val_confusion) is not None:  # some labelled sample
            # the same value on every rank (from the summed loss): "max" keeps it exact
            self.log("val/loss", loss, sync_dist=True, reduce_fx="max")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        logits = self(self.inputs(batch))
        self.test_confusions[batch.get("test_set", "test")].update(logits, batch["mask"])

    def on_test_epoch_end(self) -> None:
        """Score each test set, and with named ones, all of them from their summed matrix
        (the F3 benchmark's "both": not an average of the sets' scores)."""
        matrices = {}
        for name, confusion in self.test_confusions.items():  # same order on every rank
            matrices[name] = confusion.compute().cpu()
            confusion.reset()
        if list(matrices) != ["test"]:  # named test sets (one or several): "test" is all
            matrices = {"test": torch.stack(list(matrices.values())).sum(0), **matrices}
        self.test_confmats = matrices
        self.test_results = {}
        for name, matrix in matrices.items():
            result = self._scores(name, matrix)
            if result is not None:
                self.test_results[name] = result
        self.test_confmat = matrices["test"]
        self.test_scores = self.test_results.get("test")

    def _log_scores(self, stage: str, confusion: FaciesConfusion) -> dict | None:
        matrix = confusion.compute()  # summed over DDP ranks
        confusion.reset()
        return self._scores(stage, matrix)

    def _scores(self, stage: str, matrix: torch.Tensor) -> dict | None:
        if int(matrix.sum()) == 0:  # sanity check before any labelled sample
            return None
        result = scores(matrix.cpu(), self.hparams.class_names)
        for key in ("pa", "mca", "fwiu", "miou"):
            # the same value on every rank (from the summed matrix): "max" keeps it exact
            self.log(f"{stage}/{key}", result[key], prog_bar=key == "miou", sync_dist=True,
                     reduce_fx="max")  # fmt: skip
        return result

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler}}

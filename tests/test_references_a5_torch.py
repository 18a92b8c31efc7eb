"""Reference A5 functions against PyTorch's ops and autograd (float64); skipped when torch is
absent.

torchvision (box_iou, nms, roi_pool) cannot be installed beside the torch 2.13 CPU build the
project pins, so the oracles are torch's own ops: box IoU as torchvision's _box_inter_union
writes it in torch ops; RoI pooling of a RoI inside the map as adaptive_max_pool2d of its crop
(torch's adaptive bins, floor(i * size / P) .. ceil((i + 1) * size / P), are the roi_pool
kernel's bins); the detection loss from cross_entropy and smooth_l1_loss; the GAN losses and
the VAE's reconstruction from binary_cross_entropy_with_logits; distances from torch.cdist;
PCA from torch.linalg.svd.
"""
import numpy as np
import pytest

pytest.importorskip("torch")

from solutions.a5_beyond import boxes, features, generative, roi
from torch_oracle import F, assert_close, tensor, torch  # tests/ is on sys.path


def random_boxes(rng, n):
    corner = rng.uniform(0, 10, (n, 2))
    return np.hstack([corner, corner + rng.uniform(0, 4, (n, 2))])


def torch_box_iou(a, b):
    """torchvision.ops.box_iou, in torch ops."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def test_iou_is_torchvisions_where_the_union_is_not_empty():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 9), random_boxes(rng, 6)
    assert_close("iou", boxes.iou(a, b), torch_box_iou(torch.tensor(a), torch.tensor(b)))
    # two zero-area boxes: torchvision divides 0 by 0; ours is 0
    point = torch.tensor([[1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    assert torch.isnan(torch_box_iou(point, point)).all()
    assert boxes.iou(point.numpy(), point.numpy())[0, 0] == 0.0


@pytest.mark.parametrize("size", [(2, 2), (3, 2), (4, 5), (7, 3)])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_roi_pool_is_adaptive_max_pool_of_the_crop(size, scale):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 9))
    rois = []
    for _ in range(6):  # inside the map, corners on whole cells after scaling
        x1, y1 = rng.integers(0, 6, 2)
        x2, y2 = x1 + rng.integers(0, 9 - x1), y1 + rng.integers(0, 8 - y1)
        rois.append([rng.integers(0, 2), x1 / scale, y1 / scale, x2 / scale, y2 / scale])
    rois = np.array(rois)
    out, cache = roi.roi_pool_forward(x, rois, size, scale)
    dout = rng.standard_normal(out.shape)
    dx = roi.roi_pool_backward(dout, cache)
    xt = tensor(x)
    total = 0
    for r, (b, x1, y1, x2, y2) in enumerate(np.rint(rois * [1, scale, scale, scale, scale])):
        crop = xt[int(b), :, int(y1):int(y2) + 1, int(x1):int(x2) + 1]
        pooled = F.adaptive_max_pool2d(crop, size)
        assert_close(f"out[{r}]", out[r], pooled)
        total = total + (pooled * torch.tensor(dout[r])).sum()
    total.backward()
    assert_close("dx", dx, xt.grad)


def test_detection_loss_is_cross_entropy_plus_smooth_l1():
    rng = np.random.default_rng(2)
    R, K, lam = 7, 4, 0.6
    scores, deltas = 3 * rng.standard_normal((R, K)), 1.5 * rng.standard_normal((R, 4 * K))
    labels, targets = rng.integers(0, K, R), 1.5 * rng.standard_normal((R, 4))
    labels[0] = 2
    loss, cache = roi.detection_loss_forward(scores, deltas, labels, targets, lam)
    dscores, ddeltas = roi.detection_loss_backward(1.0, cache)
    s, d = tensor(scores), tensor(deltas)
    y = torch.tensor(labels)
    pos = y > 0
    own = d.view(R, K, 4)[torch.arange(R), y]
    box = F.smooth_l1_loss(own[pos], torch.tensor(targets)[pos], beta=1.0, reduction="sum") / R
    theirs = F.cross_entropy(s, y) + lam * box
    theirs.backward()
    assert_close("loss", loss, theirs)
    assert_close("dscores", dscores, s.grad)
    assert_close("ddeltas", ddeltas, d.grad)


@pytest.mark.parametrize("scale", [2.0, 50.0])
def test_gan_losses_are_binary_cross_entropy_on_logits(scale):
    rng = np.random.default_rng(3)
    real, fake = scale * rng.standard_normal(5), scale * rng.standard_normal(4)
    rt, ft = tensor(real), tensor(fake)
    d_loss = F.binary_cross_entropy_with_logits(rt, torch.ones(5, dtype=torch.float64)) + \
        F.binary_cross_entropy_with_logits(ft, torch.zeros(4, dtype=torch.float64))
    d_loss.backward()
    loss, dreal, dfake = generative.gan_discriminator_loss(real, fake)
    assert_close("L_D", loss, d_loss)
    assert_close("dreal", dreal, rt.grad)
    assert_close("dfake", dfake, ft.grad)
    ft = tensor(fake)
    g_loss = F.binary_cross_entropy_with_logits(ft, torch.ones(4, dtype=torch.float64))
    g_loss.backward()
    loss, dfake = generative.gan_generator_loss(fake)
    assert_close("L_G", loss, g_loss)
    assert_close("dfake (G)", dfake, ft.grad)


def test_lsgan_losses_are_halved_mse():
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal(6), rng.standard_normal(3)
    rt, ft = tensor(real), tensor(fake)
    theirs = 0.5 * F.mse_loss(rt, torch.ones(6, dtype=torch.float64)) + \
        0.5 * F.mse_loss(ft, torch.zeros(3, dtype=torch.float64))
    theirs.backward()
    loss, dreal, dfake = generative.lsgan_discriminator_loss(real, fake)
    assert_close("L_D", loss, theirs)
    assert_close("dreal", dreal, rt.grad)
    assert_close("dfake", dfake, ft.grad)
    ft = tensor(fake)
    theirs = 0.5 * F.mse_loss(ft, torch.ones(3, dtype=torch.float64))
    theirs.backward()
    loss, dfake = generative.lsgan_generator_loss(fake)
    assert_close("L_G", loss, theirs)
    assert_close("dfake (G)", dfake, ft.grad)


def test_vae_pieces_through_autograd():
    rng = np.random.default_rng(5)
    N, Z, D = 4, 3, 6
    x, logits = rng.random((N, D)), 2 * rng.standard_normal((N, D))
    mu, log_var, eps = rng.standard_normal((N, Z)), rng.uniform(-3, 3, (N, Z)), \
        rng.standard_normal((N, Z))
    dz = rng.standard_normal((N, Z))
    mt, lt = tensor(mu), tensor(log_var)
    zt = mt + torch.exp(0.5 * lt) * torch.tensor(eps)
    (zt * torch.tensor(dz)).sum().backward()
    z, cache = generative.reparameterize_forward(mu, log_var, eps)
    dmu, dlog_var = generative.reparameterize_backward(dz, cache)
    assert_close("z", z, zt)
    assert_close("dmu", dmu, mt.grad)
    assert_close("dlog_var", dlog_var, lt.grad)
    mt, lt, gt = tensor(mu), tensor(log_var), tensor(logits)
    kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(mt, torch.exp(0.5 * lt)),
        torch.distributions.Normal(torch.zeros_like(mt), torch.ones_like(mt))).sum() / N
    recon = F.binary_cross_entropy_with_logits(gt, torch.tensor(x), reduction="sum") / N
    (recon + kl).backward()
    loss, drecon, dmu, dlog_var = generative.vae_loss(x, logits, mu, log_var)
    assert_close("loss", loss, recon + kl)
    assert_close("drecon_logits", drecon, gt.grad)
    assert_close("dmu", dmu, mt.grad)
    assert_close("dlog_var", dlog_var, lt.grad)


def test_distances_are_cdist():
    rng = np.random.default_rng(6)
    X_test, X_train = rng.standard_normal((6, 5)), rng.standard_normal((8, 5))
    theirs = torch.cdist(torch.tensor(X_test), torch.tensor(X_train))
    for form in ("two_loops", "one_loop", "no_loops"):
        assert_close(form, getattr(features, f"compute_distances_{form}")(X_test, X_train),
                     theirs, rtol=1e-9, atol=1e-9)


def test_pca_is_torch_svd_sign_fixed():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((20, 6)) * 1.4 ** np.arange(6) + 2.0
    mean, components, variance = features.pca_fit(X, 4)
    Xt = torch.tensor(X)
    _, S, Vh = torch.linalg.svd(Xt - Xt.mean(dim=0), full_matrices=False)
    V = Vh[:4]
    signs = torch.sign(V[torch.arange(4), V.abs().argmax(dim=1)])
    assert_close("components", components, V * signs[:, None], rtol=1e-9, atol=1e-12)
    assert_close("explained_variance", variance, S[:4] ** 2 / 19)
    assert_close("mean", mean, Xt.mean(dim=0))

"""What A3's training does to gradients before an update: gradient-norm clipping (task
a3.clipping). Replace the `raise NotImplementedError(...)` with your implementation, using NumPy
only. See README.md; `layerlab check a3 --task a3.clipping` runs its public checks.
"""
import numpy as np  # noqa: F401  (you will need it)


def clip_grad_norm(grads, max_norm):
    """Clip gradients by their global L2 norm: one norm over every entry of every gradient,
        total_norm = sqrt(sum over k of sum(grads[k]**2)),
    and, when total_norm > max_norm, every gradient scaled by the same factor
    max_norm / total_norm (so the clipped gradients have global norm max_norm and keep their
    direction). Otherwise the gradients are returned unchanged. No epsilon is added: a zero
    total_norm is never above max_norm, so nothing is divided by it. (PyTorch's
    clip_grad_norm_ divides by total_norm + 1e-6 instead.)

    Inputs:
    - grads: dict of name -> gradient array (any shapes); its arrays are not modified
    - max_norm: positive float, the largest global norm allowed

    Returns (clipped, total_norm):
    - clipped: dict with the keys of grads, each array of the shape of its gradient
    - total_norm: Python float, the global norm of grads before clipping
    """
    raise NotImplementedError("a3.clipping: implement clip_grad_norm")

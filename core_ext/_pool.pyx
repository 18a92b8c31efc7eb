"""Max pooling kernels (typed memoryviews, fused float32/float64, GIL released).

Replaces, per window, ``out = x[n, c, i*s:i*s+ph, j*s:j*s+pw].max()`` and records the flat
index ``h*W + w`` of the first maximum in row-major window order (the tie rule), so the
backward pass routes each upstream gradient to exactly one input element.
"""

from cython cimport floating


def max_pool_forward(const floating[:, :, :, ::1] x, Py_ssize_t ph, Py_ssize_t pw,
                     Py_ssize_t stride, floating[:, :, :, ::1] out,
                     Py_ssize_t[:, :, :, ::1] argmax):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], W = x.shape[3]
    cdef Py_ssize_t Ho = out.shape[2], Wo = out.shape[3]
    cdef Py_ssize_t n, c, i, j, u, v, best, top, left
    cdef floating m, val
    with nogil:
        for n in range(N):
            for c in range(C):
                for i in range(Ho):
                    top = i * stride
                    for j in range(Wo):
                        left = j * stride
                        m = x[n, c, top, left]
                        best = top * W + left
                        for u in range(ph):
                            for v in range(pw):
                                val = x[n, c, top + u, left + v]
                                if val > m:
                                    m = val
                                    best = (top + u) * W + left + v
                        out[n, c, i, j] = m
                        argmax[n, c, i, j] = best


def max_pool_backward(const floating[:, :, :, ::1] dout,
                      const Py_ssize_t[:, :, :, ::1] argmax, floating[:, :, ::1] dx_flat):
    """``dx_flat[n, c, argmax[n, c, i, j]] += dout[n, c, i, j]``; dx_flat must start at zero."""
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], Ho = dout.shape[2], Wo = dout.shape[3]
    cdef Py_ssize_t n, c, i, j
    with nogil:
        for n in range(N):
            for c in range(C):
                for i in range(Ho):
                    for j in range(Wo):
                        dx_flat[n, c, argmax[n, c, i, j]] += dout[n, c, i, j]

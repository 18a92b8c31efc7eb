"""Max and average pooling kernels (typed memoryviews, fused float32/float64, GIL released).

Inputs are seen as planes ``(N*C, H, W)``; every kernel takes a plane range so that the
Python wrapper can split the work over threads (planes never share an output element).

Max pooling records, per window, the in-plane index ``h*W + w`` of the FIRST maximum in
row-major window order (the tie rule of the naive layer, ``np.argmax`` of the flattened
window, which also picks the first NaN), so the backward pass routes each upstream gradient
to exactly one input element.
Windows that do not tile the input leave the last rows/columns out (output size
``1 + (H - pool_height) // stride``); overlapping windows accumulate their gradients.
"""

from cython cimport floating
from libc.string cimport memset


def max_pool_forward(const floating[:, :, ::1] x, floating[:, :, ::1] out,
                     int[:, :, ::1] argmax, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t stride,
                     Py_ssize_t p0, Py_ssize_t p1):
    cdef Py_ssize_t W = x.shape[2], Ho = out.shape[1], Wo = out.shape[2]
    cdef Py_ssize_t p, i, j, u, v, best, top, left
    cdef floating m, val
    cdef bint nan
    with nogil:
        for p in range(p0, p1):
            for i in range(Ho):
                top = i * stride
                for j in range(Wo):
                    left = j * stride
                    m = x[p, top, left]
                    best = top * W + left
                    nan = False
                    for u in range(ph):
                        for v in range(pw):
                            val = x[p, top + u, left + v]
                            nan = nan | (val != val)
                            if val > m:
                                m = val
                                best = (top + u) * W + left + v
                    if nan:  # rare: the first NaN of the window wins, like np.argmax
                        best = _first_nan(x, p, top, left, ph, pw, W)
                        m = x[p, best // W, best % W]
                    out[p, i, j] = m
                    argmax[p, i, j] = <int>best


def max_pool_backward(const floating[:, :, ::1] dout, const int[:, :, ::1] argmax,
                      floating[:, ::1] dx, Py_ssize_t p0, Py_ssize_t p1):
    """``dx[p] = 0`` then ``dx[p, argmax[p, i, j]] += dout[p, i, j]`` for planes in range."""
    cdef Py_ssize_t HW = dx.shape[1], Ho = dout.shape[1], Wo = dout.shape[2]
    cdef Py_ssize_t p, i, j
    with nogil:
        for p in range(p0, p1):
            memset(&dx[p, 0], 0, HW * sizeof(floating))
            for i in range(Ho):
                for j in range(Wo):
                    dx[p, argmax[p, i, j]] += dout[p, i, j]


def avg_pool_forward(const floating[:, :, ::1] x, floating[:, :, ::1] out,
                     Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t stride,
                     Py_ssize_t p0, Py_ssize_t p1):
    cdef Py_ssize_t Ho = out.shape[1], Wo = out.shape[2]
    cdef Py_ssize_t p, i, j, u, v, top, left
    cdef floating total
    cdef floating count = ph * pw
    with nogil:
        for p in range(p0, p1):
            for i in range(Ho):
                top = i * stride
                for j in range(Wo):
                    left = j * stride
                    total = 0
                    for u in range(ph):
                        for v in range(pw):
                            total = total + x[p, top + u, left + v]
                    out[p, i, j] = total / count


def avg_pool_backward(const floating[:, :, ::1] dout, floating[:, :, ::1] dx,
                      Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t stride,
                      Py_ssize_t p0, Py_ssize_t p1):
    """``dx[p] = 0`` then every window gets ``dout / (ph*pw)`` added to each of its elements."""
    cdef Py_ssize_t H = dx.shape[1], W = dx.shape[2], Ho = dout.shape[1], Wo = dout.shape[2]
    cdef Py_ssize_t p, i, j, u, v, top, left
    cdef floating g
    cdef floating count = ph * pw
    with nogil:
        for p in range(p0, p1):
            memset(&dx[p, 0, 0], 0, H * W * sizeof(floating))
            for i in range(Ho):
                top = i * stride
                for j in range(Wo):
                    left = j * stride
                    g = dout[p, i, j] / count
                    for u in range(ph):
                        for v in range(pw):
                            dx[p, top + u, left + v] += g


cdef inline Py_ssize_t _first_nan(const floating[:, :, ::1] x, Py_ssize_t p, Py_ssize_t top,
                                  Py_ssize_t left, Py_ssize_t ph, Py_ssize_t pw,
                                  Py_ssize_t W) noexcept nogil:
    cdef Py_ssize_t u, v
    for u in range(ph):
        for v in range(pw):
            if x[p, top + u, left + v] != x[p, top + u, left + v]:
                return (top + u) * W + left + v
    return top * W + left

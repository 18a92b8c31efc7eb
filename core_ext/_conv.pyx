"""Convolution kernels: im2col / col2im and the layout moves around the GEMMs.

The column matrix has shape ``(C*HH*WW, N, Ho, Wo)``: row ``k = (c*HH + u)*WW + v`` holds, for
every image and output position, the input pixel under filter tap ``(c, u, v)`` (zero where
the tap falls in the padding). The convolution is then one GEMM ``w.reshape(F, K) @ cols``,
and its gradients two more, so BLAS does nearly all the arithmetic.

Every kernel takes an image (or filter) range so that the Python wrapper can split the work
over threads; the GIL is released throughout. Ranges never write the same element.
"""

from cython cimport floating
from libc.string cimport memcpy, memset


def im2col(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] cols,
           Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad,
           Py_ssize_t n0, Py_ssize_t n1):
    """Fill ``cols[:, n]`` for images ``n0 <= n < n1``."""
    cdef Py_ssize_t C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Ho = cols.shape[2], Wo = cols.shape[3]
    cdef Py_ssize_t c, u, v, k, n, i, j, row, j0, j1
    cdef const floating *src
    cdef floating *dst
    with nogil:
        for c in range(C):
            for u in range(HH):
                for v in range(WW):
                    k = (c * HH + u) * WW + v
                    # output columns j whose tap column j*stride + v - pad lies inside [0, W)
                    j0 = _first_inside(v, pad, stride)
                    j1 = _end_inside(v, pad, stride, W, Wo)
                    for n in range(n0, n1):
                        for i in range(Ho):
                            dst = &cols[k, n, i, 0]
                            row = i * stride + u - pad
                            if row < 0 or row >= H or j0 >= j1:
                                memset(dst, 0, Wo * sizeof(floating))
                                continue
                            # src[j*stride] is the input pixel under tap (u, v) for output
                            # column j0 + j
                            src = &x[n, c, row, j0 * stride + v - pad]
                            for j in range(j0):
                                dst[j] = 0
                            if stride == 1:
                                memcpy(dst + j0, src, (j1 - j0) * sizeof(floating))
                            else:
                                for j in range(j1 - j0):
                                    dst[j0 + j] = src[j * stride]
                            for j in range(j1, Wo):
                                dst[j] = 0


def col2im(const floating[:, :, :, ::1] cols, floating[:, :, :, ::1] dx,
           Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad,
           Py_ssize_t n0, Py_ssize_t n1):
    """Sum ``cols[:, n]`` back into ``dx[n]`` (overwritten) for images ``n0 <= n < n1``."""
    cdef Py_ssize_t C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t Ho = cols.shape[2], Wo = cols.shape[3]
    cdef Py_ssize_t c, u, v, k, n, i, j, row, j0, j1
    cdef const floating *src
    cdef floating *dst
    with nogil:
        for n in range(n0, n1):
            for c in range(C):
                memset(&dx[n, c, 0, 0], 0, H * W * sizeof(floating))
                for u in range(HH):
                    for v in range(WW):
                        k = (c * HH + u) * WW + v
                        j0 = _first_inside(v, pad, stride)
                        j1 = _end_inside(v, pad, stride, W, Wo)
                        for i in range(Ho):
                            row = i * stride + u - pad
                            if row < 0 or row >= H:
                                continue
                            if j0 >= j1:
                                continue
                            # dst[j*stride] is the pixel under tap (u, v) for column j0 + j
                            src = &cols[k, n, i, j0]
                            dst = &dx[n, c, row, j0 * stride + v - pad]
                            if stride == 1:
                                _add_row(dst, src, j1 - j0)
                            else:
                                for j in range(j1 - j0):
                                    dst[j * stride] += src[j]


def filters_to_images(const floating[:, :, ::1] src, const floating[::1] bias,
                      floating[:, :, ::1] dst, Py_ssize_t f0, Py_ssize_t f1):
    """``dst[n, f, p] = src[f, n, p] + bias[f]`` for filters ``f0 <= f < f1``."""
    cdef Py_ssize_t N = src.shape[1], P = src.shape[2]
    cdef Py_ssize_t f, n, p
    cdef floating b
    cdef const floating *row
    cdef floating *out
    with nogil:
        for f in range(f0, f1):
            b = bias[f]
            for n in range(N):
                row = &src[f, n, 0]
                out = &dst[n, f, 0]
                for p in range(P):
                    out[p] = row[p] + b


def images_to_filters(const floating[:, :, ::1] src, floating[:, :, ::1] dst,
                      floating[::1] bias_grad, Py_ssize_t f0, Py_ssize_t f1):
    """``dst[f, n, p] = src[n, f, p]`` and ``bias_grad[f] = sum over n, p`` for ``f0 <= f < f1``."""
    cdef Py_ssize_t N = src.shape[0], P = src.shape[2]
    cdef Py_ssize_t f, n
    with nogil:
        for f in range(f0, f1):
            for n in range(N):
                memcpy(&dst[f, n, 0], &src[n, f, 0], P * sizeof(floating))
            bias_grad[f] = <floating>_sum(&dst[f, 0, 0], N * P)


cdef inline void _add_row(floating *dst, const floating *src, Py_ssize_t count) noexcept nogil:
    """``dst[j] += src[j]`` for j < count (a unit-stride loop the compiler vectorises)."""
    cdef Py_ssize_t j
    for j in range(count):
        dst[j] += src[j]


cdef inline double _sum(const floating *values, Py_ssize_t count) noexcept nogil:
    """The sum of ``count`` values in a fixed order, over four running totals: one total
    would be a chain of dependent additions, four let the CPU overlap them."""
    cdef double t0 = 0, t1 = 0, t2 = 0, t3 = 0
    cdef Py_ssize_t i, end = count - count % 4
    for i in range(0, end, 4):
        t0 += values[i]
        t1 += values[i + 1]
        t2 += values[i + 2]
        t3 += values[i + 3]
    for i in range(end, count):
        t0 += values[i]
    return (t0 + t1) + (t2 + t3)


cdef inline Py_ssize_t _first_inside(Py_ssize_t v, Py_ssize_t pad, Py_ssize_t stride) noexcept nogil:
    """Smallest j >= 0 with j*stride + v - pad >= 0."""
    if v >= pad:
        return 0
    return (pad - v + stride - 1) // stride


cdef inline Py_ssize_t _end_inside(Py_ssize_t v, Py_ssize_t pad, Py_ssize_t stride,
                                   Py_ssize_t W, Py_ssize_t Wo) noexcept nogil:
    """One past the largest j < Wo with j*stride + v - pad < W."""
    cdef Py_ssize_t last = W - 1 + pad - v
    if last < 0:
        return 0
    last = last // stride + 1
    return last if last < Wo else Wo

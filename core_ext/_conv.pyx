"""Convolution, forward and backward, one image at a time: im2col, then BLAS.

For image n, the column matrix ``cols`` has shape ``(C*HH*WW, Ho*Wo)``: row
``k = (c*HH + u)*WW + v`` holds, for every output position, the input pixel under filter tap
``(c, u, v)`` (zero where the tap falls in the padding). Then

    out[n]  = w (F, K) @ cols + b          dw += dout[n] (F, P) @ cols.T
    dcols   = w.T @ dout[n]                dx[n] = col2im(dcols)

Each product reads and writes the arrays in their own layout: ``out[n]`` and ``dout[n]`` are
(F, Ho*Wo) blocks already, so nothing is transposed or copied around the GEMMs, and an image's
columns (55 KB on a 3-channel 31x31 input) stay in cache between im2col and the product that
reads them. The backward pass rebuilds them from x rather than keeping an (K, N*Ho*Wo) matrix.

A batch of fewer than 4 images would leave a thread idle (one image per thread), so there
each image's output rows are cut into bands of about 512 positions (``forward_tiles``,
``backward_tiles``): a band's columns and products are computed as an image's are, its
tap gradients land in a whole-image ``dcols``, and ``col2im_planes`` then sums them into dx
one (image, channel) plane at a time (bands overlap in dx). The bands are fixed by the shapes,
so results do not depend on the thread count.

GEMM comes from ``_gemm.pyx`` (NumPy's OpenBLAS where it is found, else SciPy's
``cython_blas``), called without the GIL. Every function takes a range of images (or of
groups of images) so that the Python wrapper can split the work over threads; ranges never
write the same element.
"""

from cython cimport floating
from libc.string cimport memcpy, memset
from core_ext._gemm cimport dgemm, sgemm


def forward(const floating[:, :, :, ::1] x, const floating[:, ::1] w,
            const floating[::1] bias, floating[:, :, :, ::1] out, floating[::1] cols,
            Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad,
            Py_ssize_t n0, Py_ssize_t n1):
    """``out[n] = w @ im2col(x[n]) + bias`` for images ``n0 <= n < n1``.

    x: (N, C, H, W); w: (F, C*HH*WW); out: (N, F, Ho, Wo); cols: scratch of C*HH*WW*Ho*Wo.
    """
    cdef Geometry g = _geometry(x, out.shape[2], out.shape[3], HH, WW, stride, pad)
    cdef Py_ssize_t F = w.shape[0], n, f, p
    cdef floating *dst
    with nogil:
        for n in range(n0, n1):
            _im2col(&x[n, 0, 0, 0], &cols[0], g)
            for f in range(F):
                dst = &out[n, f, 0, 0]
                for p in range(g.P):
                    dst[p] = bias[f]
            # column-major BLAS sees the row-major (F, P) out[n] as (P, F):
            # out[n].T (P, F) += cols.T (P, K) @ w.T (K, F)
            _gemm(b"N", b"N", g.P, F, g.K, &cols[0], g.P, &w[0, 0], g.K, 1, &out[n, 0, 0, 0], g.P)


def backward(const floating[:, :, :, ::1] x, const floating[:, ::1] w,
             const floating[:, :, :, ::1] dout, floating[:, :, :, ::1] dx,
             floating[:, :, ::1] dw_parts, floating[:, ::1] db_parts,
             floating[::1] cols, floating[::1] dcols,
             Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad,
             Py_ssize_t step, Py_ssize_t q0, Py_ssize_t q1):
    """dx of every image in groups ``q0 <= q < q1`` of ``step`` images (group q holds images
    ``q*step`` up to ``(q+1)*step``), and each group's share of the weight and bias gradients
    in ``dw_parts[q]`` (F, C*HH*WW) and ``db_parts[q]`` (F,), for the caller to sum in group
    order: the result then does not depend on how the groups were split over threads.
    cols and dcols: scratch of C*HH*WW*Ho*Wo each.
    """
    cdef Geometry g = _geometry(x, dout.shape[2], dout.shape[3], HH, WW, stride, pad)
    cdef Py_ssize_t N = x.shape[0], F = w.shape[0], n, f, q, last
    cdef const floating *grad
    with nogil:
        for q in range(q0, q1):
            last = min(N, (q + 1) * step)
            for f in range(F):
                db_parts[q, f] = 0
            for n in range(q * step, last):
                grad = &dout[n, 0, 0, 0]
                _im2col(&x[n, 0, 0, 0], &cols[0], g)
                # dw_parts[q] (F, K), seen by BLAS as (K, F): += cols (K, P) @ dout[n].T (P, F);
                # the group's first image overwrites what an earlier call left there
                _gemm(b"T", b"N", g.K, F, g.P, &cols[0], g.P, grad, g.P,
                      0 if n == q * step else 1, &dw_parts[q, 0, 0], g.K)
                for f in range(F):
                    db_parts[q, f] += <floating>_sum(grad + f * g.P, g.P)
                # dcols (K, P), seen as (P, K): = dout[n].T (P, F) @ w (F, K)
                _gemm(b"N", b"T", g.P, g.K, F, grad, g.P, &w[0, 0], g.K, 0, &dcols[0], g.P)
                _col2im(&dcols[0], &dx[n, 0, 0, 0], g)


cdef struct Geometry:
    Py_ssize_t C, H, W, HH, WW, stride, pad, Ho, Wo, K, P


def forward_tiles(const floating[:, :, :, ::1] x, const floating[:, ::1] w,
                  const floating[::1] bias, floating[:, :, :, ::1] out, floating[::1] cols,
                  Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad,
                  Py_ssize_t tiles, Py_ssize_t q0, Py_ssize_t q1):
    """:func:`forward` for a batch too small to share out by images: each image's output rows
    are cut into ``tiles`` bands (band t holds rows ``Ho*t//tiles`` up to ``Ho*(t+1)//tiles``),
    and item ``q`` is band ``q % tiles`` of image ``q // tiles``. A band's columns (K, rows*Wo)
    go to ``cols`` and its product to its own columns of ``out[n]``: bands never write the
    same element. cols: scratch of C*HH*WW times the widest band's rows*Wo.
    """
    cdef Geometry g = _geometry(x, out.shape[2], out.shape[3], HH, WW, stride, pad)
    cdef Py_ssize_t F = w.shape[0], q, n, i0, i1, p0, nb, f, p
    cdef floating *dst
    with nogil:
        for q in range(q0, q1):
            n, i0, i1 = q // tiles, g.Ho * (q % tiles) // tiles, g.Ho * (q % tiles + 1) // tiles
            p0, nb = i0 * g.Wo, (i1 - i0) * g.Wo
            if nb == 0:
                continue
            _im2col_rows(&x[n, 0, 0, 0], &cols[0], g, i0, i1)
            for f in range(F):
                dst = &out[n, f, 0, 0] + p0
                for p in range(nb):
                    dst[p] = bias[f]
            # out[n][:, p0:p0+nb].T (nb, F) += cols.T (nb, K) @ w.T (K, F); out's rows are P apart
            _gemm(b"N", b"N", nb, F, g.K, &cols[0], nb, &w[0, 0], g.K, 1,
                  &out[n, 0, 0, 0] + p0, g.P)


def backward_tiles(const floating[:, :, :, ::1] x, const floating[:, ::1] w,
                   const floating[:, :, :, ::1] dout, floating[:, :, ::1] dcols,
                   floating[:, :, ::1] dw_parts, floating[:, ::1] db_parts, floating[::1] cols,
                   Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad,
                   Py_ssize_t tiles, Py_ssize_t q0, Py_ssize_t q1):
    """The first half of :func:`backward` by bands (as :func:`forward_tiles`): band q's share
    of the weight and bias gradients in ``dw_parts[q]`` (F, K) and ``db_parts[q]`` (F,), for
    the caller to sum in band order, and its columns of the tap gradients ``dcols[n]``
    (K, Ho*Wo), which :func:`col2im_planes` then sums into dx one plane at a time (bands
    overlap in dx where a filter is taller than the stride).
    """
    cdef Geometry g = _geometry(x, dout.shape[2], dout.shape[3], HH, WW, stride, pad)
    cdef Py_ssize_t F = w.shape[0], q, n, i0, i1, p0, nb, f, k
    cdef const floating *grad
    with nogil:
        for q in range(q0, q1):
            n, i0, i1 = q // tiles, g.Ho * (q % tiles) // tiles, g.Ho * (q % tiles + 1) // tiles
            p0, nb = i0 * g.Wo, (i1 - i0) * g.Wo
            if nb == 0:
                for f in range(F):
                    db_parts[q, f] = 0
                    for k in range(g.K):
                        dw_parts[q, f, k] = 0
                continue
            grad = &dout[n, 0, 0, 0] + p0  # (F, nb), rows P apart
            _im2col_rows(&x[n, 0, 0, 0], &cols[0], g, i0, i1)
            # dw_parts[q] (F, K), seen by BLAS as (K, F): = cols (K, nb) @ grad.T (nb, F)
            _gemm(b"T", b"N", g.K, F, nb, &cols[0], nb, grad, g.P, 0, &dw_parts[q, 0, 0], g.K)
            for f in range(F):
                db_parts[q, f] = <floating>_sum(grad + f * g.P, nb)
            # dcols[n][:, p0:p0+nb], seen as (nb, K) with rows P apart: = grad.T (nb, F) @ w
            _gemm(b"N", b"T", nb, g.K, F, grad, g.P, &w[0, 0], g.K, 0, &dcols[n, 0, 0] + p0, g.P)


def col2im_planes(floating[:, :, ::1] dcols, floating[:, :, :, ::1] dx,
                  Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad,
                  Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t i0, Py_ssize_t i1):
    """``dx[n, c] = col2im`` of the rows of ``dcols[n]`` (K, Ho*Wo) that belong to channel c,
    for planes ``i0 <= i < i1`` (plane i is channel ``i % C`` of image ``i // C``): each plane
    has one writer and is summed in the same order as by :func:`backward`. dcols is scratch
    (see :func:`_col2im`)."""
    cdef Geometry g = _geometry(dx, Ho, Wo, HH, WW, stride, pad)
    cdef Py_ssize_t i, n, c
    with nogil:
        for i in range(i0, i1):
            n, c = i // g.C, i % g.C
            _col2im_plane(&dcols[n, c * HH * WW, 0], &dx[n, c, 0, 0], g)


cdef Geometry _geometry(const floating[:, :, :, ::1] x, Py_ssize_t Ho, Py_ssize_t Wo,
                        Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad):
    cdef Geometry g
    g.C, g.H, g.W = x.shape[1], x.shape[2], x.shape[3]
    g.HH, g.WW, g.stride, g.pad, g.Ho, g.Wo = HH, WW, stride, pad, Ho, Wo
    g.K, g.P = g.C * HH * WW, Ho * Wo
    return g


cdef inline void _gemm(char *trans_a, char *trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       const floating *a, Py_ssize_t lda, const floating *b, Py_ssize_t ldb,
                       floating beta, floating *c, Py_ssize_t ldc) noexcept nogil:
    """Column-major ``c (m, n) = op(a) @ op(b) + beta * c`` (the wrapper checked that every
    size fits BLAS's int; a leading dimension is at least 1 even for an empty matrix)."""
    cdef int im = <int>m, in_ = <int>n, ik = <int>k
    cdef int ia = <int>max(1, lda), ib = <int>max(1, ldb), ic = <int>max(1, ldc)
    cdef floating one = 1
    if floating is double:
        dgemm(trans_a, trans_b, &im, &in_, &ik, &one, <double *>a, &ia, <double *>b, &ib,
              &beta, c, &ic)
    else:
        sgemm(trans_a, trans_b, &im, &in_, &ik, &one, <float *>a, &ia, <float *>b, &ib,
              &beta, c, &ic)


cdef void _im2col(const floating *x, floating *cols, Geometry g) noexcept nogil:
    """Fill the (K, Ho*Wo) column matrix of one (C, H, W) image."""
    _im2col_rows(x, cols, g, 0, g.Ho)


cdef void _im2col_rows(const floating *x, floating *cols, Geometry g, Py_ssize_t i0,
                       Py_ssize_t i1) noexcept nogil:
    """Fill the (K, (i1 - i0)*Wo) column matrix of output rows i0 <= i < i1 of one image."""
    cdef Py_ssize_t c, u, v, i, j, row, j0, j1
    cdef const floating *src
    cdef floating *dst = cols
    if g.stride == 1 and g.W == g.Wo:
        _im2col_rows_same(x, cols, g, i0, i1)
        return
    for c in range(g.C):
        for u in range(g.HH):
            for v in range(g.WW):
                # output columns j whose tap column j*stride + v - pad lies inside [0, W)
                j0 = _first_inside(v, g.pad, g.stride)
                j1 = _end_inside(v, g.pad, g.stride, g.W, g.Wo)
                for i in range(i0, i1):
                    row = i * g.stride + u - g.pad
                    if row < 0 or row >= g.H or j0 >= j1:
                        memset(dst, 0, g.Wo * sizeof(floating))
                    else:
                        # src[j*stride] is the input pixel under tap (u, v) for column j0 + j
                        src = x + (c * g.H + row) * g.W + j0 * g.stride + v - g.pad
                        for j in range(j0):
                            dst[j] = 0
                        if g.stride == 1:
                            memcpy(dst + j0, src, (j1 - j0) * sizeof(floating))
                        else:
                            for j in range(j1 - j0):
                                dst[j0 + j] = src[j * g.stride]
                        for j in range(j1, g.Wo):
                            dst[j] = 0
                    dst += g.Wo


cdef void _im2col_rows_same(const floating *x, floating *cols, Geometry g, Py_ssize_t i0,
                            Py_ssize_t i1) noexcept nogil:
    """:func:`_im2col_rows` for stride 1 and ``W == Wo`` (a "same" convolution, the common
    case). Tap (u, v)'s output rows i then read input rows ``i + u - pad`` from column
    ``v - pad`` on, and consecutive output rows are consecutive input rows: the whole run is
    one shifted copy of the input plane. Where the shift runs a row past the plane's edge, the
    copy wraps onto the neighbouring row; those columns (the taps in the padding) are zeroed
    after it. Copying one run per tap instead of one short row at a time halved the im2col
    time of 16x16 images."""
    cdef Py_ssize_t c, u, v, ia, ib, start, at, count
    cdef Py_ssize_t width = (i1 - i0) * g.Wo, plane = g.H * g.W
    cdef floating *dst = cols
    for c in range(g.C):
        for u in range(g.HH):
            # the output rows of this band whose input row i + u - pad lies inside [0, H)
            ia, ib = max(i0, g.pad - u), min(i1, g.H + g.pad - u)
            for v in range(g.WW):
                if ia >= ib:
                    memset(dst, 0, width * sizeof(floating))
                    dst += width
                    continue
                if ia > i0:  # (most taps have no such rows: skip the call)
                    memset(dst, 0, (ia - i0) * g.Wo * sizeof(floating))
                if ib < i1:
                    memset(dst + (ib - i0) * g.Wo, 0, (i1 - ib) * g.Wo * sizeof(floating))
                _same_run(g, u, v, ia, ib, &start, &at, &count)
                memcpy(dst + (ia - i0) * g.Wo + at, x + c * plane + start,
                       count * sizeof(floating))
                _zero_padding_columns(dst + (ia - i0) * g.Wo, ib - ia, g, v)
                dst += width


cdef inline void _zero_padding_columns(floating *rows, Py_ssize_t count, Geometry g,
                                       Py_ssize_t v) noexcept nogil:
    """Zero, in ``count`` rows of Wo values of tap column v of a "same" convolution, the
    columns whose input column ``j + v - pad`` lies in the padding (where a shifted run wraps
    onto the neighbouring row)."""
    cdef Py_ssize_t i, j
    cdef Py_ssize_t j0 = _first_inside(v, g.pad, 1), j1 = _end_inside(v, g.pad, 1, g.W, g.Wo)
    for i in range(count):
        for j in range(j0):
            rows[i * g.Wo + j] = 0
        for j in range(j1, g.Wo):
            rows[i * g.Wo + j] = 0


cdef inline void _same_run(Geometry g, Py_ssize_t u, Py_ssize_t v, Py_ssize_t ia,
                           Py_ssize_t ib, Py_ssize_t *start, Py_ssize_t *at,
                           Py_ssize_t *count) noexcept nogil:
    """For a "same" convolution (stride 1, W == Wo): tap (u, v) of output rows
    ``ia <= i < ib`` (all inside the plane) is the input plane's run from element ``start``,
    ``count`` long, at offset ``at`` from the first of those rows' columns. The run is
    clipped to the plane: what it loses at either end are columns in the padding."""
    cdef Py_ssize_t first = (ia + u - g.pad) * g.W + v - g.pad
    cdef Py_ssize_t n = (ib - ia) * g.Wo, skip = 0
    if first < 0:  # the first row's first columns lie left of the plane
        skip, first = -first, 0
    n -= skip
    if first + n > g.H * g.W:  # the last row's last columns lie right of it
        n = g.H * g.W - first
    start[0], at[0], count[0] = first, skip, n


cdef void _col2im(floating *cols, floating *dx, Geometry g) noexcept nogil:
    """Sum a (K, Ho*Wo) column matrix back into one (C, H, W) image (overwritten). cols is
    scratch: the "same" path zeroes its taps in the padding."""
    cdef Py_ssize_t c
    for c in range(g.C):
        _col2im_plane(cols + c * g.HH * g.WW * g.P, dx + c * g.H * g.W, g)


cdef void _col2im_plane(floating *cols, floating *dx, Geometry g) noexcept nogil:
    """Sum the HH*WW rows (each Ho*Wo long) of one channel's taps back into its (H, W) plane
    (overwritten)."""
    cdef Py_ssize_t u, v, i, j, row, j0, j1, ia, ib, start, at, count
    cdef floating *src = cols
    cdef floating *dst
    memset(dx, 0, g.H * g.W * sizeof(floating))
    if g.stride == 1 and g.W == g.Wo:
        # as _im2col_rows_same: each tap adds one shifted run into the plane, after its
        # entries in the padding (which the run would add onto the neighbouring row) are
        # zeroed; every pixel still sums its taps in (u, v) order
        for u in range(g.HH):
            ia, ib = max(0, g.pad - u), min(g.Ho, g.H + g.pad - u)
            for v in range(g.WW):
                src = cols + (u * g.WW + v) * g.P
                if ia >= ib:
                    continue
                _zero_padding_columns(src + ia * g.Wo, ib - ia, g, v)
                _same_run(g, u, v, ia, ib, &start, &at, &count)
                _add_row(dx + start, src + ia * g.Wo + at, count)
        return
    for u in range(g.HH):
        for v in range(g.WW):
            j0 = _first_inside(v, g.pad, g.stride)
            j1 = _end_inside(v, g.pad, g.stride, g.W, g.Wo)
            for i in range(g.Ho):
                row = i * g.stride + u - g.pad
                if row >= 0 and row < g.H and j0 < j1:
                    # dst[j*stride] is the pixel under tap (u, v) for column j0 + j
                    dst = dx + row * g.W + j0 * g.stride + v - g.pad
                    if g.stride == 1:
                        _add_row(dst, src + j0, j1 - j0)
                    else:
                        for j in range(j1 - j0):
                            dst[j * g.stride] += src[j0 + j]
                src += g.Wo


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

"""RoI max pooling (Fast R-CNN) and non-maximum suppression kernels (typed memoryviews, fused
float32/float64, GIL released, OpenMP threads through ``prange``).

The Python front (``core_ext/__init__.py``) computes every RoI's bins once with NumPy, exactly
as the reference does (``solutions/a5_beyond/roi.py``: corners by C's round written as
``sign(v) * floor(|v| + 0.5)``, bins ``floor(p * size / P) .. ceil((p + 1) * size / P)``
offset by the corner and clipped to the map), and hands them here as begin/end arrays; these
kernels only scan the bins.

- Forward: one (RoI, channel) pair at a time, pairs shared out over the threads (no two
  write the same output). Each bin's maximum is the FIRST maximum in row-major bin order
  (``np.argmax`` of the flattened bin, which also picks the first NaN); argmax is the flat
  index ``h * W + w`` into the channel's plane, or -1 for an empty bin (whose output is 0).
- Backward: one (image, channel) plane of dx at a time, planes shared out over the threads:
  the thread that owns a plane zeroes it and adds, for each RoI of that image in RoI order,
  each bin's gradient at its argmax. No two threads touch a plane, and each cell's sum is
  taken in the same order (RoI, then bin row, then bin column) as the reference's
  ``np.add.at``, so dx is the same bit for bit whatever the thread count.
- NMS: boxes visited by descending score (the order comes from NumPy's stable argsort), the
  IoU computed in float64 exactly as the reference's ``iou`` (``inter / union``, 0 where the
  union is 0), a later box suppressed when its IoU with a kept box is > the threshold. The
  boxes are first copied in visiting order into one array per coordinate, so the suppression
  loop reads memory in order.

Every kernel returns how many threads ran it (1 without OpenMP), for the tests. OpenMP is the
build's choice (setup.py adds -fopenmp where the compiler has it): without it the ``prange``
loops run on one thread, with the same results, and ``OPENMP`` is False.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stddef cimport size_t
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int roi_team_size(void) { return omp_get_num_threads(); }
    #define ROI_OPENMP 1
    #else
    static int roi_team_size(void) { return 1; }
    #define ROI_OPENMP 0
    #endif
    """
    int roi_team_size() noexcept nogil
    int ROI_OPENMP

OPENMP = bool(ROI_OPENMP)  # built with OpenMP: the kernels can run on several threads

cdef extern from *:
    """
    /* One kept box against the later boxes lo..hi-1 in visiting order: suppress those whose
       IoU with it is > thr. The IoU is the reference's: min/max as np.minimum/np.maximum do
       for numbers, clipped at 0, inter / union, and 0 where the union is 0 (so suppressed
       there only if 0 > thr). Branch-free (the ternaries are min/max instructions; the
       division is done even where the union is 0, then not used), so that GCC vectorises it;
       an AVX2 clone is chosen at load time where the CPU has it. */
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    __attribute__((target_clones("arch=x86-64-v3", "default")))
    #endif
    static void roi_nms_suppress(const double *x1, const double *y1, const double *x2,
                                 const double *y2, const double *area, unsigned char *sup,
                                 Py_ssize_t lo, Py_ssize_t hi, double ix1, double iy1,
                                 double ix2, double iy2, double iarea, double thr) {
        const int zero_above = 0.0 > thr;
        for (Py_ssize_t t = lo; t < hi; t++) {
            double right = ix2 < x2[t] ? ix2 : x2[t], left = ix1 > x1[t] ? ix1 : x1[t];
            double bottom = iy2 < y2[t] ? iy2 : y2[t], top = iy1 > y1[t] ? iy1 : y1[t];
            double w = right - left, h = bottom - top;
            double inter = (w > 0 ? w : 0.0) * (h > 0 ? h : 0.0);
            double u = iarea + area[t] - inter;
            double overlap = inter / u;
            int above = ((overlap > thr) & (u > 0)) | ((u <= 0) & zero_above);
            sup[t] |= (unsigned char)above;
        }
    }
    """
    void roi_nms_suppress(const double *x1, const double *y1, const double *x2,
                          const double *y2, const double *area, uint8_t *sup, Py_ssize_t lo,
                          Py_ssize_t hi, double ix1, double iy1, double ix2, double iy2,
                          double iarea, double thr) noexcept nogil


def roi_pool_forward(const floating[:, :, :, ::1] x, const int64_t[::1] batch,
                     const int64_t[:, ::1] h_begin, const int64_t[:, ::1] h_end,
                     const int64_t[:, ::1] w_begin, const int64_t[:, ::1] w_end,
                     floating[:, :, :, ::1] out, int64_t[:, :, :, ::1] argmax, int threads):
    """Fill ``out`` (R, C, PH, PW) and ``argmax`` from x (N, C, H, W) and the bins of each
    RoI (``h_begin[r, i] .. h_end[r, i] - 1`` rows, columns alike, already clipped)."""
    cdef Py_ssize_t R = out.shape[0], C = out.shape[1], PH = out.shape[2], PW = out.shape[3]
    cdef Py_ssize_t W = x.shape[3]
    cdef Py_ssize_t q, r, c, i, j, h, w, h0, h1, w0, w1, best, b
    cdef floating m, val
    cdef const floating *row
    cdef bint nan, greater
    cdef int team_size = 1
    cdef int *team = &team_size  # written through: a variable assigned in the block is private
    if R * C == 0:
        return 1
    with nogil, parallel(num_threads=threads):
        team[0] = roi_team_size()
        for q in prange(R * C, schedule="dynamic", chunksize=16):
            r = q // C
            c = q % C
            b = batch[r]
            for i in range(PH):
                h0 = h_begin[r, i]
                h1 = h_end[r, i]
                for j in range(PW):
                    w0 = w_begin[r, j]
                    w1 = w_end[r, j]
                    if h1 <= h0 or w1 <= w0:
                        out[r, c, i, j] = 0
                        argmax[r, c, i, j] = -1
                        continue
                    m = x[b, c, h0, w0]
                    best = h0 * W + w0
                    nan = False
                    for h in range(h0, h1):
                        row = &x[b, c, h, 0]
                        for w in range(w0, w1):
                            # without branches (conditional moves): on random data a branch
                            # on val > m is mispredicted about once a bin, which cost
                            # more than the whole scan
                            val = row[w]
                            nan = nan | (val != val)
                            greater = val > m
                            m = val if greater else m
                            best = h * W + w if greater else best
                    if nan:  # rare: the first NaN of the bin wins, like np.argmax
                        best = _first_nan(x, b, c, h0, h1, w0, w1)
                        m = x[b, c, best // W, best % W]
                    out[r, c, i, j] = m
                    argmax[r, c, i, j] = best
    return team_size


def roi_pool_backward(const floating[:, :, :, ::1] dout, const int64_t[:, :, :, ::1] argmax,
                      const int64_t[::1] rois_by_image, const int64_t[::1] image_start,
                      floating[:, :, ::1] dx, int threads):
    """``dx[n, c] = 0``, then ``dx[n, c, argmax[r, c, i, j]] += dout[r, c, i, j]`` for the RoIs
    r of image n, which are ``rois_by_image[image_start[n]:image_start[n + 1]]`` (ascending),
    and every bin with ``argmax >= 0``."""
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], HW = dx.shape[2]
    cdef Py_ssize_t PH = dout.shape[2], PW = dout.shape[3]
    cdef Py_ssize_t p, n, c, k, r, i, j
    cdef int64_t a
    cdef int team_size = 1
    cdef int *team = &team_size
    if N * C == 0:
        return 1
    with nogil, parallel(num_threads=threads):
        team[0] = roi_team_size()
        for p in prange(N * C, schedule="dynamic", chunksize=1):
            n = p // C
            c = p % C
            memset(&dx[n, c, 0], 0, HW * sizeof(floating))
            for k in range(image_start[n], image_start[n + 1]):
                r = rois_by_image[k]
                for i in range(PH):
                    for j in range(PW):
                        a = argmax[r, c, i, j]
                        if a >= 0:
                            dx[n, c, a] += dout[r, c, i, j]
    return team_size


def nms(const double[:, ::1] boxes, const Py_ssize_t[::1] order, double iou_threshold,
        int64_t[::1] keep):
    """Write the kept indices into ``keep`` (in visiting order) and return how many there are.
    ``boxes`` (B, 4) rows (x1, y1, x2, y2); ``order`` the visiting order (descending score)."""
    cdef Py_ssize_t B = boxes.shape[0]
    cdef Py_ssize_t s, t, kept = 0
    if B == 0:
        return 0
    cdef double *x1 = <double *>malloc(5 * B * sizeof(double))
    cdef uint8_t *suppressed = <uint8_t *>malloc(B)
    if x1 == NULL or suppressed == NULL:
        free(x1)
        free(suppressed)
        raise MemoryError()
    cdef double *y1 = x1 + B
    cdef double *x2 = x1 + 2 * B
    cdef double *y2 = x1 + 3 * B
    cdef double *area = x1 + 4 * B
    with nogil:
        for s in range(B):  # the boxes in visiting order, one array per coordinate
            t = order[s]
            x1[s] = boxes[t, 0]
            y1[s] = boxes[t, 1]
            x2[s] = boxes[t, 2]
            y2[s] = boxes[t, 3]
            area[s] = (x2[s] - x1[s]) * (y2[s] - y1[s])
        memset(suppressed, 0, <size_t>B)
        for s in range(B):
            if suppressed[s]:
                continue
            keep[kept] = order[s]
            kept += 1
            roi_nms_suppress(x1, y1, x2, y2, area, suppressed, s + 1, B, x1[s], y1[s], x2[s],
                             y2[s], area[s], iou_threshold)
    free(x1)
    free(suppressed)
    return kept


cdef inline Py_ssize_t _first_nan(const floating[:, :, :, ::1] x, Py_ssize_t b, Py_ssize_t c,
                                  Py_ssize_t h0, Py_ssize_t h1, Py_ssize_t w0, Py_ssize_t w1
                                  ) noexcept nogil:
    cdef Py_ssize_t h, w, W = x.shape[3]
    for h in range(h0, h1):
        for w in range(w0, w1):
            if x[b, c, h, w] != x[b, c, h, w]:
                return h * W + w
    return h0 * W + w0

# distutils: extra_compile_args = -fno-trapping-math
"""Scaled dot-product attention (forward and backward) and layer normalisation over the last
axis, in C: the softmax and its backward fused row by row between BLAS products.

Attention works on 4-d arrays (A, B, T, d) with the last axis contiguous and any strides on the
others, so multi-head attention's split view of (N, T, D) projections, (N, h, T, d_k) with rows
D apart, is read in place and its outputs are written straight into the merged (N, T, D)
layout. One item is one (a, b) pair, A * B of them, and items never interact:

    forward   S = scale * q k^T                       GEMM, (Tq, Tk) rows of ``weights``
              each row: softmax over the allowed keys (mask True), shifted by its largest
              allowed score; masked keys get exactly 0; a row with nothing allowed is all 0
              out = S v                               GEMM
    backward  dv = W^T dout,  dW = dout v^T           GEMMs (dW into a per-thread scratch)
              each row: dS = W * (dW - sum(dW * W)) * scale
              dq = dS k,  dk = dS^T q                 GEMMs

GEMM comes from ``_gemm.pyx`` (NumPy's OpenBLAS, else SciPy's ``cython_blas``; row-major products as column-major ones on the
transposes: nothing is copied), called without the GIL on one thread; the wrapper hands whole
items to its threads, so every item's arithmetic is the same whichever thread runs it and the
results do not depend on the thread count.

Layer normalisation runs row by row: the forward keeps x_hat and the row's sqrt(var + eps); the
backward's gamma and beta gradients are summed per block of rows (blocks fixed by the shapes,
one partial sum each) for the wrapper to add up in block order.

The row loops use their own exp (the range reduction of _rnn.pyx: k ln2 + r by the rounding
trick, a Taylor polynomial of expm1(r), 2^k built in the exponent bits; within 2 ulp of
np.exp in float64 and float32) so that they vectorise; they are compiled for x86-64-v3 (AVX2
and FMA) beside the baseline where GCC can, and the loader picks the one the CPU runs.
"""

from cython cimport floating
from core_ext._gemm cimport dgemm, sgemm

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <string.h>

    #if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12                                \\
        && defined(__x86_64__) && defined(__linux__)
    #define ATTN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
    #else
    #define ATTN_CLONES
    #endif
    #define ATTN_R __restrict

    /* exp(x) for x <= 0: 0 below -708 (float: -87), where 2^k would leave the normal range
       (np.exp gives a subnormal there, less than 1e-307 of the row's largest weight). */
    static inline double attn_exp_d(double x) {
        const double shift = 0x1.8p52;
        double xc = x < -708.0 ? -708.0 : x;
        double t = xc * 1.44269504088896338700e+00 + shift;
        double k = t - shift;
        double r = (xc - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
        uint64_t bits;
        double s;
        memcpy(&bits, &t, sizeof bits);
        bits = (bits + 1023) << 52;
        memcpy(&s, &bits, sizeof bits);
        double q = 1.0 / 6227020800.0;
        q = q * r + 1.0 / 479001600.0;
        q = q * r + 1.0 / 39916800.0;
        q = q * r + 1.0 / 3628800.0;
        q = q * r + 1.0 / 362880.0;
        q = q * r + 1.0 / 40320.0;
        q = q * r + 1.0 / 5040.0;
        q = q * r + 1.0 / 720.0;
        q = q * r + 1.0 / 120.0;
        q = q * r + 1.0 / 24.0;
        q = q * r + 1.0 / 6.0;
        q = q * r + 0.5;
        double e = s + s * (r + (r * r) * q);
        return x < -708.0 ? 0.0 : e;
    }

    static inline float attn_exp_f(float x) {
        const float shift = 0x1.8p23f;
        float xc = x < -87.0f ? -87.0f : x;
        float t = xc * 1.44269502e+00f + shift;
        float k = t - shift;
        float r = (xc - k * 6.9313812256e-01f) - k * 9.0580006145e-06f;
        uint32_t bits;
        float s;
        memcpy(&bits, &t, sizeof bits);
        bits = (bits + 127) << 23;
        memcpy(&s, &bits, sizeof bits);
        float q = 1.0f / 5040.0f;
        q = q * r + 1.0f / 720.0f;
        q = q * r + 1.0f / 120.0f;
        q = q * r + 1.0f / 24.0f;
        q = q * r + 1.0f / 6.0f;
        q = q * r + 0.5f;
        float e = s + s * (r + (r * r) * q);
        return x < -87.0f ? 0.0f : e;
    }

    /* The row kernels for T = double (suffix d) and float (f). Sums run over 4 interleaved
       partial sums (fixed order: the same result on every call). */
    #define ATTN_ROWS(T, S)                                                                       \\
    static inline T attn_sum_##S(const T *ATTN_R a, Py_ssize_t n) {                               \\
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                                         \\
        Py_ssize_t j = 0;                                                                         \\
        for (; j + 4 <= n; j += 4) { s0 += a[j]; s1 += a[j + 1]; s2 += a[j + 2]; s3 += a[j + 3]; } \\
        for (; j < n; j++) s0 += a[j];                                                            \\
        return (s0 + s1) + (s2 + s3);                                                             \\
    }                                                                                             \\
    static inline T attn_dot_##S(const T *ATTN_R a, const T *ATTN_R b, Py_ssize_t n) {            \\
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                                         \\
        Py_ssize_t j = 0;                                                                         \\
        for (; j + 4 <= n; j += 4) {                                                              \\
            s0 += a[j] * b[j]; s1 += a[j + 1] * b[j + 1];                                         \\
            s2 += a[j + 2] * b[j + 2]; s3 += a[j + 3] * b[j + 3];                                 \\
        }                                                                                         \\
        for (; j < n; j++) s0 += a[j] * b[j];                                                     \\
        return (s0 + s1) + (s2 + s3);                                                             \\
    }                                                                                             \\
    /* softmax of one row of scores in place; m: the row's mask (nonzero = allowed) or NULL */   \\
    ATTN_CLONES static void attn_softmax_row_##S(T *ATTN_R s, const unsigned char *ATTN_R m,      \\
                                                 Py_ssize_t n) {                                  \\
        T top = -INFINITY;                                                                        \\
        Py_ssize_t j;                                                                             \\
        if (m) { for (j = 0; j < n; j++) if (m[j] && s[j] > top) top = s[j]; }                    \\
        else { for (j = 0; j < n; j++) if (s[j] > top) top = s[j]; }                              \\
        if (m && top == -INFINITY) { memset(s, 0, n * sizeof(T)); return; }                      \\
        if (m) { for (j = 0; j < n; j++) s[j] = m[j] ? attn_exp_##S(s[j] - top) : 0; }            \\
        else { for (j = 0; j < n; j++) s[j] = attn_exp_##S(s[j] - top); }                         \\
        T total = attn_sum_##S(s, n);                                                             \\
        T inv = 1 / total;                                                                        \\
        for (j = 0; j < n; j++) s[j] *= inv;                                                      \\
    }                                                                                             \\
    /* d = w * (d - sum(d * w)) * scale, in place of d (the softmax's backward) */               \\
    ATTN_CLONES static void attn_softmax_back_row_##S(const T *ATTN_R w, T *ATTN_R d,             \\
                                                      Py_ssize_t n, T scale) {                    \\
        T dot = attn_dot_##S(d, w, n);                                                            \\
        for (Py_ssize_t j = 0; j < n; j++) d[j] = w[j] * (d[j] - dot) * scale;                    \\
    }                                                                                             \\
    /* layer norm of one row: xh = (x - mu) / std, y = gamma xh + beta; returns std */           \\
    ATTN_CLONES static T attn_ln_row_##S(const T *ATTN_R x, const T *ATTN_R g,                    \\
                                         const T *ATTN_R b, T *ATTN_R xh, T *ATTN_R y,            \\
                                         Py_ssize_t n, T eps) {                                   \\
        T mu = attn_sum_##S(x, n) / n;                                                            \\
        Py_ssize_t j;                                                                             \\
        for (j = 0; j < n; j++) xh[j] = x[j] - mu;                                                \\
        T var = attn_dot_##S(xh, xh, n) / n;                                                      \\
        T std = sqrt(var + eps);                                                                  \\
        for (j = 0; j < n; j++) { xh[j] = xh[j] / std; y[j] = g[j] * xh[j] + b[j]; }              \\
        return std;                                                                               \\
    }                                                                                             \\
    /* its backward: dx = (n dxh - sum(dxh) - xh sum(dxh xh)) / (n std), dxh = dy gamma;        \\
       dgamma += dy xh, dbeta += dy (the block's partial sums) */                                \\
    ATTN_CLONES static void attn_ln_back_row_##S(const T *ATTN_R dy, const T *ATTN_R xh,          \\
                                                 const T *ATTN_R g, T std, T *ATTN_R dx,          \\
                                                 T *ATTN_R dg, T *ATTN_R db, Py_ssize_t n) {      \\
        Py_ssize_t j;                                                                             \\
        for (j = 0; j < n; j++) {                                                                 \\
            dx[j] = dy[j] * g[j]; dg[j] += dy[j] * xh[j]; db[j] += dy[j];                         \\
        }                                                                                         \\
        T s1 = attn_sum_##S(dx, n), s2 = attn_dot_##S(dx, xh, n), den = n * std;                  \\
        for (j = 0; j < n; j++) dx[j] = (n * dx[j] - s1 - xh[j] * s2) / den;                      \\
    }
    ATTN_ROWS(double, d)
    ATTN_ROWS(float, f)
    """
    void attn_softmax_row_d(double *s, const unsigned char *m, Py_ssize_t n) nogil
    void attn_softmax_row_f(float *s, const unsigned char *m, Py_ssize_t n) nogil
    void attn_softmax_back_row_d(const double *w, double *d, Py_ssize_t n, double scale) nogil
    void attn_softmax_back_row_f(const float *w, float *d, Py_ssize_t n, float scale) nogil
    double attn_ln_row_d(const double *x, const double *g, const double *b, double *xh,
                         double *y, Py_ssize_t n, double eps) nogil
    float attn_ln_row_f(const float *x, const float *g, const float *b, float *xh, float *y,
                        Py_ssize_t n, float eps) nogil
    void attn_ln_back_row_d(const double *dy, const double *xh, const double *g, double std,
                            double *dx, double *dg, double *db, Py_ssize_t n) nogil
    void attn_ln_back_row_f(const float *dy, const float *xh, const float *g, float std,
                            float *dx, float *dg, float *db, Py_ssize_t n) nogil


cdef inline void _gemm(bint ta, bint tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       floating alpha, const floating *a, Py_ssize_t lda, const floating *b,
                       Py_ssize_t ldb, floating *c, Py_ssize_t ldc) noexcept nogil:
    """Row-major ``c (m, n) = alpha * op(a) @ op(b)``: the column-major product of the
    transposes, ``c^T = op(b)^T op(a)^T`` (the wrapper checked that the sizes fit BLAS's int)."""
    cdef char ca = b'T' if ta else b'N'
    cdef char cb = b'T' if tb else b'N'
    cdef int im = <int>m, in_ = <int>n, ik = <int>k
    cdef int ia = <int>max(1, lda), ib = <int>max(1, ldb), ic = <int>max(1, ldc)
    cdef floating zero = 0
    if floating is double:
        dgemm(&cb, &ca, &in_, &im, &ik, &alpha, <double *>b, &ib, <double *>a, &ia, &zero, c,
              &ic)
    else:
        sgemm(&cb, &ca, &in_, &im, &ik, &alpha, <float *>b, &ib, <float *>a, &ia, &zero, c,
              &ic)


def forward(const floating[:, :, :, :] q, const floating[:, :, :, :] k,
            const floating[:, :, :, :] v, const unsigned char[:, :, :, :] mask,
            floating[:, :, :, :] weights, floating[:, :, :, :] out, double scale,
            Py_ssize_t lo, Py_ssize_t hi):
    """Items lo <= i < hi of the forward pass: weights (A, B, Tq, Tk), out (A, B, Tq, dv).
    ``mask`` is None or (A, B, Tq, Tk) (broadcast dimensions of stride 0 are fine)."""
    cdef Py_ssize_t B = q.shape[1], Tq = q.shape[2], d = q.shape[3]
    cdef Py_ssize_t Tk = k.shape[2], dv = v.shape[3]
    cdef Py_ssize_t ldq = q.strides[2] // sizeof(floating), ldk = k.strides[2] // sizeof(floating)
    cdef Py_ssize_t ldv = v.strides[2] // sizeof(floating)
    cdef Py_ssize_t ldw = weights.strides[2] // sizeof(floating)
    cdef Py_ssize_t ldo = out.strides[2] // sizeof(floating)
    cdef Py_ssize_t ldm = 0 if mask is None else mask.strides[2]
    cdef bint masked = mask is not None
    cdef const unsigned char *m = NULL
    cdef floating *w
    cdef floating alpha = <floating>scale
    cdef Py_ssize_t item, a, b, i
    with nogil:
        for item in range(lo, hi):
            a, b = item // B, item % B
            w = &weights[a, b, 0, 0]
            _gemm(False, True, Tq, Tk, d, alpha, &q[a, b, 0, 0], ldq, &k[a, b, 0, 0], ldk, w,
                  ldw)
            if masked:
                m = &mask[a, b, 0, 0]
            for i in range(Tq):
                if floating is double:
                    attn_softmax_row_d(w + i * ldw, m + i * ldm if masked else NULL, Tk)
                else:
                    attn_softmax_row_f(w + i * ldw, m + i * ldm if masked else NULL, Tk)
            _gemm(False, False, Tq, dv, Tk, <floating>1, w, ldw, &v[a, b, 0, 0], ldv,
                  &out[a, b, 0, 0], ldo)


def backward(const floating[:, :, :, :] dout, const floating[:, :, :, :] q,
             const floating[:, :, :, :] k, const floating[:, :, :, :] v,
             const floating[:, :, :, :] weights, floating[:, :, :, :] dq,
             floating[:, :, :, :] dk, floating[:, :, :, :] dv, floating[:, ::1] scratch,
             double scale, Py_ssize_t lo, Py_ssize_t hi):
    """Items lo <= i < hi of the backward pass; ``scratch`` (Tq, Tk) holds dW, then dS."""
    cdef Py_ssize_t B = q.shape[1], Tq = q.shape[2], d = q.shape[3]
    cdef Py_ssize_t Tk = k.shape[2], dvw = v.shape[3]
    cdef Py_ssize_t ldq = q.strides[2] // sizeof(floating), ldk = k.strides[2] // sizeof(floating)
    cdef Py_ssize_t ldv = v.strides[2] // sizeof(floating)
    cdef Py_ssize_t ldw = weights.strides[2] // sizeof(floating)
    cdef Py_ssize_t ldo = dout.strides[2] // sizeof(floating)
    cdef Py_ssize_t lddq = dq.strides[2] // sizeof(floating)
    cdef Py_ssize_t lddk = dk.strides[2] // sizeof(floating)
    cdef Py_ssize_t lddv = dv.strides[2] // sizeof(floating)
    cdef floating *ds = &scratch[0, 0]
    cdef const floating *w
    cdef const floating *g
    cdef floating one = 1, s = <floating>scale
    cdef Py_ssize_t item, a, b, i
    with nogil:
        for item in range(lo, hi):
            a, b = item // B, item % B
            w, g = &weights[a, b, 0, 0], &dout[a, b, 0, 0]
            _gemm(True, False, Tk, dvw, Tq, one, w, ldw, g, ldo, &dv[a, b, 0, 0], lddv)
            _gemm(False, True, Tq, Tk, dvw, one, g, ldo, &v[a, b, 0, 0], ldv, ds, Tk)
            for i in range(Tq):
                if floating is double:
                    attn_softmax_back_row_d(w + i * ldw, ds + i * Tk, Tk, s)
                else:
                    attn_softmax_back_row_f(w + i * ldw, ds + i * Tk, Tk, s)
            _gemm(False, False, Tq, d, Tk, one, ds, Tk, &k[a, b, 0, 0], ldk, &dq[a, b, 0, 0],
                  lddq)
            _gemm(True, False, Tk, d, Tq, one, ds, Tk, &q[a, b, 0, 0], ldq, &dk[a, b, 0, 0],
                  lddk)


def layernorm_forward(const floating[:, ::1] x, const floating[::1] gamma,
                      const floating[::1] beta, floating[:, ::1] x_hat, floating[::1] std,
                      floating[:, ::1] out, double eps, Py_ssize_t lo, Py_ssize_t hi):
    """Rows lo <= r < hi of x (R, D): x_hat and out (R, D), std (R,)."""
    cdef Py_ssize_t D = x.shape[1], r
    with nogil:
        for r in range(lo, hi):
            if floating is double:
                std[r] = attn_ln_row_d(&x[r, 0], &gamma[0], &beta[0], &x_hat[r, 0], &out[r, 0],
                                       D, eps)
            else:
                std[r] = attn_ln_row_f(&x[r, 0], &gamma[0], &beta[0], &x_hat[r, 0], &out[r, 0],
                                       D, <float>eps)


def layernorm_backward(const floating[:, ::1] dout, const floating[:, ::1] x_hat,
                       const floating[::1] gamma, const floating[::1] std, floating[:, ::1] dx,
                       floating[:, ::1] dgamma_parts, floating[:, ::1] dbeta_parts,
                       Py_ssize_t block, Py_ssize_t lo, Py_ssize_t hi):
    """Blocks lo <= q < hi of ``block`` rows each: dx (R, D) and each block's partial sums of
    dgamma and dbeta (rows q of the parts, (blocks, D))."""
    cdef Py_ssize_t R = dout.shape[0], D = dout.shape[1], q, r, j
    with nogil:
        for q in range(lo, hi):
            for j in range(D):
                dgamma_parts[q, j] = 0
                dbeta_parts[q, j] = 0
            for r in range(q * block, min(R, (q + 1) * block)):
                if floating is double:
                    attn_ln_back_row_d(&dout[r, 0], &x_hat[r, 0], &gamma[0], std[r], &dx[r, 0],
                                       &dgamma_parts[q, 0], &dbeta_parts[q, 0], D)
                else:
                    attn_ln_back_row_f(&dout[r, 0], &x_hat[r, 0], &gamma[0], std[r], &dx[r, 0],
                                       &dgamma_parts[q, 0], &dbeta_parts[q, 0], D)

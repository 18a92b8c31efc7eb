# distutils: extra_compile_args = -fno-trapping-math
"""Recurrent layers (vanilla RNN, LSTM, GRU), forward and backward, with the time loop in C.

Layouts are the layers' own, batch-major: x (N, T, D), h (N, T, H), and per step the stacked
pre-activations of G gates, ``gates`` (N, T, G*H) (G = 1 for the RNN, 4 for the LSTM with
gates i, f, o, g, 3 for the GRU with r, z, n). Row n of step t of any of them sits
``T * width`` elements after row n - 1, which BLAS takes as a leading dimension, so no step
is ever copied out or back.

For the rows ``bounds[q] <= n < bounds[q+1]`` of block q, in the caller's or a worker thread:

    forward   gates = x @ Wx                                 one GEMM over all T steps
              for t: gates[:, t] += h[:, t-1] @ Wh (h0 at t = 0)   (the GRU keeps h @ Wh apart)
                     the gate math of step t, fused, row by row        (rnn_cell, lstm_cell, ...)
    backward  for t = T-1 .. 0: da[:, t] from dh[:, t] + dnext, then dnext = da[:, t] @ Wh.T
              dx = da @ Wx.T, dWx = x.T @ da, dWh = h_prev.T @ da, db = da.sum(0): one GEMM
              (or sum) each over all steps of the block

The per-step products (more than one row) use a small kernel of this file over Wh packed once
per call (``pack``), not BLAS: BLAS copies all of Wh into its packed layout at every call (in
an LSTM run on one thread that copying took 14% of the time in float64 and 25% in float32,
against 54% and 47% in its GEMM kernel). One-row steps go to BLAS's GEMV.

Rows never interact, so a block's loop needs nothing from other blocks; blocks are fixed by
the wrapper from the shapes alone, and each block's products and sums are the same whichever
thread runs it: results do not depend on the thread count. Weight and bias gradients come out
per block (``*_parts[q]``) for the wrapper to add up in block order.

The gate math uses its own tanh and sigmoid (an exp written for the vectoriser: range
reduction by the rounding trick, a Taylor polynomial, the power of two built in the exponent
bits), within about 2 ulp of np.tanh in float64 and 2 ulp of float32; NaN stays NaN. The C
below is compiled twice where GCC can do it (for x86-64-v3, i.e. AVX2 and FMA, and for the
baseline), and the loader picks the one the CPU runs. ``-fno-trapping-math`` (top of this
file) lets GCC evaluate both sides of a select, which vectorising the gate loops needs.
GEMM comes from ``_gemm.pyx`` (NumPy's OpenBLAS, else SciPy's), GEMV from SciPy's
``cython_blas``; both are called without the GIL.
"""

from cython cimport floating
from libc.string cimport memset
from core_ext._gemm cimport dgemm, sgemm
from scipy.linalg.cython_blas cimport dgemv, sgemv

import numpy as np

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <string.h>

    #if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12                                \\
        && defined(__x86_64__) && defined(__linux__)
    #define RNN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
    #else
    #define RNN_CLONES
    #endif
    #define RNN_R __restrict

    /* x = k ln2 + r with |r| <= ln2/2: returns expm1(r) and sets *scale = 2^k. The rounding
       trick: adding 1.5 * 2^52 rounds x/ln2 to an integer k held in the low bits, and
       (bits + 1023) << 52 is then the bit pattern of 2^k (for -1022 <= k <= 1023). */
    static inline double rnn_expm1_parts_d(double x, double *scale) {
        const double shift = 0x1.8p52;
        double t = x * 1.44269504088896338700e+00 + shift;
        double k = t - shift;
        double r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
        uint64_t bits;
        memcpy(&bits, &t, sizeof bits);
        bits = (bits + 1023) << 52;
        memcpy(scale, &bits, sizeof bits);
        double q = 1.0 / 6227020800.0;           /* Taylor to r^13/13!: 1e-17 relative */
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
        return r + (r * r) * q;
    }

    static inline float rnn_expm1_parts_f(float x, float *scale) {
        const float shift = 0x1.8p23f;
        float t = x * 1.44269502e+00f + shift;
        float k = t - shift;
        float r = (x - k * 6.9313812256e-01f) - k * 9.0580006145e-06f;
        uint32_t bits;
        memcpy(&bits, &t, sizeof bits);
        bits = (bits + 127) << 23;
        memcpy(scale, &bits, sizeof bits);
        float q = 1.0f / 5040.0f;                /* Taylor to r^7/7!: 2e-8 relative */
        q = q * r + 1.0f / 720.0f;
        q = q * r + 1.0f / 120.0f;
        q = q * r + 1.0f / 24.0f;
        q = q * r + 1.0f / 6.0f;
        q = q * r + 0.5f;
        return r + (r * r) * q;
    }

    /* tanh|x| = -u / (2 + u) with u = expm1(-2|x|): no cancellation near 0. Past |x| = 20
       (float: 10) tanh is 1 to the last bit, and the polynomial's input is out of range. */
    static inline double rnn_tanh_d(double x) {
        double m = -2.0 * fabs(x), s, p = rnn_expm1_parts_d(m, &s);
        double u = s * p + (s - 1.0), t = -u / (2.0 + u);
        return copysign(m < -40.0 ? 1.0 : t, x);
    }

    static inline float rnn_tanh_f(float x) {
        float m = -2.0f * fabsf(x), s, p = rnn_expm1_parts_f(m, &s);
        float u = s * p + (s - 1.0f), t = -u / (2.0f + u);
        return copysignf(m < -20.0f ? 1.0f : t, x);
    }

    /* sigmoid from e = exp(-|x|) in (0, 1]: 1 / (1 + e) for x >= 0, e / (1 + e) below. Where
       e would leave the normal range it is 0 (sigmoid(x < -708) = 0, float: x < -87). */
    static inline double rnn_sigmoid_d(double x) {
        double m = -fabs(x), s, p = rnn_expm1_parts_d(m, &s);
        double e = m < -708.0 ? 0.0 : s + s * p;
        return (x < 0 ? e : 1.0) / (1.0 + e);
    }

    static inline float rnn_sigmoid_f(float x) {
        float m = -fabsf(x), s, p = rnn_expm1_parts_f(m, &s);
        float e = m < -87.0f ? 0.0f : s + s * p;
        return (x < 0 ? e : 1.0f) / (1.0f + e);
    }

    /* The fused gate math of one row of one step, for T = double (suffix d) and float (f).
       H is the hidden size; gate blocks are H apart in a row of pre-activations. */
    #define RNN_CELLS(T, S)                                                                       \\
    RNN_CLONES static void rnn_tanh_vec_##S(const T *RNN_R x, T *RNN_R y, Py_ssize_t n) {         \\
        for (Py_ssize_t j = 0; j < n; j++) y[j] = rnn_tanh_##S(x[j]);                             \\
    }                                                                                             \\
    RNN_CLONES static void rnn_sigmoid_vec_##S(const T *RNN_R x, T *RNN_R y, Py_ssize_t n) {      \\
        for (Py_ssize_t j = 0; j < n; j++) y[j] = rnn_sigmoid_##S(x[j]);                          \\
    }                                                                                             \\
    /* h = tanh(a + b), in place of a */                                                          \\
    RNN_CLONES static void rnn_cell_##S(T *RNN_R a, const T *RNN_R b, Py_ssize_t H) {             \\
        for (Py_ssize_t j = 0; j < H; j++) a[j] = rnn_tanh_##S(a[j] + b[j]);                      \\
    }                                                                                             \\
    /* da = (dh + dnext) * (1 - h^2) */                                                           \\
    RNN_CLONES static void rnn_cell_back_##S(const T *RNN_R dh, const T *RNN_R dnext,             \\
                                      const T *RNN_R h, T *RNN_R da, Py_ssize_t H) {              \\
        for (Py_ssize_t j = 0; j < H; j++) da[j] = (dh[j] + dnext[j]) * (1 - h[j] * h[j]);        \\
    }                                                                                             \\
    /* a (4H): pre-activations without b, replaced by i, f, o, g; c = f c_prev + i g (c_prev      \\
       NULL: c0 = 0), tc = tanh(c), h = o tc */                                                   \\
    RNN_CLONES static void lstm_cell_##S(T *RNN_R a, const T *RNN_R b, const T *RNN_R cp,         \\
                                  T *RNN_R c, T *RNN_R tc, T *RNN_R h, Py_ssize_t H) {            \\
        for (Py_ssize_t j = 0; j < H; j++) {                                                      \\
            T i = rnn_sigmoid_##S(a[j] + b[j]);                                                   \\
            T f = rnn_sigmoid_##S(a[H + j] + b[H + j]);                                           \\
            T o = rnn_sigmoid_##S(a[2 * H + j] + b[2 * H + j]);                                   \\
            T g = rnn_tanh_##S(a[3 * H + j] + b[3 * H + j]);                                      \\
            T cj = (cp ? f * cp[j] : 0) + i * g;                                                  \\
            T t = rnn_tanh_##S(cj);                                                               \\
            a[j] = i; a[H + j] = f; a[2 * H + j] = o; a[3 * H + j] = g;                           \\
            c[j] = cj; tc[j] = t; h[j] = o * t;                                                   \\
        }                                                                                         \\
    }                                                                                             \\
    /* da (4H) of one step from the gates, c_prev (NULL at t = 0), tanh(c), dh + dnext; the       \\
       running dc (gradient of c at this step from later ones) becomes the one for c_prev */      \\
    RNN_CLONES static void lstm_cell_back_##S(const T *RNN_R a, const T *RNN_R cp,                \\
                                       const T *RNN_R tc, const T *RNN_R dh,                      \\
                                       const T *RNN_R dnext, T *RNN_R dc, T *RNN_R da,            \\
                                       Py_ssize_t H) {                                            \\
        for (Py_ssize_t j = 0; j < H; j++) {                                                      \\
            T i = a[j], f = a[H + j], o = a[2 * H + j], g = a[3 * H + j], t = tc[j];              \\
            T dhj = dh[j] + dnext[j];                                                             \\
            T dcj = dc[j] + dhj * o * (1 - t * t);                                                \\
            da[j] = dcj * g * i * (1 - i);                                                        \\
            da[H + j] = (cp ? dcj * cp[j] : 0) * f * (1 - f);                                     \\
            da[2 * H + j] = dhj * t * o * (1 - o);                                                \\
            da[3 * H + j] = dcj * i * (1 - g * g);                                                \\
            dc[j] = dcj * f;                                                                      \\
        }                                                                                         \\
    }                                                                                             \\
    /* a (3H): x Wx, replaced by r, z, n; hw (3H): h_prev Wh; hn = hw_n + bh_n is kept for        \\
       the backward pass; h = (1 - z) n + z h_prev */                                             \\
    RNN_CLONES static void gru_cell_##S(T *RNN_R a, const T *RNN_R hw, const T *RNN_R bx,         \\
                                 const T *RNN_R bh, const T *RNN_R hp, T *RNN_R hn,               \\
                                 T *RNN_R h, Py_ssize_t H) {                                      \\
        for (Py_ssize_t j = 0; j < H; j++) {                                                      \\
            T r = rnn_sigmoid_##S(a[j] + bx[j] + (hw[j] + bh[j]));                                \\
            T z = rnn_sigmoid_##S(a[H + j] + bx[H + j] + (hw[H + j] + bh[H + j]));                \\
            T hnj = hw[2 * H + j] + bh[2 * H + j];                                                \\
            T n = rnn_tanh_##S(a[2 * H + j] + bx[2 * H + j] + r * hnj);                           \\
            a[j] = r; a[H + j] = z; a[2 * H + j] = n;                                             \\
            hn[j] = hnj; h[j] = (1 - z) * n + z * hp[j];                                          \\
        }                                                                                         \\
    }                                                                                             \\
    /* dax (3H): gradient of the input side's pre-activations, dah: of the hidden side's          \\
       (they differ in n: hn is inside r * hn); dnext becomes dh_prev's direct part z dh */       \\
    RNN_CLONES static void gru_cell_back_##S(const T *RNN_R a, const T *RNN_R hn,                 \\
                                      const T *RNN_R hp, const T *RNN_R dh,                       \\
                                      T *RNN_R dnext, T *RNN_R dax, T *RNN_R dah,                 \\
                                      Py_ssize_t H) {                                             \\
        for (Py_ssize_t j = 0; j < H; j++) {                                                      \\
            T r = a[j], z = a[H + j], n = a[2 * H + j];                                           \\
            T dhj = dh[j] + dnext[j];                                                             \\
            T dan = dhj * (1 - z) * (1 - n * n);                                                  \\
            T dar = dan * hn[j] * r * (1 - r);                                                    \\
            T daz = dhj * (hp[j] - n) * z * (1 - z);                                              \\
            dax[j] = dar; dax[H + j] = daz; dax[2 * H + j] = dan;                                 \\
            dah[j] = dar; dah[H + j] = daz; dah[2 * H + j] = dan * r;                             \\
            dnext[j] = dhj * z;                                                                   \\
        }                                                                                         \\
    }                                                                                             \\
    /* sums[j] += a[r, j] over the rows of a (rows, cols), in row order, in double */             \\
    RNN_CLONES static void rnn_add_rows_##S(const T *RNN_R a, Py_ssize_t rows, Py_ssize_t cols,   \\
                                     double *RNN_R sums) {                                        \\
        for (Py_ssize_t r = 0; r < rows; r++)                                                     \\
            for (Py_ssize_t j = 0; j < cols; j++) sums[j] += a[r * cols + j];                     \\
    }

    RNN_CELLS(double, d)
    RNN_CELLS(float, f)

    /* The per-step products c (rows, n) = a (rows, k) @ B (k, n) (+ c), row-major, with B
       packed once per call: panels of 2V columns (V lanes per vector), each k x 2V contiguous
       and zero-padded. Each element is summed over k in order, chunk by chunk, whatever tile
       it falls in: results do not depend on how rows are grouped. */
    #define RNN_KC 256       /* k per pass: a panel's chunk (16 KiB in double) stays in L1 */
    #define RNN_TILE_ROWS 6  /* 12 accumulators of two vectors' width per tile */
    #define RNN_INLINE static inline __attribute__((always_inline))

    #define RNN_PACKED(T, S, V)                                                                   \\
    typedef T rnn_v##S __attribute__((vector_size(V * sizeof(T)), aligned(sizeof(T))));           \\
    static Py_ssize_t rnn_packed_size_##S(Py_ssize_t k, Py_ssize_t n) {                           \\
        return (n + 2 * V - 1) / (2 * V) * 2 * V * k;                                             \\
    }                                                                                             \\
    /* B (k, n) element (i, j) at b[i * bi + j * bj] into panels */                               \\
    static void rnn_pack_##S(const T *b, Py_ssize_t bi, Py_ssize_t bj, Py_ssize_t k,              \\
                             Py_ssize_t n, T *packed) {                                           \\
        for (Py_ssize_t p = 0; p < n; p += 2 * V)                                                 \\
            for (Py_ssize_t i = 0; i < k; i++)                                                    \\
                for (Py_ssize_t j = p; j < p + 2 * V; j++)                                        \\
                    *packed++ = j < n ? b[i * bi + j * bj] : 0;                                   \\
    }                                                                                             \\
    RNN_INLINE void rnn_tile_##S(int rows, Py_ssize_t k, const T *a, Py_ssize_t lda,              \\
                                 const T *panel, T *c, Py_ssize_t ldc, Py_ssize_t width,          \\
                                 int add) {                                                       \\
        rnn_v##S acc[RNN_TILE_ROWS][2], w0, w1;                                                   \\
        T out[2 * V];                                                                             \\
        for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = (rnn_v##S){0};                     \\
        for (Py_ssize_t i = 0; i < k; i++) {                                                      \\
            memcpy(&w0, panel + i * 2 * V, sizeof w0);                                            \\
            memcpy(&w1, panel + i * 2 * V + V, sizeof w1);                                        \\
            for (int r = 0; r < rows; r++) {                                                      \\
                T x = a[r * lda + i];                                                             \\
                acc[r][0] += x * w0;                                                              \\
                acc[r][1] += x * w1;                                                              \\
            }                                                                                     \\
        }                                                                                         \\
        for (int r = 0; r < rows; r++) {                                                          \\
            memcpy(out, &acc[r][0], sizeof w0);                                                   \\
            memcpy(out + V, &acc[r][1], sizeof w1);                                               \\
            for (Py_ssize_t j = 0; j < width; j++)                                                \\
                c[r * ldc + j] = add ? c[r * ldc + j] + out[j] : out[j];                          \\
        }                                                                                         \\
    }                                                                                             \\
    RNN_CLONES static void rnn_gemm_packed_##S(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,          \\
                                               const T *a, Py_ssize_t lda, const T *packed,       \\
                                               int add, T *c, Py_ssize_t ldc) {                   \\
        for (Py_ssize_t k0 = 0; k0 < k; k0 += RNN_KC) {                                           \\
            Py_ssize_t kc = k - k0 < RNN_KC ? k - k0 : RNN_KC;                                    \\
            int more = add || k0 > 0;                                                             \\
            for (Py_ssize_t p = 0; p < n; p += 2 * V) {                                           \\
                Py_ssize_t width = n - p < 2 * V ? n - p : 2 * V;                                 \\
                const T *panel = packed + (p * k + k0 * 2 * V);                                   \\
                for (Py_ssize_t i = 0; i < m; i += RNN_TILE_ROWS) {                               \\
                    const T *ai = a + i * lda + k0;                                               \\
                    T *ci = c + i * ldc + p;                                                      \\
                    switch (m - i < RNN_TILE_ROWS ? m - i : RNN_TILE_ROWS) {                      \\
                    case 6: rnn_tile_##S(6, kc, ai, lda, panel, ci, ldc, width, more); break;     \\
                    case 5: rnn_tile_##S(5, kc, ai, lda, panel, ci, ldc, width, more); break;     \\
                    case 4: rnn_tile_##S(4, kc, ai, lda, panel, ci, ldc, width, more); break;     \\
                    case 3: rnn_tile_##S(3, kc, ai, lda, panel, ci, ldc, width, more); break;     \\
                    case 2: rnn_tile_##S(2, kc, ai, lda, panel, ci, ldc, width, more); break;     \\
                    default: rnn_tile_##S(1, kc, ai, lda, panel, ci, ldc, width, more);           \\
                    }                                                                             \\
                }                                                                                 \\
            }                                                                                     \\
        }                                                                                         \\
    }

    RNN_PACKED(double, d, 4)
    RNN_PACKED(float, f, 8)
    """
    void rnn_tanh_vec_d(const double *x, double *y, Py_ssize_t n) nogil
    void rnn_tanh_vec_f(const float *x, float *y, Py_ssize_t n) nogil
    void rnn_sigmoid_vec_d(const double *x, double *y, Py_ssize_t n) nogil
    void rnn_sigmoid_vec_f(const float *x, float *y, Py_ssize_t n) nogil
    void rnn_cell_d(double *a, const double *b, Py_ssize_t H) nogil
    void rnn_cell_f(float *a, const float *b, Py_ssize_t H) nogil
    void rnn_cell_back_d(const double *dh, const double *dnext, const double *h, double *da,
                         Py_ssize_t H) nogil
    void rnn_cell_back_f(const float *dh, const float *dnext, const float *h, float *da,
                         Py_ssize_t H) nogil
    void lstm_cell_d(double *a, const double *b, const double *cp, double *c, double *tc,
                     double *h, Py_ssize_t H) nogil
    void lstm_cell_f(float *a, const float *b, const float *cp, float *c, float *tc, float *h,
                     Py_ssize_t H) nogil
    void lstm_cell_back_d(const double *a, const double *cp, const double *tc, const double *dh,
                          const double *dnext, double *dc, double *da, Py_ssize_t H) nogil
    void lstm_cell_back_f(const float *a, const float *cp, const float *tc, const float *dh,
                          const float *dnext, float *dc, float *da, Py_ssize_t H) nogil
    void gru_cell_d(double *a, const double *hw, const double *bx, const double *bh,
                    const double *hp, double *hn, double *h, Py_ssize_t H) nogil
    void gru_cell_f(float *a, const float *hw, const float *bx, const float *bh, const float *hp,
                    float *hn, float *h, Py_ssize_t H) nogil
    void gru_cell_back_d(const double *a, const double *hn, const double *hp, const double *dh,
                         double *dnext, double *dax, double *dah, Py_ssize_t H) nogil
    void gru_cell_back_f(const float *a, const float *hn, const float *hp, const float *dh,
                         float *dnext, float *dax, float *dah, Py_ssize_t H) nogil
    void rnn_add_rows_d(const double *a, Py_ssize_t rows, Py_ssize_t cols, double *sums) nogil
    void rnn_add_rows_f(const float *a, Py_ssize_t rows, Py_ssize_t cols, double *sums) nogil
    Py_ssize_t rnn_packed_size_d(Py_ssize_t k, Py_ssize_t n) nogil
    Py_ssize_t rnn_packed_size_f(Py_ssize_t k, Py_ssize_t n) nogil
    void rnn_pack_d(const double *b, Py_ssize_t bi, Py_ssize_t bj, Py_ssize_t k, Py_ssize_t n,
                    double *packed) nogil
    void rnn_pack_f(const float *b, Py_ssize_t bi, Py_ssize_t bj, Py_ssize_t k, Py_ssize_t n,
                    float *packed) nogil
    void rnn_gemm_packed_d(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const double *a,
                           Py_ssize_t lda, const double *packed, int add, double *c,
                           Py_ssize_t ldc) nogil
    void rnn_gemm_packed_f(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a,
                           Py_ssize_t lda, const float *packed, int add, float *c,
                           Py_ssize_t ldc) nogil


# -- Wh packed for the per-step products --------------------------------------------------------
def pack(const floating[:, ::1] Wh, bint transpose):
    """Wh (H, GH), or Wh.T with ``transpose``, in the layout of the per-step products
    (forward ``h @ Wh``, backward ``da @ Wh.T``), packed once per call and shared by the
    threads."""
    cdef Py_ssize_t k = Wh.shape[1 if transpose else 0], n = Wh.shape[0 if transpose else 1]
    cdef Py_ssize_t bi = 1 if transpose else n, bj = k if transpose else 1
    cdef floating[::1] packed
    if floating is double:
        packed = np.empty(rnn_packed_size_d(k, n), np.float64)
        rnn_pack_d(&Wh[0, 0], bi, bj, k, n, &packed[0])
    else:
        packed = np.empty(rnn_packed_size_f(k, n), np.float32)
        rnn_pack_f(&Wh[0, 0], bi, bj, k, n, &packed[0])
    return packed.base


# -- the activations alone (for the accuracy tests) ---------------------------------------------
def tanh(const floating[::1] x, floating[::1] out):
    """``out = np.tanh(x)`` with the gate loops' tanh."""
    with nogil:
        if floating is double:
            rnn_tanh_vec_d(&x[0], &out[0], x.shape[0])
        else:
            rnn_tanh_vec_f(&x[0], &out[0], x.shape[0])


def sigmoid(const floating[::1] x, floating[::1] out):
    """``out = 1 / (1 + np.exp(-x))`` with the gate loops' sigmoid."""
    with nogil:
        if floating is double:
            rnn_sigmoid_vec_d(&x[0], &out[0], x.shape[0])
        else:
            rnn_sigmoid_vec_f(&x[0], &out[0], x.shape[0])


# -- vanilla RNN --------------------------------------------------------------------------------
def rnn_forward(const floating[:, :, ::1] x, const floating[:, ::1] h0,
                const floating[:, ::1] Wx, const floating[:, ::1] Wh,
                const floating[::1] packed, const floating[::1] b,
                floating[:, :, ::1] h, const Py_ssize_t[::1] bounds, Py_ssize_t q0, Py_ssize_t q1):
    """``h[:, t] = tanh(h[:, t-1] @ Wh + x[:, t] @ Wx + b)`` for the blocks ``q0 <= q < q1``."""
    cdef Py_ssize_t T = x.shape[1], H = h0.shape[1], q, t, n, n0, n1
    with nogil:
        for q in range(q0, q1):
            n0, n1 = bounds[q], bounds[q + 1]
            _project(&x[n0, 0, 0], &Wx[0, 0], &h[n0, 0, 0], (n1 - n0) * T, x.shape[2], H)
            for t in range(T):
                _recur(_previous(h0, h, n0, t), _stride(T, H, t), &Wh[0, 0], &packed[0], 1,
                       &h[n0, t, 0], n1 - n0, T, H, H)
                for n in range(n0, n1):
                    if floating is double:
                        rnn_cell_d(&h[n, t, 0], &b[0], H)
                    else:
                        rnn_cell_f(&h[n, t, 0], &b[0], H)


def rnn_backward(const floating[:, :, ::1] x, const floating[:, ::1] h0,
                 const floating[:, ::1] Wx, const floating[:, ::1] Wh, const floating[::1] packed,
                 const floating[:, :, ::1] h, const floating[:, :, ::1] dh,
                 floating[:, :, ::1] dx, floating[:, ::1] dh0, floating[:, :, ::1] da,
                 floating[:, :, ::1] dWx_parts, floating[:, :, ::1] dWh_parts,
                 double[:, ::1] db_parts, const Py_ssize_t[::1] bounds,
                 Py_ssize_t q0, Py_ssize_t q1):
    """Gradients of :func:`rnn_forward` for the blocks ``q0 <= q < q1``: dx and dh0 of their
    rows, and each block's dWx, dWh, db in ``*_parts[q]``. da: scratch (N, T, H)."""
    cdef Py_ssize_t T = x.shape[1], H = h0.shape[1], q, t, n, n0, n1
    with nogil:
        for q in range(q0, q1):
            n0, n1 = bounds[q], bounds[q + 1]
            memset(&dh0[n0, 0], 0, (n1 - n0) * H * sizeof(floating))
            for t in range(T - 1, -1, -1):
                for n in range(n0, n1):
                    if floating is double:
                        rnn_cell_back_d(&dh[n, t, 0], &dh0[n, 0], &h[n, t, 0], &da[n, t, 0], H)
                    else:
                        rnn_cell_back_f(&dh[n, t, 0], &dh0[n, 0], &h[n, t, 0], &da[n, t, 0], H)
                _back(&da[n0, t, 0], &Wh[0, 0], &packed[0], 0, &dh0[n0, 0], n1 - n0, T,
                      H, H)
            _weight_grads(&x[n0, 0, 0], &h0[n0, 0], &h[n0, 0, 0], &Wx[0, 0], &da[n0, 0, 0],
                          &da[n0, 0, 0], &dx[n0, 0, 0], &dWx_parts[q, 0, 0], &dWh_parts[q, 0, 0],
                          &db_parts[q, 0], NULL, n1 - n0, T, x.shape[2], H, H)


# -- LSTM ---------------------------------------------------------------------------------------
def lstm_forward(const floating[:, :, ::1] x, const floating[:, ::1] h0,
                 const floating[:, ::1] Wx, const floating[:, ::1] Wh,
                 const floating[::1] packed, const floating[::1] b,
                 floating[:, :, ::1] h, floating[:, :, ::1] gates, floating[:, :, ::1] c,
                 floating[:, :, ::1] tc, const Py_ssize_t[::1] bounds,
                 Py_ssize_t q0, Py_ssize_t q1):
    """LSTM steps (c0 = 0) for the blocks ``q0 <= q < q1``: h, and for the backward pass the
    gates i, f, o, g (N, T, 4H), the cell c and tanh(c) (N, T, H)."""
    cdef Py_ssize_t T = x.shape[1], H = h0.shape[1], q, t, n, n0, n1
    cdef const floating *cp
    with nogil:
        for q in range(q0, q1):
            n0, n1 = bounds[q], bounds[q + 1]
            _project(&x[n0, 0, 0], &Wx[0, 0], &gates[n0, 0, 0], (n1 - n0) * T, x.shape[2], 4 * H)
            for t in range(T):
                _recur(_previous(h0, h, n0, t), _stride(T, H, t), &Wh[0, 0], &packed[0], 1,
                       &gates[n0, t, 0], n1 - n0, T, H, 4 * H)
                for n in range(n0, n1):
                    cp = &c[n, t - 1, 0] if t else NULL
                    if floating is double:
                        lstm_cell_d(&gates[n, t, 0], &b[0], cp, &c[n, t, 0], &tc[n, t, 0],
                                    &h[n, t, 0], H)
                    else:
                        lstm_cell_f(&gates[n, t, 0], &b[0], cp, &c[n, t, 0], &tc[n, t, 0],
                                    &h[n, t, 0], H)


def lstm_backward(const floating[:, :, ::1] x, const floating[:, ::1] h0,
                  const floating[:, ::1] Wx, const floating[:, ::1] Wh, const floating[::1] packed,
                  const floating[:, :, ::1] h, const floating[:, :, ::1] gates,
                  const floating[:, :, ::1] c, const floating[:, :, ::1] tc,
                  const floating[:, :, ::1] dh, floating[:, :, ::1] dx, floating[:, ::1] dh0,
                  floating[:, ::1] dc, floating[:, :, ::1] da, floating[:, :, ::1] dWx_parts,
                  floating[:, :, ::1] dWh_parts, double[:, ::1] db_parts,
                  const Py_ssize_t[::1] bounds, Py_ssize_t q0, Py_ssize_t q1):
    """Gradients of :func:`lstm_forward` for the blocks ``q0 <= q < q1`` (as
    :func:`rnn_backward`). dc: scratch (N, H); da: scratch (N, T, 4H)."""
    cdef Py_ssize_t T = x.shape[1], H = h0.shape[1], q, t, n, n0, n1
    cdef const floating *cp
    with nogil:
        for q in range(q0, q1):
            n0, n1 = bounds[q], bounds[q + 1]
            memset(&dh0[n0, 0], 0, (n1 - n0) * H * sizeof(floating))
            memset(&dc[n0, 0], 0, (n1 - n0) * H * sizeof(floating))
            for t in range(T - 1, -1, -1):
                for n in range(n0, n1):
                    cp = &c[n, t - 1, 0] if t else NULL
                    if floating is double:
                        lstm_cell_back_d(&gates[n, t, 0], cp, &tc[n, t, 0], &dh[n, t, 0],
                                         &dh0[n, 0], &dc[n, 0], &da[n, t, 0], H)
                    else:
                        lstm_cell_back_f(&gates[n, t, 0], cp, &tc[n, t, 0], &dh[n, t, 0],
                                         &dh0[n, 0], &dc[n, 0], &da[n, t, 0], H)
                _back(&da[n0, t, 0], &Wh[0, 0], &packed[0], 0, &dh0[n0, 0], n1 - n0, T,
                      H, 4 * H)
            _weight_grads(&x[n0, 0, 0], &h0[n0, 0], &h[n0, 0, 0], &Wx[0, 0], &da[n0, 0, 0],
                          &da[n0, 0, 0], &dx[n0, 0, 0], &dWx_parts[q, 0, 0], &dWh_parts[q, 0, 0],
                          &db_parts[q, 0], NULL, n1 - n0, T, x.shape[2], H, 4 * H)


# -- GRU ----------------------------------------------------------------------------------------
def gru_forward(const floating[:, :, ::1] x, const floating[:, ::1] h0,
                const floating[:, ::1] Wx, const floating[:, ::1] Wh,
                const floating[::1] packed, const floating[::1] bx,
                const floating[::1] bh, floating[:, :, ::1] h, floating[:, :, ::1] gates,
                floating[:, :, ::1] hn, floating[:, ::1] hw, const Py_ssize_t[::1] bounds,
                Py_ssize_t q0, Py_ssize_t q1):
    """GRU steps for the blocks ``q0 <= q < q1``: h, and for the backward pass the gates
    r, z, n (N, T, 3H) and hn = h_prev @ Wh_n + bh_n (N, T, H). hw: scratch (N, 3H)."""
    cdef Py_ssize_t T = x.shape[1], H = h0.shape[1], q, t, n, n0, n1
    cdef const floating *hp
    with nogil:
        for q in range(q0, q1):
            n0, n1 = bounds[q], bounds[q + 1]
            _project(&x[n0, 0, 0], &Wx[0, 0], &gates[n0, 0, 0], (n1 - n0) * T, x.shape[2], 3 * H)
            for t in range(T):
                _recur(_previous(h0, h, n0, t), _stride(T, H, t), &Wh[0, 0], &packed[0], 0,
                       &hw[n0, 0], n1 - n0, 1, H, 3 * H)
                for n in range(n0, n1):
                    hp = _previous(h0, h, n, t)
                    if floating is double:
                        gru_cell_d(&gates[n, t, 0], &hw[n, 0], &bx[0], &bh[0], hp, &hn[n, t, 0],
                                   &h[n, t, 0], H)
                    else:
                        gru_cell_f(&gates[n, t, 0], &hw[n, 0], &bx[0], &bh[0], hp, &hn[n, t, 0],
                                   &h[n, t, 0], H)


def gru_backward(const floating[:, :, ::1] x, const floating[:, ::1] h0,
                 const floating[:, ::1] Wx, const floating[:, ::1] Wh, const floating[::1] packed,
                 const floating[:, :, ::1] h, const floating[:, :, ::1] gates,
                 const floating[:, :, ::1] hn, const floating[:, :, ::1] dh,
                 floating[:, :, ::1] dx, floating[:, ::1] dh0, floating[:, :, ::1] dax,
                 floating[:, :, ::1] dah, floating[:, :, ::1] dWx_parts,
                 floating[:, :, ::1] dWh_parts, double[:, ::1] dbx_parts, double[:, ::1] dbh_parts,
                 const Py_ssize_t[::1] bounds, Py_ssize_t q0, Py_ssize_t q1):
    """Gradients of :func:`gru_forward` for the blocks ``q0 <= q < q1`` (as
    :func:`rnn_backward`, with dbx and dbh). dax, dah: scratch (N, T, 3H)."""
    cdef Py_ssize_t T = x.shape[1], H = h0.shape[1], q, t, n, n0, n1
    cdef const floating *hp
    with nogil:
        for q in range(q0, q1):
            n0, n1 = bounds[q], bounds[q + 1]
            memset(&dh0[n0, 0], 0, (n1 - n0) * H * sizeof(floating))
            for t in range(T - 1, -1, -1):
                for n in range(n0, n1):
                    hp = _previous(h0, h, n, t)
                    if floating is double:
                        gru_cell_back_d(&gates[n, t, 0], &hn[n, t, 0], hp, &dh[n, t, 0],
                                        &dh0[n, 0], &dax[n, t, 0], &dah[n, t, 0], H)
                    else:
                        gru_cell_back_f(&gates[n, t, 0], &hn[n, t, 0], hp, &dh[n, t, 0],
                                        &dh0[n, 0], &dax[n, t, 0], &dah[n, t, 0], H)
                _back(&dah[n0, t, 0], &Wh[0, 0], &packed[0], 1, &dh0[n0, 0], n1 - n0, T,
                      H, 3 * H)
            _weight_grads(&x[n0, 0, 0], &h0[n0, 0], &h[n0, 0, 0], &Wx[0, 0], &dax[n0, 0, 0],
                          &dah[n0, 0, 0], &dx[n0, 0, 0], &dWx_parts[q, 0, 0], &dWh_parts[q, 0, 0],
                          &dbx_parts[q, 0], &dbh_parts[q, 0], n1 - n0, T, x.shape[2], H, 3 * H)


# -- the products -------------------------------------------------------------------------------
cdef inline const floating *_previous(const floating[:, ::1] h0, const floating[:, :, ::1] h,
                                      Py_ssize_t n, Py_ssize_t t) noexcept nogil:
    """Row n of the hidden state before step t: h0[n] at t = 0, else h[n, t-1]."""
    return &h0[n, 0] if t == 0 else &h[n, t - 1, 0]


cdef inline Py_ssize_t _stride(Py_ssize_t T, Py_ssize_t H, Py_ssize_t t) noexcept nogil:
    """Elements between rows n and n+1 of :func:`_previous`: H in h0, T*H in h."""
    return H if t == 0 else T * H


cdef inline void _project(const floating *x, const floating *Wx, floating *out, Py_ssize_t R,
                          Py_ssize_t D, Py_ssize_t GH) noexcept nogil:
    """``out (R, GH) = x (R, D) @ Wx (D, GH)``, all steps of a block's rows at once."""
    # column-major BLAS sees the row-major out as (GH, R): out.T = Wx.T @ x.T
    _gemm(b"N", b"N", GH, R, D, Wx, GH, x, D, 0, out, GH)


cdef inline void _recur(const floating *hprev, Py_ssize_t ldh, const floating *Wh,
                        const floating *packed, floating beta, floating *out, Py_ssize_t rows,
                        Py_ssize_t T, Py_ssize_t H, Py_ssize_t GH) noexcept nogil:
    """``out (rows, GH) = hprev (rows, H) @ Wh (H, GH) + beta * out``, rows of hprev ldh
    elements apart and of out T*GH apart; packed: Wh packed (one row: BLAS's GEMV)."""
    if rows == 1:
        _gemm(b"N", b"N", GH, 1, H, Wh, GH, hprev, ldh, beta, out, T * GH)
    elif floating is double:
        rnn_gemm_packed_d(rows, GH, H, hprev, ldh, packed, beta != 0, out, T * GH)
    else:
        rnn_gemm_packed_f(rows, GH, H, hprev, ldh, packed, beta != 0, out, T * GH)


cdef inline void _back(const floating *da, const floating *Wh, const floating *packed,
                       floating beta, floating *dnext, Py_ssize_t rows, Py_ssize_t T,
                       Py_ssize_t H, Py_ssize_t GH) noexcept nogil:
    """``dnext (rows, H) = da (rows, GH) @ Wh.T + beta * dnext``, rows of da T*GH apart;
    packed: Wh.T packed (one row: BLAS's GEMV)."""
    if rows == 1:
        _gemm(b"T", b"N", H, 1, GH, Wh, GH, da, T * GH, beta, dnext, H)
    elif floating is double:
        rnn_gemm_packed_d(rows, H, GH, da, T * GH, packed, beta != 0, dnext, H)
    else:
        rnn_gemm_packed_f(rows, H, GH, da, T * GH, packed, beta != 0, dnext, H)


cdef void _weight_grads(const floating *x, const floating *h0, const floating *h,
                        const floating *Wx, const floating *dax, floating *dah, floating *dx,
                        floating *dWx, floating *dWh, double *dbx, double *dbh,
                        Py_ssize_t rows, Py_ssize_t T, Py_ssize_t D, Py_ssize_t H,
                        Py_ssize_t GH) noexcept nogil:
    """One block's dx = dax @ Wx.T, dWx = x.T @ dax, dbx = dax.sum(0), dWh = h_prev.T @ dah
    and (GRU, else NULL: dah is dax) dbh = dah.sum(0), each one GEMM (or sum) over all its
    rows' steps. Clobbers dah's t = 0 rows."""
    cdef Py_ssize_t R = rows * T, n
    _gemm(b"T", b"N", D, R, GH, Wx, GH, dax, GH, 0, dx, D)
    # dWx (D, GH), seen by BLAS as (GH, D): = dax.T (GH, R) @ x (R, D)
    _gemm(b"N", b"T", GH, D, R, dax, GH, x, D, 0, dWx, GH)
    _column_sums(dax, R, GH, dbx)
    if dbh != NULL:
        _column_sums(dah, R, GH, dbh)
    # h_prev is h shifted by one step, with h0 in front: the flat rows r - 1 of h pair with
    # the rows r of dah except at t = 0, where h0 comes in; those rows are zeroed after h0's
    # product so that the shifted product over all rows adds nothing for them
    _gemm(b"N", b"T", GH, H, rows, dah, T * GH, h0, H, 0, dWh, GH)
    for n in range(1, rows):
        memset(dah + n * T * GH, 0, GH * sizeof(floating))
    if R > 1:
        _gemm(b"N", b"T", GH, H, R - 1, dah + GH, GH, h, H, 1, dWh, GH)


cdef inline void _column_sums(const floating *a, Py_ssize_t rows, Py_ssize_t cols,
                              double *sums) noexcept nogil:
    """``sums = a (rows, cols).sum(axis=0)``, accumulated in double in row order."""
    memset(sums, 0, cols * sizeof(double))
    if floating is double:
        rnn_add_rows_d(a, rows, cols, sums)
    else:
        rnn_add_rows_f(a, rows, cols, sums)


cdef inline void _gemm(char *trans_a, char *trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       const floating *a, Py_ssize_t lda, const floating *b, Py_ssize_t ldb,
                       floating beta, floating *c, Py_ssize_t ldc) noexcept nogil:
    """Column-major ``c (m, n) = op(a) @ op(b) + beta * c`` (as in _conv.pyx; the wrapper
    checked that every size fits BLAS's int). One column (a block of one row) goes to GEMV:
    GEMM would first copy all of op(a) into its packed layout, at every step, which for
    N = 1 took twice as long as the product itself."""
    cdef int im = <int>m, in_ = <int>n, ik = <int>k
    cdef int ia = <int>max(1, lda), ib = <int>max(1, ldb), ic = <int>max(1, ldc)
    cdef floating one = 1
    if n == 1:
        _gemv(trans_a, trans_b, m, k, a, lda, b, ldb, beta, c)
    elif floating is double:
        dgemm(trans_a, trans_b, &im, &in_, &ik, &one, <double *>a, &ia, <double *>b, &ib,
              &beta, c, &ic)
    else:
        sgemm(trans_a, trans_b, &im, &in_, &ik, &one, <float *>a, &ia, <float *>b, &ib,
              &beta, c, &ic)


cdef inline void _gemv(char *trans_a, char *trans_b, Py_ssize_t m, Py_ssize_t k,
                       const floating *a, Py_ssize_t lda, const floating *b, Py_ssize_t ldb,
                       floating beta, floating *c) noexcept nogil:
    """:func:`_gemm` for n = 1: ``c (m) = op(a) (m, k) @ b + beta * c``, with b the one
    column of op(b): contiguous, or (trans_b "T") one element per ldb."""
    cdef bint t = trans_a[0] == b"T"
    cdef int rows = <int>(k if t else m), cols = <int>(m if t else k)
    cdef int ia = <int>max(1, lda), inc_b = <int>(ldb if trans_b[0] == b"T" else 1), one_step = 1
    cdef floating one = 1
    if floating is double:
        dgemv(trans_a, &rows, &cols, &one, <double *>a, &ia, <double *>b, &inc_b, &beta, c,
              &one_step)
    else:
        sgemv(trans_a, &rows, &cols, &one, <float *>a, &ia, <float *>b, &inc_b, &beta, c,
              &one_step)

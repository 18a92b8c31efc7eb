"""The GEMM of the core_ext kernels: NumPy's OpenBLAS where it can be found, else SciPy's.

NumPy's and SciPy's wheels each ship an OpenBLAS, built apart and not always of one version.
Measured here (OPENBLAS_CORETYPE=Haswell, one thread, a convolution's three products of a
16x16 image with 64 channels), NumPy's (0.3.31) ran single precision at 95-101 GFLOP/s where
SciPy's (0.3.30) ran 76-92, and double precision 2-3 % faster. :func:`use_cblas` hands this
module the addresses of that library's 64-bit-integer CBLAS ``sgemm``/``dgemm`` (core_ext's
``__init__`` finds them); until then, or where they are not found, SciPy's ``cython_blas``
runs. Both are called without the GIL, in the kernels' column-major convention.
"""

from libc.stdint cimport int64_t
from scipy.linalg cimport cython_blas

ctypedef void (*cblas_sgemm_t)(int, int, int, int64_t, int64_t, int64_t, float, const float *,
                               int64_t, const float *, int64_t, float, float *,
                               int64_t) noexcept nogil
ctypedef void (*cblas_dgemm_t)(int, int, int, int64_t, int64_t, int64_t, double,
                               const double *, int64_t, const double *, int64_t, double,
                               double *, int64_t) noexcept nogil

cdef enum:
    COL_MAJOR = 102  # CBLAS's enum values (cblas.h)
    NO_TRANS = 111
    TRANS = 112

cdef cblas_sgemm_t _sgemm = NULL
cdef cblas_dgemm_t _dgemm = NULL


def use_cblas(size_t sgemm_address, size_t dgemm_address) -> None:
    """Call these CBLAS functions (``cblas_sgemm``/``cblas_dgemm`` with 64-bit integers, as
    NumPy's OpenBLAS exports them) from now on; 0 and 0 go back to SciPy's BLAS. The caller
    vouches for the addresses: a wrong one crashes the process."""
    global _sgemm, _dgemm
    if (sgemm_address == 0) != (dgemm_address == 0):
        raise ValueError("give both addresses or neither")
    _sgemm = <cblas_sgemm_t>sgemm_address
    _dgemm = <cblas_dgemm_t>dgemm_address


def source() -> str:
    """Which BLAS the kernels call: "cblas" (the addresses given) or "scipy"."""
    return "cblas" if _sgemm != NULL else "scipy"


cdef inline int _trans(char *t) noexcept nogil:
    return NO_TRANS if t[0] == b'N' or t[0] == b'n' else TRANS


cdef void sgemm(char *transa, char *transb, int *m, int *n, int *k, float *alpha, float *a,
                int *lda, float *b, int *ldb, float *beta, float *c, int *ldc) noexcept nogil:
    if _sgemm != NULL:
        _sgemm(COL_MAJOR, _trans(transa), _trans(transb), m[0], n[0], k[0], alpha[0], a,
               lda[0], b, ldb[0], beta[0], c, ldc[0])
    else:
        cython_blas.sgemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


cdef void dgemm(char *transa, char *transb, int *m, int *n, int *k, double *alpha, double *a,
                int *lda, double *b, int *ldb, double *beta, double *c, int *ldc) noexcept nogil:
    if _dgemm != NULL:
        _dgemm(COL_MAJOR, _trans(transa), _trans(transb), m[0], n[0], k[0], alpha[0], a,
               lda[0], b, ldb[0], beta[0], c, ldc[0])
    else:
        cython_blas.dgemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

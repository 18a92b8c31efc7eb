"""A NumPy memory handler (NEP 49) that keeps a few freed large blocks for the next array of
the same size.

The fast layers return fresh arrays (out, dx, ...) every call, and the first touch of a fresh
large array costs as much as a fast kernel that fills it: the OS zeroes every new page as it
faults in (figures in bench/README.md). Blocks this handler kept from the last call are
already mapped. The wrappers allocate their results under it (:func:`handler` installs it for
the current context); every array it allocated comes back to it when freed, wherever that is.

It keeps blocks of at least ``MIN_BLOCK`` bytes, at most ``SLOTS`` of them and ``MAX_BYTES``
in all (dropping the oldest first); everything else goes straight back to ``free``. Each block
records its own size in a header, so reuse never trusts a size from elsewhere.
"""

from cpython.pycapsule cimport PyCapsule_New
cimport numpy as cnp

cnp.import_array()

cdef extern from *:
    """
    #include <pthread.h>
    #include <stdint.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/mman.h>

    #define RECYCLE_MIN_BLOCK ((size_t)1 << 20)
    #define RECYCLE_MAX_BYTES ((size_t)256 << 20)
    #define RECYCLE_SLOTS 8
    #define RECYCLE_HEADER 64  /* keeps the 16-byte alignment of malloc; holds the size */
    #define RECYCLE_HUGE ((size_t)4 << 20)

    static void *recycle_slot[RECYCLE_SLOTS];  /* block starts (headers), oldest first */
    static size_t recycle_bytes = 0;
    static int recycle_count = 0;
    static pthread_mutex_t recycle_lock = PTHREAD_MUTEX_INITIALIZER;

    static size_t recycle_size(void *block) { return *(size_t *)block; }

    static void *recycle_user(void *block, size_t size) {
        *(size_t *)block = size;
        return (char *)block + RECYCLE_HEADER;
    }

    static void *recycle_fresh(size_t size) {
        char *block = malloc(size + RECYCLE_HEADER);
        if (block == NULL) return NULL;
    #ifdef MADV_HUGEPAGE
        if (size >= RECYCLE_HUGE) {
            /* as NumPy's own allocator does: ask for transparent huge pages, whose first
               touch costs one fault per 2 MiB instead of one per 4 KiB */
            uintptr_t start = ((uintptr_t)block + 4095) & ~(uintptr_t)4095;
            uintptr_t end = ((uintptr_t)block + size + RECYCLE_HEADER) & ~(uintptr_t)4095;
            if (end > start) madvise((void *)start, end - start, MADV_HUGEPAGE);
        }
    #endif
        return recycle_user(block, size);
    }

    static void *recycle_malloc(void *ctx, size_t size) {
        (void)ctx;
        if (size >= RECYCLE_MIN_BLOCK) {
            pthread_mutex_lock(&recycle_lock);
            for (int i = recycle_count - 1; i >= 0; i--) {  /* the newest first */
                void *block = recycle_slot[i];
                if (recycle_size(block) == size) {
                    memmove(recycle_slot + i, recycle_slot + i + 1,
                            (recycle_count - i - 1) * sizeof(void *));
                    recycle_count--;
                    recycle_bytes -= size;
                    pthread_mutex_unlock(&recycle_lock);
                    return recycle_user(block, size);
                }
            }
            pthread_mutex_unlock(&recycle_lock);
        }
        return recycle_fresh(size);
    }

    static void *recycle_calloc(void *ctx, size_t count, size_t itemsize) {
        (void)ctx;
        if (itemsize != 0 && count > (SIZE_MAX - RECYCLE_HEADER) / itemsize) return NULL;
        char *block = calloc(1, count * itemsize + RECYCLE_HEADER);
        return block == NULL ? NULL : recycle_user(block, count * itemsize);
    }

    static void *recycle_realloc(void *ctx, void *ptr, size_t size) {
        (void)ctx;
        if (ptr == NULL) return recycle_malloc(ctx, size);
        char *block = realloc((char *)ptr - RECYCLE_HEADER, size + RECYCLE_HEADER);
        return block == NULL ? NULL : recycle_user(block, size);
    }

    static void recycle_free(void *ctx, void *ptr, size_t ignored) {
        (void)ctx; (void)ignored;  /* the header knows the size */
        if (ptr == NULL) return;
        void *block = (char *)ptr - RECYCLE_HEADER;
        size_t size = recycle_size(block);
        if (size < RECYCLE_MIN_BLOCK || size > RECYCLE_MAX_BYTES) {
            free(block);
            return;
        }
        pthread_mutex_lock(&recycle_lock);
        while (recycle_count == RECYCLE_SLOTS || recycle_bytes + size > RECYCLE_MAX_BYTES) {
            void *oldest = recycle_slot[0];
            recycle_bytes -= recycle_size(oldest);
            memmove(recycle_slot, recycle_slot + 1, (recycle_count - 1) * sizeof(void *));
            recycle_count--;
            free(oldest);
        }
        recycle_slot[recycle_count++] = block;
        recycle_bytes += size;
        pthread_mutex_unlock(&recycle_lock);
    }

    static void recycle_clear(void) {
        pthread_mutex_lock(&recycle_lock);
        for (int i = 0; i < recycle_count; i++) free(recycle_slot[i]);
        recycle_count = 0;
        recycle_bytes = 0;
        pthread_mutex_unlock(&recycle_lock);
    }

    static PyDataMem_Handler recycle_handler = {
        "layerlab_recycling", 1,
        {NULL, recycle_malloc, recycle_calloc, recycle_realloc, recycle_free}};
    """
    size_t RECYCLE_MIN_BLOCK, RECYCLE_MAX_BYTES
    int RECYCLE_SLOTS
    size_t recycle_bytes
    int recycle_count
    cnp.PyDataMem_Handler recycle_handler
    void recycle_clear() nogil

MIN_BLOCK, MAX_BYTES, SLOTS = RECYCLE_MIN_BLOCK, RECYCLE_MAX_BYTES, RECYCLE_SLOTS

_HANDLER = PyCapsule_New(&recycle_handler, "mem_handler", NULL)


def handler():
    """Install the recycling handler for the current context; returns the one it replaced."""
    return cnp.PyDataMem_SetHandler(_HANDLER)


def restore(previous):
    """Put back the handler :func:`handler` returned."""
    cnp.PyDataMem_SetHandler(previous)


def kept() -> tuple[int, int]:
    """(blocks, bytes) kept for reuse now (read under the GIL; a snapshot)."""
    return recycle_count, recycle_bytes


def clear() -> None:
    """Give every kept block back to the system."""
    recycle_clear()

"""A thread pool for OpenBLAS's parallel jobs whose threads sleep when idle.

OpenBLAS's own worker threads busy-spin for 2**28 clock ticks (about 0.1 s here) after every
multi-threaded call before they sleep. A core_ext kernel that starts right after a NumPy
matmul, as in every training loop, then shares the two cores with a spinning thread: an RNN
call took 1.3-1.6x its time alone, a convolution 1.8x. OpenBLAS (0.3.27 and later, pthreads
builds included) lets a program run those jobs on threads of its own
(``openblas_set_threads_callback_function``); this module is such a pool. Its workers spin
for at most ``spin_us`` microseconds (default 100) after a job and then wait on a condition
variable, so a core_ext kernel right after a NumPy matmul gets both cores.

The jobs of one OpenBLAS call wait for each other (a threaded GEMM's threads share packed
panels), so every job of a call gets a thread of its own: the caller runs job 0, workers the
others, one each; one call at a time uses the pool (others wait their turn). Workers are
started as needed; after a fork the child starts afresh (its parent's workers do not exist
there). Results are OpenBLAS's own, bit for bit: the same jobs run, only on other threads.
"""

cdef extern from *:
    """
    #include <pthread.h>
    #include <stdint.h>
    #include <stdio.h>
    #include <time.h>

    typedef void (*lp_dojob)(int, void *, int);
    typedef void (*lp_callback_t)(int, lp_dojob, int, size_t, void *, int);
    typedef void (*lp_setter_t)(lp_callback_t);

    #define LP_MAX_WORKERS 255

    static pthread_mutex_t lp_mu = PTHREAD_MUTEX_INITIALIZER;    /* guards the fields below */
    static pthread_cond_t lp_work = PTHREAD_COND_INITIALIZER;    /* a new call's jobs are out */
    static pthread_cond_t lp_done = PTHREAD_COND_INITIALIZER;    /* the last job finished */
    static pthread_mutex_t lp_call = PTHREAD_MUTEX_INITIALIZER;  /* one call at a time */
    static int lp_workers = 0;
    static unsigned long lp_generation = 0;                      /* calls handed out so far */
    static lp_dojob lp_fn;
    static char *lp_data;
    static size_t lp_elsize;
    static int lp_count, lp_arg, lp_next;
    static int lp_remaining;                                     /* jobs of this call not done */
    static long lp_spin_ns = 100000;
    static int lp_atfork_set = 0;
    static unsigned long lp_calls = 0;

    static long lp_now_ns(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (long)t.tv_sec * 1000000000L + t.tv_nsec;
    }

    static inline void lp_relax(void) {
    #if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
    #endif
    }

    /* Spin until *value != unchanged or lp_spin_ns pass; 1 if it changed. */
    static int lp_spin_while_ulong(unsigned long *value, unsigned long unchanged) {
        long deadline = lp_now_ns() + __atomic_load_n(&lp_spin_ns, __ATOMIC_RELAXED);
        int i = 0;
        while (__atomic_load_n(value, __ATOMIC_ACQUIRE) == unchanged) {
            lp_relax();
            if (++i % 64 == 0 && lp_now_ns() > deadline) return 0;
        }
        return 1;
    }

    static int lp_spin_until_zero(int *value) {
        long deadline = lp_now_ns() + __atomic_load_n(&lp_spin_ns, __ATOMIC_RELAXED);
        int i = 0;
        while (__atomic_load_n(value, __ATOMIC_ACQUIRE) != 0) {
            lp_relax();
            if (++i % 64 == 0 && lp_now_ns() > deadline) return 0;
        }
        return 1;
    }

    static void lp_finish_one(void) {
        if (__atomic_sub_fetch(&lp_remaining, 1, __ATOMIC_ACQ_REL) == 0) {
            pthread_mutex_lock(&lp_mu);
            pthread_cond_broadcast(&lp_done);
            pthread_mutex_unlock(&lp_mu);
        }
    }

    static void *lp_worker(void *start) {
        /* start: the number of calls handed out when this worker was made (it takes jobs
           from the calls after it; read here instead, a call made meanwhile would be missed) */
        unsigned long seen = (unsigned long)(uintptr_t)start;
        int i;
        lp_dojob fn;
        char *data;
        size_t elsize;
        int arg;
        for (;;) {
            lp_spin_while_ulong(&lp_generation, seen);
            pthread_mutex_lock(&lp_mu);
            while (lp_generation == seen) pthread_cond_wait(&lp_work, &lp_mu);
            seen = lp_generation;
            i = lp_next < lp_count ? lp_next++ : -1;
            fn = lp_fn; data = lp_data; elsize = lp_elsize; arg = lp_arg;
            pthread_mutex_unlock(&lp_mu);
            if (i >= 0) {
                fn(i, data + (size_t)i * elsize, arg);
                lp_finish_one();
            }
        }
        return NULL;
    }

    static void lp_after_fork_child(void) {
        /* the parent's workers do not exist in the child: start afresh */
        pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
        pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
        lp_mu = mu; lp_call = mu; lp_work = cv; lp_done = cv;
        lp_workers = 0;
        lp_remaining = 0;
    }

    /* Make sure `wanted` workers run; the number running. Caller holds lp_call. */
    static int lp_ensure(int wanted) {
        pthread_t thread;
        pthread_attr_t attr;
        if (wanted > LP_MAX_WORKERS) wanted = LP_MAX_WORKERS;
        if (!lp_atfork_set) {
            pthread_atfork(NULL, NULL, lp_after_fork_child);
            lp_atfork_set = 1;
        }
        while (lp_workers < wanted) {
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            if (pthread_create(&thread, &attr, lp_worker,
                               (void *)(uintptr_t)__atomic_load_n(&lp_generation,
                                                                 __ATOMIC_ACQUIRE)) != 0) {
                pthread_attr_destroy(&attr);
                break;
            }
            pthread_attr_destroy(&attr);
            lp_workers++;
        }
        return lp_workers;
    }

    static void lp_callback(int sync, lp_dojob fn, int count, size_t elsize, void *data,
                            int arg) {
        int i;
        if (count <= 1) {
            if (count == 1) fn(0, data, arg);
            return;
        }
        pthread_mutex_lock(&lp_call);
        lp_calls++;
        if (lp_ensure(count - 1) < count - 1) {
            /* no thread for every job: OpenBLAS's GEMM jobs wait for each other, so running
               the rest here could hang; say why if it does */
            fprintf(stderr, "core_ext: could not start %d threads for OpenBLAS's jobs\\n",
                    count - 1);
        }
        pthread_mutex_lock(&lp_mu);
        lp_fn = fn; lp_data = (char *)data; lp_elsize = elsize; lp_count = count; lp_arg = arg;
        lp_next = 1;
        __atomic_store_n(&lp_remaining, count, __ATOMIC_RELEASE);
        __atomic_add_fetch(&lp_generation, 1, __ATOMIC_ACQ_REL);
        pthread_cond_broadcast(&lp_work);
        pthread_mutex_unlock(&lp_mu);
        fn(0, data, arg);
        /* jobs no worker took (too few threads): run them here */
        for (;;) {
            pthread_mutex_lock(&lp_mu);
            i = lp_workers < count - 1 && lp_next < lp_count ? lp_next++ : -1;
            pthread_mutex_unlock(&lp_mu);
            if (i < 0) break;
            fn(i, (char *)data + (size_t)i * elsize, arg);
            __atomic_sub_fetch(&lp_remaining, 1, __ATOMIC_ACQ_REL);
        }
        if (__atomic_sub_fetch(&lp_remaining, 1, __ATOMIC_ACQ_REL) != 0
                && !lp_spin_until_zero(&lp_remaining)) {
            pthread_mutex_lock(&lp_mu);
            while (__atomic_load_n(&lp_remaining, __ATOMIC_ACQUIRE) != 0)
                pthread_cond_wait(&lp_done, &lp_mu);
            pthread_mutex_unlock(&lp_mu);
        }
        pthread_mutex_unlock(&lp_call);
    }

    static void lp_install(size_t setter) {
        ((lp_setter_t)setter)(lp_callback);
    }

    static void lp_uninstall(size_t setter) {
        ((lp_setter_t)setter)(NULL);
    }

    static void lp_set_spin(long ns) {
        __atomic_store_n(&lp_spin_ns, ns, __ATOMIC_RELAXED);
    }

    static int lp_worker_count(void) { return lp_workers; }
    static unsigned long lp_call_count(void) { return lp_calls; }

    static int lp_start(int wanted) {
        int n;
        pthread_mutex_lock(&lp_call);
        n = lp_ensure(wanted);
        pthread_mutex_unlock(&lp_call);
        return n;
    }
    """
    void lp_install(size_t setter) nogil
    void lp_uninstall(size_t setter) nogil
    void lp_set_spin(long ns) nogil
    int lp_worker_count() nogil
    unsigned long lp_call_count() nogil
    int lp_start(int wanted) nogil


def install(size_t setter, int workers):
    """Route the OpenBLAS whose ``openblas_set_threads_callback_function`` is at address
    ``setter`` through this pool, after starting ``workers`` threads; the number started
    (fewer than asked means threads can't be started here: then nothing is installed)."""
    started = lp_start(workers)
    if started >= workers:
        lp_install(setter)
    return started


def uninstall(size_t setter):
    """Give that OpenBLAS its own threads back."""
    lp_uninstall(setter)


def set_spin(double microseconds):
    """How long an idle worker (and a caller waiting for its jobs) spins before sleeping."""
    lp_set_spin(<long>(microseconds * 1000))


def workers():
    """Threads started in this process."""
    return lp_worker_count()


def calls():
    """OpenBLAS calls that ran on the pool in this process."""
    return lp_call_count()

"""In-memory passes on every core: row ranges in threads, one BLAS thread each.

OpenBLAS spreads a skinny product ``(m, C) @ (C, w)`` (``w`` ~ 10-60, the
randomised solver's blocks and the scores' pass) poorly over its threads: on
this project's 2-core machine a pass of 256 x 256 x 1024 float32 with
``w = 13`` took 0.100 s with two BLAS threads and 0.071 s as two Python
threads (NumPy releases the GIL in its kernels) over halves of the rows with
one BLAS thread each. And multi-threaded LAPACK on the small ``(C, w)``
panels (QR, SVD) wakes its threads for microseconds of work: medians of
0.3 ms with spikes to 60 ms on a busy machine, steady with one thread.

The BLAS thread count is process-wide, so only calls from the main thread
(a script, a Jupyter kernel) set it, and restore it on leaving.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

_LOCK = threading.Lock()
_DEPTH = 0  # nesting in the main thread
_SAVED: list = []
_WORKERS = 1
_CONTROLLER = None
_POOL = None


def _after_fork_in_child():
    # A forked child has none of the pool's threads (an executor inherited
    # from the parent would queue work that never runs) and starts outside
    # any ``single_blas_thread``.
    global _POOL, _DEPTH, _LOCK
    _POOL, _DEPTH, _LOCK = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _controller():
    # One scan of the loaded libraries (a fresh scan costs ~3 ms a call);
    # made at first use, after NumPy's and SciPy's BLAS are both loaded.
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController  # scikit-learn's dependency

        _CONTROLLER = ThreadpoolController().select(user_api="blas")
    return _CONTROLLER


@contextmanager
def single_blas_thread():
    """One BLAS thread while inside; yields the worker count to use.

    Only the main thread changes the setting (OpenBLAS ignores
    ``openblas_set_num_threads`` from other threads once the main thread has
    called it, so a restore from another thread could be lost): there the
    count is the BLAS thread count in force (the user's ``OMP_NUM_THREADS``
    / ``threadpoolctl`` setting), restored on leaving. Elsewhere (a user's
    thread, a dask worker) nothing changes and the count is 1: the caller
    runs its ranges inline with BLAS as it is. Another thread's BLAS calls
    made meanwhile also run on one thread.
    """
    global _DEPTH, _SAVED, _WORKERS
    if threading.current_thread() is not threading.main_thread():
        yield 1
        return
    if _DEPTH == 0:
        libs = _controller().lib_controllers
        _SAVED = [lib.num_threads for lib in libs]
        for lib in libs:
            lib.set_num_threads(1)
        took = all(lib.num_threads == 1 for lib in libs)
        _WORKERS = max(_SAVED, default=1) if took else 1
    workers = _WORKERS
    _DEPTH += 1
    try:
        yield workers
    finally:
        _DEPTH -= 1
        if _DEPTH == 0:
            for lib, n in zip(_controller().lib_controllers, _SAVED):
                lib.set_num_threads(n)


def row_ranges(n: int, block_rows: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges of ``range(n)`` cut at multiples of a block.

    Fewer ranges when there are fewer blocks than parts; the cut depends only
    on ``(n, block_rows, parts)``, so the sums over ranges are reproducible.
    """
    n_blocks = max(-(-n // max(block_rows, 1)), 1)
    parts = max(1, min(parts, n_blocks))
    cuts = [min(n, (n_blocks * i // parts) * block_rows) for i in range(parts + 1)]
    cuts[-1] = n
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:])]


def _pool(size):
    # Persistent threads: the passes' per-thread scratch buffers
    # (``randomized._scratch``) then survive between passes and calls (fresh
    # memory costs ~2 s per GiB to touch here, more than a block's products).
    global _POOL
    with _LOCK:
        if _POOL is None or _POOL._max_workers < size:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(size, thread_name_prefix="hyperspy_unmix")
        return _POOL


def map_ranges(func, ranges):
    """``[func(lo, hi) for lo, hi in ranges]``, the ranges in threads.

    The first range runs in the calling thread, the others in a persistent
    pool. ``func`` must not call ``map_ranges`` itself.
    """
    if len(ranges) <= 1:
        return [func(lo, hi) for lo, hi in ranges]
    futures = [_pool(len(ranges) - 1).submit(func, lo, hi) for lo, hi in ranges[1:]]
    try:
        first = func(*ranges[0])
    finally:
        rest = [f.result() for f in futures]
    return [first, *rest]

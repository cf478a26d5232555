"""Row ranges in threads with one BLAS thread each (``_core.parallel``)."""

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from hyperspy_unmix._core.abundances import projections
from hyperspy_unmix._core.parallel import map_ranges, row_ranges, single_blas_thread
from hyperspy_unmix._core.randomized import randomized_subspace


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.mark.parametrize("n", [0, 1, 7, 512, 513, 5000])
@pytest.mark.parametrize("parts", [1, 2, 3, 8])
def test_row_ranges_cover_the_rows_at_block_cuts(n, parts):
    block = 256
    ranges = row_ranges(n, block, parts)
    assert 1 <= len(ranges) <= parts
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    for (a, b), (c, _) in zip(ranges[:-1], ranges[1:]):
        assert b == c and b % block == 0 and a < b
    # never more ranges than blocks
    assert len(ranges) <= max(-(-n // block), 1)


def test_one_blas_thread_inside_and_the_setting_restored():
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with single_blas_thread() as workers:
            assert workers == max(before)
            assert set(_blas_threads()) == {1}
            with single_blas_thread() as inner:  # nested: same count, still 1
                assert inner == workers
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {1}
        assert _blas_threads() == before


def test_other_threads_neither_change_nor_split():
    # OpenBLAS ignores the setting from other threads once the main thread
    # has made it, so only the main thread changes it (and restores it).
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        seen = []

        def call():
            with single_blas_thread() as workers:
                seen.append((workers, _blas_threads()))

        t = threading.Thread(target=call)
        t.start()
        t.join()
        assert seen == [(1, before)]
        # while the main thread holds the limit, other threads run inline
        with single_blas_thread() as workers:
            assert workers == max(before)
            t = threading.Thread(target=call)
            t.start()
            t.join()
            assert seen[-1] == (1, [1] * len(before))
        assert _blas_threads() == before


def test_map_ranges_keeps_the_order_and_raises():
    out = map_ranges(lambda a, b: (a, b, threading.get_ident()), [(0, 1), (1, 2)])
    assert [o[:2] for o in out] == [(0, 1), (1, 2)]

    def boom(a, b):
        if a:
            raise RuntimeError(f"range {a}")
        return a

    with pytest.raises(RuntimeError, match="range 1"):
        map_ranges(boom, [(0, 1), (1, 2)])


def test_threaded_passes_equal_one_thread():
    rng = np.random.default_rng(0)
    X = (rng.random((6000, 300)) @ rng.random((300, 300))).astype(np.float32)
    fits = []
    for limit in (1, 2):
        with threadpool_limits(limits=limit, user_api="blas"):
            fits.append(randomized_subspace(X, 3, random_state=0))
    a, b = fits
    # the same subspace to float32 rounding (the sums are split differently)
    np.testing.assert_allclose(
        np.abs(a.components @ b.components.T), np.eye(3), atol=1e-5
    )
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-5)
    np.testing.assert_allclose(a.centre, b.centre, rtol=1e-6)
    # projections: row order and values whatever the split
    E = rng.random((4, 300))
    keep = rng.random(6000) > 0.3
    with threadpool_limits(limits=2, user_api="blas"):
        c2, x2 = projections(X, E, block_rows=128, rows=keep)
    ref = X[keep].astype(np.float64)
    np.testing.assert_allclose(c2, ref @ E.T, rtol=1e-10)
    np.testing.assert_allclose(x2, np.einsum("ij,ij->i", ref, ref), rtol=1e-10)


def _ranges_in_child(queue):
    out = map_ranges(lambda a, b: b - a, row_ranges(1000, 100, 2))
    queue.put(out)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_pool():
    # after the parent's pool exists, a forked child (multiprocessing's
    # default start method on Linux) must not queue work on threads it does
    # not have
    import multiprocessing

    with single_blas_thread():
        map_ranges(lambda a, b: a, [(0, 1), (1, 2)])  # the pool exists now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_ranges_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the child hung on the parent's pool"
    assert queue.get(timeout=5) == [500, 500]

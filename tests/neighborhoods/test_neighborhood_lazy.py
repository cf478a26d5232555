"""neighborhood_pca on lazy images: tile by tile, never the whole image, the
same atoms and numbers as in memory (also on a dask.distributed cluster)."""

import logging

import dask.array as da
import numpy as np
import pytest
from dask.callbacks import Callback
from scipy.spatial import cKDTree

import hyperspy_unmix as hu
from hyperspy_unmix.neighborhoods import atoms as A

TILE = 200


@pytest.fixture(scope="module")
def lattice():
    return hu.data.distorted_lattice((700, 650), spacing=12.0, random_state=4)


@pytest.fixture(scope="module")
def eager(lattice):
    return hu.neighborhood_pca(lattice[0], 6, n_components=2, tile_size=TILE)


def lazy_copy(signal, chunks):
    lazy = signal.as_lazy()
    lazy.data = lazy.data.rechunk(chunks)
    return lazy


class ChunkSource:
    """An array-like image source read chunk by chunk (as from a file): it
    records every region read, and dask never holds it as one array."""

    def __init__(self, data):
        self._data = data
        self.shape, self.dtype, self.ndim = data.shape, data.dtype, data.ndim
        self.reads = []

    def __getitem__(self, key):
        out = np.array(self._data[key])
        self.reads.append(out.size)
        return out


class LargestComputed(Callback):
    """Records the size of every array a dask task produces (local scheduler)."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def _posttask(self, key, result, dsk, state, id):
        if isinstance(result, np.ndarray):
            self.sizes.append(result.size)


def near_borders(xy, step, width=3.0):
    """Atoms within ``width`` pixels of a multiple of ``step`` (x or y)."""
    dx = np.abs(xy[:, 0] - step * np.round(xy[:, 0] / step))
    dy = np.abs(xy[:, 1] - step * np.round(xy[:, 1] / step))
    return (dx < width) | (dy < width)


def test_lazy_equals_eager_across_uneven_chunks_and_tiles(lattice, eager):
    img, truth = lattice
    # uneven chunks (170, 170, 170, 170, 20 rows; 230, 230, 190 columns)
    # that do not line up with the 200-pixel tiles
    lazy_img = lazy_copy(img, (170, 230))
    res = hu.neighborhood_pca(lazy_img, 6, n_components=2, tile_size=TILE)
    # atoms straddle both kinds of border (the test means something)
    xy = eager.positions
    assert near_borders(xy, TILE).sum() > 20
    assert (np.abs(xy[:, 0] - 230) < 3).sum() + (np.abs(xy[:, 1] - 170) < 3).sum() > 5
    np.testing.assert_array_equal(res.positions, eager.positions)
    np.testing.assert_array_equal(res.included, eager.included)
    np.testing.assert_allclose(res.scores, eager.scores, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(
        res.descriptors, eager.descriptors, atol=1e-12, equal_nan=True
    )
    # the input is untouched and still lazy
    assert isinstance(lazy_img.data, da.Array)
    assert lazy_img.data.chunks == ((170,) * 4 + (20,), (230, 230, 190))


def test_tiled_atoms_are_the_untiled_atoms(lattice):
    """No atom lost or doubled at tile borders: the same peaks as one
    whole-image Atomap call, for a lazy image cut into tiles."""
    img, truth = lattice
    data = img.data
    sep = A.separation_from_spacing(A.estimate_spacing(data))
    whole = A.find_atoms(data, sep, tile_size=None)
    lazy = A.find_atoms(da.from_array(data, chunks=(170, 230)), sep, tile_size=TILE)
    assert len(lazy) == len(whole)
    d, i = cKDTree(whole).query(lazy)
    assert d.max() == 0 and len(np.unique(i)) == len(whole)
    assert near_borders(whole, TILE, width=2.0).sum() > 20
    # and the atoms are the true ones (each true atom inside found once)
    dt, it = cKDTree(truth.positions).query(whole)
    assert np.median(dt) < 1.0 and len(np.unique(it)) == len(it)


def test_refined_positions_equal_in_memory_ones(lattice):
    img, _ = lattice
    data = img.data
    sep = A.separation_from_spacing(A.estimate_spacing(data))
    found = A.find_atoms(data, sep, tile_size=TILE)
    ref = A.refine_positions(data, found, "com")
    lazy = A.refine_positions(
        da.from_array(data, chunks=(170, 230)), found, "com", tile_size=TILE
    )
    np.testing.assert_array_equal(lazy, ref)


def test_lazy_path_never_computes_the_whole_image():
    img, _ = hu.data.distorted_lattice((1300, 1200), spacing=12.0, random_state=5)
    source = ChunkSource(img.data)
    lazy_img = hu.signals.AtomicResolutionImage(
        da.from_array(source, chunks=(300, 256), asarray=False)
    ).as_lazy()
    lazy_img.axes_manager.signal_axes[0].scale = img.axes_manager[0].scale
    rec = LargestComputed()
    with rec:
        res = hu.neighborhood_pca(lazy_img, 6, n_components=2)
    n_pixels = 1300 * 1200
    assert len(rec.sizes) > 50  # the work did run through dask tasks
    assert max(source.reads) <= 300 * 256  # the source is read chunk by chunk
    # the largest array ever materialised: the 1024 x 1024 crop the spacing
    # is estimated on (tiles are 400 pixels plus margins here)
    assert max(rec.sizes) <= 1024 * 1024 < n_pixels
    eager = hu.neighborhood_pca(img, 6, n_components=2)
    np.testing.assert_array_equal(res.positions, eager.positions)
    np.testing.assert_allclose(res.scores, eager.scores, atol=1e-12, equal_nan=True)


def test_lazy_gaussian_refinement_close_to_in_memory():
    img, truth = hu.data.distorted_lattice((120, 130), spacing=12.0, random_state=6)
    data = img.data
    found = A.find_atoms(data, 4, tile_size=None)
    ref = A.refine_positions(data, found, "gaussian", show_progressbar=False)
    lazy = A.refine_positions(
        da.from_array(data, chunks=(50, 70)), found, "gaussian", tile_size=64
    )
    # Atomap fits one atom after the other and sizes each fit with the
    # current neighbour positions: the order (per tile here) changes a few
    # fits slightly, the others are identical
    diff = np.hypot(*(lazy - ref).T)
    assert np.mean(diff < 1e-9) > 0.97
    assert diff.max() < 0.1
    d, _ = cKDTree(truth.positions).query(lazy)
    assert np.sqrt(np.mean(d**2)) < 0.3


def test_lazy_bad_input():
    nan = np.ones((64, 64), dtype=np.float32)
    nan[3, 4] = np.nan
    s = hu.signals.AtomicResolutionImage(da.from_array(nan, chunks=32)).as_lazy()
    with pytest.raises(ValueError, match="`image` contains 1 NaN"):
        hu.neighborhood_pca(s, 6)
    big = hu.signals.AtomicResolutionImage(da.zeros((3000, 2100), chunks=1000))
    big = big.as_lazy()
    with pytest.raises(ValueError, match="tile_size"):
        hu.neighborhood_pca(big, 6, separation=4, tile_size=None)


def test_tiled_lazy_on_a_distributed_cluster(lattice, eager):
    distributed = pytest.importorskip("distributed")
    img, _ = lattice
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit="1GiB",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    with cluster, distributed.Client(cluster):
        res = hu.neighborhood_pca(
            lazy_copy(img, (170, 230)), 6, n_components=2, tile_size=TILE
        )
    np.testing.assert_array_equal(res.positions, eager.positions)
    np.testing.assert_allclose(res.scores, eager.scores, atol=1e-12, equal_nan=True)

import numpy as np
import pytest

from hyperspy_unmix.data import AtomicImageTruth, atomic_image, multiphase_lattice


def test_deterministic_and_truth():
    a, ta = atomic_image((96, 96), 10, "square", sublattice_intensity=0.1,
                         random_state=5)  # fmt: skip
    b, tb = atomic_image((96, 96), 10, "square", sublattice_intensity=0.1,
                         random_state=5)  # fmt: skip
    assert np.array_equal(a.data, b.data)
    assert isinstance(ta, AtomicImageTruth)
    assert np.array_equal(ta.positions, tb.positions)
    assert set(np.unique(ta.sublattice)) == {0, 1}
    assert np.all(ta.intensity[ta.sublattice == 1] == 0.1)
    assert ta.first_shell == 4
    assert np.all((ta.positions >= 0) & (ta.positions <= 95))


@pytest.mark.parametrize("lattice, shell", [("hexagonal", 6), ("square", 4),
                                            ("rectangular", 4)])  # fmt: skip
def test_lattice_geometry(lattice, shell):
    from scipy.spatial import cKDTree

    _, t = atomic_image((128, 128), 9, lattice, aspect=1.5, random_state=0)
    d, _ = cKDTree(t.positions).query(t.positions, k=shell + 2)
    inner = np.all((t.positions > 25) & (t.positions < 103), axis=1)
    d = d[inner]
    expected = {
        "hexagonal": [9] * 6 + [9 * 3**0.5],
        "square": [9] * 4 + [9 * 2**0.5],
        "rectangular": [9, 9, 13.5, 13.5, np.hypot(9, 13.5)],
    }[lattice]
    np.testing.assert_allclose(d[:, 1:], np.broadcast_to(expected, d[:, 1:].shape))


def test_dark_contrast_and_vacuum():
    img, t = atomic_image((128, 128), 12, contrast="dark", vacuum="noise",
                          noise=0.0, background=0.0, random_state=0)  # fmt: skip
    assert 0.45 < t.vacuum_mask.mean() < 0.55
    # vacuum is bright (1), atoms are dark dips
    assert np.allclose(img.data[t.vacuum_mask], 1.0, atol=1e-3) or (
        np.median(img.data[t.vacuum_mask]) > 0.99
    )
    p = np.rint(t.positions).astype(int)
    assert np.all(img.data[p[:, 1], p[:, 0]] < 0.05)
    ix = np.rint(t.positions).astype(int)
    assert not t.vacuum_mask[ix[:, 1], ix[:, 0]].any()


def test_amorphous_support_has_no_atoms_but_structure():
    img, t = atomic_image((128, 128), 12, vacuum="amorphous", noise=0.0,
                          random_state=0)  # fmt: skip
    assert img.data[t.vacuum_mask].std() > 0.05


@pytest.mark.parametrize(
    "dtype, offset",
    [("float16", 0), ("uint8", 0), ("uint16", 1000), ("int64", 10**15),
     ("uint32", 4 * 10**9)],
)  # fmt: skip
def test_dtypes_round_trip(dtype, offset):
    ref, _ = atomic_image((64, 64), 8, random_state=1)
    img, t = atomic_image((64, 64), 8, dtype=dtype, offset=offset, random_state=1)
    assert img.data.dtype == np.dtype(dtype)
    back = (img.data.astype(np.int64 if dtype != "float16" else np.float64)
            - int(t.offset)) / t.gain  # fmt: skip
    tol = 1e-3 * ref.data.max() if dtype == "float16" else 0.51 / t.gain
    np.testing.assert_allclose(back, ref.data, atol=tol + 1e-6)


def test_multiphase_dtype_and_large_spacing():
    img, t = multiphase_lattice((160, 160), 2, 30.0, dtype="int64", offset=10**9,
                                random_state=0)  # fmt: skip
    assert img.data.dtype == np.int64 and t.offset == 10**9 and t.gain == 1000
    assert img.data.min() >= 10**9


def test_bad_input():
    with pytest.raises(ValueError, match="lattice"):
        atomic_image(lattice="cubic")
    with pytest.raises(ValueError, match="contrast"):
        atomic_image(contrast="grey")
    with pytest.raises(ValueError, match="vacuum"):
        atomic_image(vacuum="air")
    with pytest.raises(ValueError, match="dtype"):
        atomic_image(dtype="complex64")
    with pytest.raises(ValueError, match="offset"):
        atomic_image((64, 64), 8, dtype="uint8", offset=250)
    with pytest.raises(ValueError, match="offset"):
        atomic_image((64, 64), 8, dtype="int64", offset=0.5)
    with pytest.raises(ValueError, match="sublattice_intensity"):
        atomic_image(sublattice_intensity=0)
    with pytest.raises(ValueError, match="spacing"):
        atomic_image((64, 64), 20, "rectangular", aspect=2.0)

"""The Endmember model component: values, fitting, store/save/load/restore."""

import hyperspy.api as hs
import numpy as np
import pytest

from hyperspy_unmix import nfindr_unmix
from hyperspy_unmix.components.endmember import Endmember


def spectrum(x):
    return np.exp(-((x - 30) ** 2) / 50) + 0.5 * np.exp(-((x - 60) ** 2) / 20)


def test_function_and_gradient():
    s = hs.signals.Signal1D(spectrum(np.arange(100.0)))
    s.axes_manager[0].scale = 0.5
    s.axes_manager[0].offset = 10.0
    c = Endmember(s, abundance=2.5)
    x = s.axes_manager[0].axis
    np.testing.assert_allclose(c.function(x), 2.5 * s.data)
    np.testing.assert_allclose(c.grad_abundance(x), s.data)
    mid = (x[:-1] + x[1:]) / 2  # linear interpolation between channels
    np.testing.assert_allclose(c.function(mid), 2.5 * (s.data[:-1] + s.data[1:]) / 2)
    assert c.abundance.bmin == 0 and c.abundance.free
    assert c._id_name == "Endmember"
    from_array = Endmember(s.data)
    np.testing.assert_allclose(from_array.function(np.arange(100.0)), s.data)


def test_binned_spectrum_is_stored_as_density():
    s = hs.signals.Signal1D(spectrum(np.arange(50.0)))
    s.axes_manager[0].scale = 2.0
    s.axes_manager[0].is_binned = True
    c = Endmember(s)
    m = s.create_model()
    m.append(c)
    m.assign_current_values_to_all()
    np.testing.assert_allclose(m.as_signal().data, s.data)


def test_bad_input():
    with pytest.raises(ValueError, match="signal1D"):
        Endmember(np.ones((3, 4)))
    with pytest.raises(ValueError, match="signal1D"):
        Endmember(hs.signals.Signal1D(np.ones((3, 4))))


@pytest.fixture
def mixed_map():
    """Two endmembers mixed over a 6 x 5 map, on a constant offset."""
    rng = np.random.default_rng(0)
    x = np.arange(80.0)
    E = np.stack([spectrum(x), np.exp(-((x - 45) ** 2) / 80)]) * 100
    A = rng.dirichlet(np.ones(2), (6, 5))
    A[0, 0], A[5, 4] = [1, 0], [0, 1]
    s = hs.signals.Signal1D(A @ E)
    s.set_signal_type("spectral_map")
    s.axes_manager[-1].scale = 0.5
    return s, E, A


def _registry_entry():
    from hyperspy.extensions import ALL_EXTENSIONS

    return ALL_EXTENSIONS["components1D"]["Endmember"]


def test_yaml_entry_names_the_class():
    # HyperSpy's reconstruct_component reads both `module` and `class`.
    entry = _registry_entry()
    assert entry["module"] == "hyperspy_unmix.components.endmember"
    assert entry["class"] == "Endmember"


def test_model_from_unmixing_fits_with_background(mixed_map, tmp_path):
    s, E, A = mixed_map
    res = nfindr_unmix(s, 2)
    target = s + 7.0  # add a flat background the unmixing did not see
    m = target.create_model()
    comps = res.as_components(model=m)
    assert [c.name for c in comps] == ["Endmember 0", "Endmember 1"]
    np.testing.assert_allclose(comps[0].abundance.map["values"], res.abundances.data[0])
    off = hs.model.components1D.Offset()
    m.append(off)
    m.multifit(optimizer="lstsq")
    np.testing.assert_allclose(off.offset.map["values"], 7.0, atol=1e-6)
    for k, c in enumerate(comps):
        np.testing.assert_allclose(
            c.abundance.map["values"], res.abundances.data[k], atol=1e-6
        )
    np.testing.assert_allclose(m.as_signal().data, target.data, atol=1e-6)

    # store -> save -> load -> restore
    m.store("fit")
    fname = tmp_path / "model.hspy"
    target.save(fname)
    back = hs.load(fname)
    m2 = back.models.restore("fit")
    names = [c.name for c in m2]
    assert names == ["Endmember 0", "Endmember 1", "Offset"]
    assert type(m2[0]).__name__ == "Endmember"
    np.testing.assert_allclose(
        m2[0].abundance.map["values"], comps[0].abundance.map["values"]
    )
    np.testing.assert_allclose(m2.as_signal().data, m.as_signal().data, atol=1e-9)


def test_extend_without_model_and_bounded_fit(mixed_map):
    s, E, A = mixed_map
    res = nfindr_unmix(s, 2)
    m = s.inav[2, 3].create_model()
    m.extend(res.as_components())
    m.fit(bounded=True)
    got = np.array([c.abundance.value for c in m])
    np.testing.assert_allclose(got, res.abundances.data[:, 3, 2], atol=1e-5)
    assert (got >= 0).all()


def test_as_components_errors(mixed_map):
    s, *_ = mixed_map
    res = nfindr_unmix(s, 2)
    with pytest.raises(ValueError, match="model"):
        res.as_components(model=s.inav[:2].create_model())
    stack = hs.signals.Signal2D(np.random.default_rng(0).random((6, 4, 4)))
    with pytest.raises(ValueError, match="1-D"):
        nfindr_unmix(stack, 2).as_components()

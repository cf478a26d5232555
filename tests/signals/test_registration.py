"""HyperSpy finds our signal types through the extension system."""

import importlib
import io
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import hyperspy.api as hs
import numpy as np
import pytest
import yaml

import hyperspy_unmix
from hyperspy_unmix.signals import (
    AtomicResolutionImage,
    LazyAtomicResolutionImage,
    LazySlidingFFT,
    LazySpectralMap,
    SlidingFFT,
    SpectralMap,
)

YAML = Path(hyperspy_unmix.__file__).parent / "hyperspy_extension.yaml"
EXTENSION = yaml.safe_load(YAML.read_text())

# (class, base dimensionality, signal_type, lazy)
TYPES = [
    (SpectralMap, 1, "spectral_map", False),
    (LazySpectralMap, 1, "spectral_map", True),
    (AtomicResolutionImage, 2, "atomic_resolution", False),
    (LazyAtomicResolutionImage, 2, "atomic_resolution", True),
    (SlidingFFT, 2, "sliding_fft", False),
    (LazySlidingFFT, 2, "sliding_fft", True),
]


def _make(ndim_signal, lazy, shape=(3, 4)):
    data = np.arange(np.prod(shape) * 5 * (5 if ndim_signal == 2 else 1), dtype="f4")
    data = data.reshape(shape + ((5, 5) if ndim_signal == 2 else (5,)))
    s = hs.signals.Signal1D(data) if ndim_signal == 1 else hs.signals.Signal2D(data)
    return s.as_lazy() if lazy else s


@pytest.mark.parametrize("name, spec", sorted(EXTENSION["signals"].items()))
def test_yaml_entry_matches_class(name, spec):
    cls = getattr(importlib.import_module(spec["module"]), name)
    assert cls._signal_type == spec["signal_type"]
    assert cls._lazy == spec["lazy"]
    assert cls._signal_dimension == spec["signal_dimension"]
    assert spec["dtype"] == "real"
    assert list(cls._alias_signal_types) == spec.get("signal_type_aliases", [])


def test_lazy_twins_share_signal_type_and_aliases():
    sig = EXTENSION["signals"]
    for name, spec in sig.items():
        if spec["lazy"]:
            continue
        twin = sig["Lazy" + name]
        for key in ("signal_type", "signal_dimension", "dtype", "module"):
            assert twin[key] == spec[key], (name, key)
        assert twin.get("signal_type_aliases") == spec.get("signal_type_aliases")
        assert twin["lazy"] is True


@pytest.mark.parametrize("name, spec", sorted(EXTENSION["components1D"].items()))
def test_yaml_components_import_and_id_name(name, spec):
    # HyperSpy restores a saved component from `module` + `class`, keyed by
    # the component's `_id_name`: all three must agree.
    assert spec["class"] == name
    cls = getattr(importlib.import_module(spec["module"]), spec["class"])
    component = cls(np.linspace(1.0, 2.0, 8))
    assert component._id_name == name


def test_hyperspy_lists_our_types():
    buf = io.StringIO()
    with redirect_stdout(buf):
        hs.print_known_signal_types()
    table = buf.getvalue()
    for signal_type in ("spectral_map", "atomic_resolution", "sliding_fft"):
        assert signal_type in table
    assert "hyperspy_unmix" in table


@pytest.mark.parametrize("cls, ndim, signal_type, lazy", TYPES)
def test_set_signal_type_gives_our_class(cls, ndim, signal_type, lazy):
    s = _make(ndim, lazy)
    s.set_signal_type(signal_type)
    assert type(s) is cls
    assert s.metadata.Signal.signal_type == signal_type


@pytest.mark.parametrize(
    "alias, cls",
    [
        ("spectrum_image", SpectralMap),
        ("atomic_resolution_image", AtomicResolutionImage),
    ],
)
def test_aliases(alias, cls):
    s = _make(1 if cls is SpectralMap else 2, False)
    s.set_signal_type(alias)
    assert type(s) is cls


def test_signal_type_of_wrong_dimension_is_not_applied():
    s = _make(2, False)
    s.set_signal_type("spectral_map")  # HyperSpy logs that no 2-D type matches
    assert not isinstance(s, SpectralMap)


def _calibrated(cls_index, lazy):
    cls, ndim, signal_type, _ = TYPES[cls_index]
    s = _make(ndim, lazy=False, shape=(3, 4))
    for ax, (name, units) in zip(
        s.axes_manager._axes, [("y", "nm"), ("x", "nm"), ("E", "eV"), ("kx", "1 / nm")]
    ):
        ax.name, ax.units, ax.scale, ax.offset = name, units, 0.5, -1.25
    s.metadata.General.title = "round trip"
    s.metadata.set_item("Sample.description", "test")
    s.set_signal_type(signal_type)
    return s.as_lazy() if lazy else s


def _axes_list(s):
    return [
        (ax.name, ax.units, ax.scale, ax.offset, ax.size, ax.navigate)
        for ax in s.axes_manager._axes
    ]


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
@pytest.mark.parametrize("index", [0, 2, 4])
def test_save_load_round_trip(tmp_path, ext, index):
    s = _calibrated(index, lazy=False)
    path = tmp_path / f"s.{ext}"
    s.save(path)
    back = hs.load(path)
    assert type(back) is type(s)
    np.testing.assert_array_equal(back.data, s.data)
    assert _axes_list(back) == _axes_list(s)
    assert back.metadata.General.title == s.metadata.General.title
    assert back.metadata.Sample.description == "test"
    assert back.metadata.Signal.signal_type == s.metadata.Signal.signal_type

    lazy = hs.load(path, lazy=True)
    assert type(lazy) is TYPES[index + 1][0]
    np.testing.assert_array_equal(lazy.data.compute(), s.data)
    assert _axes_list(lazy) == _axes_list(s)


@pytest.mark.parametrize("index", [1, 3, 5])
def test_lazy_save_round_trip(tmp_path, index):
    s = _calibrated(index, lazy=True)
    path = tmp_path / "s.zspy"
    s.save(path)
    back = hs.load(path, lazy=True)
    assert type(back) is type(s)
    np.testing.assert_array_equal(back.data.compute(), s.data.compute())


def test_import_is_quiet_and_light():
    import subprocess
    import sys

    code = (
        "import warnings, sys; warnings.simplefilter('error');"
        "import hyperspy_unmix, hyperspy_unmix.signals;"
        "assert 'atomap' not in sys.modules, 'atomap imported at package import';"
        "print(hyperspy_unmix.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == hyperspy_unmix.__version__


def test_version_is_set():
    assert hyperspy_unmix.__version__ != "0.0.0+unknown"


def test_no_private_hyperspy_imports_in_our_code():
    root = Path(hyperspy_unmix.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "hyperspy._signals" in p.read_text() or "from hyperspy._" in p.read_text()
    ]
    assert offenders == []


def test_our_methods_exist():
    assert callable(SpectralMap.nfindr_unmix)
    for name in ("sliding_fft", "neighborhood_pca", "nfindr_unmix"):
        assert callable(getattr(AtomicResolutionImage, name))
    assert callable(SlidingFFT.nfindr_unmix)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hyperspy_unmix.__dir__()

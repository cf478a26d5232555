"""UnmixingResult as one HyperSpy file: round trip, overwrite, atomicity, 0.1 files."""

import builtins
import json
import subprocess
import sys

import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_unmix as hu
from hyperspy_unmix import UnmixingResult

PARTS = ("endmembers", "abundances", "residual")


@pytest.fixture(scope="module")
def data():
    s, truth = hu.data.spectrum_image((16, 18), 32, 3, random_state=0)
    return s, truth


@pytest.fixture(scope="module")
def result(data):
    s, _ = data
    return hu.nfindr_unmix(s, 3)


def _arr(signal):
    d = signal.data
    return np.asarray(d.compute() if hasattr(d, "compute") else d)


def _same(a, b):
    assert a.endmember_names == b.endmember_names
    np.testing.assert_array_equal(a.indices, b.indices)
    assert (a.volume, a.n_iter) == (b.volume, b.n_iter)
    np.testing.assert_array_equal(a.explained_variance, b.explained_variance)
    for part in PARTS:
        x, y = getattr(a, part), getattr(b, part)
        np.testing.assert_array_equal(_arr(x), _arr(y))
        assert type(x).__name__.replace("Lazy", "") == type(y).__name__.replace(
            "Lazy", ""
        )
        assert x.metadata.General.title == y.metadata.General.title
        assert x.metadata.get_item("Signal.quantity") == y.metadata.get_item(
            "Signal.quantity"
        )
        for ax, ay in zip(
            x.axes_manager.navigation_axes + x.axes_manager.signal_axes,
            y.axes_manager.navigation_axes + y.axes_manager.signal_axes,
        ):
            assert ax.get_axis_dictionary() == ay.get_axis_dictionary()


def _only(tmp_path, name):
    """The folder holds exactly ``name``: no temporary or backup left over."""
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("ext", [".hspy", ".zspy"])
@pytest.mark.parametrize("lazy", [False, True])
def test_one_file_round_trip(data, tmp_path, ext, lazy):
    s, _ = data
    res = hu.nfindr_unmix(s.as_lazy() if lazy else s, 3)
    res.endmember_names = ["a", "b", "c"]
    written = res.save(tmp_path / f"run{ext}")
    assert written == (tmp_path / f"run{ext}").absolute()
    _only(tmp_path, f"run{ext}")
    back = UnmixingResult.load(tmp_path / f"run{ext}")
    _same(res, back)
    assert back.outliers is not None
    np.testing.assert_array_equal(_arr(back.outliers), _arr(res.outliers))
    assert back.n_endmembers_estimate == int(res.n_endmembers_estimate)
    assert "result" not in back.abundances.metadata.hyperspy_unmix
    assert back.abundances.metadata.hyperspy_unmix.method == "nfindr_unmix"
    if lazy:
        assert res.abundances._lazy and res.residual._lazy  # untouched by save
    lz = UnmixingResult.load(tmp_path / f"run{ext}", lazy=True)
    assert lz.abundances._lazy
    _same(res, lz)


def test_no_extension_means_hspy_and_bad_extensions_are_refused(result, tmp_path):
    assert result.save(tmp_path / "run").name == "run.hspy"
    _same(result, UnmixingResult.load(tmp_path / "run"))
    with pytest.raises(ValueError, match="path"):
        result.save(tmp_path / "run.h5")
    with pytest.raises(TypeError, match="path"):
        result.save(3)


def test_overwrite_semantics(result, tmp_path, monkeypatch):
    path = tmp_path / "run.hspy"
    res = hu.UnmixingResult.load(result.save(path))  # a copy we may rename
    before = path.read_bytes()
    res.endmember_names = ["x", "y", "z"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        res.save(path, overwrite=False)
    # pytest's captured stdin cannot answer: refused clearly, not skipped
    with pytest.raises(FileExistsError, match="cannot be asked"):
        res.save(path)
    assert path.read_bytes() == before
    with pytest.raises(TypeError, match="overwrite"):
        res.save(path, overwrite="yes")
    answers = iter(["maybe", "n"])
    monkeypatch.setattr(builtins, "input", lambda msg: next(answers))
    assert res.save(path) is None  # the user said no
    assert path.read_bytes() == before
    monkeypatch.setattr(builtins, "input", lambda msg: "y")
    assert res.save(path) == path.absolute()
    assert UnmixingResult.load(path).endmember_names == ["x", "y", "z"]
    monkeypatch.undo()
    res.endmember_names = ["p", "q", "r"]
    res.save(path, overwrite=True)
    assert UnmixingResult.load(path).endmember_names == ["p", "q", "r"]
    _only(tmp_path, "run.hspy")


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_interrupted_save_keeps_the_previous_result(
    result, tmp_path, monkeypatch, ext, error
):
    import importlib

    path = tmp_path / f"run.{ext}"
    result.save(path)
    writer = importlib.import_module(f"rsciio.{ext}")
    real = writer.file_writer

    def half_written(filename, signal, **kwargs):
        real(filename, signal, **kwargs)  # a whole file at the temporary name...
        raise error("disk full")  # ...then the writer fails before returning

    monkeypatch.setattr(writer, "file_writer", half_written)
    renamed = UnmixingResult.load(path)
    renamed.endmember_names = ["x", "y", "z"]
    with pytest.raises(error, match="disk full"):
        renamed.save(path, overwrite=True)
    monkeypatch.undo()
    _only(tmp_path, f"run.{ext}")
    back = UnmixingResult.load(path)
    _same(result, back)  # the previous names, not x, y, z


def test_plain_hyperspy_reads_the_file(result, tmp_path):
    path = result.save(tmp_path / "run.hspy")
    # A HyperSpy without this package: its entry point is dropped before
    # HyperSpy reads the extensions, and importing it fails.
    script = f"""
import importlib.metadata as md, json, sys
real = md.entry_points
def entry_points(**kw):
    eps = real(**kw)
    if kw.get("group") == "hyperspy.extensions":
        eps = md.EntryPoints([e for e in eps if e.name != "hyperspy_unmix"])
    return eps
md.entry_points = entry_points
sys.modules["hyperspy_unmix"] = None
import hyperspy.api as hs
s = hs.load({str(path)!r})
node = s.metadata.hyperspy_unmix.result
e = node.endmembers
print(json.dumps({{
    "class": type(s).__name__,
    "shape": list(s.data.shape),
    "quantity": s.metadata.Signal.quantity,
    "names": list(node.endmember_names),
    "indices": node.indices.tolist(),
    "endmembers": e.data.tolist(),
    "e_signal_shape": list(e.axes_manager.signal_shape),
    "residual_shape": list(node.residual.data.shape),
    "unmix_loaded": any(m.startswith("hyperspy_unmix.") for m in sys.modules),
}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["class"] == "Signal2D"
    assert got["shape"] == [3, 16, 18]
    assert got["quantity"] == "Abundance"
    assert got["names"] == result.endmember_names
    assert got["indices"] == result.indices.tolist()
    np.testing.assert_array_equal(got["endmembers"], result.endmembers.data)
    assert got["e_signal_shape"] == [32]
    assert got["residual_shape"] == [16, 18]
    assert not got["unmix_loaded"]


def _write_v01(res, stem):
    # the 0.1 layout, as UnmixingResult.save wrote it: three files, the
    # indices, volume, n_iter and explained variance in the endmembers' metadata
    for part in PARTS:
        getattr(res, part).save(stem.parent / f"{stem.name}_{part}.hspy")


def test_files_of_version_0_1_load(result, tmp_path):
    _write_v01(result, tmp_path / "old")
    back = UnmixingResult.load(tmp_path / "old.hspy")
    _same(result, back)
    _same(result, UnmixingResult.load(tmp_path / "old_endmembers.hspy"))
    (tmp_path / "old_residual.hspy").unlink()
    with pytest.raises(FileNotFoundError, match="old_residual"):
        UnmixingResult.load(tmp_path / "old.hspy")
    with pytest.raises(FileNotFoundError, match="missing"):
        UnmixingResult.load(tmp_path / "nothing.hspy")


def test_inconsistent_files_are_refused(data, result, tmp_path):
    path = result.save(tmp_path / "run.hspy")
    s = hs.load(path)
    node = s.metadata.hyperspy_unmix.result
    node.endmembers = node.endmembers.inav[:2]  # one endmember lost
    s.save(path, overwrite=True)
    with pytest.raises(ValueError, match=r"inconsistent.*2 endmember spectra"):
        UnmixingResult.load(path)
    s = hs.load(result.save(tmp_path / "r2.hspy"))
    s.metadata.hyperspy_unmix.result.residual = (
        s.metadata.hyperspy_unmix.result.residual.isig[:5]
    )
    s.save(tmp_path / "r2.hspy", overwrite=True)
    with pytest.raises(ValueError, match="residual"):
        UnmixingResult.load(tmp_path / "r2.hspy")
    # 0.1: endmembers of a 2-endmember run saved over those of a 3-endmember one
    _write_v01(result, tmp_path / "old")
    hu.nfindr_unmix(data[0], 2).endmembers.save(
        tmp_path / "old_endmembers.hspy", overwrite=True
    )
    with pytest.raises(ValueError, match="inconsistent"):
        UnmixingResult.load(tmp_path / "old.hspy")
    hs.signals.Signal1D(np.arange(4.0)).save(tmp_path / "plain.hspy")
    with pytest.raises(ValueError, match="no UnmixingResult"):
        UnmixingResult.load(tmp_path / "plain.hspy")


def test_quantities_and_names(data, result):
    s, _ = data
    assert s.metadata.Signal.quantity == "Intensity (counts)"
    assert result.abundances.metadata.Signal.quantity == "Abundance"
    assert result.residual.metadata.Signal.quantity == "RMS residual (counts)"
    assert result.endmembers.metadata.Signal.quantity == "Intensity (counts)"
    assert s.metadata.Signal.quantity == "Intensity (counts)"  # input untouched
    res = hu.nfindr_unmix(s, 3)
    assert res.endmember_names == ["Endmember 0", "Endmember 1", "Endmember 2"]
    res.endmember_names = ("Fe", "Ni", "O")
    assert [c.name for c in res.as_components()] == ["Fe", "Ni", "O"]
    with pytest.raises(ValueError, match="endmember_names"):
        res.endmember_names = ["Fe"]
    with pytest.raises(TypeError, match="endmember_names"):
        res.endmember_names = "Fe"
    with pytest.raises(TypeError, match="endmember_names"):
        res.endmember_names = ["Fe", 2, "O"]

"""The main job: ``python -m hyperspy_unmix demo`` runs the gallery's scripts."""

import re
import subprocess
import sys
import textwrap
from importlib.resources import files
from pathlib import Path

import pytest

from hyperspy_unmix.__main__ import main
from hyperspy_unmix.demo import EXAMPLES_DIR, SECTIONS, DemoError, run_demo

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _write(folder, name, source):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(source))


@pytest.fixture
def gallery(tmp_path):
    """A small gallery: one section of two quick scripts."""
    root = tmp_path / "gallery"
    sec = root / "quick"
    _write(sec, "GALLERY_HEADER.rst", "Quick things\n------------\n\nText.\n")
    _write(
        sec,
        "plot_01_three_figures.py",
        '''
        """
        Three figures and a file
        ========================

        Text.
        """
        import hyperspy.api as hs
        import matplotlib
        import matplotlib.pyplot as plt
        import numpy as np

        assert __name__ == "__main__"
        assert not hs.preferences.General.show_progressbar
        assert matplotlib.get_backend().lower() == "agg"
        print("first line")
        print("accuracy", 0.987, end="")
        print(" (same line)")
        matplotlib.rcParams["lines.linewidth"] = 7  # must not leak
        for k in range(3):
            fig, ax = plt.subplots()
            ax.imshow(np.random.default_rng(k).random((64, 64)))
        open("written_by_the_script.txt", "w").write("x")  # into the cwd
        STATE = "plot_01"
        ''',
    )
    _write(
        sec,
        "plot_02_fresh_globals.py",
        '''
        """Fresh globals
        =============
        """
        assert "STATE" not in globals()
        print("no figure here")
        ''',
    )
    return root


def test_cli_runs_a_gallery_folder(gallery, tmp_path, monkeypatch, capsys):
    import hyperspy.api as hs
    import matplotlib
    import matplotlib.pyplot as plt

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    progressbar = hs.preferences.General.show_progressbar
    linewidth = matplotlib.rcParams["lines.linewidth"]
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--examples", str(gallery)]) == 0
    text = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"quick_plot_01_three_figures_{k:02d}.png" for k in (1, 2, 3)]
    for name in names:
        assert (out / name).stat().st_size > 10_000  # a real figure
    # section and script titles, the scripts' output indented beneath them
    assert "== Quick things (quick) ==" in text
    assert "  Three figures and a file (plot_01_three_figures.py)" in text
    assert "    first line\n    accuracy 0.987 (same line)\n" in text
    assert "    -> 3 figures (" in text
    assert "  Fresh globals (plot_02_fresh_globals.py)\n    no figure here\n" in text
    assert re.search(rf"3 figures in {re.escape(str(out))} \([\d.]+ s in total\)", text)
    # nothing left behind: no file in the cwd, no open figure, settings back
    assert list(cwd.iterdir()) == []
    assert plt.get_fignums() == []
    assert hs.preferences.General.show_progressbar == progressbar
    assert matplotlib.rcParams["lines.linewidth"] == linewidth


def test_a_failing_script_stops_the_demo_naming_it(gallery, tmp_path, capsys):
    import matplotlib.pyplot as plt

    _write(
        gallery / "quick",
        "plot_01b_fails.py",
        '''
        """Fails
        =====
        """
        import matplotlib.pyplot as plt

        plt.figure()
        print("about to fail")
        raise ValueError("planted failure")
        ''',
    )
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--examples", str(gallery)]) == 1
    captured = capsys.readouterr()
    assert "    about to fail" in captured.out
    assert "quick/plot_01b_fails.py failed: ValueError: planted failure" in (
        captured.err
    )
    assert 'plot_01b_fails.py", line' in captured.err  # the script's traceback
    assert "Fresh globals" not in captured.out  # nothing after the failure ran
    assert len(list(out.glob("quick_plot_01_three_figures_*.png"))) == 3
    assert not list(out.glob("quick_plot_01b_*"))
    assert plt.get_fignums() == []
    with pytest.raises(DemoError, match="plot_01b_fails.py") as err:
        run_demo(out, examples_dir=gallery, echo=lambda line: None)
    assert isinstance(err.value.__cause__, ValueError)


def test_cli_runs_a_shipped_section(tmp_path, monkeypatch, capsys):
    # the quickest section: one script drawing the example data (4 figures)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--only", "example_data"]) == 0
    text = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        f"example_data_plot_01_example_data_{k:02d}.png" for k in range(1, 5)
    ]
    for name in names:
        assert (out / name).stat().st_size > 10_000
    assert f"== {SECTIONS['example_data']} (example_data) ==" in text
    assert "  The example data and their ground truth (plot_01_example_data.py)" in text
    assert "    noise floor 0.035 rad at dose 200000" in text
    assert "    -> 4 figures (" in text
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_unknown_section_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="sections"):
        run_demo(out, sections=["nope"])
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--out", str(out), "--only", "spectral_unmixing", "nope"])
    assert exit_.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert not out.exists()


def test_cli_usage_errors():
    none = subprocess.run(
        [sys.executable, "-m", "hyperspy_unmix"], capture_output=True, text=True
    )
    assert none.returncode == 2
    assert "demo" in none.stderr


def test_the_package_ships_every_section_of_the_gallery():
    root = files("hyperspy_unmix") / "examples"
    assert root.joinpath("GALLERY_HEADER.rst").is_file()
    found = {
        d.name
        for d in root.iterdir()
        if d.is_dir() and any(f.name.startswith("plot_") for f in d.iterdir())
    }
    assert found == set(SECTIONS)
    assert list(SECTIONS)[0] == "example_data"
    for name, title in SECTIONS.items():
        section = root / name
        header = section.joinpath("GALLERY_HEADER.rst").read_text(encoding="utf-8")
        assert header.splitlines()[0] == title
        scripts = [f.name for f in section.iterdir() if f.name.endswith(".py")]
        assert scripts and all(re.fullmatch(r"plot_\d\d_\w+\.py", s) for s in scripts)
    assert Path(str(root)).resolve() == EXAMPLES_DIR


@pytest.mark.skipif(not DOCS.is_dir(), reason="needs the source tree's docs/")
def test_user_guide_figures_are_the_gallery_s():
    pages = sorted(DOCS.glob("*.rst"))
    refs = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # no committed copies of figures
        assert not re.search(r"_static/\S+\.png", text), page.name
        refs += re.findall(
            r"auto_examples/(\w+)/images/sphx_glr_(plot_\w+?)_(\d{3})\.png", text
        )
    assert len(refs) > 20
    for section, stem, _ in refs:
        assert (EXAMPLES_DIR / section / f"{stem}.py").is_file(), (section, stem)

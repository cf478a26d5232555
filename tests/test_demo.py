"""The main job: ``python -m hyperspy_unmix demo``."""

import subprocess
import sys

import pytest

from hyperspy_unmix.__main__ import main
from hyperspy_unmix.demo import SECTIONS, run_demo


def test_cli_writes_figures_and_a_summary(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--only", "example_data"]) == 0
    out = capsys.readouterr().out
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs and all(p.startswith("example_data_") for p in pngs)
    assert SECTIONS["example_data"] in out
    assert str(tmp_path.resolve()) in out
    for name in pngs:
        assert (tmp_path / name).stat().st_size > 10_000  # a real figure


def test_unknown_section_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sections"):
        run_demo(tmp_path, sections=["nope"])
    assert not list(tmp_path.glob("*.png"))


def test_cli_usage_errors():
    bad = subprocess.run(
        [sys.executable, "-m", "hyperspy_unmix", "demo", "--only", "nope"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr
    none = subprocess.run(
        [sys.executable, "-m", "hyperspy_unmix"], capture_output=True, text=True
    )
    assert none.returncode == 2

"""The spectral demo section runs on small data and writes its figures."""

import re

from hyperspy_unmix.demo import spectral


def test_synthetic_and_bfo_sections(tmp_path):
    lines, files = spectral.synthetic(tmp_path, shape=(32, 32), n_channels=64)
    for name in files:
        assert (tmp_path / name).stat().st_size > 1000
    text = " ".join(lines)
    angle, floor = map(
        float, re.search(r"angle ([\d.]+) rad \(noise floor ([\d.]+)", text).groups()
    )
    assert 0 < angle < 3 * floor
    lines, files = spectral.bfo(tmp_path)
    assert (tmp_path / files[0]).exists()
    assert "domain walls" in lines[0] and "4 broken curves masked" in lines[0]

import matplotlib

matplotlib.use("Agg")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import hyperspy.api as hs  # noqa: E402
import pytest  # noqa: E402

# The Hypothesis profiles must exist before Hypothesis' plugin reads
# `--hypothesis-profile=long`, which happens before tests/fuzz/conftest.py
# is imported.
sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzz_profiles  # noqa: E402, F401


@pytest.fixture(autouse=True, scope="session")
def _no_progressbar():
    old = hs.preferences.General.show_progressbar
    hs.preferences.General.show_progressbar = False
    yield
    hs.preferences.General.show_progressbar = old


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")

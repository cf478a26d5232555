import matplotlib

matplotlib.use("Agg")

import hyperspy.api as hs  # noqa: E402
import pytest  # noqa: E402


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

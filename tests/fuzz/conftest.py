"""Hypothesis profiles (``fuzz_profiles``) and the ``fuzz`` marker.

The tests size their budgets relative to the profile's ``max_examples``
(``fuzz_helpers.examples``), so ``--hypothesis-profile=long`` scales every
test up.
"""

import os

import fuzz_profiles  # noqa: F401  (registers "ci" and "long")
import pytest
from hypothesis import settings

if settings.get_current_profile_name() == "default":
    # `--hypothesis-profile` (read by Hypothesis' plugin) wins over this.
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "fuzz: property-based (Hypothesis) tests of the public API; "
        "`-m fuzz --hypothesis-profile=long tests/fuzz` for the long run",
    )


@pytest.fixture(autouse=True)
def _synchronous_dask():
    # The generated lazy cases are tiny: the synchronous scheduler keeps them
    # deterministic and cheap (thread pools: tests/test_threads.py).
    import dask

    with dask.config.set(scheduler="synchronous"):
        yield


def pytest_terminal_summary(terminalreporter):
    from fuzz_helpers import BREAKS, COUNTS

    tr = terminalreporter
    if BREAKS:
        tr.section("contract breaks recorded (FUZZ_EXPLORE)")
        for key, (fn, args, kwargs) in BREAKS.items():
            tr.line(f"{key}\n    {fn} args={args!r:.300} kwargs={kwargs!r:.300}")
    if not COUNTS:
        return
    tr.section(f"generated cases ({settings.get_current_profile_name()} profile)")
    for (test, outcome), n in sorted(COUNTS.items()):
        tr.line(f"{n:6d}  {test}: {outcome}")

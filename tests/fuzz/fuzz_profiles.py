"""The Hypothesis profiles of the property-based suite (``ci`` and ``long``).

- ``ci`` (the default): few examples per test, derandomised (the same cases
  on every run, so CI cannot turn red by chance), no example database; the
  whole folder runs in well under a minute on two shared cores.
- ``long``: sixteen times as many examples, random, with the example
  database: ``python -m pytest -m fuzz --hypothesis-profile=long tests/fuzz``.

Importing this module registers both (registering again is harmless), so a
top-level conftest can import it to make ``--hypothesis-profile=long`` work
without naming the folder: Hypothesis' plugin reads that option before
pytest imports ``tests/fuzz/conftest.py``.
"""

from hypothesis import HealthCheck, settings

_SLOW_OK = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.function_scoped_fixture,
    HealthCheck.filter_too_much,
]

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_OK,
)
settings.register_profile(
    "long",
    max_examples=400,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_OK,
)

"""Parameter checks shared by the generators."""

import numbers

import numpy as np

from hyperspy_unmix._validation import check_float, check_int  # noqa: F401 (re-export)


def as_rng(random_state):
    """A ``numpy.random.Generator`` from None, an int or a Generator."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        if random_state < 0:
            raise ValueError(f"`random_state` must be >= 0, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        "`random_state` must be None, an int or a numpy.random.Generator, got "
        f"{random_state!r}"
    )


def check_shape(shape, name="shape", *, minimum=1, maximum=None):
    """A 2-tuple of integers ``(ny, nx)`` within bounds."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise TypeError(f"`{name}` must be a pair of integers (ny, nx), got {shape!r}")
    if len(shape) != 2:
        raise ValueError(
            f"`{name}` must be a pair of integers (ny, nx), got {len(shape)} values"
        )
    return tuple(check_int(n, name, minimum=minimum, maximum=maximum) for n in shape)

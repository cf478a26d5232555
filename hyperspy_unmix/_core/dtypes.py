"""Working floating-point types for images of any real dtype.

Rules (:func:`working_dtype`):

============================  ==========  =====================================
input                         working     why
============================  ==========  =====================================
float32, float64              unchanged   already what the kernels compute in
float16                       float32     scipy.ndimage (maximum_filter, ...)
                                          refuses float16; float32 holds it
                                          exactly
bool, (u)int8, (u)int16       float32     every value exact in float32
(u)int32, (u)int64            float64     float32 has a 24-bit mantissa: 16.7
                                          million counts and up lose counts
complex, object, str, ...     TypeError   no meaningful real image
============================  ==========  =====================================

Casting alone is not enough when a large constant offset sits under small
variations (detectors that add 2**15 or 1e9 counts): the offset eats the
mantissa of a float. :func:`remove_offset` subtracts one integer reference
value *in the integer type* (exact, whatever the offset) before the cast, so
that what is left are the variations. The sliding FFT removes each window's
mean anyway, so a global offset does not change its output, and nothing
that follows a constant shift (peak finding on relative heights, centre of
mass after background subtraction) does either.

Dask arrays are converted block by block (``map_blocks``), never computed.
"""

import numbers

import numpy as np


def _is_dask(data) -> bool:
    return type(data).__module__.split(".")[0] == "dask"


def working_dtype(dtype, name: str = "data") -> np.dtype:
    """The floating dtype an image of ``dtype`` is computed in (table above).

    Raises
    ------
    TypeError
        For complex, object, string, datetime and other non-real dtypes.
    """
    dt = np.dtype(dtype)
    if dt.kind == "c":
        raise TypeError(
            f"`{name}` is complex ({dt.name}); pass a real image, e.g. its "
            "modulus (abs) or its real part"
        )
    if dt.kind == "f":
        if dt.itemsize < 4:
            return np.dtype(np.float32)
        if dt.itemsize > 8:  # longdouble: the kernels compute in float64
            return np.dtype(np.float64)
        return dt
    if dt.kind == "b":
        return np.dtype(np.float32)
    if dt.kind in "iu":
        return np.dtype(np.float32 if dt.itemsize <= 2 else np.float64)
    raise TypeError(f"`{name}` must hold real numbers, got dtype {dt.name}")


def as_working_float(data, *, name: str = "data"):
    """``data`` in its working dtype (:func:`working_dtype`).

    Parameters
    ----------
    data : ndarray or dask.array.Array of any shape
    name : str
        Name of the parameter in error messages.

    Returns
    -------
    ndarray or dask.array.Array of the same shape
        ``data`` itself when it already has its working dtype (no copy);
        a dask array stays lazy (converted block by block).
    """
    if not _is_dask(data):
        data = np.asarray(data)
    target = working_dtype(data.dtype, name)
    if data.dtype == target:
        return data
    return data.astype(target)  # dask: a blockwise astype, no compute


def integer_offset(data) -> int | None:
    """The reference value :func:`remove_offset` subtracts, or None.

    For integer images of 4 or 8 bytes: the first element (any value inside
    the data's range keeps the shifted values within that range; the first
    element costs one chunk of a dask array, not a pass over all of it).
    None for every other dtype (their cast is exact, or they are floats).
    """
    dt = np.dtype(data.dtype)
    if dt.kind not in "iu" or dt.itemsize < 4 or data.size == 0:
        return None
    first = data[(0,) * data.ndim]
    if _is_dask(data):
        first = first.compute()
    return int(first)


def _shift_block(block, offset, target):
    block = np.asarray(block)
    dt = block.dtype
    if dt.itemsize == 8:
        # subtract in the 64-bit type itself (wrapping modulo 2**64) and read
        # the difference as signed: exact whenever |data - offset| < 2**63
        ref = np.array(offset).astype(dt)
        diff = np.subtract(block, ref, dtype=dt)
        return diff.view(np.int64).astype(target)
    return (block.astype(np.int64) - np.int64(offset)).astype(target)


def remove_offset(data, offset: int | None = None, *, name: str = "data"):
    """The working-float image minus an integer offset, subtracted exactly.

    Parameters
    ----------
    data : ndarray or dask.array.Array of any shape
    offset : int, optional
        Value to subtract (integer images of 4 or 8 bytes only). Default:
        :func:`integer_offset`.
    name : str
        Name of the parameter in error messages.

    Returns
    -------
    shifted : ndarray or dask.array.Array
        ``data - offset`` in the working dtype (the offset removed in 64-bit
        integer arithmetic before the cast, so a 1e15 offset costs no
        precision); other dtypes as :func:`as_working_float`.
    offset : int or float
        What was subtracted (0 when nothing was).

    Notes
    -----
    The differences must stay below 2**63 in magnitude (always true for
    real detector data). Above 2**53 counts float64 rounds them, as it must.
    """
    if not _is_dask(data):
        data = np.asarray(data)
    target = working_dtype(data.dtype, name)
    dt = data.dtype
    if dt.kind not in "iu" or dt.itemsize < 4:
        if offset not in (None, 0):
            raise ValueError(
                f"`offset` applies to 32- and 64-bit integer images only, "
                f"`{name}` is {dt.name}"
            )
        return as_working_float(data, name=name), 0
    if offset is None:
        offset = integer_offset(data)
        if offset is None:  # empty
            return data.astype(target), 0
    elif isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
        raise TypeError(f"`offset` must be an integer, got {offset!r}")
    offset = int(offset)
    info = np.iinfo(dt)
    if not info.min <= offset <= info.max:
        raise ValueError(
            f"`offset` {offset} is outside the range of `{name}`'s dtype {dt.name}"
        )
    if _is_dask(data):
        return (
            data.map_blocks(
                _shift_block,
                offset,
                target,
                dtype=target,
                meta=np.empty((0,) * data.ndim, target),
            ),
            offset,
        )
    return _shift_block(data, offset, target), offset

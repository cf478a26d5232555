"""Numerical kernels of hyperspy_unmix: numpy (and dask) arrays in, arrays out.

Nothing here imports HyperSpy; the api modules turn signals into arrays, call
these kernels and build result signals.
"""

"""Docstrings of the signal methods.

The methods delegate to the api functions, whose modules import scikit-learn
and SciPy; importing them here would slow every ``set_signal_type`` and
``hs.load`` of our types, so the methods carry their own summaries and point
to the full documentation.
"""

NFINDR_UNMIX = """Unmix this signal into endmembers and abundances with N-FINDR.

Finds the ``n_endmembers`` purest pixels (the vertices of the largest simplex
in the principal subspace of the data) and, at every pixel, abundances that
are non-negative and sum to one (``abundances="fcls"``). The signal is not
modified. Same as :func:`hyperspy_unmix.nfindr_unmix` with this signal as
``signal``; see it for every option (``abundances``,
``endmember_estimate``, ``init``, ``random_state``, ``navigation_mask``,
``signal_mask``, ``show_progressbar``, ``lazy_output``, ...).

Parameters
----------
n_endmembers : int
    Number of endmembers (>= 2).
**kwargs
    Passed to :func:`hyperspy_unmix.nfindr_unmix`.

Returns
-------
hyperspy_unmix.UnmixingResult
    ``endmembers``, ``abundances``, ``residual``, ``indices``, ``volume``,
    ``n_iter``; ``plot()``, ``save()``, ``as_components()``.
"""

SLIDING_FFT = """Stack of local FFT magnitudes of a window sliding over the image.

Per window: mean removal, taper, FFT, shift, magnitude (or power), ``log1p``.
Navigation axes sit at the window centres in the image's units, signal axes
are in reciprocal units. Same as :func:`hyperspy_unmix.sliding_fft` with this
signal as ``image``; see it for every option (``window``, ``log``,
``power``, ``crop``, ``zoom``, ``remove_dc``, ``normalize``,
``lazy_output``, ...).

Parameters
----------
window_size : int or (int, int)
    Window height and width in pixels (>= 4).
step : int or (int, int)
    Distance between window positions in pixels.
**kwargs
    Passed to :func:`hyperspy_unmix.sliding_fft`.

Returns
-------
hyperspy_unmix.signals.SlidingFFT
    Data shape ``(*navigation_shape, n_windows_y, n_windows_x, win_y, win_x)``
    in array order; unmix it with ``nfindr_unmix``.
"""

NEIGHBORHOOD_PCA = """PCA of the atoms' local environments (distances and angles).

Finds the atoms with Atomap (unless ``positions`` are given), describes each
atom by the distances and angles to its ``n_neighbors`` nearest neighbours in
a canonical order, runs a PCA over the atoms with HyperSpy's decomposition
and maps the scores back onto the image. Same as
:func:`hyperspy_unmix.neighborhood_pca` with this signal as ``image``; see it
for every option (``positions``, ``separation``, ``refine``, ``metric``,
``n_components``, ...).

Parameters
----------
n_neighbors : int
    Number of nearest neighbours per atom (>= 2).
**kwargs
    Passed to :func:`hyperspy_unmix.neighborhood_pca`.

Returns
-------
hyperspy_unmix.NeighborhoodPCAResult
    Positions, included-atom mask, descriptors, scores, components and
    explained variance ratio; ``plot()``, ``score_map()``, ``save()``.
"""

SEGMENT_PHASES = """Segment the image into phases by local periodicity, in one call.

Sliding FFT with the preprocessing tuned for segmentation (central part of
reciprocal space, DC removed, per-window normalisation) followed by N-FINDR
with denoised endmembers. Same as :func:`hyperspy_unmix.segment_phases` with
this signal as ``image``.

Parameters
----------
n_phases : int
    Number of phases (>= 2).
window_size, step : int or (int, int)
    Window size and step in pixels.
**kwargs
    Passed to :func:`hyperspy_unmix.segment_phases`.

Returns
-------
hyperspy_unmix.UnmixingResult
    Phase FFT patterns (``endmembers``) and phase maps on the window grid
    (``abundances``); :func:`hyperspy_unmix.phase_maps` puts them on the
    image's pixel grid.
"""

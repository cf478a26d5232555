"""How many endmembers: :func:`estimate_n_endmembers` and ``n_endmembers="auto"``.

The estimate needs only the channel moments (count, mean spectrum,
covariance) that the reduction of :func:`hyperspy_unmix.nfindr_unmix` sums
anyway, so ``nfindr_unmix(s, "auto")`` gets it from the same pass; the
criteria are in :mod:`hyperspy_unmix._core.n_endmembers`.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING

import numpy as np

from hyperspy_unmix._core import n_endmembers as _count
from hyperspy_unmix._core.pca import CovariancePCA, NonFiniteDataError, sample_fraction
from hyperspy_unmix._signal_io import aligned_data, flat_masks, is_lazy
from hyperspy_unmix._validation import check_choice, check_int, check_signal
from hyperspy_unmix.unmixing._reduce import (
    lazy_moments_of,
    memory_moments_of,
    non_finite_error,
)

if TYPE_CHECKING:
    from hyperspy.signal import BaseSignal

__all__ = ["estimate_n_endmembers", "EndmemberCount"]

METHODS = _count.METHODS


class EndmemberCount(int):
    """The estimated number of endmembers: an ``int``, with its evidence.

    Attributes
    ----------
    criterion : ndarray of shape (max_endmembers,)
        Cost of every candidate ``q = 1 .. max_endmembers``; the estimate is
        where it is smallest.
    method : str
        The criterion used (``"auto"`` resolved: ``"hysime"``, or
        ``"poisson"`` for counts with too few pixels for the regression).
    eigenvalues : ndarray
        Noise-whitened eigenvalues of the covariance, largest first.
    threshold : float
        Noise edge they are compared with (NaN for ``"hysime"``).
    noise_variance : ndarray of shape (n_channels,)
        Noise variance per used channel.
    n_samples : int
        Pixels the moments came from.
    """

    def __new__(cls, estimate: _count.NEndmembersEstimate):
        obj = super().__new__(cls, int(estimate.n_endmembers))
        obj.criterion = np.asarray(estimate.criterion)
        obj.method = estimate.method
        obj.eigenvalues = np.asarray(estimate.eigenvalues)
        obj.threshold = float(estimate.threshold)
        obj.noise_variance = np.asarray(estimate.noise_variance)
        obj.n_samples = int(estimate.n_samples)
        return obj

    def __repr__(self):
        return f"EndmemberCount({int(self)}, method={self.method!r})"

    def plot(self, ax=None):
        """The criterion per candidate ``q``, the estimate marked.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        own = ax is None
        if own:
            _, ax = plt.subplots(figsize=(4, 3), layout="constrained")
        q = np.arange(1, self.criterion.size + 1)
        ax.plot(q, self.criterion, "o-")
        ax.axvline(int(self), color="C3", ls="--", label=f"estimate: {int(self)}")
        ax.set_xlabel("number of endmembers q")
        ax.set_ylabel(f"{self.method} criterion")
        ax.legend()
        # a given axes keeps its figure's layout (tight_layout would replace
        # a constrained one, with a warning)
        return ax


class CountRule:
    """``n_components`` rule for :class:`CovariancePCA`: ``q - 1`` from the
    moments, the estimate kept (``estimate``) for the result's record."""

    def __init__(self, method="auto", counts=False, max_endmembers=None, name=None):
        self.method = method
        self.counts = counts
        self.max_endmembers = max_endmembers
        self.name = name  # the caller's parameter ("`n_endmembers`"), if any
        self.estimate = None

    def __call__(self, n, mean, cov):
        try:
            est = _count.estimate_n_endmembers_from_moments(
                n,
                mean,
                cov,
                method=self.method,
                counts=self.counts,
                max_endmembers=self.max_endmembers,
            )
        except (ValueError, np.linalg.LinAlgError) as err:
            if self.name is None:
                raise
            # tiny or degenerate maps: say which of the user's choices failed
            raise ValueError(
                f'{self.name}="auto" cannot estimate the number of endmembers '
                f"of this `signal` ({n} pixels, {mean.size} channels): {err}; "
                "give the number of endmembers as an int"
            ) from err
        self.estimate = EndmemberCount(est)
        if int(self.estimate) < 2:
            raise ValueError(
                '`n_endmembers`="auto": the data hold a single phase (no '
                "direction stands out of the noise), so there is nothing to "
                "unmix; the estimate's evidence is in "
                "`hyperspy_unmix.estimate_n_endmembers(signal)`"
            )
        return int(self.estimate) - 1


class CheckRule:
    """``n_components`` rule for a given ``q``: ``q - 1`` as asked, with the
    estimate from the same moments kept for a warning when ``q`` exceeds it
    (the "one endmember too many" case, where N-FINDR turns a noisy pixel
    into a phase). Only on maps of at most ``max_channels`` channels (its
    eigen-decomposition grows as ``C**3``)."""

    def __init__(self, q, max_channels=512):
        self.q = q
        self.max_channels = max_channels
        self.estimate = None

    def __call__(self, n, mean, cov):
        if mean.size <= self.max_channels and n > mean.size + 1:
            try:
                est = _count.estimate_n_endmembers_from_moments(n, mean, cov)
            except (ValueError, np.linalg.LinAlgError):
                est = None  # the check is a hint: never fail the unmixing
            self.estimate = None if est is None else EndmemberCount(est)
        return self.q - 1

    def warn_if_too_many(self):
        if self.estimate is None or int(self.estimate) >= self.q:
            return
        import warnings

        warnings.warn(
            f"`n_endmembers`={self.q}, but only {int(self.estimate) - 1} "
            f"direction(s) of the data stand out of the noise: "
            f"estimate_n_endmembers gives {int(self.estimate)}, so "
            f"{self.q - int(self.estimate)} endmember(s) may be noisy pixels "
            "rather than phases (at very low counts the estimate can also miss "
            'a weak phase; n_endmembers="auto" uses it)',
            UserWarning,
            stacklevel=3,
        )


def looks_like_counts(data, n_pix, n_ch, nav_keep=None):
    """Raw counts? (non-negative whole numbers, checked on a sample of rows)."""
    if is_lazy(data):
        rows = max(1, min(4096, n_pix))
        sample = np.asarray(data.reshape(n_pix, n_ch)[:rows].compute())
    else:
        sample = data.reshape(n_pix, n_ch)
        if nav_keep is not None:
            sample = sample[np.flatnonzero(nav_keep)[:: max(1, n_pix // 4096)]]
    return _count.is_counts(sample)


def estimate_n_endmembers(
    signal: BaseSignal,
    *,
    method: str = "auto",
    max_endmembers: int | None = None,
    navigation_mask=None,
    signal_mask=None,
    max_pca_pixels: int | None = 1_000_000,
) -> EndmemberCount:
    """Estimate how many endmembers a spectrum image holds.

    One pass over the data sums the channel moments (as the reduction of
    :func:`hyperspy_unmix.nfindr_unmix` does; ``nfindr_unmix(s, "auto")``
    uses the same estimate without a pass of its own); the channel noise is
    known from the counts for raw count data (the Poisson variance equals
    the mean) and estimated by regression of every channel on the others
    otherwise (HySime's noise estimate); the estimate ``q`` is one more than
    the number of directions that stand out of the noise.

    Parameters
    ----------
    signal : hyperspy.api.signals.BaseSignal
        As for :func:`hyperspy_unmix.nfindr_unmix` (in memory or lazy).
    method : {"auto", "poisson", "hysime", "mp", "nwhfc"}
        ``"auto"``: ``"hysime"`` (Bioucas-Dias & Nascimento 2008; measured
        10/10 on EDS/Raman-like maps with 2-6 phases, 28/30 with EELS-like
        ones), ``"poisson"`` for raw counts with fewer pixels than channels.
        ``"poisson"``: the noise known from the counts (can do better on
        low-dose EELS-like maps, over-counts on low-dose EDS-like ones).
        Noise-free data have no noise to compare with: the count then runs
        to ``max_endmembers``. ``"mp"``: whitened eigenvalues above the Marchenko-Pastur
        edge; ``"nwhfc"``: noise-whitened Harsanyi-Farrand-Chang.
    max_endmembers : int, optional
        Largest candidate (default: 20, or fewer with few pixels/channels).
    navigation_mask, signal_mask
        As for :func:`hyperspy_unmix.nfindr_unmix` (True = excluded).
    max_pca_pixels : None or int
        As for :func:`hyperspy_unmix.nfindr_unmix`: the moments of at most
        about this many pixels (a fixed pseudo-random sample).

    Returns
    -------
    EndmemberCount
        An ``int`` (1: a single phase, nothing to unmix) with the evidence:
        ``criterion`` per candidate, ``method``, ``eigenvalues``,
        ``threshold``, and ``plot()``.

    Examples
    --------
    >>> import hyperspy_unmix as hu
    >>> s, truth = hu.data.spectrum_image((48, 48), 256, 3, random_state=0)
    >>> int(hu.estimate_n_endmembers(s))
    3
    """
    check_signal(signal, signal_dimension=(1, 2), need_navigation=True)
    check_choice(method, "method", METHODS)
    if max_endmembers is not None:
        max_endmembers = check_int(max_endmembers, "max_endmembers", minimum=1)
    if max_pca_pixels is not None:
        max_pca_pixels = check_int(max_pca_pixels, "max_pca_pixels", minimum=100)
    data, nav_shape, sig_shape = aligned_data(signal)
    n_pix, n_ch = int(np.prod(nav_shape)), int(np.prod(sig_shape))
    nav_keep, sig_keep = flat_masks(signal, navigation_mask, signal_mask)
    n_use = n_pix if nav_keep is None else int(nav_keep.sum())
    if n_use < 3:
        raise ValueError(
            f"`signal` has {n_use} "
            + (
                "unmasked pixels: `navigation_mask` leaves"
                if nav_keep is not None
                else "pixels:"
            )
            + " too few to estimate the number of endmembers (at least 3)"
        )
    counts = looks_like_counts(data, n_pix, n_ch, nav_keep)
    rule = CountRule(method, counts, max_endmembers)
    fraction = sample_fraction(n_use, max_pca_pixels)
    if is_lazy(data):
        shift, moments, *_ = lazy_moments_of(
            data, nav_shape, n_ch, nav_keep, sig_keep, fraction, nullcontext
        )
    else:
        flat = data.reshape(n_pix, n_ch)
        shift, moments = memory_moments_of(flat, nav_keep, sig_keep, fraction)
    try:
        CovariancePCA.from_moments(_Probe(rule), shift, moments)
    except NonFiniteDataError:
        raise non_finite_error(nav_keep is not None) from None
    return rule.estimate


class _Probe:
    """Runs the count rule and keeps one component (the fit needs >= 1)."""

    def __init__(self, rule):
        self.rule = rule

    def __call__(self, n, mean, cov):
        est = _count.estimate_n_endmembers_from_moments(
            n,
            mean,
            cov,
            method=self.rule.method,
            counts=self.rule.counts,
            max_endmembers=self.rule.max_endmembers,
        )
        self.rule.estimate = EndmemberCount(est)
        return 1

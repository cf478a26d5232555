"""The number of endmembers of a spectrum image, from its channel moments.

Every criterion here needs only the pixel count ``n``, the mean spectrum and
the channel covariance (``C x C``): the moments the unmixing pipeline already
sums in one pass, in memory or from dask block sums. So the estimate costs one
``C x C`` eigen-decomposition (plus a Cholesky factorisation for the
regression noise estimate), whatever the number of pixels.

Model. ``q`` endmembers mixed with sum-to-one abundances span an affine set
of dimension ``k = q - 1``: the centred covariance has ``k`` signal
eigenvalues above the noise. Every method counts ``k`` and returns
``q = k + 1``; ``q = 1`` means that no direction stands out of the noise (one
spectrum plus noise: nothing to unmix).

Methods (``method=``):

``"poisson"``
    Count data. The pixel-averaged Poisson noise covariance is exactly
    ``diag(mean)`` (the variance of a count is its expectation), so
    ``W = D^-1/2 Cov D^-1/2`` with ``D = diag(mean)`` (the channel part of the
    Keenan-Kotula weighting, see :mod:`hyperspy_unmix._core.poisson`) has
    white noise of unit variance. Signal directions are the eigenvalues of
    ``W`` above the edge of the Marchenko-Pastur law of the noise,
    ``(1 + sqrt(C / n))^2``, plus a Tracy-Widom margin (Johnstone 2001).
``"mp"``
    Continuous data (any noise level per channel, e.g. Raman with read noise
    and shot noise): the noise variance of channel ``i`` is its residual
    variance regressed on the other channels (the noise estimate of HySime,
    Bioucas-Dias & Nascimento 2008), in closed form from the inverse
    covariance, ``(n - 1) / ((n - C) (Cov^-1)_ii)`` (the factor makes the
    residual mean square unbiased for ``C`` fitted coefficients). Then as
    ``"poisson"``. Needs ``n > C``.
``"hysime"``
    HySime's own minimum-mean-square-error rule with the same noise estimate:
    eigenvector ``i`` of the signal covariance ``Cov - Rn`` is kept when its
    power exceeds twice its noise power.
``"nwhfc"``
    Noise-whitened Harsanyi-Farrand-Chang (Chang & Du 2004): counts the
    whitened eigenvalues where the correlation matrix exceeds the covariance
    (a Neyman-Pearson test at false-alarm probability ``1e-3``). It counts
    endmembers directly (the mean is one of the signals).
``"auto"``
    ``"hysime"``, for counts and continuous data alike. Chosen by
    measurement on 30 maps of ``hyperspy_unmix.data.spectrum_image``
    (64 x 64 x 512, EDS-, Raman- and EELS-like, 2-6 phases, two doses, two
    seeds): ``"hysime"`` 28/30 and ``"nwhfc"`` 28/30 (both one short on the
    low-dose EELS map with 6 phases, whose sixth spectrum is weak),
    ``"poisson"`` 26/30 (one to two too many on low-dose EDS-like maps: the
    Poisson variance differs from phase to phase where one phase holds a
    strong line, so the whitened noise spreads beyond the Marchenko-Pastur
    edge); on 96 x 96 x 1024 maps (``benchmarks/bench_n_endmembers.py``)
    ``"hysime"`` 10/10, ``"mp"`` 8/10, HyperSpy's scree elbow 0/10 (one too
    many on every map).

Masked pixels and channels: pass the moments of the used part only.
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.special

METHODS = ("auto", "poisson", "mp", "hysime", "nwhfc")
# Tracy-Widom (GOE) margin above the Marchenko-Pastur edge, in units of the
# Johnstone scale: TW1 has its 0.999 quantile near 3.9 (mean -1.21, sd 1.27),
# 4 leaves room for the pixel-to-pixel variance profile of Poisson noise.
_TW_MARGIN = 4.0
# NWHFC false-alarm probability (Chang & Du 2004 use 1e-3 to 1e-5).
_HFC_FALSE_ALARM = 1e-3
# Channels whose variance is below this fraction of the largest one carry no
# information (constant, all-zero, clipped) and are left out.
_DEAD_CHANNEL = 1e-12


@dataclass
class NEndmembersEstimate:
    """Outcome of :func:`estimate_n_endmembers_from_moments`.

    Attributes
    ----------
    n_endmembers : int
        The estimate ``q`` (1: a single phase, nothing to unmix).
    criterion : ndarray of shape (max_endmembers,)
        Cost of every candidate ``q = 1 .. max_endmembers`` (index ``q - 1``);
        the estimate is its argmin + 1. ``"poisson"``/``"mp"``:
        ``-sum_{j < q} log(lambda_j / threshold)`` over the ``q - 1`` largest
        whitened eigenvalues (falls while they are above the noise edge);
        ``"hysime"``: HySime's mean-square error (up to a constant) with
        ``q - 1`` components; ``"nwhfc"``: ``-sum_{j <= q} (lR_j - lK_j -
        tau_j) / tau_j``.
    method : str
        The method used (``"auto"`` resolved).
    noise_variance : ndarray of shape (n_channels,)
        Noise variance per channel (data units squared): the mean spectrum for
        ``"poisson"``, the regression estimate otherwise; 0 for channels left
        out (no variance).
    eigenvalues : ndarray of shape (n_eigenvalues,)
        Eigenvalues of the noise-whitened covariance, largest first (for
        ``"hysime"``: the signal powers ``p_i`` of its kept order).
    threshold : float
        Noise edge the eigenvalues are compared with (``"poisson"``/``"mp"``;
        NaN otherwise).
    n_samples : int
        Pixels the moments were computed from.
    """

    n_endmembers: int
    criterion: np.ndarray
    method: str
    noise_variance: np.ndarray
    eigenvalues: np.ndarray
    threshold: float
    n_samples: int


def noise_edge(n_samples: int, n_channels: int, margin: float = _TW_MARGIN) -> float:
    """Largest eigenvalue expected from white unit-variance noise alone.

    The Marchenko-Pastur edge of a ``C x C`` sample covariance (divisor
    ``n - 1``) of ``n`` samples, plus ``margin`` times Johnstone's (2001)
    Tracy-Widom scale.

    Parameters
    ----------
    n_samples : int
    n_channels : int
    margin : float

    Returns
    -------
    float
    """
    nu = max(int(n_samples) - 1, 1)
    p = int(n_channels)
    a = np.sqrt(nu) + np.sqrt(p)
    mu = a * a / nu
    sigma = a * (1.0 / np.sqrt(nu) + 1.0 / np.sqrt(p)) ** (1.0 / 3.0) / nu
    return float(mu + margin * sigma)


def regression_noise(cov: np.ndarray, n_samples: int) -> np.ndarray:
    """Noise variance of every channel: its residual regressed on the others.

    Parameters
    ----------
    cov : ndarray of shape (C, C)
        Sample covariance (divisor ``n - 1``), positive definite.
    n_samples : int
        ``n > C``.

    Returns
    -------
    ndarray of shape (C,)
        ``(n - 1) / ((n - C) (cov^-1)_ii)``: the unbiased residual mean square
        of the least-squares fit of channel ``i`` on the ``C - 1`` others
        (with intercept).

    Raises
    ------
    ValueError
        If ``n <= C`` or ``cov`` is not positive definite.
    """
    C = cov.shape[0]
    n = int(n_samples)
    if n <= C:
        raise ValueError(
            f"the regression noise estimate needs more pixels than channels "
            f"({n} pixels, {C} channels): for raw counts use "
            "method='poisson'; otherwise use fewer channels (a `signal_mask`, "
            "or binned data)"
        )
    # diag(cov^-1) = squared column norms of L^-1 (cov = L L^T), without
    # forming the inverse.
    d = np.sqrt(np.diag(cov))
    try:
        L = scipy.linalg.cholesky(cov / np.outer(d, d), lower=True)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the channel covariance is singular: some channels are exact linear "
            "combinations of others (mask them)"
        ) from None
    Linv = scipy.linalg.solve_triangular(L, np.eye(C), lower=True)
    inv_diag = np.einsum("ij,ij->j", Linv, Linv) / (d * d)
    return (n - 1) / ((n - C) * inv_diag)


def _mp_criterion(eigenvalues, threshold, max_q):
    lam = np.asarray(eigenvalues[: max_q - 1], dtype=np.float64)
    lam = np.pad(lam, (0, max_q - 1 - lam.size), constant_values=threshold * 1e-300)
    steps = -np.log(np.maximum(lam, 1e-300) / threshold)
    return np.concatenate([[0.0], np.cumsum(steps)])


def _top_eigenvalues(M, k):
    """The ``k`` largest eigenvalues of a symmetric matrix, largest first.

    Lanczos (ARPACK) for few eigenvalues of a large matrix: ~100 products of
    ``M`` instead of a full tridiagonalisation (0.1-0.2 s at C = 1024). The
    relative tolerance 1e-10 is far below the noise-edge margin.
    """
    C = M.shape[0]
    k = min(k, C)
    if C > 256 and k < C // 8:
        import scipy.sparse.linalg as spla

        try:
            w = spla.eigsh(
                M, k=k, which="LA", tol=1e-10, v0=np.ones(C), return_eigenvectors=False
            )
            return np.sort(w)[::-1]
        except spla.ArpackError:
            pass
    return scipy.linalg.eigh(M, eigvals_only=True, subset_by_index=[C - k, C - 1])[::-1]


def _whitened_eigenvalues(cov, noise, k):
    """The ``k`` largest eigenvalues of ``D^-1/2 cov D^-1/2``, ``D = diag(noise)``."""
    s = 1.0 / np.sqrt(noise)
    return _top_eigenvalues(cov * np.outer(s, s), k)


def estimate_n_endmembers_from_moments(
    n: int,
    mean: np.ndarray,
    cov: np.ndarray,
    *,
    method: str = "auto",
    counts: bool | None = None,
    max_endmembers: int | None = None,
) -> NEndmembersEstimate:
    """Estimate the number of endmembers ``q`` from the channel moments.

    Parameters
    ----------
    n : int
        Number of pixels the moments come from (>= 3).
    mean : array_like of shape (C,)
        Mean spectrum.
    cov : array_like of shape (C, C)
        Channel covariance, divisor ``n - 1``.
    method : {"auto", "poisson", "mp", "hysime", "nwhfc"}
        See the module docstring.
    counts : None or bool
        Whether the data are raw counts (Poisson). ``"auto"`` uses
        ``"poisson"`` only for counts with too few pixels for the regression
        noise estimate (``n <= C + 1``); None counts as False here (moments
        alone cannot tell; :func:`estimate_from_data` checks the values).
    max_endmembers : None or int
        Largest candidate ``q`` (default ``min(C, n - 1, 20)``).

    Returns
    -------
    NEndmembersEstimate

    Raises
    ------
    ValueError
        On inconsistent shapes, NaN/inf, too few pixels, negative mean with
        ``"poisson"``, ``n <= C`` for the regression-based methods.
    TypeError
        If ``method`` is not a string or ``counts`` not None/bool.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"`n` must be an integer, got {n!r}")
    n = int(n)
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if mean.ndim != 1:
        raise ValueError(f"`mean` must be 1-D (n_channels,), got shape {mean.shape}")
    C = mean.size
    if cov.shape != (C, C):
        raise ValueError(
            f"`cov` must have shape (n_channels, n_channels) = ({C}, {C}), got "
            f"{cov.shape}"
        )
    if n < 3:
        raise ValueError(f"`n` must be >= 3 pixels, got {n}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        raise ValueError("`mean` or `cov` contains NaN or infinite values")
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string, got {method!r}")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}, got {method!r}")
    if counts is not None and not isinstance(counts, (bool, np.bool_)):
        raise TypeError(f"`counts` must be None, True or False, got {counts!r}")
    if max_endmembers is None:
        max_endmembers = min(C, n - 1, 20)
    elif isinstance(max_endmembers, bool) or not isinstance(
        max_endmembers, (int, np.integer)
    ):
        raise TypeError(f"`max_endmembers` must be an integer, got {max_endmembers!r}")
    max_q = int(max_endmembers)
    if not 1 <= max_q <= min(C, n - 1) + 1:
        raise ValueError(
            f"`max_endmembers` must be between 1 and {min(C, n - 1) + 1}, got {max_q}"
        )
    # Channels without variance (all zero, constant) carry no information and
    # would make the whitening singular.
    var = np.diag(cov).copy()
    used = var > _DEAD_CHANNEL * max(var.max(), np.finfo(float).tiny)
    if method == "auto":
        # the regression noise estimate needs clearly more pixels than
        # channels (48x48 pixels of 2048 channels, 4 phases: HySime 20,
        # Poisson 4; with 64x64: both 4); below that, counts still have
        # their Poisson noise
        few = n < 2 * int(used.sum())
        method = "poisson" if (few and counts and np.all(mean >= 0)) else "hysime"
    if method == "poisson":
        if np.any(mean < 0):
            raise ValueError(
                "`mean` has negative channels: the data are not raw counts "
                "(use method='mp')"
            )
        used &= mean > 0
    noise = np.zeros(C)
    if not used.any():
        return NEndmembersEstimate(
            1, np.zeros(max_q), method, noise, np.zeros(0), np.nan, n
        )
    cu = cov[np.ix_(used, used)]
    Cu = int(used.sum())
    threshold = np.nan
    if method == "poisson":
        noise[used] = mean[used]
    else:
        noise[used] = regression_noise(cu, n)
    nu = noise[used]

    if method in ("poisson", "mp"):
        threshold = noise_edge(n, Cu)
        lam = _whitened_eigenvalues(cu, nu, max_q)
        crit = _mp_criterion(lam, threshold, max_q)
    elif method == "hysime":
        lam, crit = _hysime(cu, nu, max_q)
    else:  # nwhfc
        lam, crit = _nwhfc(cu, mean[used], nu, n, max_q)
    q = int(np.argmin(crit)) + 1
    return NEndmembersEstimate(q, crit, method, noise, lam, float(threshold), n)


def _hysime(cov, noise, max_q):
    """HySime's rule on the centred covariance (so it counts ``q - 1``)."""
    C = cov.shape[0]
    Rs = cov - np.diag(noise)
    # Only the leading eigenvectors can have positive signal-minus-noise
    # power; HySime sorts all C, but beyond max_q - 1 nothing is used.
    k = min(max_q - 1, C)
    if k == 0:
        return np.zeros(0), np.zeros(1)
    _, V = scipy.linalg.eigh(Rs, subset_by_index=[C - k, C - 1])
    V = V[:, ::-1]
    power = np.einsum("ij,ij->j", V, cov @ V)  # p_i = e_i^T Ry e_i
    noise_power = (V * V).T @ noise  # sigma_i^2 = e_i^T Rn e_i
    delta = np.sort(2.0 * noise_power - power)
    crit = np.concatenate([[0.0], np.cumsum(delta)])
    crit = np.pad(crit, (0, max_q - crit.size), mode="edge")
    return power, crit


def _nwhfc(cov, mean, noise, n, max_q):
    s = 1.0 / np.sqrt(noise)
    K = cov * np.outer(s, s)
    mw = mean * s
    R = K * ((n - 1) / n) + np.outer(mw, mw)
    C = K.shape[0]
    k = min(max_q, C)
    lk = _top_eigenvalues(K, k)
    lr = _top_eigenvalues(R, k)
    z = np.sqrt(2.0) * scipy.special.erfinv(1.0 - 2.0 * _HFC_FALSE_ALARM)
    tau = z * np.sqrt(2.0 * (lr**2 + lk**2) / n)
    steps = -(lr - lk - tau) / tau
    # HFC counts q itself: the cost of candidate q sums the first q tests.
    crit = np.cumsum(steps)[:max_q]
    crit = np.pad(crit, (0, max_q - crit.size), mode="edge")
    return lr - lk, crit


def moments(
    X: np.ndarray, block_rows: int = 8192
) -> tuple[int, np.ndarray, np.ndarray]:
    """Pixel count, mean spectrum and channel covariance in one pass.

    Parameters
    ----------
    X : ndarray of shape (n_pixels, n_channels)
        float32 data stay float32 in the Gram products (a float32 GEMM, the
        sums in float64); other dtypes are computed in float64. The first
        block's mean is subtracted first, so a large mean costs no digits.
    block_rows : int

    Returns
    -------
    n : int
    mean : ndarray of shape (n_channels,)
    cov : ndarray of shape (n_channels, n_channels)
        Divisor ``n - 1``.
    """
    n, C = X.shape
    wd = np.float32 if X.dtype == np.float32 else np.float64
    shift = X[:block_rows].mean(axis=0, dtype=np.float64)
    total = np.zeros(C)
    gram = np.zeros((C, C))
    buf = None
    for start in range(0, n, block_rows):  # blocks of rows, not pixels
        xb = X[start : start + block_rows]
        if buf is None or buf.shape[0] != xb.shape[0]:
            buf = np.empty(xb.shape, dtype=wd)
        np.subtract(xb, shift.astype(wd), out=buf, casting="unsafe")
        total += buf.sum(axis=0, dtype=np.float64)
        gram += buf.T @ buf
    m = total / n
    cov = (gram - n * np.outer(m, m)) / (n - 1)
    return n, shift + m, cov


def is_counts(X: np.ndarray, sample: int = 4096) -> bool:
    """Whether ``X`` looks like raw counts: non-negative whole numbers.

    Checks at most ``sample`` evenly spaced rows (cheap on large maps).

    Parameters
    ----------
    X : ndarray of shape (n_pixels, n_channels)
    sample : int

    Returns
    -------
    bool
    """
    if np.issubdtype(X.dtype, np.integer) or X.dtype == np.bool_:
        return bool(X.size == 0 or X.min() >= 0)
    step = max(1, -(-X.shape[0] // sample))
    part = X[::step]
    return bool(np.all(part >= 0) and np.all(part == np.round(part)))


def estimate_from_data(
    X: np.ndarray,
    *,
    method: str = "auto",
    counts: bool | None = None,
    max_endmembers: int | None = None,
) -> NEndmembersEstimate:
    """:func:`estimate_n_endmembers_from_moments` on an in-memory data matrix.

    Parameters
    ----------
    X : array_like of shape (n_pixels, n_channels)
        Used pixels and channels only (apply masks before).
    method, max_endmembers
        As in :func:`estimate_n_endmembers_from_moments`.
    counts : None or bool
        None: counts when every value is a non-negative whole number
        (:func:`is_counts`).

    Returns
    -------
    NEndmembersEstimate
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"`X` must be 2-D (n_pixels, n_channels), got {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise TypeError(f"`X` must hold real numbers, got dtype {X.dtype}")
    if X.shape[0] < 3:
        raise ValueError(f"`X` must have at least 3 pixels, got {X.shape[0]}")
    if not np.all(np.isfinite(X)):
        raise ValueError("`X` contains NaN or infinite values")
    if counts is None:
        counts = is_counts(X)
    n, mean, cov = moments(X)
    return estimate_n_endmembers_from_moments(
        n, mean, cov, method=method, counts=counts, max_endmembers=max_endmembers
    )


def hull_distances(endmembers: np.ndarray, noise_variance: np.ndarray) -> np.ndarray:
    """Noise-whitened squared distance of each endmember to the others' hull.

    Parameters
    ----------
    endmembers : ndarray of shape (q, C)
    noise_variance : ndarray of shape (C,)
        Per-channel noise variance (e.g. :attr:`NEndmembersEstimate.noise_variance`);
        channels with 0 are left out.

    Returns
    -------
    ndarray of shape (q,)
        ``min ||(e_k - sum_j b_j e_j) / sigma||^2`` over ``sum_j b_j = 1``,
        ``j != k`` (the affine hull of the other endmembers): the variance,
        in units of the noise, that endmember ``k`` adds to the model. For
        ``q = 1`` the distance to the origin.
    """
    E = np.asarray(endmembers, dtype=np.float64)
    nv = np.asarray(noise_variance, dtype=np.float64)
    if E.ndim != 2 or nv.shape != (E.shape[1],):
        raise ValueError(
            "`endmembers` (q, C) and `noise_variance` (C,) must share C, got "
            f"{E.shape} and {nv.shape}"
        )
    used = nv > 0
    if not used.any():
        raise ValueError("`noise_variance` is zero in every channel")
    W = E[:, used] / np.sqrt(nv[used])
    q = W.shape[0]
    out = np.empty(q)
    for k in range(q):  # q is small: a loop over endmembers, not pixels
        others = np.delete(W, k, axis=0)
        if others.shape[0] == 0:
            out[k] = float(W[k] @ W[k])
            continue
        o0 = others[0]
        D = (others[1:] - o0).T
        r = W[k] - o0
        if D.shape[1]:
            coef, *_ = np.linalg.lstsq(D, r, rcond=None)
            r = r - D @ coef
        out[k] = float(r @ r)
    return out


def weak_endmembers(
    abundances: np.ndarray,
    *,
    endmembers: np.ndarray | None = None,
    noise_variance: np.ndarray | None = None,
    min_fraction: float = 0.005,
    hull_factor: float | None = None,
) -> np.ndarray:
    """Endmembers that explain almost nothing or only isolated pixels.

    The "one endmember too many" symptom: N-FINDR asked for more endmembers
    than the data hold picks a pixel that is extreme only by its noise as
    the extra vertex. Flagged, each test on its own:

    - *tiny*: the endmember's mean abundance (its share of the map) is below
      ``min_fraction``;
    - *isolated*: a single pixel holds all of its abundance above half its
      maximum;
    - *within the noise* (opt-in: ``hull_factor``, ``endmembers`` and
      ``noise_variance``): its
      noise-whitened squared distance to the affine hull of the other
      endmembers (:func:`hull_distances`) is below ``hull_factor * ln(n)``.
      An extra vertex picked from pure noise sits about ``sqrt(2 ln n)``
      noise standard deviations out of the others' hull (the extreme of
      ``n`` samples); a real phase sits as far out as its signal
      at high dose). Measured on 64 x 64 x 512 EELS-like maps with one
      endmember too many: the extra endmember's abundance map is neither
      tiny nor isolated (FCLS spreads a near-mixture spectrum over many
      pixels), and the hull distance of the extra vertex and its nearest
      true one (5-14 ``ln n``) overlaps that of true phases at low dose
      (7-30 ``ln n`` at 5000 counts per spectrum): no default threshold
      separates them, hence opt-in. The reliable check for "one too many"
      is ``q`` against :func:`estimate_n_endmembers_from_moments`.

    Parameters
    ----------
    abundances : ndarray of shape (q, ny, nx)
        Sum-to-one abundances (NaN for pixels left out).
    endmembers : None or ndarray of shape (q, C)
        The endmember spectra (data units).
    noise_variance : None or ndarray of shape (C,)
        Per-channel noise variance of one pixel (data units squared).
    min_fraction : float
        Smallest share of the map a real endmember is expected to hold.
    hull_factor : None or float
        Multiple of ``ln(n)`` (``n`` the finite pixels) below which the
        whitened hull distance counts as noise; None: test off.

    Returns
    -------
    ndarray of bool of shape (q,)

    Raises
    ------
    ValueError
        If ``abundances`` is not 3-D or a threshold is out of range.
    """
    A = np.asarray(abundances, dtype=np.float64)
    if A.ndim != 3:
        raise ValueError(
            f"`abundances` must have shape (q, ny, nx), got shape {A.shape}"
        )
    if not 0 <= min_fraction < 1:
        raise ValueError(f"`min_fraction` must be in [0, 1), got {min_fraction}")
    if endmembers is not None and noise_variance is None:
        raise ValueError("`noise_variance` is needed with `endmembers`")
    if endmembers is not None and hull_factor is None:
        raise ValueError("`endmembers` are only used with `hull_factor`")
    if hull_factor is not None and not hull_factor > 0:
        raise ValueError(f"`hull_factor` must be > 0, got {hull_factor}")
    q = A.shape[0]
    ok = np.isfinite(A).all(axis=0)
    if not ok.any():
        raise ValueError("`abundances` has no finite pixel")
    Z = np.where(ok, A, 0.0)
    share = Z.sum(axis=(1, 2)) / ok.sum()
    peak = Z.reshape(q, -1).max(axis=1)
    high = Z > 0.5 * peak[:, None, None]
    isolated = high.reshape(q, -1).sum(axis=1) == 1
    weak = (share < min_fraction) | isolated | (peak <= 0)
    if hull_factor is not None:
        if endmembers is None:
            raise ValueError(
                "`endmembers` and `noise_variance` are needed with `hull_factor`"
            )
        E = np.asarray(endmembers, dtype=np.float64)
        if E.shape[0] != q:
            raise ValueError(
                f"`endmembers` must have {q} rows (one per abundance map), got "
                f"{E.shape[0]}"
            )
        d2 = hull_distances(E, noise_variance)
        weak |= d2 < hull_factor * np.log(ok.sum())
    return weak

"""Fast solvers for the principal affine subspace of a data matrix.

The package's exact reduction eigen-decomposes the ``C x C`` covariance:
``n C^2`` flops in one pass over ``X`` (n pixels, C channels), whatever the
number of components. This module holds the two other routes and the rule
that picks one (:func:`choose_solver`):

* :func:`randomized_subspace` (and :func:`lazy_randomized_subspace` on a dask
  array): randomised block Krylov (Musco & Musco 2015) or subspace iteration
  (Halko, Martinsson & Tropp 2011, alg. 4.4) on the centred covariance
  operator ``M = Xc^T Xc`` with ``Xc = X - 1 m^T`` never formed. Each pass
  over the data applies ``M`` to a ``(C, w)`` block, fused per block of rows
  as ``Xb^T (Xb Q)`` (the block is read once, its second product comes from
  cache), so ``p`` power iterations cost ``p + 1`` passes, not ``2p + 2``.
  The subspace is extracted by the Nystrom formula ``M ~ MK (K^T M K)^+
  (MK)^T``, which equals Halko's ``B = Q_Y^T Xc`` step with ``Y = Xc K``
  (``B^T B = Xc^T P_Y Xc``) at no extra pass.
* :func:`gram_subspace`: the ``n x n`` Gram route, exact, for fewer pixels
  than channels (two passes).

Conventions are those of :class:`hyperspy_unmix._core.pca.CovariancePCA`:
components are unit rows with their largest-magnitude entry positive,
``variance`` holds covariance eigenvalues (divided by ``n - 1``), ``centre``
is the float64 mean of the fitted rows. float32 data stay float32 in the
GEMMs; 8- and 16-bit integers are converted block by block into a float32
buffer (exact), never as a float copy of the whole matrix; the sums over
blocks are float64. Before the products every block is shifted by a typical
spectrum (the float32-rounded mean of the first rows, then the centre), so
float32 GEMMs do not lose the centred part to a large mean.
"""

from __future__ import annotations

import numbers
import threading
from dataclasses import dataclass

import numpy as np

from hyperspy_unmix._core.errors import NonFiniteDataError
from hyperspy_unmix._core.linalg import row_dots
from hyperspy_unmix._core.linalg import top_eigh as _top_eigh
from hyperspy_unmix._core.parallel import map_ranges, row_ranges, single_blas_thread

# Defaults (see ``randomized_subspace``): justified by the accuracy test.
N_OVERSAMPLES = 10
N_POWER_ITER = None  # adaptive: iterate until converged far below the noise
MAX_POWER_ITER = 8
TOL = 0.03
LOOSE_TOL = 0.1  # for directions far above the noise (see ``_allowed``)
ABS_ANGLE = 0.005
# The start block comes from every 16th row (two passes over them: 1/8 of a
# pass) when that sample has at least 4 rows per sketch column; at most 64
# MiB of them (a lazy call gathers them into memory).
SAMPLE_STEP = 16
SAMPLE_ROWS_PER_COLUMN = 4
SAMPLE_BYTES = 64 << 20
# Later Krylov blocks of the adaptive solver, when every requested direction
# stands far above the noise (its expected angle to the noise-free subspace,
# ``_noise_angles``, at most NARROW_MAX_NOISE rad): M applied to the top
# k + 3 directions of the current estimate only (rounded up to a multiple of
# 8 columns, OpenBLAS's float32 GEMM panels), since the directions still
# converging are the leading ones, and a thin block costs less (one thread,
# 8192 x 2048 rows: 8 columns 13.5 ms a pass against 22-24 ms for 15 plus
# the sums). Near the noise (angles 0.3-1.6 rad on noisy maps) narrow blocks
# took up to the maximum of passes and moved the abundance RMSE of
# benchmarks/accuracy_solvers.py by up to 4.6 %: there the whole last block.
LATER_OVERSAMPLES = 3
NARROW_MAX_NOISE = 0.15
WIDTH_MULTIPLE = 8

# Rows per block of a pass: about 4 MiB of work-dtype buffer, at least 512
# rows so that a GEMM call is not overhead-bound. Measured here (3 passes,
# medians of 7): 4 MiB against 16 MiB 6 % faster on 128x128x2048, 8 % on
# 256x256x1024, 2 % on the 3721x4096 FFT stack; 1-2 MiB no better.
_BLOCK_BYTES = 4 << 20
_GRAM_BLOCK_BYTES = 16 << 20  # columns of the Gram route's blocks
_SHIFT_ROWS = 64

_SCRATCH = threading.local()


@dataclass(frozen=True)
class SubspaceFit:
    """The principal affine subspace of a data matrix.

    Attributes
    ----------
    components : ndarray of shape (k, n_channels), float64
        Principal directions (unit rows) by decreasing variance; the sign
        makes the largest-magnitude entry of each row positive.
    variance : ndarray of shape (k,), float64
        Variance along each direction (covariance eigenvalues, ``n - 1``).
    centre : ndarray of shape (n_channels,), float64
        The point the subspace passes through (the mean of the used rows
        unless given).
    n_passes : int
        Passes over the data (reading each used element once each).
    n_samples : int
        Rows used.
    """

    components: np.ndarray
    variance: np.ndarray
    centre: np.ndarray
    n_passes: int
    n_samples: int


# -- checks ----------------------------------------------------------------
def _check_k(k, name="k"):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {k!r}")
    if k < 1:
        raise ValueError(f"`{name}` must be >= 1, got {k}")
    return int(k)


def _check_nonneg_int(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {v!r}")
    if v < 0:
        raise ValueError(f"`{name}` must be >= 0, got {v}")
    return int(v)


def _check_dtype(dtype, name):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.dtype(np.uint8)  # 0/1 data: as 8-bit integers
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        raise TypeError(f"`{name}` must hold real numbers, got dtype {dtype}")
    return dtype


def _check_matrix(X):
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        X = np.asarray(X)
    _check_dtype(X.dtype, "X")
    if X.ndim != 2:
        raise ValueError(f"`X` must be 2-D (n_samples, n_channels), got {X.shape}")
    return X


def _check_rows(rows, n):
    if rows is None:
        return None
    rows = np.asarray(rows)
    if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
        raise TypeError("`rows` must be a 1-D array of integer row indices")
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"`rows` must index rows 0..{n - 1}")
    return rows.astype(np.intp, copy=False)


def _check_centre(centre, C):
    if centre is None:
        return None
    centre = np.asarray(centre, dtype=np.float64)
    if centre.shape != (C,):
        raise ValueError(f"`centre` must have shape ({C},), got {centre.shape}")
    if not np.all(np.isfinite(centre)):
        raise ValueError("`centre` must be finite")
    return centre


def _rng(random_state):
    if random_state is None or isinstance(random_state, numbers.Integral):
        if isinstance(random_state, bool):
            raise TypeError("`random_state` must be None, an int or a Generator")
        return np.random.default_rng(random_state)
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    raise TypeError(
        "`random_state` must be None, an int, a numpy.random.Generator or a "
        f"numpy.random.RandomState, got {random_state!r}"
    )


def work_dtype(dtype) -> type:
    """float32 for float32/float16 and 8-/16-bit integers (exact), else float64."""
    dtype = np.dtype(dtype)
    if dtype == np.float32 or dtype == np.float16 or dtype == np.bool_:
        return np.float32
    if np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2:
        return np.float32
    return np.float64


def block_rows(n_channels: int, work_itemsize: int = 4) -> int:
    """Rows per block of an in-memory pass (about 4 MiB of buffer)."""
    return int(np.clip(_BLOCK_BYTES // (n_channels * work_itemsize), 512, 8192))


# -- the pass kernel (shared by memory and dask) ----------------------------
def pass_block(x, Q, shift, buf=None, sumsq=False, direct=False, sums=True):
    """Sums of one block of rows for one application of ``M``.

    Parameters
    ----------
    x : ndarray of shape (m, C)
        Rows of the data, any real dtype.
    Q : ndarray of shape (C, w)
        In the work dtype (float32 for float32 / small-integer data).
    shift : ndarray of shape (C,)
        In the work dtype.
    buf : None or ndarray of shape (>= m, C)
        Scratch of the work dtype (reused between blocks).
    sumsq : bool
        Also sum the squares of ``Xs`` (for the trace of ``M``).
    direct : bool
        Data already in the work dtype: multiply ``x`` itself and subtract
        the shift's share from the products (``Xs Q = x Q - 1 s^T Q``,
        ``Xs^T Y = x^T Y - s 1^T Y``), which skips writing and reading the
        shifted copy (~40 % of a pass). For data whose spread is not tiny
        against their mean (the caller checks), the float32 rounding this
        adds stays far below the data's noise.
    sums : bool
        Also sum the rows of ``Xs`` (a column of ones in the second GEMM).
        Once the centre is the rows' mean it is known, so later passes
        leave them out (``[:C, w]`` stays 0) and their GEMMs keep a whole
        number of 8 columns.

    Returns
    -------
    ndarray of shape (C + 1, w + 1), float64
        ``[:C, :w]`` is ``Xs^T Xs Q``, ``[:C, w]`` the column sums of
        ``Xs = x - shift``, ``[C, 0]`` the row count, ``[C, 1]`` the sum of
        squares of ``Xs`` (with ``sumsq``): sums over blocks.
    """
    m, C = x.shape
    w = Q.shape[1]
    out = np.zeros((C + 1, w + 1))
    out[C, 0] = m
    if m == 0:
        return out
    wd = Q.dtype
    ws = w + 1 if sums else w
    if direct and x.dtype == wd:
        Y = np.empty((m, ws), wd)
        np.matmul(x, Q, out=Y[:, :w])
        Y[:, :w] -= shift @ Q
        if sums:
            Y[:, w] = 1.0
        out[:C, :ws] = x.T @ Y
        out[:C, :ws] -= np.outer(shift, Y.sum(axis=0, dtype=np.float64))
        if sumsq:
            # sum |x - s|^2 = sum |x|^2 - 2 s.t - m |s|^2 with t = sum (x - s):
            # the cancellation costs (|s|^2 / spread) float32 rounding units,
            # at most ~100 where callers use ``direct`` on a first pass
            s64 = shift.astype(np.float64)
            xx = row_dots(x).sum(dtype=np.float64)
            out[C, 1] = xx - 2 * s64 @ out[:C, w] - m * (s64 @ s64)
        return out
    b = np.empty((m, C), wd) if buf is None else buf[:m]
    # conversion of integers and the shift in one sweep (no float copy of x)
    np.subtract(x, shift, out=b, casting="unsafe")
    Y = np.empty((m, ws), wd)
    Y[:, :w] = b @ Q
    if sums:
        Y[:, w] = 1.0  # the column sums ride along in the second GEMM
    out[:C, :ws] = b.T @ Y
    if sumsq:
        # per-row float32 sums (short), added in float64
        out[C, 1] = row_dots(b).sum(dtype=np.float64)
    return out


def _centred_product(S, t, n, shift, centre, Q):
    """``Xc^T Xc Q`` from the sums of ``Xs = X - shift`` (float64)."""
    d = centre - shift
    Qd = Q.astype(np.float64)
    return S - np.outer(d, t @ Qd) - np.outer(t, d @ Qd) + n * np.outer(d, d @ Qd)


def _orth(Z, basis):
    """Orthonormal columns spanning ``Z`` minus its part in ``basis`` (CGS2).

    Projected and normalised twice: when ``Z`` lies (nearly) inside
    ``basis`` (data of low rank), the normalised residual of rounding errors
    is not orthogonal to it until projected again.
    """
    for _ in range(2):
        for _ in range(2):
            for B in basis:
                Z = Z - B @ (B.T @ Z)
        Z, _ = np.linalg.qr(Z)
        if not basis:
            break
    return Z


def _sign_rows(comps):
    big = np.argmax(np.abs(comps), axis=1)
    signs = np.sign(comps[np.arange(comps.shape[0]), big])
    signs[signs == 0] = 1.0
    return comps * signs[:, None]


def _extract(K, MK, k, n, wd, lead=0):
    """Top ``k`` eigenpairs of ``M`` from a basis ``K`` and ``M K`` (Nystrom).

    ``(MK)(K^T M K)^+ (MK)^T`` is the projection of the data onto the range of
    ``Xc K`` (Halko's ``B^T B``); eigenvalues of ``K^T M K`` below the GEMMs'
    rounding level are dropped so noise is not amplified. If fewer than ``k``
    remain (data of rank < k), the Rayleigh-Ritz vectors are used instead.

    With ``lead > 0`` also returns the top ``lead`` of those directions as
    the columns of a ``(C, lead)`` array (``M`` times vectors of the range
    of ``K``: the leading part of the next Krylov block).
    """
    T = K.T @ MK
    T = (T + T.T) / 2
    lam, W = np.linalg.eigh(T)
    lam, W = lam[::-1], W[:, ::-1]
    if not np.all(np.isfinite(lam)):
        raise NonFiniteDataError("the data contain NaN or infinite values")
    tol = max(lam[0], 0.0) * K.shape[0] * np.finfo(wd).eps
    good = lam > tol
    if good.sum() >= k:
        F = (MK @ W[:, good]) / np.sqrt(lam[good])
        U, sig, _ = np.linalg.svd(F, full_matrices=False)
        comps, ev = U[:, :k].T, sig**2
        top = U[:, :lead]
    else:
        comps, ev = (K @ W[:, :k]).T, np.maximum(lam, 0.0)
        top = MK @ W[:, :lead]
    if lead:
        return _sign_rows(comps), ev, top
    return _sign_rows(comps), ev


def _noise_angles(ev, trace, n, C, k):
    """Expected angle between each exact leading subspace and the noise-free one.

    First-order perturbation of the sample covariance's eigenvectors
    (Anderson 1963): direction ``l`` turns by ``theta_l^2 ~ sum_i lam_i lam_l
    / (n (lam_i - lam_l)^2)`` towards the directions ``i`` outside the
    subspace. The eigenvalues known from the sketch (``ev``, Ritz values)
    enter as they are; the rest of the trace as flat at its mean.

    Parameters
    ----------
    ev : ndarray of shape (r,), r >= k
        Eigenvalues of ``M`` from the sketch, decreasing.
    trace : float
        Trace of ``M``.

    Returns
    -------
    ndarray of shape (k,)
        Entry ``j``: the largest expected angle of the top ``j + 1``
        directions, ``pi / 2`` when a direction is not separated from the
        next (inside the noise). On the 64x64x1024 test maps it is within
        1.5x of the measured angle to the truth.
    """
    r = len(ev)
    rest = max(trace - ev.sum(), 0.0)
    s2 = rest / (C - r) if C > r else 0.0
    out = np.empty(k)
    for j in range(k):
        lead, others = ev[: j + 1], ev[j + 1 :]
        if lead[-1] <= max(others.max(initial=0.0), s2) * (1 + 1e-9):
            out[j:] = np.pi / 2
            break
        t2 = (others * lead[:, None] / (others - lead[:, None]) ** 2).sum(axis=1)
        if rest > 0:
            t2 += rest * lead / (lead - s2) ** 2
        out[j] = min(np.sqrt(t2.max() / n), np.pi / 2)
    return out


def _sin_angles(A, B):
    """Sines of the largest principal angle between the top ``j`` rows of A, B.

    The 2-norm of the residual ``R = a - (a b^T) b`` from the ``j x j``
    matrix ``R R^T`` (an SVD of the ``C x j`` residual cost ~0.3 ms a call,
    a few per pass); ``R`` itself is formed, so small angles keep their
    relative precision.
    """
    out = np.empty(A.shape[0])
    for j in range(1, A.shape[0] + 1):
        a, b = A[:j], B[:j]
        R = a - (a @ b.T) @ b
        top = np.linalg.eigvalsh(R @ R.T)[-1]
        out[j - 1] = min(np.sqrt(max(top, 0.0)), 1.0)
    return out


def _first_rates(ev, trace, n, C, k):
    """Per leading subspace, the contraction one pass is expected to give.

    ``lam_{j+1} / lam_j`` with the eigenvalues known from the sketch, the
    one after the last requested direction at least the top of the noise's
    bulk (its mean from the trace, times the Marchenko-Pastur edge factor
    ``(1 + sqrt(C / n))^2``). Subspace iteration contracts by this per
    application of ``M``; block Krylov with the Nystrom extraction did
    better (1.7-2.2x below it on the first pass over the benchmark's three
    maps, more later), so as a stand-in for the observed rate before there
    is one it errs on the safe side.
    """
    r = len(ev)
    rest = max(trace - ev.sum(), 0.0)
    s2 = rest / (C - r) if C > r else 0.0
    nxt = np.maximum(ev[1 : k + 1], 0.0)
    if len(nxt) < k:
        nxt = np.append(nxt, 0.0)
    nxt[k - 1] = max(nxt[k - 1], s2 * (1 + np.sqrt(C / n)) ** 2)
    return np.minimum(1.0, nxt / np.maximum(ev[:k], 1e-300))


def _allowed(noise, tol):
    """The error the adaptive stop accepts on each leading subspace.

    ``tol`` times the noise's own angle, except that a direction far above
    the noise (angle below ``ABS_ANGLE / LOOSE_TOL``) may have up to
    ``LOOSE_TOL`` times it, and none needs less than ``ABS_ANGLE`` (rad)
    unless ``tol`` asks for less: there the first-order argument holds (the
    errors add in quadrature, +0.5 % at 0.1) and N-FINDR's choice of pixels
    is stable. Near the noise it is not, and ``tol`` alone rules.
    """
    return np.maximum(tol * noise, np.minimum(LOOSE_TOL * noise, ABS_ANGLE))


def _iterate(
    apply_M, state, C, k, n, n_oversamples, n_power_iter, method, rng, tol, start=None
):
    """Power / block-Krylov iterations; ``apply_M(Q)`` makes one pass.

    With ``n_power_iter=None`` the iterations stop once the estimated error
    of the current subspace (the change since the last estimate times the
    contraction per pass: observed from the last two changes, or before
    there are two expected from the sketch's eigenvalues,
    :func:`_first_rates`) is below ``tol`` times the noise's own angle
    (:func:`_noise_angles`), or after ``MAX_POWER_ITER``.

    ``start``: None (a Gaussian block) or ``(Q0, prev)``, an orthonormal
    ``(C, w)`` start block and the ``(k, C)`` estimate it came from (a
    sample's subspace, :func:`_sample_start`): the first pass can then stop.

    Returns (components, eigenvalues of ``M``, passes made).
    """
    wd = state["wd"]
    w = min(k + n_oversamples, C)
    w_later = later_width(k, w)
    pmax = MAX_POWER_ITER if n_power_iter is None else n_power_iter
    if start is None:
        Q, prev = _orth(rng.standard_normal((C, w)), []), None
    else:
        Q, prev = start
    # every block is rounded to the work dtype before it is applied, so
    # ``M K`` is exactly ``M`` times the ``K`` used
    Q = Q.astype(wd).astype(np.float64)
    K, MK = [Q], []
    delta_prev = None
    for it in range(pmax + 1):
        MK.append(apply_M(Q))
        basis = np.hstack(K[: len(MK)])
        top = None
        if n_power_iter is None:
            lead = w_later if method == "krylov" else 0
            comps, ev, *top = _extract(basis, np.hstack(MK), k, n, wd, lead)
            noise = _noise_angles(ev, state["trace"], n, C, k)
            if prev is not None:
                # per leading subspace: change since the last estimate times
                # the contraction per pass, against the noise's own angle
                delta = _sin_angles(comps, prev)
                if delta_prev is None:
                    rate = _first_rates(ev, state["trace"], n, C, k)
                else:
                    rate = np.minimum(1.0, delta / np.maximum(delta_prev, 1e-300))
                if np.all(delta * rate <= _allowed(noise, tol)):
                    return comps, ev[:k], it + 1
                delta_prev = delta
            prev = comps
        if it == pmax:
            break
        if method == "krylov":
            room = C - basis.shape[1]
            if room <= 0:
                break
            # adaptive: M times the leading directions only (see
            # ``LATER_OVERSAMPLES``); else the whole last block
            narrow = bool(top) and noise.max() <= NARROW_MAX_NOISE
            new = top[0] if narrow else MK[-1]
            Q = _orth(new, K)[:, :room].astype(wd).astype(np.float64)
            K.append(Q)
        else:
            Q = _orth(MK[-1], []).astype(wd).astype(np.float64)
            K, MK = [Q], []
    comps, ev = _extract(np.hstack(K[: len(MK)]), np.hstack(MK), k, n, wd)
    return comps, ev[:k], it + 1


def later_width(k: int, w: int) -> int:
    """Columns of the adaptive solver's Krylov blocks after the first."""
    m = WIDTH_MULTIPLE
    return min(-(-(k + LATER_OVERSAMPLES) // m) * m, w)


def _check_solver_args(k, C, n, n_oversamples, n_power_iter, method, tol):
    k = _check_k(k)
    n_oversamples = _check_nonneg_int(n_oversamples, "n_oversamples")
    if n_power_iter is not None:
        n_power_iter = _check_nonneg_int(n_power_iter, "n_power_iter")
    if method not in ("krylov", "subspace"):
        raise ValueError(f"`method` must be 'krylov' or 'subspace', got {method!r}")
    if n < 2:
        raise ValueError(f"need at least 2 rows to fit, got {n}")
    if k > min(C, n - 1):
        raise ValueError(
            f"`k` must be <= min(n_channels, n_samples - 1) = {min(C, n - 1)}, got {k}"
        )
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol > 0:
        raise ValueError(f"`tol` must be a number > 0, got {tol!r}")
    return k, n_oversamples, n_power_iter, float(tol)


def _shift_from(first_rows, C):
    return np.zeros(C) if first_rows.shape[0] == 0 else first_rows.mean(0, np.float64)


def sample_rows(n, C, k, n_oversamples, wd):
    """Positions (among the ``n`` used rows) of the start block's sample.

    Every ``SAMPLE_STEP``-th row, or sparser to stay within
    ``SAMPLE_BYTES``; None when the sample would have fewer than
    ``SAMPLE_ROWS_PER_COLUMN`` rows per column of the sketch.
    """
    w = min(k + n_oversamples, C)
    cap = max(SAMPLE_BYTES // (C * np.dtype(wd).itemsize), 1)
    step = max(SAMPLE_STEP, -(-n // cap))
    idx = np.arange(0, n, step)
    return idx if len(idx) >= SAMPLE_ROWS_PER_COLUMN * w else None


def _sample_start(sample, k, n_oversamples, rng, centre, transform, n_features, C):
    """The start block from a sample of rows: its top ``w`` directions.

    Two passes over the sample (one power iteration, no oversampling
    beyond ``w``): the directions of the data's subspace that stand above
    the noise come out within a fraction of a radian, against ~pi/2 for a
    Gaussian block in many channels, which is worth one or two passes over
    all the data. Returns ``(Q0, prev)`` for :func:`_iterate`.
    """
    w = min(k + n_oversamples, C)
    sk = randomized_subspace(
        sample,
        w,
        n_oversamples=0,
        n_power_iter=1,
        random_state=rng,
        centre=centre,
        transform=transform,
        n_features=n_features,
        start="gaussian",
    )
    return sk.components.T, sk.components[:k]


# -- in memory --------------------------------------------------------------
def randomized_subspace(
    X,
    k: int,
    *,
    n_oversamples: int = N_OVERSAMPLES,
    n_power_iter: int = N_POWER_ITER,
    method: str = "krylov",
    tol: float = TOL,
    random_state=None,
    rows=None,
    centre=None,
    transform=None,
    n_features=None,
    start: str = "sample",
) -> SubspaceFit:
    """The ``k``-dimensional principal subspace of ``X`` by a randomised solver.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_channels)
        Any real dtype. float32 (and 8-/16-bit integers, converted per block
        into a float32 buffer) use float32 GEMMs; others float64.
    k : int
        Number of principal directions, ``1 <= k <= min(C, n - 1)``.
    n_oversamples : int
        Extra sketch columns: the block width is ``w = k + n_oversamples``.
        With adaptive passes, when every direction stands far above the
        noise (``NARROW_MAX_NOISE``), the Krylov blocks after the first hold
        ``M`` applied to the top ``k + LATER_OVERSAMPLES`` directions of the
        current estimate only (rounded up to a multiple of 8, at most
        ``w``): the leading directions are the ones still converging.
    n_power_iter : None or int
        Power iterations ``p``; the data are read ``p + 1`` times (each pass
        applies ``Xc^T Xc`` to a ``(C, w)`` block, fused per block of rows).
        None (default): adaptive, stop once the estimated error of every
        leading subspace is below ``tol`` times the angle the noise itself
        puts between the exact and the noise-free subspace (estimated from
        the sketch's eigenvalues and the trace), at most ``MAX_POWER_ITER``.
    tol : float
        Of the adaptive stop (default 0.03).
    method : {"krylov", "subspace"}
        Block Krylov (keep every block: a basis of ``(p + 1) w`` columns, the
        default, better on the flat noise spectra of real data for the same
        passes) or plain subspace iteration (keep the last block).
    random_state : None, int, numpy.random.Generator or RandomState
        Seed of the Gaussian start block ``(C, w)``.
    rows : None or ndarray of int
        Rows of ``X`` used (a sample); all when None.
    centre : None or ndarray of shape (n_channels,)
        Centre the data at this point instead of their mean.
    transform : None or callable
        Applied to every block of rows before use (a weighting, a choice of
        columns): the subspace is that of ``transform(X)``, never formed.
    n_features : None or int
        Columns of ``transform``'s output (default: those of ``X``).
    start : {"sample", "gaussian"}
        The start block: the top ``w`` directions of every
        ``SAMPLE_STEP``-th used row (at most ``SAMPLE_BYTES`` of them; two
        passes over them, 1/8 of a pass, not counted in ``n_passes``; the
        default, when that sample has at least ``SAMPLE_ROWS_PER_COLUMN *
        w`` rows, see :func:`sample_rows`), or a Gaussian block.

    Returns
    -------
    SubspaceFit

    Notes
    -----
    Defaults: ``n_oversamples=10``, adaptive passes, ``tol=0.03``, Krylov,
    a sample's start block. The solver's error is a rotation towards the
    next eigenvectors whose coefficients come from the Gaussian block, whose
    law is invariant under rotations: to first order it adds in quadrature
    to the noise's own error, ``sqrt(1 + tol**2)`` on the distance to the
    noise-free subspace (+0.05 % at 0.03). That holds for smooth quantities;
    N-FINDR's choice of pixels is not smooth where a direction is close to
    the noise, so ``tol`` is set by whole unmixings
    (``benchmarks/accuracy_solvers.py``, 45 maps, 3-6 endmembers, doses
    3e3-2e5, against the exact covariance): at ``tol=0.1`` the mean
    spectral angle changed by up to 22 % (different pixels on maps whose
    weakest direction is inside the noise), at 0.03 by at most 0.55 % and
    the abundance RMSE by 0.47 %, the same pixels on 44 of 45. A fixed count
    cannot suit every dose: on 64x64x1024 spectrum images (4 endmembers)
    one power iteration from a Gaussian block leaves the largest principal
    angle to the exact subspace at 1.0x (dose 2e4) to 0.06x (dose 2e5) the
    exact subspace's own angle to the noise-free one, from the sample's
    block at 0.12x / 0.001x. When a requested direction is inside the noise
    (``k`` too large) the adaptive stop accepts a change of ``tol * pi / 2``
    on it; near-degenerate directions may use every pass.
    """
    X = _check_matrix(X)
    n_all, C = X.shape
    tf = (lambda x: x) if transform is None else transform
    if transform is not None and n_features is not None:
        C = _check_k(n_features, "n_features")
    rows = _check_rows(rows, n_all)
    n = n_all if rows is None else len(rows)
    k, n_oversamples, n_power_iter, tol = _check_solver_args(
        k, C, n, n_oversamples, n_power_iter, method, tol
    )
    centre = _check_centre(centre, C)
    if start not in ("sample", "gaussian"):
        raise ValueError(f"`start` must be 'sample' or 'gaussian', got {start!r}")
    rng = _rng(random_state)
    wd = work_dtype(X.dtype if transform is None else tf(X[:1]).dtype)
    R = block_rows(C, np.dtype(wd).itemsize)
    begin = None
    if start == "sample":
        idx = sample_rows(n, C, k, n_oversamples, wd)
        if idx is not None:
            sample = X[idx if rows is None else rows[idx]]
            begin = _sample_start(
                sample, k, n_oversamples, rng, centre, transform, n_features, C
            )
    first = X[: min(_SHIFT_ROWS, n)] if rows is None else X[rows[:_SHIFT_ROWS]]
    shift = _shift_from(tf(first), C) if centre is None else centre
    state = _new_state(shift, centre, wd)
    # The first pass may skip the shifted copy too when the first rows'
    # spread is already 100x above the threshold the later passes use (see
    # ``_finish_pass``): ~25 % of that pass.
    if transform is None and X.dtype == wd:
        f = np.asarray(first, dtype=np.float64)
        if f.shape[0] >= 2:
            spread = ((f - f.mean(axis=0)) ** 2).sum(axis=1).mean()
            state["direct"] = bool(spread >= 1e-2 * (shift @ shift))

    def apply_M(Q, ranges):
        s32 = state["shift"].astype(wd)
        Qw = Q.astype(wd)
        first = state["trace"] is None

        def part(lo, hi):
            buf = _scratch(min(R, hi - lo), C, np.dtype(wd))
            acc = np.zeros((C + 1, Qw.shape[1] + 1))
            for a in range(lo, hi, R):
                b = min(a + R, hi)
                xb = X[a:b] if rows is None else X[rows[a:b]]
                acc += pass_block(
                    tf(xb),
                    Qw,
                    s32,
                    buf,
                    sumsq=first,
                    direct=state["direct"],
                    sums=state["sums"],
                )
            return acc

        with np.errstate(invalid="ignore", over="ignore"):  # checked below
            acc = sum(map_ranges(part, ranges))  # fixed order: reproducible
        return _finish_pass(acc, Qw, s32.astype(np.float64), state)

    with single_blas_thread() as workers:
        ranges = row_ranges(n, R, workers)
        comps, ev, passes = _iterate(
            lambda Q: apply_M(Q, ranges),
            state,
            C,
            k,
            n,
            n_oversamples,
            n_power_iter,
            method,
            rng,
            tol,
            begin,
        )
    return SubspaceFit(comps, ev / (n - 1), state["centre"], passes, n)


def _new_state(shift, centre, wd):
    """What the passes of one solve share (the first pass fills it in)."""
    # ``sums``: measure the rows' sums in the passes (until the centre is
    # known to be their mean)
    return {
        "shift": shift,
        "centre": centre,
        "wd": wd,
        "trace": None,
        "direct": False,
        "sums": True,
    }


def _finish_pass(acc, Qw, s, state):
    """``M Q`` from a pass's summed blocks; the first pass fixes the centre."""
    C = acc.shape[0] - 1
    w = Qw.shape[1]
    S, t, n = acc[:C, :w], acc[:C, w], acc[C, 0]
    if not state["sums"]:
        # the centre is the rows' mean: their sums are known
        t = n * (state["centre"] - s)
    if not (np.all(np.isfinite(S)) and np.all(np.isfinite(t))):
        raise NonFiniteDataError("the data contain NaN or infinite values")
    if state["centre"] is None:
        state["centre"] = s + t / n
        state["sums"] = False
    if state["trace"] is None:
        d = state["centre"] - s
        state["trace"] = acc[C, 1] - 2 * d @ t + n * d @ d
        # later passes may skip the shifted copy when the rows' RMS distance
        # to the centre is at least 1 % of the centre's norm (float32: the
        # products then keep >= 5 significant digits of the centred part)
        c = state["centre"]
        state["direct"] = bool(state["trace"] / n >= 1e-4 * (c @ c))
    # later passes shift by the centre itself: the correction below is tiny
    state["shift"] = state["centre"]
    return _centred_product(S, t, n, s, state["centre"], Qw)


def gram_subspace(X, k: int, *, rows=None, centre=None) -> SubspaceFit:
    """The exact principal subspace through the ``n x n`` Gram matrix.

    For fewer samples than channels: ``n^2 C`` GEMM flops plus an ``n x n``
    eigen-decomposition instead of ``n C^2`` and ``C x C``. Two passes: the
    Gram matrix of the shifted data (blocks of channels), then the
    directions ``Xc^T u``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_channels)
    k : int
        ``1 <= k <= n - 1``.
    rows : None or ndarray of int
    centre : None or ndarray of shape (n_channels,)

    Returns
    -------
    SubspaceFit
    """

    X = _check_matrix(X)
    n_all, C = X.shape
    rows = _check_rows(rows, n_all)
    k = _check_k(k)
    n = n_all if rows is None else len(rows)
    if n < 2 or k > min(n - 1, C):
        raise ValueError(
            f"`k` must be <= min(n_samples - 1, n_channels) = "
            f"{max(min(n - 1, C), 0)}, got {k}"
        )
    centre = _check_centre(centre, C)
    wd = work_dtype(X.dtype)
    Xu = X if rows is None else X[rows]  # few rows: a copy of n x C is small
    given = centre is not None
    if centre is None:
        centre = Xu.mean(axis=0, dtype=np.float64)
    c32 = centre.astype(wd)
    d = centre - c32.astype(np.float64)  # the float32 rounding of the centre
    step = max(1, _GRAM_BLOCK_BYTES // (n * np.dtype(wd).itemsize))
    G = np.zeros((n, n))
    t = np.zeros(n)  # row sums of Xs, for the exact centring below
    buf = np.empty((n, min(step, C)), wd)
    for a in range(0, C, step):
        b = buf[:, : min(step, C - a)]
        np.subtract(Xu[:, a : a + step], c32[a : a + step], out=b, casting="unsafe")
        G += b @ b.T
        t += b @ d[a : a + step]
    # Xc = Xs - 1 d^T:  Xc Xc^T = G - t 1^T - 1 t^T + |d|^2
    G -= t[:, None] + t[None, :] - d @ d
    if not np.all(np.isfinite(G)):
        raise NonFiniteDataError("the data contain NaN or infinite values")
    if not given:
        # the mean is exact only up to rounding: project 1 out explicitly
        G -= G.mean(axis=0)[None, :] + G.mean(axis=1)[:, None] - G.mean()
    w, u = _top_eigh((G + G.T) / 2, k)
    comps = np.zeros((k, C))
    for a in range(0, C, step):
        b = buf[:, : min(step, C - a)]
        np.subtract(Xu[:, a : a + step], c32[a : a + step], out=b, casting="unsafe")
        comps[:, a : a + step] = u.T @ b - np.outer(u.sum(0), d[a : a + step])
    norms = np.linalg.norm(comps, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return SubspaceFit(
        _sign_rows(comps / norms), np.maximum(w, 0.0) / (n - 1), centre, 2, n
    )


# -- lazy (dask) ---------------------------------------------------------
def _scratch(rows, C, dtype):
    """A per-thread work buffer of at least ``rows`` x ``C``, reused.

    A fresh multi-MiB buffer per block is fresh pages each time (glibc maps
    them), and the first touch of new memory costs ~2 s per GiB here: more
    than the block's GEMMs.
    """
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.dtype != dtype or buf.shape[1] != C or len(buf) < rows:
        buf = _SCRATCH.buf = np.empty((rows, C), dtype)
    return buf


def block_pass(x, keep=None, *, Q, shift, sumsq=False, direct=False, sums=True):
    """:func:`pass_block` of one navigation block of a dask array.

    Parameters
    ----------
    x : ndarray of shape (*block_navigation_shape, C)
    keep : None or ndarray of bool of shape block_navigation_shape
    Q, shift, sumsq, direct, sums : as in :func:`pass_block`

    Returns
    -------
    ndarray of shape (1, ..., 1, C + 1, w + 1), float64
    """
    nd = x.ndim - 1
    flat = x.reshape(-1, x.shape[-1])
    if keep is not None:
        flat = flat[keep.ravel()]
    R = block_rows(flat.shape[1], Q.dtype.itemsize)
    buf = _scratch(min(R, max(flat.shape[0], 1)), flat.shape[1], Q.dtype)
    out = 0
    for a in range(0, max(flat.shape[0], 1), R):
        out = out + pass_block(
            flat[a : a + R], Q, shift, buf, sumsq=sumsq, direct=direct, sums=sums
        )
    return out.reshape((1,) * nd + out.shape)


def _lazy_pass(data, keep, Q, shift, sumsq, direct=False, sums=True):
    """One pass: :func:`block_pass` per navigation block, then a tree sum."""
    import dask.array as da

    nd = data.ndim - 1
    nav = tuple(range(nd))
    C, w = Q.shape
    kwargs = {"Q": Q, "shift": shift, "sumsq": sumsq, "direct": direct}
    kwargs["sums"] = sums
    args = [data, (*nav, nd)]
    if keep is not None:
        args += [keep, nav]
    parts = da.blockwise(
        block_pass,
        (*nav, nd + 1, nd + 2),
        *args,
        new_axes={nd + 1: C + 1, nd + 2: w + 1},
        adjust_chunks={i: 1 for i in nav},
        concatenate=True,
        dtype=np.float64,
        meta=np.empty((0,) * (nd + 2)),
        **kwargs,
    )
    return parts.sum(axis=nav, split_every=8)


def _lazy_inputs(data, keep):
    import dask.array as da

    if not isinstance(data, da.Array):
        raise TypeError(f"`data` must be a dask array, got {type(data).__name__}")
    _check_dtype(data.dtype, "data")
    if data.ndim < 2:
        raise ValueError(f"`data` must have navigation axes, got shape {data.shape}")
    nd = data.ndim - 1
    if len(data.chunks[-1]) > 1:
        # whole spectra per block: the kernels need every channel of a pixel
        data = data.rechunk({nd: -1})
    nav_shape = data.shape[:nd]
    if keep is None:
        return data, None, None, nav_shape
    keep_np = np.asarray(keep.compute() if isinstance(keep, da.Array) else keep)
    if keep_np.dtype != bool or keep_np.shape != nav_shape:
        raise ValueError(
            f"`keep` must be a bool array of shape {nav_shape}, got "
            f"{keep_np.dtype} {keep_np.shape}"
        )
    keep_da = da.from_array(keep_np, chunks=data.chunks[:nd])
    return data, keep_da, keep_np, nav_shape


def _lazy_first_rows(data, keep_np, nav_shape, count):
    """The first ``count`` used pixels (flat order), as for ``randomized_subspace``."""
    n = int(np.prod(nav_shape)) if keep_np is None else int(keep_np.sum())
    return _lazy_rows(data, keep_np, nav_shape, np.arange(min(count, n)))


def _lazy_rows(data, keep_np, nav_shape, idx):
    """The used pixels at positions ``idx`` (among the used, flat order)."""
    if keep_np is not None:
        idx = np.flatnonzero(keep_np.ravel())[idx]
    if idx.size == 0:
        return np.zeros((0, data.shape[-1]))
    return np.asarray(data.vindex[np.unravel_index(idx, nav_shape)].compute())


def lazy_randomized_subspace(
    data,
    k: int,
    *,
    keep=None,
    n_oversamples: int = N_OVERSAMPLES,
    n_power_iter: int = N_POWER_ITER,
    method: str = "krylov",
    tol: float = TOL,
    random_state=None,
    centre=None,
    start: str = "sample",
) -> SubspaceFit:
    """:func:`randomized_subspace` of a dask array, one dask pass per iteration.

    Parameters
    ----------
    data : dask.array.Array of shape (*navigation_shape, n_channels)
        The channel axis is rechunked into one chunk if it is not.
    k, n_oversamples, n_power_iter, method, random_state, centre, start
        As in :func:`randomized_subspace`; the start block's sample rows
        (at most ``SAMPLE_BYTES``) are gathered into memory once, a read
        that visits every chunk but keeps only those rows.
    keep : None or ndarray of bool of shape navigation_shape
        Pixels used (all when None); ``rows = flatnonzero(keep.ravel())`` in
        memory gives the same fit.

    Returns
    -------
    SubspaceFit
        The same numbers as the in-memory solver for the same seed (up to
        the order of float summation over blocks).

    Notes
    -----
    Each pass is one task per navigation block (the module-level
    :func:`block_pass`, which pickles for dask.distributed) and a tree sum;
    only ``(C + 1, w + 1)`` arrays travel and a ``(C, w)`` block is sent out.
    """
    data, keep_da, keep_np, nav_shape = _lazy_inputs(data, keep)
    C = data.shape[-1]
    n = int(np.prod(nav_shape)) if keep_np is None else int(keep_np.sum())
    k, n_oversamples, n_power_iter, tol = _check_solver_args(
        k, C, n, n_oversamples, n_power_iter, method, tol
    )
    centre = _check_centre(centre, C)
    if start not in ("sample", "gaussian"):
        raise ValueError(f"`start` must be 'sample' or 'gaussian', got {start!r}")
    rng = _rng(random_state)
    wd = work_dtype(data.dtype)
    begin = None
    idx = sample_rows(n, C, k, n_oversamples, wd) if start == "sample" else None
    if idx is not None:
        sample = _lazy_rows(data, keep_np, nav_shape, idx)
        begin = _sample_start(sample, k, n_oversamples, rng, centre, None, None, C)
    if centre is None:
        shift = _shift_from(_lazy_first_rows(data, keep_np, nav_shape, _SHIFT_ROWS), C)
    else:
        shift = centre
    state = _new_state(shift, centre, wd)

    def apply_M(Q):
        s32 = state["shift"].astype(wd)
        Qw = Q.astype(wd)
        first = state["trace"] is None
        acc = _lazy_pass(
            data, keep_da, Qw, s32, first, state["direct"], state["sums"]
        ).compute()
        return _finish_pass(acc, Qw, s32.astype(np.float64), state)

    comps, ev, passes = _iterate(
        apply_M, state, C, k, n, n_oversamples, n_power_iter, method, rng, tol, begin
    )
    return SubspaceFit(comps, ev / (n - 1), state["centre"], passes, n)


# -- the cost model --------------------------------------------------------
# Measured on this machine (2 cores, float32, idle: load < 1), min of 4 runs:
# X^T X runs at 2.3-2.5e11 "n C^2" per s (65536x1024, 16384x2048, 8192x4096);
# one fused pass at 3.8-4.0e10 "4 n C w" per s (w = 13), 4.2-5.2e10 for
# the passes after the first (no shifted copy: 65536x1024, 16384x2048,
# 3721x4096), whose rate is used; the top-k eigen-decomposition of a
# C x C covariance (ARPACK) 0.106 s at C = 1024, 0.26 s at 2048, 1.17 s
# at 4096 (slope 1.73 in log-log).
COV_RATE = 1.6e11  # the float32 X^T X of 256x256x1024: 0.47 s of a 0.57 s fit
PASS_RATE = 4.5e10
EIGH_S_1024 = 0.106
EIGH_SLOPE = 1.73
READ_RATE = 1.0e9  # bytes/s a lazy pass reads (disk, network) by default
# Passes the adaptive solver makes grow with q (its weakest direction is the
# closest to the noise) and fall with the dose. Measured on 64x64x1024
# spectrum images, maps 0-1 (doses 3e3 / 2e4 / 2e5), in memory with the
# sample's start block: q = 2: 2 / 1 / 1, q = 4: 5-7 / 2-4 / 2, q = 6: 7 /
# 6-7 / 3, q = 8: 6-8 / 6 / 5; from a Gaussian block about one more; on the
# benchmark's large maps 1 (sliding-FFT stack, q = 2), 2 (256x256x1024,
# q = 4) and 3 (128x128x2048, q = 6). ceil(q / 2) + 1 (+ 1 lazily, where
# gathering the sample's rows reads every chunk once) is low
# for noisy maps of many endmembers; a wrong guess costs little where the
# routes are close (at q = 6 and 1024 channels even 9 passes beat the
# covariance's n C^2 and C x C eigen-decomposition).
EXPECTED_PASSES = None
SAMPLE_PASS_SHARE = 2 / SAMPLE_STEP  # the start block's two sample passes


def expected_passes(q: int, lazy: bool = False) -> int:
    """Passes the adaptive randomised solver is expected to make for ``q``."""
    return int(min(MAX_POWER_ITER + 1, -(-q // 2) + 1 + bool(lazy)))


PASS_OVERHEAD_S = 0.003  # per pass: Python, the small Krylov algebra


def _eigh_seconds(m):
    return EIGH_S_1024 * (m / 1024) ** EIGH_SLOPE


def solver_costs(
    n: int,
    C: int,
    q: int,
    *,
    dtype="float32",
    lazy: bool = False,
    itemsize: int | None = None,
    n_oversamples: int = N_OVERSAMPLES,
    n_passes: int | None = EXPECTED_PASSES,
    read_rate: float = READ_RATE,
) -> dict:
    """Estimated seconds of each applicable solver (see :func:`choose_solver`)."""
    if n_passes is None and isinstance(q, numbers.Integral):
        n_passes = expected_passes(q, lazy)
    for v, name in ((n, "n"), (C, "C"), (q, "q"), (n_passes, "n_passes")):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"`{name}` must be an integer, got {v!r}")
    if n < 2 or C < 1:
        raise ValueError(f"`n` must be >= 2 and `C` >= 1, got n={n}, C={C}")
    if q < 2:
        raise ValueError(f"`q` must be >= 2, got {q}")
    if n_passes < 1:
        raise ValueError(f"`n_passes` must be >= 1, got {n_passes}")
    n_oversamples = _check_nonneg_int(n_oversamples, "n_oversamples")
    dtype = _check_dtype(dtype, "dtype")
    itemsize = dtype.itemsize if itemsize is None else int(itemsize)
    if itemsize < 1:
        raise ValueError(f"`itemsize` must be >= 1, got {itemsize}")
    if (
        isinstance(read_rate, bool)
        or not isinstance(read_rate, numbers.Real)
        or not read_rate > 0
    ):
        raise ValueError(f"`read_rate` must be > 0, got {read_rate!r}")
    # float64 GEMMs run at about half the float32 rate
    slow = 1.0 if work_dtype(dtype) == np.float32 else 2.0
    k = q - 1
    w = min(k + n_oversamples, C)
    read = n * C * itemsize / read_rate if lazy else 0.0
    one_pass = slow * 4 * n * C * w / PASS_RATE
    cost = {
        "covariance": slow * n * C * C / COV_RATE + _eigh_seconds(C) + read,
        # every pass at the full width: the narrower later blocks
        # (``NARROW_MAX_NOISE``) depend on the noise, unknown here
        "randomized": n_passes * (one_pass + read + PASS_OVERHEAD_S)
        # in memory the start block costs two passes over a sample
        + (0.0 if lazy else SAMPLE_PASS_SHARE * one_pass),
    }
    if not lazy and n < C:
        cost["gram"] = slow * n * n * C / COV_RATE + _eigh_seconds(n)
    if w * n_passes >= min(n, C):
        cost.pop("randomized")  # the Krylov basis would span the whole problem
    return cost


def choose_solver(
    n: int,
    C: int,
    q: int,
    *,
    dtype="float32",
    lazy: bool = False,
    itemsize: int | None = None,
    n_oversamples: int = N_OVERSAMPLES,
    n_passes: int | None = EXPECTED_PASSES,
    read_rate: float = READ_RATE,
) -> str:
    """The cheapest route to the ``(q - 1)``-dimensional principal subspace.

    Costs (``k = q - 1``, ``w = k + n_oversamples``, ``P`` passes of the
    randomised solver, ``B = n C itemsize`` bytes of data):

    * ``"covariance"``: ``n C^2`` flops of one large GEMM (``X^T X``,
      symmetric) at ``COV_RATE`` plus the ``C x C`` top-k eigen-
      decomposition (``EIGH_S_1024 (C / 1024)^1.73`` s); **1 pass**. Exact.
    * ``"randomized"``: ``P`` fused passes of ``4 n C w`` flops in skinny
      GEMMs (width ``w``, ~6x slower per flop: ``PASS_RATE``); **P passes**,
      ``P = ceil(q / 2) + 1`` expected of the adaptive default in memory,
      one more lazily for the read that gathers the start block's sample
      (measured 1 at ``q = 2`` to 7 at ``q = 6`` and low dose; at most
      ``MAX_POWER_ITER + 1``), plus ``PASS_OVERHEAD_S`` per
      pass (which decides tiny problems); in memory also the start block's
      two passes over every 16th row (1/8 of a pass).
    * ``"gram"`` (in memory, ``n < C`` only): ``n^2 C`` flops plus an
      ``n x n`` eigen-decomposition; 2 passes. Exact.

    float64 work (float64 or 32-bit+ integer data) doubles the flop terms.
    A lazy pass also reads ``B`` bytes at ``read_rate`` (default 1 GB/s, a
    disk), so on lazy data the covariance's single pass wins for moderate
    ``C`` and the randomised solver only when ``n C^2`` dominates.

    The rule: the lowest estimated time, except that an exact route within
    20 % of the randomised one is preferred (same answer, no seed).

    Parameters
    ----------
    n, C, q : int
        Pixels used, channels, endmembers (``q >= 2``).
    dtype : numpy dtype
        Of the data (sets the GEMM precision and the default ``itemsize``).
    lazy : bool
        Data in a dask array (read once per pass).
    itemsize : None or int
        Bytes per element as stored (default: ``dtype``'s).
    n_oversamples : int
    n_passes : None or int
        Passes expected of the randomised solver (None:
        :func:`expected_passes`).
    read_rate : float
        Bytes per second a lazy pass reads.

    Returns
    -------
    str
        ``"covariance"``, ``"randomized"`` or ``"gram"``.
    """
    cost = solver_costs(
        n,
        C,
        q,
        dtype=dtype,
        lazy=lazy,
        itemsize=itemsize,
        n_oversamples=n_oversamples,
        n_passes=n_passes,
        read_rate=read_rate,
    )
    exact = {s: c for s, c in cost.items() if s != "randomized"}
    best_exact = min(exact, key=exact.get)
    if "randomized" in cost and cost["randomized"] * 1.2 < exact[best_exact]:
        return "randomized"
    return best_exact

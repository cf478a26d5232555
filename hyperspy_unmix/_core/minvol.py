"""Minimum-volume simplex enclosing the data, refined from the N-FINDR vertices.

N-FINDR picks data points as vertices, so when no pixel is pure its simplex is
inscribed in the data and its vertices are mixtures. The minimum-volume
simplex that encloses the data instead touches the data on its *faces*, which
mixtures of all but one endmember still reach (Craig 1994; identifiable when
enough pixels lie near every face).

Formulation: SISAL's (Bioucas-Dias 2009, "A variable splitting augmented
Lagrangian approach to linear spectral unmixing", WHISPERS), a log-volume plus
a hinge penalty on negative barycentric coordinates, so noisy points slightly
outside are allowed (a soft constraint). With the augmented points
``z = (1, y)`` and the vertex matrix ``A = [1; M^T]`` (``q x q``, vertices in
the columns), the barycentric coordinates are ``b = A^-1 z`` and we minimise::

    f(M) = log |det A| + tau * mean_p sum_k h(b_k(p))

with ``h`` the hinge ``max(0, -b)`` smoothed quadratically on ``(-delta, 0)``
(Huber) so that L-BFGS applies. Unlike SISAL we optimise over the vertices
``M`` directly (``q * d`` free numbers, no sum-to-one constraint to carry) with
scipy's L-BFGS and analytic gradients, instead of SISAL's split augmented
Lagrangian: with ``d <= 10`` the problem is tiny and the cost is in
evaluating ``b`` for the points, which only the points with a negative
coordinate enter.

Stationarity in the face offsets gives, approximately, a fraction ``d / tau``
of the points outside each face, which is how ``tau`` trades noise tolerance
against enclosure. Both terms are affine invariant (barycentric coordinates
are, and the volume changes by a constant), so the search runs on whitened
scores for conditioning and the answer maps back exactly.

Scaling in the number of points: the optimisation runs on a random subsample
(``max_points``) first, then on the full data restricted to the points near or
outside the faces (the others contribute exactly zero to ``f`` and its
gradient); a full pass checks that no left-out point ended outside, and adds
them if one did, so the result minimises ``f`` over all points.

Noise (measured, not in SISAL): with realistic counting noise the hinge
optimum either encloses the noise (large ``tau``: too large a simplex) or cuts
into the data (small ``tau``), and the best ``tau`` moved by 30x between doses.
So the hinge stage runs with a large ``tau`` (it fixes the orientation of the
faces), and then every face is moved to the half-height of the blurred edge of
the data along its coordinate: a 4-parameter fit (step with a linear trend,
convolved with a Gaussian) to the histogram of the low barycentric values
(``edge_fit``). Finally, where the data do reach a corner (a pure pixel
exists, by :func:`purity_diagnostic`), N-FINDR's vertex is kept
(``keep_pure``): the pixel is then a better estimate than the corner of faces
that smooth maps populate sparsely.
"""

import numbers
from dataclasses import dataclass
from math import factorial

import numpy as np
import scipy.optimize
from scipy.special import ndtr

# Width of the quadratic part of the smoothed hinge, in barycentric units.
_DELTA = 1e-3
# Points whose smallest barycentric coordinate is below this enter the active
# set of the full-data stage (the simplex moves only a little after the
# subsample stage; points that do cross are added by the check pass).
_MARGIN = 0.05
# Rows per block in full passes over the data (temporaries stay small).
_BLOCK = 1 << 16
# Relative smallest singular value of the edge matrix below which a simplex
# counts as degenerate.
_DEGENERATE = 1e-8
# Thresholds of purity_diagnostic (chosen by measurement, see its docstring).
_PURE_LEVEL = 0.9
_FACE_LEVEL = 0.02


@dataclass
class PurityDiagnostic:
    """Outcome of :func:`purity_diagnostic`.

    Attributes
    ----------
    purity : ndarray of shape (q,)
        For every vertex, the largest barycentric coordinate any data point
        has for it: about 1 when a (nearly) pure pixel exists, the abundance of
        the purest pixel otherwise (noise adds a few standard deviations).
    face_fraction : ndarray of shape (q,)
        For every face (the one opposite vertex ``k``), the fraction of points
        whose ``k``-th coordinate is below ``0.02``: points on the face.
    pure_pixels : bool
        False when some vertex has ``purity < 0.9``: the data reach the faces
        of the simplex but not that corner, so the data suggest that no pure
        pixel of that endmember exists.
    """

    purity: np.ndarray
    face_fraction: np.ndarray
    pure_pixels: bool


@dataclass
class MinVolResult:
    """Outcome of :func:`minimum_volume_simplex`.

    Attributes
    ----------
    vertices : ndarray of shape (q, d)
        Vertices of the refined simplex, in the units of ``Y``.
    n_iter : int
        L-BFGS iterations, summed over the stages.
    converged : bool
        True when the last L-BFGS run met ``tol`` and no left-out point ended
        outside the simplex.
    volume : float
        Volume of the refined simplex in the units of ``Y``.
    start_volume : float
        Volume of the start simplex (``vertices`` given).
    volume_ratio : float
        ``volume / start_volume``: about 1 (or a bit below, as the noisy
        extreme points N-FINDR picks fall outside) when pure pixels exist,
        clearly above 1 when they do not.
    outside_fraction : float
        Fraction of the points with a barycentric coordinate below ``-0.05``
        under the start simplex: data the start simplex leaves out.
    face_shift : ndarray of shape (q,)
        How far each face was moved inwards by the edge fit, in barycentric
        units (0 where the fit was not credible or ``edge_fit=False``).
    face_blur : ndarray of shape (q,)
        Fitted noise standard deviation of each barycentric coordinate (NaN
        where not fitted).
    kept_start : ndarray of bool of shape (q,)
        Vertices left at the start (N-FINDR) vertex because the data reach
        that corner (``keep_pure``).
    purity : PurityDiagnostic
        :func:`purity_diagnostic` of the data under the returned simplex, with
        ``blur=face_blur``.
    """

    vertices: np.ndarray
    n_iter: int
    converged: bool
    volume: float
    start_volume: float
    volume_ratio: float
    outside_fraction: float
    face_shift: np.ndarray
    face_blur: np.ndarray
    kept_start: np.ndarray
    purity: PurityDiagnostic


def _check_Y(Y):
    if not isinstance(Y, np.ndarray) and not hasattr(Y, "__array__"):
        raise TypeError(f"`Y` must be an array, got {type(Y).__name__}")
    Y = np.asarray(Y)
    if not (np.issubdtype(Y.dtype, np.floating) or np.issubdtype(Y.dtype, np.integer)):
        raise TypeError(f"`Y` must hold real numbers, got dtype {Y.dtype}")
    if Y.ndim != 2 or Y.shape[1] < 1:
        raise ValueError(
            f"`Y` must have shape (n_points, d) with d >= 1, got {Y.shape}"
        )
    if not np.all(np.isfinite(Y)):
        raise ValueError("`Y` contains NaN or infinite values")
    return Y


def _check_vertices(vertices, d):
    V = np.asarray(vertices)
    if not (np.issubdtype(V.dtype, np.floating) or np.issubdtype(V.dtype, np.integer)):
        raise TypeError(f"`vertices` must hold real numbers, got dtype {V.dtype}")
    if V.shape != (d + 1, d):
        raise ValueError(
            f"`vertices` must have shape (d + 1, d) = ({d + 1}, {d}) for `Y` with "
            f"d = {d} columns, got {V.shape}"
        )
    if not np.all(np.isfinite(V)):
        raise ValueError("`vertices` contains NaN or infinite values")
    return V.astype(np.float64)


def _is_degenerate(V, scale):
    """True when the simplex ``V`` (q, d) has (numerically) zero volume."""
    s = np.linalg.svd(V[1:] - V[0], compute_uv=False)
    return not (s[-1] > _DEGENERATE * max(s[0], scale))


def _augmented(V):
    """``A = [1; V^T]`` of shape (q, q): the vertices in the columns."""
    q = V.shape[0]
    A = np.empty((q, q))
    A[0] = 1.0
    A[1:] = V.T
    return A


def _bary_rows(Y, W):
    """Barycentric coordinates (n, q) of the rows of ``Y`` under ``W = A^-1``."""
    return Y @ W[:, 1:].T + W[:, 0]


def _block_min_bary(Y, W):
    """Smallest barycentric coordinate of every row of ``Y``, in row blocks."""
    out = np.empty(Y.shape[0])
    for start in range(0, Y.shape[0], _BLOCK):
        stop = start + _BLOCK
        out[start:stop] = _bary_rows(Y[start:stop], W).min(axis=1)
    return out


def _objective(x, Z, weight, q, d):
    """``f`` and its gradient in the vertices (flattened ``(q, d)``).

    ``Z`` (m, q) holds augmented points; ``weight`` is ``tau / n_total``.
    """
    A = _augmented(x.reshape(q, d))
    sign, logdet = np.linalg.slogdet(A)
    if sign == 0 or not np.isfinite(logdet):
        return np.inf, np.zeros_like(x)
    W = np.linalg.inv(A)
    B = Z @ W.T
    rows = B.min(axis=1) < 0
    Bn = B[rows]
    Bn = np.minimum(Bn, 0.0)
    lin = Bn < -_DELTA
    # smoothed hinge h(b) and its derivative h'(b) (zero for b >= 0)
    h = np.where(lin, -Bn - 0.5 * _DELTA, Bn * Bn / (2.0 * _DELTA))
    hp = np.where(lin, -1.0, Bn / _DELTA)
    f = logdet + weight * h.sum()
    # d log|det A| = tr(W dA); db = -W dA b, so the hinge term gives
    # -W^T (sum_p h'(b_p) b_p^T) with the full b_p (h' is zero where b >= 0,
    # so only rows with a negative coordinate enter).
    G = W.T - weight * (W.T @ (hp.T @ B[rows]))
    return f, G[1:, :].T.ravel()


def _lbfgs(x0, Z, weight, q, d, max_iter, tol):
    res = scipy.optimize.minimize(
        _objective,
        x0,
        args=(Z, weight, q, d),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-10, "maxcor": 20},
    )
    return res.x, int(res.nit), bool(res.success)


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {value!r}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be a finite number > 0, got {value!r}")
    return float(value)


def _rng(random_state):
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**32, dtype=np.uint64))
    if random_state is None or (
        isinstance(random_state, numbers.Integral)
        and not isinstance(random_state, bool)
        and 0 <= random_state < 2**32
    ):
        return np.random.default_rng(random_state)
    raise TypeError(
        "`random_state` must be None, an int in [0, 2**32), a numpy.random."
        f"Generator or a numpy.random.RandomState, got {random_state!r}"
    )


def _edge_cdf(b, f0, f1, b0, s):
    """Expected count below ``b`` of a density ``f0 + f1 (u - b0)`` on ``u >= b0``
    convolved with a Gaussian of standard deviation ``s`` (closed form)."""
    z = (b - b0) / s
    Phi = ndtr(z)
    phi = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return f0 * s * (z * Phi + phi) + f1 * s * s * (0.5 * ((z * z + 1) * Phi + z * phi))


def _fit_edge(b, n_bins=60):
    """Where the data's edge along one barycentric coordinate lies, and its blur.

    Near a face the data density along its coordinate is a step (the true
    face, at ``b0``) with a linear trend, blurred by the noise. Fitting that
    model to the histogram of the low values locates the face at the
    half-height of the blurred step instead of at the last noisy point.

    Returns ``(b0, sigma)``, or ``(0.0, nan)`` when the fit is not credible.
    """
    b = np.sort(b)
    n = b.size
    lo, hi = b[int(1e-4 * n)], b[int(0.3 * n)]
    b0, s = 0.0, (hi - lo) / 10.0
    for _ in range(3):  # widen/narrow the window around the edge found
        if not hi > lo:
            return 0.0, np.nan
        edges = np.linspace(lo, hi, n_bins + 1)
        i0, i1 = np.searchsorted(b, [lo, hi])
        cnt = np.histogram(b[i0:i1], edges)[0].astype(float)
        if cnt.sum() < 100:
            return 0.0, np.nan
        w = 1.0 / np.sqrt(cnt + 1.0)
        width = hi - lo
        top = cnt[n_bins // 2 :].mean() / (edges[1] - edges[0])

        def resid(p):
            return (np.diff(_edge_cdf(edges, p[0], p[1], p[2], np.exp(p[3]))) - cnt) * w

        x0 = [top, 0.0, min(max(b0, lo), hi), np.log(np.clip(s, 1e-3 * width, width))]
        lower = [0.0, -np.inf, lo, np.log(1e-3 * width)]
        upper = [np.inf, np.inf, hi, np.log(width)]
        x0 = np.clip(x0, np.nextafter(lower, 1), np.nextafter(upper, -1))
        sol = scipy.optimize.least_squares(
            resid, x0, bounds=(lower, upper), x_scale=[top + 1, top + 1, width, 1.0]
        )
        if not sol.success:
            return 0.0, np.nan
        b0, s = float(sol.x[2]), float(np.exp(sol.x[3]))
        lo, hi = max(b[0], b0 - 5.0 * s), b0 + max(10.0 * s, 0.05)
    return b0, s


def simplex_volume(vertices):
    """Volume of the simplex with vertices (q, q - 1), ``|det [1; V^T]| / d!``."""
    V = np.asarray(vertices, dtype=np.float64)
    return float(abs(np.linalg.det(_augmented(V))) / factorial(V.shape[0] - 1))


def minimum_volume_simplex(
    Y: np.ndarray,
    vertices: np.ndarray,
    *,
    max_iter: int = 500,
    tol: float = 1e-9,
    tau: float = 1000.0,
    max_points: int = 65536,
    edge_fit: bool = True,
    keep_pure: bool = True,
    random_state=None,
) -> MinVolResult:
    """Refine a simplex to the minimum-volume simplex enclosing the data.

    Minimises ``log volume + tau * mean_p sum_k max(0, -b_k(p))`` (SISAL's
    soft enclosure, Bioucas-Dias 2009) over the vertices, from ``vertices``
    (typically the N-FINDR ones), with L-BFGS. See the module docstring.

    Parameters
    ----------
    Y : ndarray of shape (n_points, d)
        Reduced data, e.g. centred principal component scores (``d = q - 1``).
    vertices : ndarray of shape (q, d)
        Start simplex, one vertex per row (``q = d + 1``).
    max_iter : int
        Maximum L-BFGS iterations per stage.
    tol : float
        Relative decrease of the objective below which L-BFGS stops.
    tau : float
        Weight of the hinge penalty per point: larger encloses more of the
        noise (about ``d / tau`` of the points end up outside each face).
        Chosen by measurement; see the tests and the report of issue 11.
    max_points : int
        Size of the random subsample of the first stage (all points when
        ``n_points <= max_points``).
    edge_fit : bool
        Move each face to the half-height of the noise-blurred edge of the
        data (True, default); False gives the plain hinge optimum.
    keep_pure : bool
        Keep the start vertex where the data reach that corner (True,
        default).
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seeds the subsample; the result is deterministic for a given seed.

    Returns
    -------
    MinVolResult

    Raises
    ------
    ValueError
        Shape mismatch, NaN/inf, degenerate ``vertices``, data without spread
        along some direction, too few points, bad parameters.
    TypeError
        Non-numeric inputs or parameters of the wrong type.
    """
    Y = _check_Y(Y)
    n, d = Y.shape
    q = d + 1
    V0 = _check_vertices(vertices, d)
    max_iter = _check_int(max_iter, "max_iter", 1)
    max_points = _check_int(max_points, "max_points", q + 1)
    tol = _check_positive(tol, "tol")
    tau = _check_positive(tau, "tau")
    for name, flag in (("edge_fit", edge_fit), ("keep_pure", keep_pure)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be True or False, got {flag!r}")
    rng = _rng(random_state)
    if n < q + 1:
        raise ValueError(f"`Y` needs at least q + 1 = {q + 1} points, got {n}")

    # Whitening from a subsample (only conditioning depends on it: the
    # objective is affine invariant). Sorted indices keep the gather fast.
    sample = (
        np.sort(rng.choice(n, max_points, replace=False)) if n > max_points else None
    )
    Ys = np.asarray(Y[sample] if sample is not None else Y, dtype=np.float64)
    centre = Ys.mean(axis=0)
    cov = np.atleast_2d(np.cov(Ys, rowvar=False))
    evals, evecs = np.linalg.eigh(cov)
    if not evals[0] > _DEGENERATE * max(evals[-1], np.finfo(float).tiny):
        raise ValueError(
            "`Y` has (almost) no spread along one direction: the scores do not "
            f"span d = {d} dimensions (use fewer endmembers)"
        )
    # affine map y -> (y - centre) @ T, and its inverse
    T = evecs / np.sqrt(evals)
    Tinv = (evecs * np.sqrt(evals)).T
    Vw = (V0 - centre) @ T
    if _is_degenerate(Vw, 1.0):
        raise ValueError(
            "`vertices` span a degenerate (zero-volume) simplex; give q affinely "
            "independent vertices (e.g. the N-FINDR ones)"
        )

    def to_w(points):
        Z = np.empty((points.shape[0], q))
        Z[:, 0] = 1.0
        Z[:, 1:] = (np.asarray(points, dtype=np.float64) - centre) @ T
        return Z

    def w_original(x):
        # W in the original coordinates: b = W_w [1; (y - c) T] = W_o [1; y]
        Ww = np.linalg.inv(_augmented(x.reshape(q, d)))
        Wo = np.empty_like(Ww)
        Wo[:, 1:] = Ww[:, 1:] @ T.T
        Wo[:, 0] = Ww[:, 0] - Wo[:, 1:] @ centre
        return Wo

    W0 = np.linalg.inv(_augmented(V0))
    outside_fraction = float(np.mean(_block_min_bary(Y, W0) < -0.05))

    x = Vw.ravel()
    Zs = to_w(Ys)
    x, n_iter, converged = _lbfgs(x, Zs, tau / Zs.shape[0], q, d, max_iter, tol)
    del Zs
    if sample is not None:
        # Full-data stage on the points near or outside the faces.
        active = np.zeros(n, dtype=bool)
        for _ in range(10):  # a few rounds at most: the set only grows
            m = _block_min_bary(Y, w_original(x))
            grow = (m < _MARGIN) & ~active
            if _ > 0 and not np.any(grow & (m < 0)):
                break
            active |= grow
            Za = to_w(Y[active])
            x, it, converged = _lbfgs(x, Za, tau / n, q, d, max_iter, tol)
            n_iter += it
        else:
            converged = False

    Vw = x.reshape(q, d)
    face_shift = np.zeros(q)
    face_blur = np.full(q, np.nan)
    if edge_fit:
        # The hinge optimum (large tau) encloses the noise: move every face in
        # to the half-height of the blurred edge of the data (subsample is
        # plenty for a 4-parameter fit per face).
        Ww = np.linalg.inv(_augmented(Vw))
        B = to_w(Ys) @ Ww.T
        for k in range(q):  # q <= 11 one-dimensional fits
            b0, blur = _fit_edge(B[:, k])
            if np.isfinite(blur) and -0.1 < b0 < 0.5:
                face_shift[k], face_blur[k] = b0, blur
        if face_shift.sum() < 0.9:
            # rows of W are the faces: b_k = 0 moves to b_k = shift_k, and the
            # division keeps the coordinates summing to one
            Ww = (Ww - np.outer(face_shift, np.eye(q)[0])) / (1.0 - face_shift.sum())
            Vw = np.linalg.inv(Ww)[1:].T
        else:
            face_shift[:] = 0.0

    Vout = Vw @ Tinv + centre
    purity = purity_diagnostic(Y, Vout, blur=np.nan_to_num(face_blur))
    kept = purity.purity >= _PURE_LEVEL
    if keep_pure and np.any(kept):
        # The data reach these corners: a pure pixel exists, and N-FINDR's
        # vertex (that pixel) is a better estimate there than the corner of
        # the fitted faces (measured: faces are sparsely populated on smooth
        # maps, so their corner is noisier than the pixel).
        Vout = Vout.copy()
        Vout[kept] = V0[kept]
        purity = purity_diagnostic(Y, Vout, blur=np.nan_to_num(face_blur))
    if not np.all(np.isfinite(Vout)) or _is_degenerate(Vout, 0.0):
        raise ValueError(
            "the refined simplex became degenerate; check that `Y` spans d "
            "dimensions and try a larger `tau`"
        )
    volume = simplex_volume(Vout)
    start_volume = simplex_volume(V0)
    return MinVolResult(
        vertices=Vout,
        n_iter=n_iter,
        converged=converged,
        volume=volume,
        start_volume=start_volume,
        volume_ratio=volume / start_volume,
        outside_fraction=outside_fraction,
        face_shift=face_shift,
        face_blur=face_blur,
        kept_start=kept if keep_pure else np.zeros(q, dtype=bool),
        purity=purity,
    )


def purity_diagnostic(
    Y: np.ndarray, vertices: np.ndarray, *, blur=None
) -> PurityDiagnostic:
    """How pure the purest points are, under a simplex that encloses the data.

    Pass the minimum-volume simplex (:func:`minimum_volume_simplex`): it
    touches the data on its faces, so when every endmember has a pure pixel the
    data also reach every corner (``purity`` about 1); when the data crowd
    against the faces but stay away from a corner, no pure pixel of that
    endmember exists (``purity`` is then the abundance of the purest pixel).

    Parameters
    ----------
    Y : ndarray of shape (n_points, d)
    vertices : ndarray of shape (d + 1, d)
    blur : None or array_like of shape (d + 1,)
        Noise standard deviation of each barycentric coordinate (e.g.
        ``MinVolResult.face_blur``); the purest point's coordinate is lowered
        by twice that, because noise lifts the largest value.

    Returns
    -------
    PurityDiagnostic
    """
    Y = _check_Y(Y)
    d = Y.shape[1]
    V = _check_vertices(vertices, d)
    scale = float(np.abs(V).max())
    if _is_degenerate(V, scale):
        raise ValueError("`vertices` span a degenerate (zero-volume) simplex")
    q = d + 1
    if blur is None:
        blur = np.zeros(q)
    blur = np.asarray(blur, dtype=np.float64)
    if blur.shape != (q,) or not np.all(np.isfinite(blur)) or np.any(blur < 0):
        raise ValueError(
            f"`blur` must be None or {q} finite non-negative numbers, got {blur!r}"
        )
    W = np.linalg.inv(_augmented(V))
    purity = np.full(q, -np.inf)
    near = np.zeros(q)
    for start in range(0, Y.shape[0], _BLOCK):
        B = _bary_rows(Y[start : start + _BLOCK], W)
        purity = np.maximum(purity, B.max(axis=0))
        near += (B < _FACE_LEVEL).sum(axis=0)
    # the purest point is lifted by its noise: about two standard deviations
    purity = purity - 2.0 * blur
    return PurityDiagnostic(
        purity=purity,
        face_fraction=near / Y.shape[0],
        pure_pixels=bool(np.all(purity >= _PURE_LEVEL)),
    )

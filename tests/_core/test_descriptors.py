"""Neighbourhood descriptors against a brute-force per-atom reference and
against the known neighbour identity of synthetic lattices."""

import math

import numpy as np
import pytest

from hyperspy_unmix._core import descriptors as D

HEX = np.array([[1.0, 0.0], [0.5, math.sqrt(3) / 2]])
SQUARE = np.array([[1.0, 0.0], [0.0, 1.0]])


def lattice(basis, n=16, spacing=10.0, angle=0.0, noise=0.0, seed=0, centre=None):
    """Lattice points (x, y) with their integer indices (i, j).

    Returns positions (N, 2) and indices (N, 2): position = origin + i a1 + j a2.
    """
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    ij = np.stack([i.ravel(), j.ravel()], axis=1)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    pts = ij @ (basis * spacing) @ rot.T
    pts = pts + rng.normal(scale=noise, size=pts.shape)
    centre = np.zeros(2) if centre is None else np.asarray(centre)
    return pts + centre, ij


def in_circle(pts, ij, radius):
    keep = np.hypot(*pts.T) < radius
    return pts[keep], ij[keep]


# ---------------------------------------------------------------- reference
def reference_descriptors(
    pts, J, cut, bounds=None, margin=None, ratio=1.3, max_dev=0.6
):
    """Plain Python, one atom at a time, brute-force distances."""
    n = len(pts)
    neigh = []
    for a in range(n):
        d = []
        for b in range(n):
            if b != a:
                dx = pts[b][0] - pts[a][0]
                dy = pts[b][1] - pts[a][1]
                d.append((math.hypot(dx, dy), b))
        d.sort()
        neigh.append(d[:J])
    dj = sorted(nb[-1][0] for nb in neigh)
    med = dj[n // 2] if n % 2 else 0.5 * (dj[n // 2 - 1] + dj[n // 2])
    margin = 1.5 * med if margin is None else margin
    rows = []
    for a in range(n):
        x, y = pts[a]
        items = []
        for dist, b in neigh[a]:
            th = math.atan2(pts[b][1] - y, pts[b][0] - x)
            rel = (th - cut) % (2 * math.pi)
            items.append((rel, b, dist, th))
        items.sort()
        edge = False
        if bounds is not None:
            x0, x1, y0, y1 = bounds
            edge = min(x - x0, x1 - x, y - y0, y1 - y) < margin
        gaps = sorted(t[0] for t in items)
        gap = max(
            [gaps[i + 1] - gaps[i] for i in range(J - 1)]
            + [gaps[0] + 2 * math.pi - gaps[-1]]
        )
        incomplete = neigh[a][-1][0] > ratio * med or (J >= 3 and gap > math.pi)
        rows.append((items, not (edge or incomplete), edge, incomplete))
    # irregular: a neighbour far from the median vector of its column
    cand = [r for r in rows if r[1]]
    nn = sorted(min(t[2] for t in r[0]) for r in cand)
    m = len(nn)
    nn = nn[m // 2] if m % 2 else 0.5 * (nn[m // 2 - 1] + nn[m // 2])
    typical = []
    for col in range(J):
        med = []
        for comp in (0, 1):
            v = sorted(
                pts[r[0][col][1]][comp] - pts[k][comp]
                for k, r in enumerate(rows)
                if r[1]
            )
            med.append(v[m // 2] if m % 2 else 0.5 * (v[m // 2 - 1] + v[m // 2]))
        typical.append(med)
    for k, (items, inc, edge, incomplete) in enumerate(rows):
        worst = max(
            math.hypot(
                pts[items[c][1]][0] - pts[k][0] - typical[c][0],
                pts[items[c][1]][1] - pts[k][1] - typical[c][1],
            )
            for c in range(J)
        )
        if worst > max_dev * nn:
            rows[k] = (items, False, edge, True)
    ideal = []
    for col in range(J):
        sx = sy = 0.0
        m = 0
        for items, inc, _, _ in rows:
            if inc:
                sx += math.cos(items[col][3])
                sy += math.sin(items[col][3])
                m += 1
        ideal.append(math.atan2(sy / m, sx / m))
    out = []
    for items, inc, edge, incomplete in rows:
        dev = [
            (items[c][3] - ideal[c] + math.pi) % (2 * math.pi) - math.pi
            for c in range(J)
        ]
        out.append(([t[1] for t in items], [t[2] for t in items], dev, inc, edge))
    return out


@pytest.mark.parametrize(
    "basis, J, angle",
    [
        (HEX, 6, 0.0),  # a bond exactly on the +-180 degree wrap
        (HEX, 6, math.radians(37.3)),
        (SQUARE, 4, math.pi / 4 + 0.01),
        (SQUARE, 4, math.radians(180.0)),
        (SQUARE, 8, math.radians(-71.9)),
    ],
)
def test_matches_brute_force(basis, J, angle):
    pts, _ = lattice(basis, n=7, angle=angle, noise=0.6, seed=3, centre=(90, 90))
    bounds = (0.0, 179.0, 0.0, 179.0)
    desc = D.neighborhood_descriptors(pts, J, bounds=bounds)
    ref = reference_descriptors(pts, J, desc["cut"], bounds=bounds)
    idx = np.array([r[0] for r in ref])
    dist = np.array([r[1] for r in ref])
    dev = np.array([r[2] for r in ref])
    inc = np.array([r[3] for r in ref])
    edge = np.array([r[4] for r in ref])
    assert inc.sum() > 20 and (~inc).sum() > 0
    np.testing.assert_array_equal(desc["included"], inc)
    np.testing.assert_array_equal(desc["excluded_edge"], edge)
    np.testing.assert_array_equal(desc["indices"], idx)
    np.testing.assert_allclose(desc["distances"], dist, rtol=0, atol=1e-12)
    np.testing.assert_allclose(desc["angle_deviations"], dev, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "basis, J, offsets",
    [
        (HEX, 6, {(1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1)}),
        (SQUARE, 4, {(1, 0), (0, 1), (-1, 0), (0, -1)}),
        (SQUARE, 8, {(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)} - {(0, 0)}),
    ],
)
@pytest.mark.parametrize("angle", [0.0, 1e-9, -1e-9, 0.4, math.pi, 2.61, -1.3])
def test_column_means_the_same_neighbour_for_every_atom(basis, J, offsets, angle):
    """Ground truth: column j is the same lattice offset for every included atom,
    whatever the rotation, also with bonds straddling +-180 degrees."""
    pts, ij = lattice(basis, n=12, spacing=20.0, angle=angle, noise=0.5, seed=1)
    pts, ij = in_circle(pts, ij, 220.0)
    desc = D.neighborhood_descriptors(pts, J)
    inc = desc["included"]
    offs = ij[desc["indices"]] - ij[:, None, :]  # (N, J, 2)
    assert inc.sum() > 200
    # Noise can swap a stretched nearest neighbour for a compressed next-shell
    # one (a different neighbour *set*, no ordering can fix that): those few
    # atoms are left out of the ordering check.
    right_set = np.array([{tuple(o) for o in row} == offsets for row in offs])
    assert right_set[inc].mean() > 0.99
    check = offs[inc & right_set]
    first = check[0]
    np.testing.assert_array_equal(check, np.broadcast_to(first, check.shape))
    # the cut lies in a gap: far from every neighbour direction
    gap = np.abs(D.wrap_angle(desc["angles"][inc] - desc["cut"])).min()
    assert gap > 0.25 * (2 * np.pi / J)


def test_naive_sort_swaps_columns_but_canonical_does_not():
    """The failure of sorting by angle in (-pi, pi] that the canonical order fixes."""
    pts, ij = lattice(HEX, n=10, angle=0.0, noise=0.5, seed=2)
    pts, ij = in_circle(pts, ij, 80.0)
    idx, _ = D.nearest_neighbors(pts, 6)
    vec = pts[idx] - pts[:, None]
    naive = np.take_along_axis(
        idx, np.argsort(np.arctan2(vec[..., 1], vec[..., 0]), axis=1), axis=1
    )
    desc = D.neighborhood_descriptors(pts, 6)
    inc = desc["included"]
    naive_offs = (ij[naive] - ij[:, None])[inc]
    assert len({tuple(o[0]) for o in naive_offs}) > 1  # naive: first column varies
    offs = (ij[desc["indices"]] - ij[:, None])[inc]
    assert len({tuple(o[0]) for o in offs}) == 1


@pytest.mark.parametrize("angle", [0.3, 1.9, -2.8])
def test_rotation_and_translation_invariance(angle):
    pts, ij = lattice(HEX, n=12, noise=0.7, seed=5)
    keep = np.hypot(*pts.T) < 100
    pts = pts[keep]
    c, s = math.cos(angle), math.sin(angle)
    moved = pts @ np.array([[c, -s], [s, c]]).T + np.array([321.5, -47.25])
    a = D.neighborhood_descriptors(pts, 6)
    b = D.neighborhood_descriptors(moved, 6)
    np.testing.assert_array_equal(a["included"], b["included"])
    inc = a["included"]
    # same neighbours, same cyclic order; the starting column may differ
    shift = [
        k
        for k in range(6)
        if np.array_equal(a["indices"][inc], np.roll(b["indices"][inc], k, axis=1))
    ]
    assert len(shift) == 1
    k = shift[0]
    np.testing.assert_allclose(
        a["distances"][inc], np.roll(b["distances"], k, axis=1)[inc], atol=1e-9
    )
    np.testing.assert_allclose(
        a["angle_deviations"][inc],
        np.roll(b["angle_deviations"], k, axis=1)[inc],
        atol=1e-9,
    )


def test_edge_and_incomplete_exclusion_counts():
    pts, ij = lattice(SQUARE, n=10, spacing=10.0, noise=0.3, seed=4, centre=(100, 100))
    vacancy = np.flatnonzero((ij == [0, 0]).all(axis=1))[0]
    pts = np.delete(pts, vacancy, axis=0)
    bounds = (0.0, 199.0, 0.0, 199.0)
    desc = D.neighborhood_descriptors(pts, 4, bounds=bounds, edge_margin=15.0)
    x, y = pts.T
    near_edge = np.minimum.reduce([x, 199 - x, y, 199 - y]) < 15.0
    np.testing.assert_array_equal(desc["excluded_edge"], near_edge)
    # the four atoms around the vacancy lost a neighbour
    around = np.hypot(x - 100, y - 100) < 12
    assert around.sum() == 4
    assert desc["excluded_incomplete"][around].all()
    assert not desc["excluded_incomplete"][~around & ~near_edge].any()
    np.testing.assert_array_equal(desc["included"], ~near_edge & ~around)


def test_shell_ratio_flags_ambiguous_j():
    pts, _ = lattice(SQUARE, n=10, noise=0.2)
    assert D.neighborhood_descriptors(pts, 4)["shell_ratio"] > 1.3
    assert D.neighborhood_descriptors(pts, 6)["shell_ratio"] < 1.05


def test_duplicate_positions_never_list_self():
    pts = np.array([[0, 0], [0, 0], [1, 0], [0, 1], [5, 5.0]])
    idx, dist = D.nearest_neighbors(pts, 3)
    assert not (idx == np.arange(5)[:, None]).any()
    assert dist[0, 0] == 0 and dist[1, 0] == 0


def test_descriptor_matrix_scaling_and_displacements():
    pts, _ = lattice(HEX, n=10, noise=0.5, seed=7)
    pts = pts[np.hypot(*pts.T) < 90]
    desc = D.neighborhood_descriptors(pts, 6)
    inc = desc["included"]
    X, rs, ts = D.descriptor_matrix(desc, "both", normalize=True)
    assert X.shape == (len(pts), 12)
    # radial columns * scale = distances in px; tangential = r * dtheta in px
    np.testing.assert_allclose(X[:, :6] * rs, desc["distances"])
    np.testing.assert_allclose(
        X[:, 6:] * ts, desc["angle_deviations"] * desc["ideal_distances"]
    )
    Xs, rs2, ts2 = D.descriptor_matrix(desc, "both", scaling="std")
    assert np.std(Xs[inc, :6]) == pytest.approx(1.0)
    assert np.std(Xs[inc, 6:]) == pytest.approx(1.0)
    np.testing.assert_allclose(Xs[:, :6] * rs2, desc["distances"])
    # a component that stretches neighbour 0 radially by 1 px points along its bond
    comp = np.zeros((1, 12))
    comp[0, 0] = 1.0 / rs[0]
    disp = D.component_displacements(comp, desc, "both", rs, ts)
    th = desc["ideal_angles"][0]
    np.testing.assert_allclose(disp[0, 0], [math.cos(th), math.sin(th)], atol=1e-12)
    np.testing.assert_allclose(disp[0, 1:], 0, atol=1e-12)
    Xd, _, tsd = D.descriptor_matrix(desc, "distance")
    Xa, rsa, _ = D.descriptor_matrix(desc, "angle")
    assert Xd.shape == Xa.shape == (len(pts), 6)
    assert np.isnan(tsd).all() and np.isnan(rsa).all()


def test_too_few_atoms():
    with pytest.raises(ValueError, match="n_neighbors"):
        D.neighborhood_descriptors(np.zeros((3, 2)) + np.arange(3)[:, None], 6)


@pytest.mark.parametrize("bound", [None, 1e-3, 12.0, 1e6])
def test_bounded_search_is_exact(bound):
    """The bounded k-d tree search (with its exact re-search of atoms lacking
    neighbours inside the bound) equals brute force for any bound."""
    rng = np.random.default_rng(11)
    pts = rng.uniform(0, 200, size=(300, 2))
    pts[:40] = rng.uniform(0, 20, size=(40, 2))  # a dense corner
    idx, dist = D.nearest_neighbors(pts, 5, bound=bound)
    full = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(full, np.inf)
    ref = np.argsort(full, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(idx, ref)
    np.testing.assert_allclose(dist, np.take_along_axis(full, ref, 1), atol=1e-12)

"""
How many endmembers?
====================

N-FINDR needs the number of endmembers ``q``. Too few merges materials; one
too many makes a noisy pixel an extra "phase". The scree plot of an SVD is
the usual guess, and its elbow (HyperSpy's
``learning_results.number_significant_components``) tends to count one
component too many. :func:`hyperspy_unmix.estimate_n_endmembers` compares
every principal direction with the noise it measures in the data
(HySime, Bioucas-Dias & Nascimento 2008) and stops where the signal does.
"""

# %%
# Ten maps with 2 to 6 phases: EDS-like and Raman-like spectra, at a low dose
# (300 counts per spectrum) and a high one (5e4), 48 x 48 pixels, 256
# channels.
import matplotlib.pyplot as plt
import numpy as np

import hyperspy_unmix as hu

maps = [
    (kind, dose, q)
    for kind in ("eds", "raman")
    for dose, qs in ((300.0, (2, 4, 6)), (5e4, (3, 5)))
    for q in qs
]
rows = []
for i, (kind, dose, q_true) in enumerate(maps):
    s, truth = hu.data.spectrum_image(
        (48, 48), 256, q_true, dose=dose, kind=kind, random_state=1000 + i
    )
    q = hu.estimate_n_endmembers(s)
    s.decomposition(print_info=False)
    elbow = int(s.learning_results.number_significant_components)
    rows.append((f"{kind} {dose:g}", q_true, int(q), elbow, q, s))

print(f"{'map':>12s} {'truth':>6s} {'estimate':>9s} {'scree elbow':>12s}")
for name, q_true, q, elbow, *_ in rows:
    print(f"{name:>12s} {q_true:6d} {q:9d} {elbow:12d}")
print(
    f"exact: estimate {sum(r[1] == r[2] for r in rows)}/10, "
    f"scree elbow {sum(r[1] == r[3] for r in rows)}/10"
)

# %%
# The evidence for one map (low-dose EDS, four phases): the criterion per
# candidate ``q`` (``q.plot()``) and, beside it, the scree plot of the same
# map with its elbow.
name, q_true, _, elbow, q, s = rows[1]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
q.plot(ax=axes[0])
axes[0].set_title(
    f"estimate_n_endmembers: {int(q)} ({name}, truth {q_true})", fontsize=9
)
ev = s.learning_results.explained_variance[:12]
axes[1].semilogy(np.arange(1, ev.size + 1), ev, "o-")
axes[1].axvline(elbow, color="C3", ls="--", label=f"elbow: {elbow}")
axes[1].set(xlabel="component", ylabel="explained variance")
axes[1].set_title("SVD scree plot of the same map", fontsize=9)
axes[1].legend()

# %%
# All ten maps: the estimate against the truth, and the scree elbow.
fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
x = np.arange(len(rows))
ax.plot(x, [r[1] for r in rows], "s", ms=12, mfc="none", mec="k", label="truth")
ax.plot(x, [r[2] for r in rows], "o", color="C0", label="estimate_n_endmembers")
ax.plot(x, [r[3] for r in rows], "x", color="C3", ms=8, label="scree elbow")
ax.set_xticks(x, [r[0] for r in rows], rotation=45, ha="right", fontsize=8)
ax.set_ylabel("number of endmembers")
ax.legend(fontsize=8)

# %%
# ``nfindr_unmix(s, "auto")`` uses the same estimate, computed from the
# moments its reduction sums anyway, and keeps it with the result:
s, truth = hu.data.spectrum_image((64, 64), 256, 4, kind="eds", random_state=7)
res = hu.nfindr_unmix(s, "auto")
print(repr(res.n_endmembers_estimate), "->", res.n_endmembers, "endmembers")

# %%
# A map of a single phase has nothing to unmix: the estimate is 1 and
# ``"auto"`` says so before any further work.
s1, _ = hu.data.spectrum_image((48, 48), 256, 1, kind="eds", random_state=0)
print(repr(hu.estimate_n_endmembers(s1)))
try:
    hu.nfindr_unmix(s1, "auto")
except ValueError as err:
    print("ValueError:", err)

# %%
# Lazy signals and masks are read as ``nfindr_unmix`` reads them; the lazy
# estimate is the in-memory one.
print("lazy:", repr(hu.estimate_n_endmembers(rows[1][-1].as_lazy())))

# %%
# The estimate needs noise to compare with. Data without any (smoothed or
# fitted curves, simulations) put every direction above the measured
# "noise", so the estimate runs up to ``max_endmembers``; then the criterion
# plot, not the number, is the evidence (the BiFeO3 example shows such a map).

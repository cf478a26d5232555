"""Run the package's interactive plots in a Jupyter kernel with ipympl.

Not part of the test suite (it needs ipympl, ipykernel and nbclient, which
the package does not depend on). Run it by hand after changing a plot:

    pip install ipympl ipykernel nbclient nbformat
    python tools/check_widget_backend.py

It executes a notebook headlessly with ``%matplotlib widget``: the result
plots of the three analyses and HyperSpy's own decomposition plots after
``decomposition(algorithm=NFINDR(3))`` must draw on ipympl canvases without
an error, and moving the navigator of ``UnmixingResult.plot()`` (what a
click does: a change of the model's navigation indices) must redraw every
line of the spectrum panel. Exits 1 on any failure.
"""

import sys

import nbformat
from nbclient import NotebookClient

CELLS = [
    "%matplotlib widget",
    """
import gc
import matplotlib.pyplot as plt
import numpy as np
import hyperspy.model as hm
import hyperspy_unmix as hu

s, _ = hu.data.spectrum_image((32, 32), 128, 3, random_state=0)
res = hu.nfindr_unmix(s, 3)
res.plot()
m = [o for o in gc.get_objects() if isinstance(o, hm.BaseModel)][-1]
before = [ln.get_ydata().copy() for ln in m._plot.signal_plot.ax.lines]
m.axes_manager.indices = (20, 7)
after = [ln.get_ydata() for ln in m._plot.signal_plot.ax.lines]
assert before and all(not np.array_equal(a, b) for a, b in zip(before, after))

img, _ = hu.data.multiphase_lattice((256, 256), random_state=0)
hu.plot_phases(hu.segment_phases(img, 2, random_state=0), img)
lat, _ = hu.data.atomic_image(random_state=0)
hu.neighborhood_pca(lat).plot(component=0)
s.decomposition(algorithm=hu.NFINDR(3), print_info=False)
s.plot_decomposition_results()
s.plot_scree_plot()
kinds = {type(plt.figure(n).canvas).__name__ for n in plt.get_fignums()}
assert kinds == {"Canvas"}, kinds  # ipympl's
print("ok:", len(plt.get_fignums()), "figures on ipympl canvases")
""",
]


def main():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    except Exception as err:  # nbclient raises CellExecutionError with the trace
        print(err)
        return 1
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and "ok:" in out["text"]:
                print(out["text"].strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

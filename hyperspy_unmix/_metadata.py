# Temporary alias while the data generators are edited; removed below.
from hyperspy_unmix._signal_io import add_provenance, axis_dict, index_axis  # noqa: F401

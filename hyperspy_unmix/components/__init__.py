"""HyperSpy model components provided by hyperspy_unmix (registered in the yaml)."""

from hyperspy_unmix.components.endmember import Endmember

__all__ = ["Endmember"]

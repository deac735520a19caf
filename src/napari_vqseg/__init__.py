"""napari-vqseg: the napari plugin (Robustness Explorer); contributions in ``napari.yaml``."""

from vqseg_core._version import __version__

__all__ = ["__version__"]

"""napari-vqseg: the napari plugin (Robustness Explorer); contributions in ``napari.yaml``."""

from vqseg_core._version import __version__
from vqseg_core.threads import prefer_passive_wait

# The explorer's worker shares the machine with napari's UI and rendering: OpenMP threads that
# sleep while they wait (asked for before torch starts) lose nothing to a busy core (B7).
prefer_passive_wait()

__all__ = ["__version__"]

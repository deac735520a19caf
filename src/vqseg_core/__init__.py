"""vqseg_core: UNet and vector-quantised UNet, and the tools to measure their robustness.

The core never imports napari or Qt (a test checks this); heavy modules are imported by
the submodules that need them, so ``import vqseg_core`` stays cheap.
"""

from vqseg_core._version import __version__

__all__ = ["__version__"]

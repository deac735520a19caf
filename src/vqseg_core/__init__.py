"""vqseg_core: UNet and vector-quantised UNet, and the tools to measure their robustness.

The core never imports napari or Qt (a test checks this); heavy modules are imported by
the submodules that need them, so ``import vqseg_core`` stays cheap.
"""

__version__ = "0.1.0"

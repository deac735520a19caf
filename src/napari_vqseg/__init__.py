"""napari-vqseg: the napari plugin (Robustness Explorer). Its contributions arrive with the plugin issue."""

__version__ = "0.1.0"

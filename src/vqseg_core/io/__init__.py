"""Medical image I/O that never lies: one loader, one error type, geometry kept for writing back.

Every malformed input raises :class:`ImageLoadError` naming the file and the problem; NaN/Inf
voxels follow an explicit policy; headers over the memory budget are refused before reading.
See :mod:`vqseg_core.io.record` for what "canonical orientation" means.
"""

from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import DEFAULT_MAX_BYTES, NONFINITE_FILL, NonfinitePolicy
from vqseg_core.io.image import load_image, save_segmentation
from vqseg_core.io.record import Image, SourceGeometry

__all__ = [
    "DEFAULT_MAX_BYTES",
    "NONFINITE_FILL",
    "Image",
    "ImageLoadError",
    "NonfinitePolicy",
    "SourceGeometry",
    "load_image",
    "save_segmentation",
]

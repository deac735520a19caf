"""One real PA chest radiograph (pydicom-data ``RG1_UNCR.dcm``), unlabelled, 2D PNG.

1955 x 1841, 15-bit, MONOCHROME1 (inverted to normal display by the loader), no pixel
spacing. Image only: a qualitative out-of-distribution example, no Dice possible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.data.sources._base import DatasetWriter, DataSource, PrepareRequest, package_dir
from vqseg_core.data.sources._chest import resize_case

FILE = "RG1_UNCR.dcm"
INSTALL = "pip install --no-deps pydicom-data==1.0.0"


def locate() -> Path | None:
    """``data_store/data`` of pydicom-data when installed (never imported)."""
    pkg = package_dir("data_store")
    data = None if pkg is None else pkg / "data"
    return data if data is not None and (data / FILE).is_file() else None


def load(source: Path) -> Any:
    """The radiograph as a :class:`~vqseg_core.io.Image` (normal display polarity)."""
    from vqseg_core.io import load_image

    if not (source / FILE).is_file():
        raise ValueError(f"{source} lacks {FILE} (expected pydicom-data's data_store/data)")
    return load_image(source / FILE)


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Write the radiograph (image only) into ``request.out``."""
    image = load(source)
    array, _, _ = resize_case(image.array, None, None, request.size)
    writer = DatasetWriter(request.out, 2)
    writer.add("RG1_UNCR", np.round(array), None, spacing=None, domain="CR", notes=image.notes)
    return writer.finish(
        name="chest-cr",
        description="one real PA chest radiograph (NEMA DICOM test image), unlabelled",
        labels={},
        source=SOURCE,
        modality="XR",
        notes=[
            "unlabelled: image only, for qualitative checks (no Dice possible)",
            "MONOCHROME1 inverted to normal display (bone bright)",
            "pixel spacing unknown (no spacing tag): spacing is null",
        ],
    )


SOURCE = DataSource(
    name="chest-cr",
    title="one real chest radiograph, unlabelled (2D)",
    origin="PyPI package pydicom-data 1.0.0, data_store/data/RG1_UNCR.dcm",
    licence="MIT (pydicom-data; NEMA DICOM test images)",
    citation="pydicom-data (github.com/pydicom/pydicom-data); NEMA WG-04 test images",
    build=build,
    locate=locate,
    install=INSTALL,
)

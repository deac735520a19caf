"""Helpers shared by the chest radiograph sources (JSRT, Shenzhen, Montgomery, CR)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.data.resample import resize_image, resize_labels


def read_mask(path: Path, threshold: int = 127) -> np.ndarray:
    """A binary mask from PNG/GIF (palette or grey; anti-aliased edges binarised > threshold)."""
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as pil:
            grey = np.asarray(pil.convert("L"))
    except Exception as err:
        raise ValueError(f"cannot read mask {path}: {err}") from err
    return grey > threshold


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Average exact ``factor x factor`` blocks (2048 JSRT -> the 1024 SCR mask grid)."""
    h, w = image.shape
    if h % factor or w % factor:
        raise ValueError(f"shape {image.shape} is not divisible by {factor}")
    return image.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def fit_to_masks(image: np.ndarray, mask_shape: tuple[int, ...], case_id: str) -> np.ndarray:
    """Bring an image onto its masks' grid by exact block averaging, or fail clearly."""
    if image.shape == mask_shape:
        return image
    factors = {a // b for a, b in zip(image.shape, mask_shape, strict=True) if b and a % b == 0}
    if len(factors) == 1 and all(
        a == b * next(iter(factors)) for a, b in zip(image.shape, mask_shape, strict=True)
    ):
        return block_mean(image, next(iter(factors)))
    raise ValueError(f"{case_id}: image {image.shape} does not fit its masks {mask_shape}")


def resize_case(
    image: np.ndarray,
    labels: np.ndarray | None,
    spacing: tuple[float, float] | None,
    size: int | None,
) -> tuple[np.ndarray, np.ndarray | None, tuple[float, float] | None]:
    """Resize to ``size x size`` (image linear + anti-aliased, rounded; labels nearest)."""
    if size is None or image.shape == (size, size):
        return image, labels, spacing
    if size < 8:
        raise ValueError(f"--size must be at least 8 pixels, got {size}")
    out = np.round(resize_image(image, (size, size)))
    lab = None if labels is None else resize_labels(labels, (size, size))
    if spacing is not None:
        spacing = (
            spacing[0] * image.shape[0] / size,
            spacing[1] * image.shape[1] / size,
        )
    return out, lab, spacing


def add_masked_radiograph(
    writer: Any,
    case_id: str,
    image_path: Path,
    mask_path: Path,
    size: int | None,
    skipped: list[str],
    **fields: Any,
) -> bool:
    """Add one radiograph with its lung mask (one PNG each, spacing unknown) to ``writer``
    (a :class:`~vqseg_core.data.sources._base.DatasetWriter`), resized to ``size``; a missing
    file or a mask of another shape is listed in ``skipped`` instead. ``fields`` go to
    ``writer.add`` (``domain``, ``tuberculosis``)."""
    from vqseg_core.io import load_image

    if not image_path.is_file() or not mask_path.is_file():
        skipped.append(f"{case_id}: image or mask missing")
        return False
    image = load_image(image_path).array
    labels = read_mask(mask_path).astype(np.uint8)
    if labels.shape != image.shape:
        skipped.append(f"{case_id}: mask {labels.shape} vs image {image.shape}")
        return False
    image, labels, _ = resize_case(image, labels, None, size)
    writer.add(case_id, np.round(image), labels, spacing=None, **fields)
    return True

"""Where a latent grid lies on the input grid (napari ``scale`` / ``translate`` of latent maps)."""

from __future__ import annotations

from collections.abc import Sequence


def latent_geometry(
    model,
    model_shape: Sequence[int],
    original_shape: Sequence[int],
    latent_shape: Sequence[int],
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(scale, translate)`` of a latent grid in input-grid pixel coordinates.

    The network pads its input to ``model.padded_shape(model_shape)`` (split evenly before and
    after); a latent of spatial shape ``latent_shape`` then has ``padded / latent`` model
    pixels per cell along each axis (16 for the default bottleneck, 1-8 for skips).

    Args:
        model: the network (``padded_shape``).
        model_shape: spatial shape of its input (model grid), in-plane for a 2D slice model.
        original_shape: the matching input-grid shape.
        latent_shape: the latent's spatial shape.

    Returns:
        ``scale``: input pixels per latent cell; ``translate``: input-grid coordinate of the
        centre of latent cell 0.
    """
    padded = model.padded_shape(tuple(model_shape))
    scale, translate = [], []
    for n_in, n_model, n_pad, n_lat in zip(
        original_shape, model_shape, padded, latent_shape, strict=True
    ):
        factor = n_pad / n_lat
        s = n_in / n_model  # input pixels per model pixel
        before = (n_pad - n_model) // 2
        scale.append(factor * s)
        translate.append((factor / 2 - before) * s - 0.5)
    return tuple(scale), tuple(translate)
